#!/usr/bin/env bash
# Run the whole test suite: the pure core without Blender, then everything on the real bpy
# wheel of each supported Blender release (4.2 LTS, 4.5 LTS, 5.0, 5.2 LTS, 5.3). Sets up the
# virtual environments on first use (tools/venv.sh). EEVEE tests (slow without a GPU) run on the
# oldest and the newest release.
# Usage: bash tools/run_tests.sh [extra pytest args]
#        BLENDER_VERSIONS="5.3 4.2" bash tools/run_tests.sh    # a subset of releases
#        DEPTH_CLOUD_APP_LANE=1 bash tools/run_tests.sh          # then the real-application lane (as root)
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo/tests"
versions="${BLENDER_VERSIONS:-4.2 4.5 5.0 5.2 5.3}"
oldest="4.2"; newest="5.3"
status=0
summary=()
run() {
  local label="$1"; shift
  echo "=== $label ==="
  local start=$SECONDS
  local log; log="$(mktemp)"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || status=1
  summary+=("$label: $(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed).* =+$' "$log" | tail -n 1 | tr -d '=' | xargs) ($((SECONDS - start)) s)")
  rm -f "$log"
}
core="$(bash "$repo/tools/venv.sh" core)" || exit 1
run "core without Blender" "$core/bin/python" -m pytest -q -p no:cacheprovider -rs core "$@"
for version in $versions; do
  venv="$(bash "$repo/tools/venv.sh" "$version")" || exit 1
  eevee=0
  if [ "$version" = "$oldest" ] || [ "$version" = "$newest" ]; then eevee=1; fi
  run "Blender $version" env DEPTH_CLOUD_EEVEE="$eevee" "$venv/bin/python" -m pytest -q -p no:cacheprovider -rs . "$@"
done
if [ "${DEPTH_CLOUD_APP_LANE:-0}" = 1 ]; then  # the real Blender application (root: chroot, namespaces)
  echo "=== real application lane (tools/app_lane.sh) ==="
  start=$SECONDS
  if bash "$repo/tools/app_lane.sh"; then lane="passed"; else lane="FAILED"; status=1; fi
  summary+=("real application lane: $lane ($((SECONDS - start)) s)")
fi
echo "=== summary ==="
printf '%s\n' "${summary[@]}"
[ "$status" = 0 ] && echo "all test runs passed" || echo "some test runs FAILED"
exit "$status"
