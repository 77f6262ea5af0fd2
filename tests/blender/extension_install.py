"""Build the extension zip and install it into a fresh Blender user directory (bpy wheel).

Typical use in a test::

    zip_path = build_zip(REPO_DIR, tmp_path / "dist")
    script = install_script(zip_path) + MY_TEST_CODE + disable_script()
    proc = run_in_fresh_blender(sys.executable, script, tmp_path / "user")
    assert proc.returncode == 0, proc.stdout + proc.stderr

Facts this relies on (measured with bpy 4.2.23 and 5.0.1):
- ``BLENDER_USER_RESOURCES=<dir>`` alone moves config, scripts, datafiles and extensions
  (``<dir>/extensions/user_default``); the other ``BLENDER_USER_*`` variables would override it,
  so they are removed from the child environment.
- ``bl_pkg`` is already enabled in the bpy module; the bpy module does not load
  ``userpref.blend`` on import, so an installed extension is enabled again in each new process
  (``addon_enable``), and nothing needs saving.
- Bundled wheels are extracted to ``<dir>/extensions/.local/lib/pythonX.Y/site-packages`` when the
  extension is enabled (and removed when it is disabled). If that folder does not exist when bpy is
  imported, Blender appends it to the END of ``sys.path``, so an OpenEXR installed in the venv
  shadows the bundled one; ``run_in_fresh_blender`` creates it first so the bundled wheel wins.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

MODULE = "bl_ext.user_default.depth_cloud"

# Runs before the caller's script, before bpy is imported (see module docstring).
_PROLOGUE = """\
import os as _os, sys as _sys
_os.makedirs(_os.path.join(_os.environ["BLENDER_USER_RESOURCES"], "extensions", ".local", "lib",
             "python{}.{}".format(*_sys.version_info[:2]), "site-packages"), exist_ok=True)
del _os, _sys
"""


def build_zip(repo_dir, out_dir) -> Path:
    """Build with ``tools/build_extension.py`` (downloads wheels once) and return this platform's zip."""
    repo_dir = Path(repo_dir).resolve()
    cmd = [sys.executable, str(repo_dir / "tools" / "build_extension.py"),
           "--source-dir", str(repo_dir), "--output-dir", str(Path(out_dir).resolve())]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    zips = [line.split()[0] for line in proc.stdout.splitlines() if line.endswith("(this platform)")]
    if proc.returncode != 0 or not zips:
        raise RuntimeError(f"build failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return Path(zips[0])


def install_script(zip_path, require_bundled_openexr: bool = True) -> str:
    """Python source: install + enable the zip into ``user_default``; fails (exit 1) if anything is off."""
    return f"""\
import sys, bpy
_result = bpy.ops.extensions.package_install_files(
    filepath={str(Path(zip_path).resolve())!r}, repo="user_default", enable_on_install=True)
assert _result == {{"FINISHED"}}, _result
assert {MODULE!r} in {{a.module for a in bpy.context.preferences.addons}}, "extension not enabled"
assert {MODULE!r} in sys.modules, "extension module not imported"
if {require_bundled_openexr!r}:
    import os, OpenEXR
    _site = os.path.join(bpy.utils.user_resource("EXTENSIONS"), ".local")
    assert os.path.abspath(OpenEXR.__file__).startswith(_site), "OpenEXR not from bundled wheel: " + OpenEXR.__file__
print("DEPTH_CLOUD_INSTALLED", bpy.app.version_string)
"""


def disable_script() -> str:
    """Python source: disable the extension again (its register/unregister must both work)."""
    return f"""\
assert bpy.ops.preferences.addon_disable(module={MODULE!r}) == {{"FINISHED"}}
assert {MODULE!r} not in {{a.module for a in bpy.context.preferences.addons}}, "extension still enabled"
print("DEPTH_CLOUD_DISABLED")
"""


def run_in_fresh_blender(python_exe, script_text: str, user_dir, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``script_text`` with ``python_exe`` (a venv with the bpy wheel) and a user dir of its own."""
    user_dir = Path(user_dir).resolve()
    user_dir.mkdir(parents=True, exist_ok=True)
    script_path = user_dir / "run_script.py"
    script_path.write_text(_PROLOGUE + script_text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_USER_")}
    env["BLENDER_USER_RESOURCES"] = str(user_dir)
    return subprocess.run([str(python_exe), str(script_path)], cwd=user_dir, env=env,
                          capture_output=True, text=True, timeout=timeout)


if __name__ == "__main__":  # smoke run: python tests/blender/extension_install.py [REPO_DIR]
    repo = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory() as tmp:
        zip_path = build_zip(repo, Path(tmp) / "dist")
        proc = run_in_fresh_blender(sys.executable, install_script(zip_path) + disable_script(), Path(tmp) / "user")
        print(proc.stdout[-2000:], proc.stderr[-2000:], f"exit {proc.returncode}", sep="\n")
        sys.exit(proc.returncode)
