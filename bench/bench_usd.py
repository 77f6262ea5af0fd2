"""USD bake time per frame at 1920x1080 (no assertions: prints numbers).

Synthetic frames made with OpenEXR: planar Z + RGBA (ZIP, as Blender writes them) with the
camera model in the header, every pixel a surface (2,073,600 points per frame). Prints, per
frame, the whole bake step (read + unproject + write the USD time sample + save), the part
spent reading and unprojecting (the same pipeline as Build), file size and peak memory, and
the cost of the header rewrite Render Passes does after each render.

    "$(bash tools/venv.sh 5.0)"/bin/python bench/bench_usd.py [frames]
"""
from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
from checkout import import_extension  # noqa: E402

W, H = 1920, 1080


def make_frames(folder, count):
    import OpenEXR

    from depth_cloud.core.camera.from_header import HEADER_CONVENTION, camera_to_header
    from depth_cloud.core.camera.model import CameraModel
    rows, cols = np.mgrid[0:H, 0:W].astype(np.float32)
    paths = []
    for k in range(count):
        m = np.eye(4)
        m[:3, 3] = (0.05 * k, -8.0, 1.5)
        m[:3, :3] = [[1, 0, 0], [0, 0, -1], [0, 1, 0]]  # looking down +Y
        model = CameraModel(cam_to_world=m, width=W, height=H, lens=35.0)
        z = (6.0 + 2.0 * rows / H + 0.3 * np.sin(cols / 90.0 + k)).astype(np.float32)
        channels = {"Z": z, "R": cols / W, "G": rows / H, "B": np.full_like(z, 0.25 + 0.1 * k), "A": np.ones_like(z)}
        header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
        header.update(camera_to_header(model))
        header[HEADER_CONVENTION] = "PLANAR"
        path = os.path.join(folder, f"synthetic_{k + 1:04d}.exr")
        with OpenEXR.File(header, {n: np.ascontiguousarray(v, np.float32) for n, v in channels.items()}) as f:
            f.write(path)
        paths.append(path)
    return os.path.join(folder, "synthetic_####.exr"), paths


def main(count=6):
    import bpy
    import OpenEXR
    import_extension()
    from depth_cloud import api
    from depth_cloud.core.exr.write import add_header_attributes
    from depth_cloud.glue import inputs
    if hasattr(OpenEXR, "set_global_thread_count"):
        OpenEXR.set_global_thread_count(2)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        pattern, paths = make_frames(folder, count)
        print(f"made {count} synthetic {W}x{H} frames in {time.perf_counter() - t0:.1f} s")
        frames = list(range(1, count + 1))

        spec = api.source_spec(scene, pattern)
        read = []
        for f in frames:
            t = time.perf_counter()
            ps, _ = inputs.point_set_for_frame(scene, spec, f)
            read.append(time.perf_counter() - t)
        points = len(ps)

        steps = []
        usd = os.path.join(folder, "bench.usdc")
        result = api.bake_usd(scene, frames=frames, path=usd, source=pattern,
                              progress=lambda done, total, frame, n, s: steps.append(s))
        size = os.path.getsize(usd)

        rewrite = []
        for p in paths[:3]:
            t = time.perf_counter()
            add_header_attributes(p, p + ".rewritten.exr", {"depthCloud/camera": "x" * 700})
            rewrite.append(time.perf_counter() - t)

    med = statistics.median
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"points per frame            {points:,}")
    print(f"USD bake, per frame         median {med(steps) * 1000:.0f} ms  (min {min(steps) * 1000:.0f}, "
          f"max {max(steps) * 1000:.0f}; {count} frames, total {result.seconds:.2f} s incl. setup)")
    print(f"  of which read + unproject median {med(read) * 1000:.0f} ms")
    print(f"  so USD write + save       ~{(med(steps) - med(read)) * 1000:.0f} ms")
    print(f"USD file                    {size / 2 ** 20:.0f} MiB, {size / (points * count):.1f} bytes per point")
    print(f"peak resident memory        {peak:.0f} MiB (bounded by one frame: the crate file is saved per frame)")
    print(f"EXR header rewrite (Render Passes, ZIP, 1080p Z+RGBA) median {med(rewrite) * 1000:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
