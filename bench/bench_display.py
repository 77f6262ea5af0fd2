"""Speed of the display pipeline: surface triangulation, edge cleanup, Blender datablocks and
Geometry Nodes evaluation per display mode. Prints numbers; asserts nothing.

    python bench/bench_display.py            # core only (numpy)
    "$(bash tools/venv.sh 5.0)"/bin/python bench/bench_display.py   # + Blender (bpy wheel)

The naive reference is a per-pixel Python triangulation (dict of shared corners), run at
400x400 and compared with the vectorized one at the same size.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LINK_DIR = tempfile.mkdtemp(prefix="depth_cloud_bench_")
os.symlink(REPO, os.path.join(_LINK_DIR, "depth_cloud"))
sys.path.insert(0, _LINK_DIR)

from depth_cloud.core.camera.model import CameraModel  # noqa: E402
from depth_cloud.core.points.filters import remove_flying_pixels  # noqa: E402
from depth_cloud.core.points.grid_mesh import surface_from_point_set  # noqa: E402
from depth_cloud.core.points.inputs import FramePasses  # noqa: E402
from depth_cloud.core.points.unproject import unproject  # noqa: E402


def timed(fn, repeat=3):
    times = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def synthetic(width, height):
    m = np.eye(4)
    m[:3, 3] = (0, 0, 5)
    cam = CameraModel(cam_to_world=m, width=width, height=height, lens=35.0)
    x = cam.plane_x(np.arange(width))[None, :]
    y = cam.plane_y(np.arange(height))[:, None]
    z = (1.0 / (0.2 + 0.05 * x - 0.03 * y)).astype(np.float32)
    z[height // 4:height // 2, width // 3:2 * width // 3] *= 0.6
    z[:, : width // 10] = 1e10
    rng = np.random.default_rng(0)
    color = rng.random((height, width, 4), dtype=np.float32)
    passes = FramePasses(path="synthetic", frame_size=(width, height), depth=z, depth_channel="Z", color=color)
    return unproject(passes, cam), cam


def naive_surface(point_set, camera, max_jump=0.05):
    """Per-pixel Python: the same corner-sharing rule, one pixel at a time."""
    depth = {tuple(p): float(d) for p, d in zip(point_set.pixels.tolist(), point_set.depth.tolist())}
    verts, faces, index = [], [], {}
    for (c, r), z in depth.items():
        face = []
        for dc, dr in ((0, 0), (0, 1), (1, 1), (1, 0)):
            cx, cy = c + dc, r + dr
            group = []
            for pc, pr in ((cx - 1, cy - 1), (cx, cy - 1), (cx - 1, cy), (cx, cy)):
                q = depth.get((pc, pr))
                if q is not None and abs(q - z) <= max_jump * min(q, z):
                    group.append((pc, pr))
            key = (cx, cy, tuple(group))
            if key not in index:
                zc = len(group) / sum(1.0 / depth[g] for g in group)
                px = float(camera.plane_x(cx - 0.5)) * zc
                py = float(camera.plane_y(cy - 0.5)) * zc
                index[key] = len(verts)
                verts.append(camera.cam_to_world[:3, :3] @ (px, py, -zc) + camera.cam_to_world[:3, 3])
            face.append(index[key])
        faces.append(face)
    return verts, faces


def main():
    ps, cam = synthetic(1920, 1080)
    print(f"1920x1080 synthetic frame, {len(ps):,} points")
    t, surf = timed(lambda: surface_from_point_set(ps, cam))
    print(f"  surface_from_point_set : {t * 1000:8.1f} ms  ({len(surf.vertices):,} vertices, {len(surf):,} quads)")
    t, _ = timed(lambda: remove_flying_pixels(ps, 0.05, "FLYING"))
    print(f"  remove_flying_pixels   : {t * 1000:8.1f} ms")

    small, scam = synthetic(400, 400)
    t_vec, _ = timed(lambda: surface_from_point_set(small, scam))
    t_naive, _ = timed(lambda: naive_surface(small, scam), repeat=1)
    print(f"400x400 ({len(small):,} points): vectorized {t_vec * 1000:.1f} ms, naive per-pixel Python "
          f"{t_naive * 1000:.0f} ms, ratio {t_naive / t_vec:.0f}x")

    try:
        import bpy
    except ImportError:
        print("(no bpy: Blender part skipped)")
        return
    import depth_cloud
    depth_cloud.register()
    from depth_cloud.glue import datablock, display
    scene = bpy.context.scene
    print(f"Blender {bpy.app.version_string}")
    t, me = timed(lambda: datablock.mesh_from_surface(surf, ps, "bench"), repeat=1)
    print(f"  mesh_from_surface      : {t * 1000:8.1f} ms")
    t, pc = timed(lambda: datablock.pointcloud_from_point_set(ps, "bench", scene), repeat=1)
    print(f"  pointcloud_from_point_set: {t * 1000:6.1f} ms")
    ob = bpy.data.objects.new("bench", pc)
    scene.collection.objects.link(ob)
    ob.depth_cloud.is_cloud = True
    display.setup_cloud(ob, ps, cam)
    for mode in ("POINTS", "SQUARES", "SURFACE"):
        t0 = time.perf_counter()
        display.apply_settings(ob, mode=mode)
        t_switch = time.perf_counter() - t0

        def evaluate():
            ob.update_tag()
            bpy.context.evaluated_depsgraph_get().update()
        t_eval, _ = timed(evaluate)
        print(f"  {mode:8s} switch {t_switch * 1000:8.1f} ms, evaluation {t_eval * 1000:8.1f} ms")
    depth_cloud.unregister()


if __name__ == "__main__":
    main()
