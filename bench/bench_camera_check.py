"""Speed of Check Camera at 1920x1080 (pure core, numpy): the check a build runs (5 000
pixels), the full check (20 000 pixels) of a fitting camera, and the full analysis of a wrong
lens (intrinsic and convention alternatives; the Blender-side frames/cameras not included).
Prints numbers; asserts nothing.

    python bench/bench_camera_check.py     # any Python with numpy + OpenEXR (.venv-core)
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LINK_DIR = tempfile.mkdtemp(prefix="depth_cloud_bench_")
os.symlink(REPO, os.path.join(_LINK_DIR, "depth_cloud"))
sys.path.insert(0, _LINK_DIR)
sys.path.insert(0, os.path.join(REPO, "tests"))

from depth_cloud.core.camera.lists import camera_from_direction  # noqa: E402
from depth_cloud.core.camera.model import CameraModel  # noqa: E402
from depth_cloud.core.checks import camera_check as cc  # noqa: E402
from synthetic import rays, render_depth  # noqa: E402


def timed(fn, repeat=7):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main():
    direction = np.array([0.3, -1.0, 0.4]) / np.linalg.norm([0.3, -1.0, 0.4])
    cam = CameraModel(cam_to_world=camera_from_direction(direction, 2.0, (0, 0, 0)), width=1920, height=1080,
                      lens=35.0)
    z = render_depth(cam)
    origin, ray = rays(cam)
    hit = np.isfinite(z)
    pos = np.where(hit[..., None], origin + ray * np.where(hit, z, 0)[..., None], 0.0)
    planes = tuple(np.ascontiguousarray(pos[..., k], dtype=np.float32) for k in range(3))  # as EXR channels
    depth = np.where(hit, z, 1e10).astype(np.float32)
    print(f"1920x1080, {int(hit.sum()):,} surface pixels")
    for n in (5000, cc.MAX_SAMPLES):
        ms = timed(lambda n=n: cc.measure(cc.samples_from_arrays(depth, planes, max_samples=n), cam))
        print(f"check with {n:>6,} pixels (samples + measure): {ms:6.1f} ms")
    samples = cc.samples_from_arrays(depth, planes)
    wrong = replace(cam, lens=50.0)
    report = cc.check_camera(samples, wrong, "Camera")
    ms = timed(lambda: cc.check_camera(samples, wrong, "Camera"), repeat=3)
    print(f"full analysis of a wrong lens: {ms:6.1f} ms -> {report.cause}: {report.explanation[:60]}…")


if __name__ == "__main__":
    main()
