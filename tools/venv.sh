#!/usr/bin/env bash
# Make (once) and print the path of a virtual environment for one Blender release
# ("4.2", "4.5", "5.0", "5.2", "5.3"), "core" (numpy + OpenEXR only: proves the core runs
# without Blender) or "lint" (ruff, pinned). The bpy wheels of 4.2-5.0 need Python 3.11,
# those of 5.1+ Python 3.13.
# Usage: bash tools/venv.sh 5.3
set -euo pipefail
version="${1:-5.3}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The tested releases: newest patch of each (keep in step with README "Supported Blender").
case "$version" in
  4.2) pkgs="bpy==4.2.23"; pyver=3.11 ;;
  4.5) pkgs="bpy==4.5.15"; pyver=3.11 ;;
  5.0) pkgs="bpy==5.0.1"; pyver=3.11 ;;
  5.2) pkgs="bpy==5.2.3"; pyver=3.13 ;;
  5.3) pkgs="bpy==5.3.0"; pyver=3.13 ;;
  core) pkgs="numpy"; pyver=3.11 ;;
  lint) pkgs="ruff==0.17.6"; pyver=3.11 ;;
  *) echo "unknown version '$version' (use 4.2, 4.5, 5.0, 5.2, 5.3, core or lint)" >&2; exit 2 ;;
esac

is_python() {  # is_python CMD X.Y: CMD runs and is Python X.Y
  "$1" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$2'.split('.'))))" >/dev/null 2>&1
}
find_python() {  # find_python X.Y: print a working interpreter of Python X.Y
  local cand root
  local cands=("python$1")
  [ "$1" = 3.11 ] && cands+=(python3)
  root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
  # A pyenv shim on PATH may refuse to run a version that is not selected: look behind it.
  for cand in "$root"/versions/"$1".*/bin/python"$1" /usr/local/bin/python"$1" /usr/bin/python"$1"; do
    [ -x "$cand" ] && cands+=("$cand")
  done
  for cand in "${cands[@]}"; do
    if is_python "$cand" "$1"; then command -v "$cand"; return 0; fi
  done
  return 1
}

py="${PYTHON:-}"
if [ -n "$py" ] && ! is_python "$py" "$pyver"; then
  echo "PYTHON=$py is not Python $pyver, which bpy for Blender $version needs" >&2; exit 1
fi
[ -n "$py" ] || py="$(find_python "$pyver")" || {
  echo "Blender $version's bpy wheel needs Python $pyver: none found on PATH or under pyenv (install it, or set PYTHON=/path/to/python$pyver)" >&2
  exit 1
}
# DEPTH_CLOUD_VENV_DIR lets several checkouts share one set of environments.
venv="${DEPTH_CLOUD_VENV_DIR:-$repo}/.venv-$version"
stamp="$venv/.installed-$(echo "$pkgs" | tr -c 'a-zA-Z0-9.' '_')"
if [ ! -f "$stamp" ]; then
  reqs=("$pkgs")
  [ "$version" = lint ] || reqs+=("OpenEXR==3.5.3" pytest)
  echo "setting up $venv (${reqs[*]} on Python $pyver)…" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${reqs[@]}" >&2
  touch "$stamp"
fi
echo "$venv"
