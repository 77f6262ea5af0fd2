"""Deep EXR reading at 1920x1080 with about 3.1 M samples (0..3 per pixel, RGBA half + Z float,
ZIPS): OpenEXR's own read (``OpenEXR.File(..., separate_channels=True)``) against flattening
its per-pixel object arrays (``core.deep_read.flatten_part``), then the whole frame read and the
unprojection. The file is made once into a cache folder (``DEPTH_CLOUD_BENCH_CACHE``, default
``<tmp>/depth_cloud_bench``).

Run: "$(bash tools/venv.sh core)"/bin/python bench/bench_deep.py [--repeat 3]   (no Blender needed)
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINK_DIR = tempfile.mkdtemp(prefix="depth_cloud_bench_")
os.symlink(REPO, os.path.join(LINK_DIR, "depth_cloud"))
sys.path.insert(0, LINK_DIR)

from depth_cloud.core import CameraModel, SourceSpec, read_frame_passes, unproject
from depth_cloud.core.exr import deep_read  # noqa: E402
from depth_cloud.core.exr import read as exr
from depth_cloud.core.points import deep

W, H = 1920, 1080


def make_file(folder: str) -> str:
    path = os.path.join(folder, "deep_1080p_3M.exr")
    if os.path.isfile(path):
        return path
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 4, size=(H, W)).astype(np.int32)
    s = int(counts.sum())
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    base = np.repeat((6.0 + 2.0 * np.sin(xx / W * 6.0) * np.cos(yy / H * 4.0)).reshape(-1), counts.reshape(-1))
    z = (base + rng.random(s, np.float32) * 3.0).astype(np.float32)
    a = rng.uniform(0.1, 1.0, s).astype(np.float16)
    chans = {"Z": z, "A": a, **{c: (rng.random(s, np.float32) * a).astype(np.float16) for c in "RGB"}}
    t = time.perf_counter()
    deep.write_deep_exr(path + ".partial", counts, chans)
    os.replace(path + ".partial", path)
    print(f"made {path}: {s:,} samples, {os.path.getsize(path) / 1e6:.1f} MB in {time.perf_counter() - t:.1f} s")
    return path


def flatten(path, part):
    """``core.deep_read.flatten_part`` of part 0, as ``core.exr.read_exr`` calls it."""
    lo, hi = part.header["dataWindow"]
    return deep_read.flatten_part(path, 0, part, {"channels": part.header["channels"]},
                                  (int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1])))


def median(fn, repeat):
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache", default=os.environ.get("DEPTH_CLOUD_BENCH_CACHE",
                                                      os.path.join(tempfile.gettempdir(), "depth_cloud_bench")))
    args = ap.parse_args(argv)
    path = make_file(args.cache)
    OpenEXR = exr.import_openexr()
    exr.read_exr(path, header_only=True)
    OpenEXR.set_global_thread_count(min(os.cpu_count() or 1, 8))  # compressed files: as read_exr decodes
    t_read, f = median(lambda: deep_read.open_deep_file(OpenEXR, path), args.repeat)  # as read_exr opens it
    t_separate, sep = median(lambda: OpenEXR.File(path, separate_channels=True), 1)
    first_part = sep.parts[0]
    t_flat_separate, _ = median(lambda: flatten(path, first_part), 1)
    sep = first_part = _ = None  # free the separate-channel read before the next one
    part = f.parts[0]
    t_flat, dp = median(lambda: flatten(path, part), args.repeat)
    t_frame, passes = median(lambda: read_frame_passes(SourceSpec(path), 1), args.repeat)
    cam = CameraModel(np.eye(4), W, H, lens=35.0, clip_start=0.1, clip_end=100.0)
    t_unproject, ps = median(lambda: unproject(passes, cam), args.repeat)
    t_front, front = median(lambda: unproject(read_frame_passes(SourceSpec(path, deep_samples="FRONT"), 1), cam), 1)
    print(f"{W}x{H}, {dp.samples:,} samples, {len(dp.channels)} channels, "
          f"{OpenEXR.global_thread_count()} decode thread(s), median of {args.repeat}:")
    print(f"  OpenEXR read (RGBA interleaved)       {t_read * 1e3:8.0f} ms")
    print(f"  flatten (core.deep_read.flatten_part) {t_flat * 1e3:8.0f} ms  = {t_flat / t_read:.2f} x the read")
    print(f"  for comparison, channel by channel: read {t_separate * 1e3:.0f} ms, flatten "
          f"{t_flat_separate * 1e3:.0f} ms = {t_flat_separate / t_separate:.2f} x (one run)")
    print(f"  whole frame read (read_frame_passes)  {t_frame * 1e3:8.0f} ms")
    print(f"  unproject, all samples                {t_unproject * 1e3:8.0f} ms  ({len(ps):,} points)")
    print(f"  read + unproject, front samples       {t_front * 1e3:8.0f} ms  ({len(front):,} points)")


if __name__ == "__main__":
    main()
