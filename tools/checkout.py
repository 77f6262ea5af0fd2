"""Import this checkout as the ``depth_cloud`` package (for scripts run with a bpy venv:
the demo and the benchmarks). The repository root is the package, whatever its folder name."""
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def add_bundled_modules():
    """Put the bpy wheel's bundled ``pxr``/``OpenImageIO`` on sys.path (real Blender has them)."""
    import glob

    import bpy
    pattern = os.path.join(bpy.utils.resource_path('LOCAL'), "python", "lib", "python3*", "site-packages")
    for site in glob.glob(pattern):
        if site not in sys.path:
            sys.path.append(site)


def import_extension(register=True):
    add_bundled_modules()
    link_dir = tempfile.mkdtemp(prefix="depth_cloud_checkout_")
    os.symlink(REPO, os.path.join(link_dir, "depth_cloud"))
    sys.path.insert(0, link_dir)
    import depth_cloud
    if register:
        depth_cloud.register()
    return depth_cloud
