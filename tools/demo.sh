#!/usr/bin/env bash
# Set up Blender 5.0 (bpy wheel) once and run the bundled demo: out/demo_cloud.png.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$(bash "$repo/tools/venv.sh" "${BLENDER_VERSION:-5.0}")"
exec "$venv/bin/python" "$repo/demo/demo.py" "$@"
