"""Production EXRs: builds from real Cycles renders, against Blender opening the same file.

    <venv>/bin/python bench/bench_production.py [--cache ~/.cache/depth_cloud_bench] [--size 1920x1080]
        [--codecs ZIP,NONE,PIZ,DWAA] [--repeat 5] [--seed] [--sequence 24]

Renders ONCE into the cache folder (outside the repository; reused by later runs): a scene of
primitives with Cycles, 1 sample, for each codec, with two pass sets: Combined + Z, and 16
passes (Z, Normal, Vector, Diffuse/Glossy direct, indirect, color, AO, Emission, Environment,
Position, Mist, Cryptomatte). Then prints, per file, medians of ``--repeat`` runs after a
warm-up, measured in this process:

* OpenEXR's full read (every part), the build's read (only the channels it uses, reader
  chosen by ``core.exr``), ``api.build_point_cloud`` end to end,
* Blender's own ``images.load`` + ``pixels.foreach_get`` of the same frame's Combined + Z
  (the yardstick; written once as a single-layer copy with the same codec, because
  ``images.load`` gives a multilayer file no pixels from Python),
* ratios: build / Blender load, many-pass / Combined+Z build,
* the seed answer's approach on the Combined+Z ZIP file (``--seed``: numpy meshgrid
  unprojection, a mathutils ``cam_mat @ Vector(p)`` per point, ``from_pydata``, per-vertex
  colors; ~6 s) and Open3D's ``create_from_rgbd_image`` when Open3D is importable,
* builds at detail 1-4, datablock bytes per point,
* ``--sequence N``: playback of an N-frame many-pass sequence (rendered once): first visit
  (lazy, read-ahead on) and cached fps.

Nothing is asserted; the numbers depend on the machine and on what else runs on it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import import_extension, machine_lines, timed  # noqa: E402

PASSES_16 = ("z", "normal", "vector", "diffuse_direct", "diffuse_indirect", "diffuse_color", "glossy_direct",
             "glossy_indirect", "glossy_color", "ambient_occlusion", "emit", "environment", "position", "mist",
             "cryptomatte_object")
CODECS = ("ZIP", "NONE", "PIZ", "DWAA")


def say(*args):
    print(*args, flush=True)


def make_scene(width, height):
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    r = scene.render
    r.engine = 'CYCLES'
    r.resolution_x, r.resolution_y, r.resolution_percentage = width, height, 100
    scene.cycles.samples = 1
    scene.cycles.use_denoising = False
    scene.cycles.device = 'CPU'
    world = bpy.data.worlds.new("World")
    world.color = (0.05, 0.05, 0.06)
    scene.world = world
    bpy.ops.mesh.primitive_plane_add(size=40.0)
    for i, (loc, size) in enumerate((((0, 0, 0.5), 1.0), ((1.6, 0.9, 0.7), 0.7), ((-1.5, 1.2, 0.4), 0.4))):
        if i == 1:
            bpy.ops.mesh.primitive_uv_sphere_add(radius=size, location=loc)
        else:
            bpy.ops.mesh.primitive_cube_add(size=size, location=loc)
        mat = bpy.data.materials.new(f"M{i}")
        mat.diffuse_color = (0.8 * (i == 0) + 0.1, 0.6 * (i == 1) + 0.1, 0.7 * (i == 2) + 0.1, 1)
        if mat.node_tree is not None and mat.node_tree.nodes.get("Principled BSDF") is not None:
            mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = mat.diffuse_color
        bpy.context.object.data.materials.append(mat)
    bpy.ops.object.light_add(type='SUN', rotation=(0.6, 0.2, 0.4))
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    scene.camera = cam
    cam.location = (4.0, -5.0, 3.0)
    cam.rotation_euler = (1.13, 0.0, 0.67)
    return scene


def set_output(scene, codec, passes):
    s = scene.render.image_settings
    if hasattr(s, "media_type"):
        s.media_type = 'MULTI_LAYER_IMAGE'
    s.file_format = 'OPEN_EXR_MULTILAYER'
    s.exr_codec = codec
    vl = scene.view_layers[0]
    for name in PASSES_16:
        setattr(vl, f"use_pass_{name}", name in passes)


def render_once(scene, path, codec, passes):
    import bpy
    if os.path.isfile(path):
        say(f"  cached render {path} ({os.path.getsize(path) / 2**20:.1f} MiB)")
        return path
    set_output(scene, codec, passes)
    scene.render.filepath = path
    t0 = time.perf_counter()
    bpy.ops.render.render(write_still=True)
    say(f"  rendered {path} ({os.path.getsize(path) / 2**20:.1f} MiB) in {time.perf_counter() - t0:.1f} s")
    return path


def single_layer_copy(path, codec):
    """The file's Combined + Z as one single-layer part (R, G, B, A, Z; same pixel types and
    codec), written once next to it: Blender's ``images.load`` gives a multilayer file no
    pixels from Python (size (0, 0) on 4.2 and 5.0), but loads this one."""
    import OpenEXR
    out = path[:-4] + "_single.exr"
    if os.path.isfile(out):
        return out
    f = OpenEXR.File(path, separate_channels=True)
    chans = {}
    for part in f.parts:
        for name, ch in part.channels.items():
            leaf = name.rsplit(".", 1)[-1]
            if name.startswith("ViewLayer.Combined.") or name == "ViewLayer.Depth.Z":
                chans[leaf] = np.ascontiguousarray(ch.pixels)
    compression = getattr(OpenEXR, "NO_COMPRESSION" if codec == "NONE" else f"{codec}_COMPRESSION")
    OpenEXR.File({"compression": compression, "type": OpenEXR.scanlineimage}, chans).write(out)
    return out


def blender_load(path):
    """Blender's own image load of the file with its pixels (what Blender pays to open it)."""
    import bpy
    img = bpy.data.images.load(path, check_existing=False)
    try:
        w, h = img.size
        if w * h == 0:
            return 0
        buf = np.empty(w * h * img.channels, np.float32)
        img.pixels.foreach_get(buf)
        return w * h
    finally:
        bpy.data.images.remove(img)


