#!/usr/bin/env bash
# Run the whole test suite: the pure core without Blender, then everything on the real bpy
# wheels of Blender 5.0 and 4.2 LTS. Sets up the virtual environments on first use.
# Usage: bash tools/run_tests.sh [extra pytest args]
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo/tests"
status=0
run() {
  local label="$1"; shift
  echo "=== $label ==="
  "$@" || status=1
}
core="$(bash "$repo/tools/venv.sh" core)" || exit 1
run "core without Blender" "$core/bin/python" -m pytest -q -p no:cacheprovider core "$@"
for version in 5.0 4.2; do
  venv="$(bash "$repo/tools/venv.sh" "$version")" || exit 1
  run "Blender $version" "$venv/bin/python" -m pytest -q -p no:cacheprovider . "$@"
done
[ "$status" = 0 ] && echo "all test runs passed" || echo "some test runs FAILED"
exit "$status"
