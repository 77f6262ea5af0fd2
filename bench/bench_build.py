"""Time a single-frame 1920x1080 build (EXR read, unproject, Point Cloud datablock) and compare
with the naive per-pixel mathutils approach of community scripts, at the same size.

    python bench/bench_build.py [--size 1920x1080] [--naive-size 1920x1080] [--repeat 5]

Prints numbers only; nothing is asserted. The naive run at 1080p takes ~15-20 s.
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import import_extension, synthetic_frame, timed, write_blender_like_exr  # noqa: E402


def naive_build(bpy, scene, z, rgba):
    """The community-script way: a Python loop per pixel with mathutils, from_pydata, per-vertex colors."""
    from mathutils import Vector
    cam = scene.camera
    data = cam.data
    h, w = z.shape
    mat = cam.matrix_world
    half_w = data.sensor_width / 2 / data.lens
    half_h = half_w * h / w
    verts, cols = [], []
    for y in range(h):
        for x in range(w):
            d = float(z[y, x])
            if d >= 1e9:
                continue
            px = (2 * (x + 0.5) / w - 1) * half_w
            py = (1 - 2 * (y + 0.5) / h) * half_h
            verts.append(mat @ Vector((px * d, py * d, -d)))
            cols.append(tuple(rgba[y, x]))
    mesh = bpy.data.meshes.new("naive")
    mesh.from_pydata(verts, [], [])
    attr = mesh.color_attributes.new("Col", 'FLOAT_COLOR', 'POINT')
    for i, c in enumerate(cols):
        attr.data[i].color = c
    ob = bpy.data.objects.new("naive", mesh)
    scene.collection.objects.link(ob)
    return len(verts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--naive-size", default=None, help="size of the naive run (default: --size)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    w, h = map(int, args.size.lower().split("x"))
    nw, nh = map(int, (args.naive_size or args.size).lower().split("x"))

    import bpy
    dc = import_extension()
    from depth_cloud import api
    from depth_cloud.core import SourceSpec, read_frame_passes, unproject
    from depth_cloud.glue import datablock

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    cam.location = (0, -8, 2)
    cam.rotation_euler = (1.35, 0, 0)
    scene.camera = cam
    scene.render.resolution_x, scene.render.resolution_y = w, h

    tmp = tempfile.mkdtemp()
    z, rgba = synthetic_frame(w, h)
    path = write_blender_like_exr(os.path.join(tmp, "frame.exr"), z, rgba)
    spec = SourceSpec(path)
    model = api.camera_model(cam, scene, size=(w, h))

    t = time.perf_counter()
    api.build_point_cloud(scene, source=path)
    t_cold = time.perf_counter() - t
    t_read, passes = timed(lambda: read_frame_passes(spec, 1), args.repeat)
    t_unproject, ps = timed(lambda: unproject(passes, model), args.repeat)

    def to_datablock():
        pc = datablock.pointcloud_from_point_set(ps, "bench", scene)
        bpy.data.pointclouds.remove(pc)
    t_data, _ = timed(to_datablock, args.repeat)
    t_total, _ = timed(lambda: api.build_point_cloud(scene, source=path), args.repeat)
    n = len(ps)
    print(f"Depth Cloud build, {w}x{h}, {n:,} points (median of {args.repeat} after 2 warm-up runs):")
    print(f"  EXR read (ZIP, RGBA+Z)      {t_read * 1e3:8.1f} ms")
    print(f"  unproject (numpy float32)   {t_unproject * 1e3:8.1f} ms")
    print(f"  Point Cloud datablock       {t_data * 1e3:8.1f} ms")
    print(f"  total (api.build_point_cloud){t_total * 1e3:7.1f} ms")
    print(f"  first build in a fresh session {t_cold * 1e3:6.1f} ms (heap still growing)")

    nz, nrgba = (z, rgba) if (nw, nh) == (w, h) else synthetic_frame(nw, nh)
    t = time.perf_counter()
    count = naive_build(bpy, scene, nz, nrgba)
    t_naive = time.perf_counter() - t
    print(f"Naive per-pixel mathutils build, {nw}x{nh}, {count:,} points: {t_naive:.2f} s "
          "(excluding its EXR read)")
    if (nw, nh) == (w, h):
        print(f"Speed-up at the same size: {t_naive / t_total:.0f}x")
    else:
        per_px = t_naive / (nw * nh) * (w * h)
        print(f"Naive extrapolated to {w}x{h}: {per_px:.1f} s; speed-up ~{per_px / t_total:.0f}x")
    dc.unregister()


if __name__ == "__main__":
    main()
