"""The built extension zip installs into a fresh Blender user directory through Blender's own
extension install, enables, builds a cloud, and disables cleanly (everything unregistered)."""
import sys
from pathlib import Path

from extension_install import MODULE, build_zip, disable_script, install_script, run_in_fresh_blender

import paths

REPO = Path(paths.REPO)
SCENES = Path(paths.TESTS) / "scenes.py"

BUILD_AND_CHECK = """
import importlib.util, numpy as np
spec = importlib.util.spec_from_file_location("scenes", {scenes!r})
scenes = importlib.util.module_from_spec(spec); spec.loader.exec_module(scenes)
scene = bpy.context.scene  # no factory reset here: it would disable the extension
for ob in list(bpy.data.objects):
    bpy.data.objects.remove(ob)
scenes.setup_render(scene, 48, 36)
scenes.add_primitives(scene)
scenes.add_camera(scene, shift_x=0.1)
path = scenes.render(scene, {exr!r})
scene.depth_cloud.exr_path = path
assert bpy.ops.depth_cloud.build() == {{'FINISHED'}}
clouds = [o for o in scene.objects if o.depth_cloud.is_cloud]
assert len(clouds) == 1 and clouds[0].type == 'POINTCLOUD', clouds
from depth_cloud import api  # the documented import works inside real Blender
assert api.unproject(scene, source=path).positions.shape[0] == len(clouds[0].data.points)
# the machine's settings are the add-on's preferences, and playback's budget follows them
prefs = bpy.context.preferences.addons[{module!r}].preferences
prefs.cache_mb = 123.0
preferences = importlib.import_module({module!r} + ".glue.preferences")
assert preferences.cache_budget_mb() == 123.0
# the build kept freed memory, capped by the preference (glue/memory.py; glibc only)
memory = importlib.import_module({module!r} + ".glue.memory")
assert prefs.keep_memory_mb == preferences.DEFAULT_KEEP_MB
assert memory.pad_in_force() == (memory.MIN_PAD if memory._libc() else 0), memory.pad_in_force()
assert prefs.read_ahead_workers == 0  # Automatic by default: one worker per core
assert preferences.read_ahead_workers() == (preferences.automatic_workers(), True)
prefs.read_ahead_workers = 10 ** 6  # the property clamps
assert prefs.read_ahead_workers == preferences.MAX_READ_AHEAD_WORKERS
prefs.read_ahead_workers = 2
assert preferences.read_ahead_workers() == (2, True)
print("DEPTH_CLOUD_BUILT", len(clouds[0].data.points))
"""

AFTER_DISABLE = """
for owner in (bpy.types.Scene, bpy.types.Object):
    left = [a for a in dir(owner) if a.startswith("depth_cloud")]
    assert not left, f"{owner.__name__} still has {left}"
left = [n for n in dir(bpy.types) if n.startswith("DEPTH_CLOUD_")]
assert not left, left
for name in dir(bpy.app.handlers):
    handlers = getattr(bpy.app.handlers, name)
    if isinstance(handlers, list):
        assert not [h for h in handlers if "depth_cloud" in getattr(h, "__module__", "")], name
assert "depth_cloud" not in sys.modules, "module alias left behind"
print("DEPTH_CLOUD_CLEAN")
"""


def test_zip_installs_enables_builds_and_disables(tmp_path):
    zip_path = build_zip(REPO, tmp_path / "dist")
    script = (install_script(zip_path)
              + BUILD_AND_CHECK.format(scenes=str(SCENES), exr=str(tmp_path / "frame.exr"), module=MODULE)
              + disable_script() + AFTER_DISABLE)
    proc = run_in_fresh_blender(sys.executable, script, tmp_path / "user")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    for marker in ("DEPTH_CLOUD_INSTALLED", "DEPTH_CLOUD_BUILT", "DEPTH_CLOUD_DISABLED", "DEPTH_CLOUD_CLEAN"):
        assert marker in proc.stdout, out[-4000:]
