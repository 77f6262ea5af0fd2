"""Panoramic unprojection speed (pure core, no Blender): prints numbers, asserts nothing.

    python bench/bench_panorama.py

Times ``core.points.panorama.unproject`` on synthetic frames (every pixel a surface) and a naive
per-pixel Python loop (timed on a sample, extrapolated) for the ratio.
"""
import math
import os
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LINKS = tempfile.mkdtemp(prefix="depth_cloud_bench_")
os.symlink(REPO, os.path.join(_LINKS, "depth_cloud"))
sys.path.insert(0, _LINKS)

from depth_cloud.core.camera import lens  # noqa: E402
from depth_cloud.core.camera.model import CameraModel  # noqa: E402
from depth_cloud.core.points import panorama as pano_points  # noqa: E402
from depth_cloud.core.points.inputs import FramePasses  # noqa: E402


def naive(camera, depth, n):
    """Per-pixel Python: equirectangular direction, then the matrix, pixel by pixel."""
    h, w = depth.shape
    s = lens.settings(camera)
    m = camera.cam_to_world
    out = []
    for i in range(n):
        r, c = divmod(i * 7919 % (h * w), w)
        u = (c + 0.5) / w
        v = 1 - (r + 0.5) / h
        phi = (s["longitude_min"] - s["longitude_max"]) * u - s["longitude_min"]
        theta = (s["latitude_min"] - s["latitude_max"]) * v - s["latitude_min"] + math.pi / 2
        d = (-math.sin(theta) * math.sin(phi), math.cos(theta), -math.sin(theta) * math.cos(phi))
        z = float(depth[r, c])
        p = [m[k][0] * d[0] * z + m[k][1] * d[1] * z + m[k][2] * d[2] * z + m[k][3] for k in range(3)]
        out.append(p)
    return out


def main():
    rng = np.random.default_rng(0)
    for kind, (w, h) in (("EQUIRECTANGULAR", (4096, 2048)), ("EQUIRECTANGULAR", (1920, 960)),
                         ("FISHEYE_EQUISOLID", (2048, 2048)), ("MIRRORBALL", (1024, 1024))):
        cam = CameraModel(cam_to_world=np.eye(4), width=w, height=h, projection="PANO",
                          panorama=lens.panorama_dict(kind))
        depth = rng.uniform(1.0, 20.0, (h, w)).astype(np.float32)
        passes = FramePasses(path="synthetic", frame_size=(w, h), depth=depth, depth_channel="Z")
        times = []
        for _ in range(3):
            t = time.perf_counter()
            ps = pano_points.unproject(passes, cam)
            times.append(time.perf_counter() - t)
        best = min(times)
        line = f"{kind:20s} {w}x{h}: {len(ps):>9d} points in {best * 1000:7.1f} ms ({len(ps) / best / 1e6:.1f} Mpts/s)"
        if kind == "EQUIRECTANGULAR":
            n = 20000
            t = time.perf_counter()
            naive(cam, depth, n)
            per_px = (time.perf_counter() - t) / n
            line += f"; naive per-pixel Python ~{per_px * w * h:.1f} s (x{per_px * w * h / best:.0f})"
        print(line)


if __name__ == "__main__":
    main()