def first_build(scene, path, repeat, **options):
    """Median seconds of a build that makes a new cloud object (the previous one is deleted
    first, outside the timing), after one warm-up."""
    import bpy

    from depth_cloud import api
    times = []
    for k in range(repeat + 1):
        for ob in [o for o in scene.objects if o.depth_cloud.is_cloud]:
            data = ob.data
            bpy.data.objects.remove(ob)
            if data is not None and data.users == 0:
                bpy.data.pointclouds.remove(data)
        bpy.context.evaluated_depsgraph_get()
        t = time.perf_counter()
        api.build_point_cloud(scene, source=path, **options)
        bpy.context.evaluated_depsgraph_get()  # what showing the new cloud costs
        if k:
            times.append(time.perf_counter() - t)
    return float(np.median(times))


def seed_approach(scene, path):
    """The seed answer: numpy unprojection, then mathutils per point, from_pydata, per-vertex colors."""
    import bpy
    from mathutils import Vector

    from depth_cloud.core.exr.read import read_exr
    f = read_exr(path)
    z = f.get("ViewLayer.Depth.Z")
    rgba = np.stack([f.get(f"ViewLayer.Combined.{c}") for c in "RGBA"], axis=-1)
    cam = scene.camera
    h, w = z.shape
    half_w = cam.data.sensor_width / 2 / cam.data.lens
    half_h = half_w * h / w
    xx, yy = np.meshgrid(np.arange(w), np.arange(h))
    keep = z < 1e9
    d = z[keep]
    px = (2 * (xx[keep] + 0.5) / w - 1) * half_w * d
    py = (1 - 2 * (yy[keep] + 0.5) / h) * half_h * d
    pts = np.stack([px, py, -d], axis=1)
    mat = cam.matrix_world
    verts = [mat @ Vector(p) for p in pts]
    mesh = bpy.data.meshes.new("seed")
    mesh.from_pydata(verts, [], [])
    attr = mesh.color_attributes.new("Col", 'FLOAT_COLOR', 'POINT')
    for i, c in enumerate(rgba[keep]):
        attr.data[i].color = c
    bpy.data.meshes.remove(mesh)
    return len(verts)


