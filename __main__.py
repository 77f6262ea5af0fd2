"""``python -m depth_cloud [shot.blend] <command> [options]``: the command line from any Python
where ``bpy`` imports (a ``pip install bpy`` environment), the same subcommands, options and
exit statuses as ``blender -b [shot.blend] -c depth_cloud <command> [options]``.

A first argument ending in ``.blend`` is opened first, as ``blender -b shot.blend`` does.
The package must be importable as ``depth_cloud`` (the repository checked out or linked under
that name on ``sys.path``, or the extension's folder).
"""
from __future__ import annotations

import sys


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        import bpy
    except ImportError as err:
        print(f"depth_cloud: error: this Python cannot import bpy ({err}); run it with the Python of a "
              "'pip install bpy' environment, or use 'blender -b -c depth_cloud ...'", file=sys.stderr)
        return 1
    package = __package__ or "depth_cloud"
    import importlib
    dc = importlib.import_module(package)
    if argv and argv[0].lower().endswith(".blend"):
        import os
        blend = os.path.abspath(argv.pop(0))
        if not os.path.isfile(blend):
            print(f"depth_cloud: error: {blend}: no such .blend file", file=sys.stderr)
            return 2
        from .cli.common import blender_quiet
        with blender_quiet():
            bpy.ops.wm.open_mainfile(filepath=blend)
    from .glue import compat
    compat.expose_bundled_modules()  # pxr (USD output) in a pip bpy of 4.5+
    dc.register()
    try:
        from .cli import main as cli_main
        return cli_main(argv)
    finally:
        dc.unregister()


if __name__ == "__main__":
    sys.exit(main())
