"""The safe EXR reader (no OpenEXR module, core/exr_safe.py) against OpenEXR's read, per codec,
on a 1080p Cycles render; and today's read in a safe host before/after the change.

    <venv>/bin/python bench/bench_safe_reader.py [--cache ~/.cache/depth_cloud_bench] [--size 1920x1080]
        [--codecs ZIP,ZIPS,NONE,RLE,PIZ,PXR24,B44,B44A,DWAA] [--repeat 3] [--passes combined_z|16]

Renders ONCE per codec into the cache folder (bench/bench_production.py's scene and files:
Combined + Z, or its 16 passes), then prints per codec the median of ``--repeat`` reads
after a warm-up: ``read_exr`` of every channel with the OpenEXR module
(``DEPTH_CLOUD_EXR_READER=openexr``), with the safe reader (``=safe``), their ratio; the
build's read (Depth + Combined only, ``channels=``) the same two ways; and ``auto`` (this
process is a safe host: the OpenEXR reader, unchanged). A codec the safe reader does not
decode prints its typed error. ``--before REV`` also times ``read_exr`` of a checkout of
``REV`` (e.g. the commit before the safe reader), imported in this process, on the same files.

Nothing is asserted; the numbers depend on the machine and on what else runs on it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import import_extension, timed  # noqa: E402
from bench_production import PASSES_16, make_scene, render_once, say, set_output  # noqa: E402

CODECS = ("ZIP", "ZIPS", "NONE", "RLE", "PIZ", "PXR24", "B44", "B44A", "DWAA")
WANTED = ("ViewLayer.Depth.Z", "ViewLayer.Combined.R", "ViewLayer.Combined.G", "ViewLayer.Combined.B",
          "ViewLayer.Combined.A")

def read_times(path, repeat):
    from depth_cloud.core.errors import DepthCloudError
    from depth_cloud.core.exr import host as exr_host
    from depth_cloud.core.exr.read import read_exr
    out = {}
    for mode in ("openexr", "safe", "auto"):
        os.environ[exr_host.ENV] = mode
        try:
            out[mode] = timed(lambda: read_exr(path), repeat=repeat, warmup=1)[0]
            out[mode + "_sel"] = timed(lambda: read_exr(path, channels=lambda names: [n for n in WANTED if n in names]),
                                       repeat=repeat, warmup=1)[0]
        except DepthCloudError as err:
            out[mode] = out[mode + "_sel"] = None
            out["error"] = str(err)
    os.environ.pop(exr_host.ENV, None)
    return out


def before_times(rev, files, repeat):
    """``{path: seconds}``: ``read_exr`` of a checkout of ``rev`` (a git worktree made and
    removed here), imported in this process as the package ``depth_cloud_before``: the same
    host, the same files."""
    import importlib
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tmp = tempfile.mkdtemp(prefix="depth_cloud_before_")
    tree = os.path.join(tmp, "depth_cloud_before")
    subprocess.run(["git", "-C", repo, "worktree", "add", "--detach", tree, rev], check=True, capture_output=True)
    try:
        sys.path.insert(0, tmp)
        old = importlib.import_module("depth_cloud_before.core.exr").read_exr
        from depth_cloud.core.exr.read import read_exr as new
        out = {}
        for path in files:  # old and new alternately, so that the machine's load hits both alike
            times = {"old": [], "new": []}
            old(path)
            new(path)
            for _ in range(repeat):
                for name, fn in (("old", old), ("new", new)):
                    t = time.perf_counter()
                    fn(path)
                    times[name].append(time.perf_counter() - t)
            out[path] = (statistics.median(times["old"]), statistics.median(times["new"]))
        return out
    finally:
        sys.path.remove(tmp)
        subprocess.run(["git", "-C", repo, "worktree", "remove", "--force", tree], capture_output=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/depth_cloud_bench"))
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--codecs", default=",".join(CODECS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--passes", default="combined_z", choices=("combined_z", "16"))
    ap.add_argument("--before", default="", help="git revision whose read_exr to time on the same files")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    import_extension(register=False)
    import bpy

    from depth_cloud.core.exr import host as exr_host
    say(f"Blender {bpy.app.version_string}; host: {exr_host.host_report(refresh=True).reason}")
    folder = os.path.join(args.cache, f"{w}x{h}_b{bpy.app.version[0]}{bpy.app.version[1]}")
    os.makedirs(folder, exist_ok=True)
    scene = make_scene(w, h)
    passes = ("z",) if args.passes == "combined_z" else PASSES_16
    stem = "combined_z" if args.passes == "combined_z" else "passes16"
    files = {}
    for c in args.codecs.split(","):
        half = c in ("B44", "B44A")  # Blender offers B44/B44A for half float output only
        set_output(scene, "ZIP", passes)  # an EXR format first: then the color depths are the EXR ones
        scene.render.image_settings.color_depth = '16' if half else '32'
        files[c] = render_once(scene, os.path.join(folder, f"{stem}_{c}{'_half' if half else ''}.exr"), c, passes)
    scene.render.image_settings.color_depth = '32'

    say(f"\n{w}x{h} {args.passes}, median of {args.repeat} reads (ms); every channel | the build's channels")
    say(f"{'codec':6s} {'MiB':>6s} | {'OpenEXR':>8s} {'safe':>8s} {'ratio':>6s} | {'OpenEXR':>8s} {'safe':>8s} "
        f"{'ratio':>6s} | {'auto':>7s}")
    rows = {}
    for codec, path in files.items():
        t = read_times(path, args.repeat)
        rows[codec] = t
        size = os.path.getsize(path) / 2 ** 20
        if t["safe"] is None:
            say(f"{codec:6s} {size:6.1f} | {1e3 * t['openexr']:8.0f} {'-':>8s} {'-':>6s} | "
                f"{1e3 * t['openexr_sel']:8.0f} {'-':>8s} {'-':>6s} | {1e3 * t['auto']:7.0f}   ({t['error']})")
            continue
        say(f"{codec:6s} {size:6.1f} | {1e3 * t['openexr']:8.0f} {1e3 * t['safe']:8.0f} "
            f"{t['safe'] / t['openexr']:6.1f} | {1e3 * t['openexr_sel']:8.0f} {1e3 * t['safe_sel']:8.0f} "
            f"{t['safe_sel'] / t['openexr_sel']:6.1f} | {1e3 * t['auto']:7.0f}")
    if args.before:
        old = before_times(args.before, list(files.values()), args.repeat)
        say(f"\nread_exr in this (safe) host, every channel, {args.before} -> this checkout (default reader), "
            f"reads alternated, median of {args.repeat} (ms)")
        for codec, path in files.items():
            say(f"{codec:6s} {1e3 * old[path][0]:8.0f} -> {1e3 * old[path][1]:8.0f}")


if __name__ == "__main__":
    main()
