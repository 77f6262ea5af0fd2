"""Import this checkout as the ``depth_cloud`` package (for scripts run with a bpy venv:
the demo and the benchmarks). The repository root is the package, whatever its folder name."""
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_extension(register=True):
    link_dir = tempfile.mkdtemp(prefix="depth_cloud_checkout_")
    os.symlink(REPO, os.path.join(link_dir, "depth_cloud"))
    sys.path.insert(0, link_dir)
    import depth_cloud
    if register:
        depth_cloud.register()
    return depth_cloud
