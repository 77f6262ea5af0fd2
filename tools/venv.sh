#!/usr/bin/env bash
# Make (once) and print the path of a virtual environment for Blender VERSION ("5.0", "4.2")
# or "core" (numpy + OpenEXR only: proves the core runs without Blender).
# Usage: bash tools/venv.sh 5.0
set -euo pipefail
version="${1:-5.0}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "$version" in
  5.0) pkgs="bpy==5.0.1" ;;
  4.2) pkgs="bpy==4.2.23" ;;
  core) pkgs="numpy" ;;
  *) echo "unknown version '$version' (use 5.0, 4.2 or core)" >&2; exit 2 ;;
esac
py="${PYTHON:-}"
if [ -z "$py" ]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      py="$cand"; break
    fi
  done
fi
[ -n "$py" ] || { echo "Blender's bpy wheels need Python 3.11 (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
venv="$repo/.venv-$version"
stamp="$venv/.installed-$(echo "$pkgs" | tr -c 'a-zA-Z0-9.' '_')"
if [ ! -f "$stamp" ]; then
  echo "setting up $venv ($pkgs, OpenEXR, pytest)…" >&2
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check $pkgs "OpenEXR==3.5.3" pytest >&2
  touch "$stamp"
fi
echo "$venv"