def open3d_time(path, scene, repeat):
    try:
        import open3d as o3d
    except ImportError:
        return None
    from depth_cloud.core.exr.read import read_exr
    f = read_exr(path)
    z = f.get("ViewLayer.Depth.Z")
    rgb = np.stack([f.get(f"ViewLayer.Combined.{c}") for c in "RGB"], axis=-1)
    h, w = z.shape
    fx = scene.camera.data.lens / scene.camera.data.sensor_width * w

    def run():
        color = o3d.geometry.Image(np.ascontiguousarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)))
        depth = o3d.geometry.Image(np.ascontiguousarray(np.where(z < 1e9, z, 0).astype(np.float32)))
        rgbd = o3d.geometry.RGBDImage.create_from_color_and_depth(color, depth, depth_scale=1.0, depth_trunc=1e9,
                                                                  convert_rgb_to_intensity=False)
        intr = o3d.camera.PinholeCameraIntrinsic(w, h, fx, fx, w / 2, h / 2)
        return o3d.geometry.PointCloud.create_from_rgbd_image(rgbd, intr)
    return timed(run, repeat=repeat, warmup=1)[0]


def bytes_per_point(data):
    sizes = {'FLOAT_VECTOR': 12, 'FLOAT_COLOR': 16, 'FLOAT': 4, 'INT32_2D': 8, 'INT': 4, 'BYTE_COLOR': 4}
    return sum(sizes.get(a.data_type, 0) for a in data.attributes if not a.name.startswith("."))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/depth_cloud_bench"))
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--codecs", default=",".join(CODECS))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", action="store_true", help="also time the seed answer's approach (~6 s at 1080p)")
    ap.add_argument("--sequence", type=int, default=0, metavar="N", help="playback of an N-frame many-pass sequence")
    args = ap.parse_args()
    w, h = map(int, args.size.lower().split("x"))
    codecs = [c.strip().upper() for c in args.codecs.split(",") if c.strip()]

    import bpy
    import OpenEXR
    dc = import_extension()
    from depth_cloud import api
    from depth_cloud.core.exr import read as exr
    from depth_cloud.core.points.inputs import SourceSpec
    from depth_cloud.core.points.passes import read_frame_passes

    folder = os.path.join(args.cache, f"{w}x{h}_b{bpy.app.version[0]}{bpy.app.version[1]}")
    os.makedirs(folder, exist_ok=True)
    for line in machine_lines(bpy, OpenEXR):
        say(line)
    say(f"renders: {folder}")
    scene = make_scene(w, h)
    files = {}
    for codec in codecs:
        files[("Combined+Z", codec)] = render_once(scene, os.path.join(folder, f"combined_z_{codec}.exr"), codec,
                                                   ("z",))
        files[("16 passes", codec)] = render_once(scene, os.path.join(folder, f"passes16_{codec}.exr"), codec,
                                                  PASSES_16)

    say(f"\nper file (median of {args.repeat} after warm-up, ms; 'first build' makes a new cloud object, "
        "'rebuild' builds the same frame again into it; both include evaluating the cloud for display):")
    say(f"{'file':24s} {'MiB':>6s} {'OpenEXR all':>11s} {'read used':>9s} {'first build':>11s} {'rebuild':>7s} "
        f"{'Blender load':>12s} {'first/Blender':>13s} {'rebuild/Blender':>15s}")
    builds, lean = {}, {}
    for (_label, codec), path in files.items():  # one untimed round first: every figure from a grown heap
        api.build_point_cloud(scene, source=path)
        blender_load(single_layer_copy(files[("Combined+Z", codec)], codec))
    for (label, codec), path in files.items():
        spec = SourceSpec(path)
        t_all, _ = timed(lambda path=path: exr.read_exr(path), repeat=args.repeat)
        t_read, _ = timed(lambda spec=spec: read_frame_passes(spec, 1), repeat=args.repeat)
        t_first = first_build(scene, path, args.repeat)
        t_build, ob = timed(lambda path=path: api.build_point_cloud(scene, source=path), repeat=args.repeat)
        if label == "16 passes":  # the same points as the Combined+Z file's: no normals from the Normal pass
            lean[codec] = first_build(scene, path, args.repeat, normals=False)
        yard = single_layer_copy(files[("Combined+Z", codec)], codec)
        t_load, npx = timed(lambda yard=yard: blender_load(yard), repeat=args.repeat)
        builds[(label, codec)] = t_first
        ratios = f"{t_first / t_load:13.2f} {t_build / t_load:15.2f}" if npx else "   (no pixels)"
        say(f"{label + ' ' + codec:24s} {os.path.getsize(path) / 2**20:6.1f} {1e3 * t_all:11.1f} {1e3 * t_read:9.1f} "
            f"{1e3 * t_first:11.1f} {1e3 * t_build:7.1f} {1e3 * t_load if npx else float('nan'):12.1f} {ratios}")
    say("\nmany-pass first build / Combined+Z first build, same codec (default settings read the Normal pass "
        "into point normals; without them the points are the same as the Combined+Z file's):")
    for codec in codecs:
        base = builds[('Combined+Z', codec)]
        say(f"  {codec:5s} {builds[('16 passes', codec)] / base:.2f}x with normals, {lean[codec] / base:.2f}x without")

    ref = files.get(("Combined+Z", "ZIP")) or next(iter(files.values()))
    ob = api.build_point_cloud(scene, source=ref)
    n = len(ob.data.points)
    say(f"\ndatablock: {n:,} points, {bytes_per_point(ob.data)} bytes per point by default; "
        f"with pixel ids {bytes_per_point(api.build_point_cloud(scene, source=ref, pixel_ids=True).data)}")
    say("detail (every Nth pixel), build of " + os.path.basename(ref) + ":")
    t1 = None
    for detail in (1, 2, 3, 4):
        t, ob = timed(lambda detail=detail: api.build_point_cloud(scene, source=ref, detail=detail), repeat=args.repeat)
        t1 = t1 or t
        say(f"  detail {detail}: {1e3 * t:7.1f} ms, {len(ob.data.points):>9,} points ({t1 / t:.1f}x faster than 1)")
    t_zip = builds.get(("Combined+Z", "ZIP"))
    if args.seed and t_zip:
        t0 = time.perf_counter()
        count = seed_approach(scene, ref)
        t_seed = time.perf_counter() - t0
        say(f"\nseed approach: {t_seed:.2f} s for {count:,} points = {t_seed / t_zip:.0f}x this first build")
    t_o3d = open3d_time(ref, scene, args.repeat)
    say(f"Open3D create_from_rgbd_image: {1e3 * t_o3d:.0f} ms" if t_o3d else "Open3D: not importable here (skipped)")

    if args.sequence:
        play_sequence(scene, folder, args.sequence)
    dc.unregister()


