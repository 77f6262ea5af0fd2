#!/usr/bin/env bash
# Set up Blender (bpy wheel; the newest supported release unless BLENDER_VERSION says another:
# 4.2, 4.5, 5.0, 5.2, 5.3) once and run the bundled demo: out/demo_cloud.png.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$(bash "$repo/tools/venv.sh" "${BLENDER_VERSION:-5.3}")"
exec "$venv/bin/python" "$repo/demo/demo.py" "$@"
