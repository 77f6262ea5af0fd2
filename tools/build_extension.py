#!/usr/bin/env python3
"""Build and validate the Depth Cloud extension zips with Blender's own ``blender_ext.py``.

Usage (plain Python >= 3.11, needs ``pip``; finds ``blender_ext.py`` inside an installed ``bpy`` wheel)::

    python tools/build_extension.py [--blender-ext PATH] [--output-dir DIR] [--source-dir DIR] [--universal]

Steps: download the wheels listed in ``blender_manifest.toml`` that are missing from ``./wheels/``
(``pip download --no-deps``: numpy is never bundled, Blender ships it), build one zip per
platform (``--split-platforms``), optionally one universal zip, ``validate`` each zip against
Blender's extension tags, and print the zips.  Exits non-zero on any failure.
"""
from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import platform
import subprocess
import sys
import time
import zipfile

if sys.version_info < (3, 11):  # noqa: UP036 (a clear message when run with an older Python)
    sys.exit("build_extension.py needs Python >= 3.11 (tomllib, and blender_ext.py requires it)")
import tomllib

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANIFEST = "blender_manifest.toml"


class BuildError(Exception):
    pass


def read_manifest(source_dir: str) -> dict:
    path = os.path.join(source_dir, MANIFEST)
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as ex:
        raise BuildError(f"cannot read {path}: {ex}") from ex


def current_platform() -> str:
    """Blender's platform name for this machine, e.g. ``linux-x64`` (same rule as blender_ext.py)."""
    system = {"darwin": "macos"}.get(platform.system().lower(), platform.system().lower())
    machine = platform.machine().lower()
    machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64"}.get(machine, machine)
    return f"{system}-{machine}"


def zip_path(output_dir: str, manifest: dict, platform_name: str = "") -> str:
    """Path of the zip blender_ext.py writes: ``{id}-{version}[-{platform with _}].zip``."""
    suffix = "-" + platform_name.replace("-", "_") if platform_name else ""
    return os.path.join(output_dir, f"{manifest['id']}-{manifest['version']}{suffix}.zip")


def ensure_wheels(source_dir: str, manifest: dict) -> None:
    """Download every manifest wheel missing on disk; its file name must match exactly."""
    for rel in manifest.get("wheels", []):
        dest = os.path.normpath(os.path.join(source_dir, rel))
        if os.path.isfile(dest) and zipfile.is_zipfile(dest):
            continue
        name = os.path.basename(dest)
        parts = name[:-len(".whl")].split("-")
        if not name.endswith(".whl") or len(parts) != 5:
            raise BuildError(f"unsupported wheel name in manifest: {name}")
        dist, version, py_tag, abi_tag, plat_tag = parts
        if not py_tag.startswith("cp") or not py_tag[2:].isdigit():
            raise BuildError(f"only CPython wheels (cpXY) are supported: {name}")
        py_version = f"{py_tag[2]}.{py_tag[3:]}"
        wheel_dir = os.path.dirname(dest)
        os.makedirs(wheel_dir, exist_ok=True)
        cmd = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--platform", plat_tag, "--python-version", py_version, "--implementation", "cp",
            "--abi", abi_tag, "--dest", wheel_dir, f"{dist}=={version}",
        ]
        print("+", " ".join(cmd), flush=True)
        if subprocess.run(cmd).returncode != 0:
            raise BuildError(f"pip download failed for {name}")
        if not os.path.isfile(dest):
            near = sorted(f for f in os.listdir(wheel_dir) if f.startswith(f"{dist}-{version}-{py_tag}-"))
            raise BuildError(f"pip did not produce {name} (on disk for {py_tag}: {near}); "
                             "use the exact file name in the manifest")


def find_blender_ext(explicit: str | None) -> str:
    """``blender_ext.py`` from --blender-ext, $BLENDER_EXT, or the ``bpy`` wheel of this interpreter."""
    path = explicit or os.environ.get("BLENDER_EXT")
    if not path:
        spec = importlib.util.find_spec("bpy")  # locate without importing (importing is slow)
        roots = list(spec.submodule_search_locations or []) if spec else []
        if spec and spec.origin and not roots:
            roots = [os.path.dirname(spec.origin)]
        hits = sorted(h for r in roots for h in glob.glob(
            os.path.join(r, "*", "scripts", "addons_core", "bl_pkg", "cli", "blender_ext.py")))
        if not hits:
            raise BuildError("blender_ext.py not found: pass --blender-ext PATH, set BLENDER_EXT, "
                             "or run with a Python that has the bpy wheel installed")
        path = hits[-1]
    if not os.path.isfile(path):
        raise BuildError(f"blender_ext.py not found at {path}")
    return os.path.abspath(path)


def valid_tags_file(blender_ext: str) -> str:
    """Blender's tag list, which Blender itself enforces (blender_ext.py alone does not)."""
    path = os.path.normpath(os.path.join(os.path.dirname(blender_ext), "..", "..", "..",
                                         "modules", "_bpy_internal", "extensions", "tags.py"))
    return path if os.path.isfile(path) else ""


def run_ext(blender_ext: str, *args: str) -> None:
    cmd = [sys.executable, blender_ext, *args]
    print("+", " ".join(cmd), flush=True)
    if subprocess.run(cmd).returncode != 0:
        raise BuildError(f"blender_ext.py {args[0]} failed")


def build(source_dir: str, output_dir: str, blender_ext: str | None = None, universal: bool = False) -> list[str]:
    """Download wheels, build split (and optionally universal) zips, validate them; return zip paths."""
    source_dir, output_dir = os.path.abspath(source_dir), os.path.abspath(output_dir)
    manifest = read_manifest(source_dir)
    t0 = time.perf_counter()
    ensure_wheels(source_dir, manifest)
    t1 = time.perf_counter()
    ext = find_blender_ext(blender_ext)
    tags = ["--valid-tags", valid_tags_file(ext)]
    os.makedirs(output_dir, exist_ok=True)
    expected = [zip_path(output_dir, manifest, p) for p in manifest.get("platforms", [])]
    if not expected:
        raise BuildError("manifest declares no platforms")
    for path in expected:  # never report a stale zip from an earlier run
        if os.path.exists(path):
            os.remove(path)
    run_ext(ext, "build", "--split-platforms", "--source-dir", source_dir, "--output-dir", output_dir, *tags)
    if universal:
        expected.append(zip_path(output_dir, manifest))
        run_ext(ext, "build", "--source-dir", source_dir, "--output-filepath", expected[-1], *tags)
    missing = [p for p in expected if not os.path.isfile(p)]
    if missing:
        raise BuildError(f"build did not produce {missing}")
    for path in expected:
        run_ext(ext, "validate", *tags, path)
    t2 = time.perf_counter()
    print(f"wheels {t1 - t0:.1f} s, build+validate {t2 - t1:.1f} s")
    return expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blender-ext", help="path to Blender's bl_pkg/cli/blender_ext.py")
    parser.add_argument("--source-dir", default=REPO_DIR, help="extension root (default: this repo)")
    parser.add_argument("--output-dir", default=os.path.join(REPO_DIR, "dist"), help="default: <repo>/dist")
    parser.add_argument("--universal", action="store_true", help="also build one zip with every platform's wheels")
    args = parser.parse_args(argv)
    try:
        zips = build(args.source_dir, args.output_dir, args.blender_ext, args.universal)
    except BuildError as ex:
        print(f"error: {ex}", file=sys.stderr)
        return 1
    here = zip_path(os.path.abspath(args.output_dir), read_manifest(args.source_dir), current_platform())
    for path in zips:
        print(path + ("  (this platform)" if path == here else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