def render_sequence(scene, folder, count):
    """``(pattern, frames)`` of an N-frame 16-pass ZIP sequence of this scene with the camera
    moving along x (keyframed), rendered once into ``folder``."""
    from mathutils import Matrix
    frames = list(range(1, count + 1))
    seq_dir = os.path.join(folder, f"sequence16_{count}")
    os.makedirs(seq_dir, exist_ok=True)
    pattern = os.path.join(seq_dir, "shot_####.exr")
    cam = scene.camera
    base = Matrix(cam.matrix_world)
    scene.frame_start, scene.frame_end = frames[0], frames[-1]
    for f in frames:
        cam.matrix_world = Matrix.Translation((0.03 * f, 0.0, 0.0)) @ base
        cam.keyframe_insert("location", frame=f)
        cam.keyframe_insert("rotation_euler", frame=f)
    set_output(scene, "ZIP", PASSES_16)
    say(f"\nsequence: {count} frames, 16 passes, ZIP, in {seq_dir}")
    for f in frames:
        path = pattern.replace("####", f"{f:04d}")
        if not os.path.isfile(path):
            scene.frame_set(f)
            render_once(scene, path, "ZIP", PASSES_16)
    return pattern, frames


def play_sequence(scene, folder, count):
    import bpy

    from depth_cloud.glue import preferences
    from depth_cloud.glue.sequence import playback
    pattern, frames = render_sequence(scene, folder, count)
    s = scene.depth_cloud.sequence
    s.mode, s.prefetch = 'LAZY', True
    preferences.settings().cache_mb = 16384.0
    scene.depth_cloud.exr_path = pattern
    scene.frame_set(frames[0])
    assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}

    from bench_sequence import play
    first = play(scene, frames[1:])
    cached = play(scene, frames) + play(scene, frames[::-1])
    say(f"first visit (lazy, read-ahead on): {1 / statistics.mean(first):.1f} fps "
        f"(median {1e3 * statistics.median(first):.0f} ms per frame)")
    say(f"cached: {1 / statistics.mean(cached):.1f} fps (median {1e3 * statistics.median(cached):.1f} ms per frame)")
    obj = next(o for o in scene.objects if o.depth_cloud.sequence.is_sequence)
    say(f"read-ahead hits: {playback.player(obj.depth_cloud.sequence.uid).read_ahead_hits} of {len(first)}")


if __name__ == "__main__":
    main()
