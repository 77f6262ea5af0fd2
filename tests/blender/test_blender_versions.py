"""What users do on every supported Blender (4.2 LTS - 5.3), in a fresh process each:

- a background script enables the installed extension the way users do
  (``addon_utils.enable``), builds a cloud and exits: exit status 0, no crash or hang at exit;
- with a plain ``pip install bpy`` (nothing put on ``sys.path`` by hand) USD export and the CLI's
  ``.usdc`` output work wherever the wheel bundles ``pxr`` (4.5+), and say clearly that it is
  missing where it truly is (the 4.2 wheel).
"""
import glob
import os
import sys
from pathlib import Path

from extension_install import MODULE, build_zip, install_script, run_in_fresh_blender

import paths

REPO = Path(paths.REPO)
SCENES = Path(paths.TESTS) / "scenes.py"


def _wheel_bundles_pxr() -> bool:
    """Whether this bpy wheel carries Blender's USD module (read from its files, not by importing)."""
    import bpy
    site = os.path.join(bpy.utils.resource_path('LOCAL'), "python", "lib", "python3*", "site-packages", "pxr")
    return bool(glob.glob(site))


USER_SCRIPT = """
import importlib.util, sys, bpy
import addon_utils  # on the path once bpy is imported
addon_utils.enable({module!r}, default_set=True, handle_error=None)
assert {module!r} in {{a.module for a in bpy.context.preferences.addons}}, "not enabled"
assert "pxr" not in sys.modules  # nothing imported USD behind the user's back
spec = importlib.util.spec_from_file_location("scenes", {scenes!r})
scenes = importlib.util.module_from_spec(spec); spec.loader.exec_module(scenes)
scene = bpy.context.scene
scenes.setup_render(scene, 32, 24)
scenes.add_primitives(scene)
scenes.add_camera(scene)
path = scenes.render(scene, {exr!r})
scene.depth_cloud.exr_path = path
assert bpy.ops.depth_cloud.build() == {{'FINISHED'}}
clouds = [o for o in scene.objects if o.depth_cloud.is_cloud]
print("DEPTH_CLOUD_BUILT", len(clouds[0].data.points))
from depth_cloud import api
try:
    result = api.bake_usd(scene, frames=[1], path={usd!r}, source=path)
    print("DEPTH_CLOUD_USD_OK", result.points)
except api.DepthCloudError as err:
    print("DEPTH_CLOUD_USD_ERROR", type(err).__name__, err)
status = api.run_cli(["build", "--source", path, "--frames", "1", "-o", {cli_usd!r}])
print("DEPTH_CLOUD_CLI_STATUS", status)
# exit with the extension still enabled, as a user's script does
"""


def test_background_script_enables_builds_exports_and_exits(tmp_path):
    import bpy
    zip_path = build_zip(REPO, tmp_path / "dist")
    user = tmp_path / "user"
    install = run_in_fresh_blender(sys.executable, install_script(zip_path), user)
    assert install.returncode == 0, (install.stdout + install.stderr)[-4000:]
    script = USER_SCRIPT.format(module=MODULE, scenes=str(SCENES), exr=str(tmp_path / "frame.exr"),
                                usd=str(tmp_path / "api.usdc"), cli_usd=str(tmp_path / "cli.usdc"))
    proc = run_in_fresh_blender(sys.executable, script, user)
    out = proc.stdout + proc.stderr
    print(f"\nBlender {bpy.app.version_string}: exit {proc.returncode}; "
          + "; ".join(line for line in proc.stdout.splitlines() if line.startswith("DEPTH_CLOUD_")))
    assert proc.returncode == 0, out[-4000:]
    built = [line for line in proc.stdout.splitlines() if line.startswith("DEPTH_CLOUD_BUILT")]
    assert built and int(built[0].split()[1]) > 100, out[-4000:]
    cli_status = [int(line.split()[1]) for line in proc.stdout.splitlines()
                  if line.startswith("DEPTH_CLOUD_CLI_STATUS")]
    if _wheel_bundles_pxr():
        assert "DEPTH_CLOUD_USD_OK" in proc.stdout, out[-4000:]
        assert cli_status == [0], out[-4000:]
        assert (tmp_path / "api.usdc").stat().st_size > 0 and (tmp_path / "cli.usdc").stat().st_size > 0
    else:
        lines = [line for line in proc.stdout.splitlines() if line.startswith("DEPTH_CLOUD_USD_ERROR")]
        assert lines and "ExportError" in lines[0] and "pxr" in lines[0], out[-4000:]
        assert cli_status and cli_status[0] != 0 and "pxr" in proc.stderr, out[-4000:]
        assert not (tmp_path / "cli.usdc").exists()

