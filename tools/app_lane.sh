#!/usr/bin/env bash
# The real-application lane: Depth Cloud installed into a real Blender (Debian 13's Blender 4.3.2)
# and driven through its window (Xvfb + xdotool), as users run it.
#
# Usage (as root: debootstrap, chroot and mount namespaces need it):
#     bash tools/app_lane.sh                  # make the chroot once, build + install the zip, run tests/app
#     bash tools/app_lane.sh --setup-only     # only make (or check) the chroot
#     bash tools/app_lane.sh -k pick          # only the lane tests whose name contains "pick"
# Environment:
#     DEPTH_CLOUD_APP_ROOT   the chroot (default /var/cache/depth_cloud/trixie; made once, reused
#                            while its stamp file says it is complete)
#     DEPTH_CLOUD_APP_OUT    where the lane writes renders, logs and screenshots
#                            (default: a fresh temporary directory, kept on failure)
#     DEPTH_CLOUD_VENV_DIR   where tools/venv.sh finds (or makes) the Python with the bpy wheel that builds the zip
#     DEBIAN_MIRROR          debootstrap's mirror (default: debootstrap's own)
# Everything runs in a private mount namespace (unshare -m): nothing stays mounted afterwards.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="${DEPTH_CLOUD_APP_ROOT:-/var/cache/depth_cloud/trixie}"
suite="trixie"
packages="blender python3-numpy xvfb xauth xdotool imagemagick libgl1-mesa-dri"
stamp="$root/.depth_cloud_lane_ready"
stamp_text="$suite: $packages"

setup_only=0
lane_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --setup-only) setup_only=1 ;;
    *) lane_args+=("$1") ;;
  esac
  shift
done

lane_start=$SECONDS
step_start=$SECONDS
step() {  # step NAME: print how long the previous step took, then start NAME
  echo "=== app lane: $1 ==="
  step_start=$SECONDS
}
done_step() { echo "--- $1: $((SECONDS - step_start)) s"; }

die() { echo "app lane: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, unshare -m)"

# in_chroot [BIND_SRC:BIND_DST ...] -- CMD...: run CMD in the chroot, with /proc, /dev, /sys and
# the given host folders bound in, in a private mount namespace.
in_chroot() {
  local binds=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do binds+=("$1"); shift; done
  shift
  unshare -m --propagation private bash -c '
    set -e
    root="$1"; shift
    mount --bind /proc "$root/proc"
    mount --bind /dev "$root/dev"
    mount -t tmpfs tmpfs "$root/dev/shm"
    mount --bind /sys "$root/sys"
    mount -t tmpfs tmpfs "$root/tmp"
    while [ "$1" != "--" ]; do
      src="${1%%:*}"; dst="$root${1#*:}"
      mkdir -p "$dst"
      mount --bind "$src" "$dst"
      shift
    done
    shift
    exec chroot "$root" env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
  ' in_chroot "$root" ${binds[@]+"${binds[@]}"} -- "$@"
}

# ------------------------------------------------------------------ 1. the chroot (made once)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_text" ]; then
  echo "=== app lane: chroot $root is complete (stamp), reused ==="
else
  step "make the Debian 13 chroot in $root"
  if ! command -v debootstrap >/dev/null; then
    apt-get install -y debootstrap || { apt-get update && apt-get install -y debootstrap; } \
      || die "cannot install debootstrap"
  fi
  if [ ! -x "$root/usr/bin/apt-get" ]; then
    rm -rf "$root.partial"
    mkdir -p "$(dirname "$root")"
    debootstrap --variant=minbase "$suite" "$root.partial" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} \
      || die "debootstrap failed (partial tree left in $root.partial)"
    rm -rf "$root"
    mv "$root.partial" "$root"
  fi
  done_step "debootstrap"
  step "install $packages in the chroot"
  in_chroot -- apt-get -q update
  in_chroot -- apt-get -q install -y --no-install-recommends $packages
  in_chroot -- apt-get clean
  in_chroot -- blender --version | head -n 1
  echo "$stamp_text" > "$stamp"
  done_step "packages"
fi
[ "$setup_only" = 1 ] && { echo "app lane: chroot ready ($((SECONDS - lane_start)) s)"; exit 0; }

# ------------------------------------------------------------------ 2. the extension zip
step "build the extension zip (tools/build_extension.py)"
work="${DEPTH_CLOUD_APP_OUT:-}"
keep_out=1
if [ -z "$work" ]; then work="$(mktemp -d /tmp/depth_cloud_app_lane.XXXXXX)"; keep_out=0; fi
mkdir -p "$work/dist" "$work/out"
venv="$(bash "$repo/tools/venv.sh" 5.3)" || die "no Python with the bpy wheel (tools/venv.sh 5.3)"
"$venv/bin/python" "$repo/tools/build_extension.py" --output-dir "$work/dist" >"$work/build_extension.log" 2>&1 \
  || { cat "$work/build_extension.log"; die "tools/build_extension.py failed"; }
zip_name="$(cd "$work/dist" && ls depth_cloud-*-linux_x64.zip)"
echo "built $zip_name"
done_step "zip"

# ------------------------------------------------------------------ 3. install it as users do
step "install $zip_name into the chroot's Blender"
in_chroot "$work/dist:/lane/dist" -- blender --command extension install-file -r user_default -e "/lane/dist/$zip_name" \
  || die "blender --command extension install-file failed"
done_step "install"

# ------------------------------------------------------------------ 4. the lane's tests (tests/app)
step "run tests/app in the real Blender (Xvfb)"
status=0
in_chroot "$repo:/lane/repo" "$work/out:/lane/out" -- python3 /lane/repo/tests/app/driver.py --out /lane/out \
  ${lane_args[@]+"${lane_args[@]}"} || status=$?
done_step "lane tests"
if [ "${DEPTH_CLOUD_APP_DOC_IMAGES:-0}" = 1 ]; then  # refresh the README's screenshots
  for shot in "$work"/out/docs/app_*.png; do [ -f "$shot" ] && cp "$shot" "$repo/docs/img/"; done
fi
echo "app lane: $((SECONDS - lane_start)) s in all; output in $work/out"
if [ "$status" != 0 ]; then
  echo "app lane: FAILED (output kept in $work)"
  exit "$status"
fi
[ "$keep_out" = 1 ] || rm -rf "$work"
echo "app lane: passed"
