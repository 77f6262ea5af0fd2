"""Builds against the floor: the least work any in-Blender build of the same frame must do.

    <venv>/bin/python bench/bench_floor.py [--cache ~/.cache/depth_cloud_bench] [--size 1920x1080]
        [--codecs NONE,RLE,ZIPS,ZIP,PIZ,PXR24,B44,B44A,DWAA,DWAB] [--repeat 5]
        [--safe-codecs ...] [--safe-repeat 3] [--many-codecs ZIP,NONE,PIZ,DWAA] [--no-4k]

Renders ONCE into the cache folder (bench/bench_production.py's Cycles scene, 1 sample; reused
by later runs), then measures in this one process, medians of ``--repeat`` after a warm-up:

* **Floor** of a Combined + Z render, per codec: OpenEXR's read of exactly the channels the
  build uses (the file holds only those; the faster of OpenEXR's one-thread and all-cores
  decode) + writing the positions and colours of the same N points into a new Mesh with
  ``foreach_set`` (flat float32 arrays made beforehand: only Blender's copy is timed).
  B44 and B44A files are half float (Blender offers them for half output only).
  **First build**: ``api.build_point_cloud`` making a new cloud object, and the depsgraph
  evaluating it for display (what a user waits for). Target: first build <= 1.3x floor.
* **Safe readers** (what a host that cannot load the OpenEXR module uses, core/exr/safe.py):
  their own floor (the safe read of the same channels + the same write) and the first build
  with ``DEPTH_CLOUD_EXR_READER=safe``. Target: <= 1.3x.
* **Many passes**: a 16-pass multipart render against the same frame rendered with only the
  passes the build uses (Combined, Depth, Position for the camera check; + Normal when normals
  are on), the same settings in both: normals off in both, and normals on in both. Target <= 1.2x.
* **Open3D** (when importable; never a dependency): OpenEXR's read of the same file +
  ``create_from_rgbd_image`` (8-bit colour: the only RGB it takes); the build, which keeps
  float colour, should be >= 3x faster.
* **Playback first visits** (``--sequence N``, default 12): bench_production's N-frame 16-pass
  sequence played with 1 and with 2 read-ahead workers (a fresh cache each), a read's CPU
  time, the main thread's part, and the fps expected on 8 and 16 cores from them.
* **4K**: first builds at 1080p and 2160p (ms per million pixels side by side) and the peak
  memory a build adds per point (VmHWM reset through /proc/self/clear_refs; Linux).

Nothing is asserted; the numbers depend on the machine and on what else runs on it.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import import_extension, machine_lines, timed  # noqa: E402
from bench_production import PASSES_16, first_build, make_scene, render_once, say, set_output  # noqa: E402

CODECS = ("NONE", "RLE", "ZIPS", "ZIP", "PIZ", "PXR24", "B44", "B44A", "DWAA", "DWAB")
USED = ("ViewLayer.Combined.R", "ViewLayer.Combined.G", "ViewLayer.Combined.B", "ViewLayer.Combined.A",
        "ViewLayer.Depth.Z")
LEAN = ("z", "position")  # what a default build of the 16-pass render uses (Position: the camera check)
LEAN_NORMALS = ("z", "position", "normal")


def openexr_read(path, threads):
    """OpenEXR's read of every channel of ``path`` (here: exactly the channels used), pixels touched."""
    import OpenEXR
    if OpenEXR.global_thread_count() != threads:
        OpenEXR.set_global_thread_count(threads)
    with OpenEXR.File(path, separate_channels=True) as f:
        out = {name: ch.pixels for part in f.parts for name, ch in part.channels.items()}
    assert all(name in out for name in USED), sorted(out)
    return out


def floor_read(path, repeat):
    """(seconds, threads): the faster of OpenEXR's decode on one thread and on every core."""
    best = None
    for threads in sorted({1, os.cpu_count() or 1}):
        t, _ = timed(lambda threads=threads: openexr_read(path, threads), repeat=repeat, warmup=1)
        best = (t, threads) if best is None or t < best[0] else best
    return best


def mesh_write(positions, colors):
    """A new Mesh of the same N points: positions and FLOAT_COLOR colours by ``foreach_set``."""
    import bpy
    mesh = bpy.data.meshes.new("floor")
    mesh.vertices.add(len(positions) // 3)
    mesh.attributes["position"].data.foreach_set("vector", positions)
    mesh.attributes.new("Col", 'FLOAT_COLOR', 'POINT').data.foreach_set("color", colors)
    return mesh


def floor_write(n, repeat):
    """Median seconds of :func:`mesh_write` of ``n`` points (the mesh removed outside the timing)."""
    import bpy
    rng = np.random.default_rng(0)
    positions = rng.random(3 * n, dtype=np.float32)
    colors = rng.random(4 * n, dtype=np.float32)
    times = []
    for k in range(repeat + 1):
        t = time.perf_counter()
        mesh = mesh_write(positions, colors)
        dt = time.perf_counter() - t
        bpy.data.meshes.remove(mesh)
        if k:
            times.append(dt)
    return float(np.median(times))


def points_of(scene, path, **options):
    from depth_cloud import api
    return len(api.build_point_cloud(scene, source=path, **options).data.points)


def with_reader(mode, fn):
    from depth_cloud.core.exr import host as exr_host
    before = os.environ.get(exr_host.ENV)
    os.environ[exr_host.ENV] = mode
    try:
        return fn()
    finally:
        if before is None:
            os.environ.pop(exr_host.ENV, None)
        else:
            os.environ[exr_host.ENV] = before


def safe_read(path):
    from depth_cloud.core.exr.read import read_exr
    f = read_exr(path, channels=list(USED))
    return [f.get(name) for name in USED]


def open3d_build(path, lens, sensor_width):
    """OpenEXR's read + Open3D's ``create_from_rgbd_image`` with float colour, or None."""
    try:
        import open3d as o3d
    except ImportError:
        return None
    def run(ch=None):
        ch = ch or openexr_read(path, os.cpu_count() or 1)
        z = ch["ViewLayer.Depth.Z"]
        h, w = z.shape
        rgb = np.stack([ch[f"ViewLayer.Combined.{c}"] for c in "RGB"], axis=-1)
        # 8-bit: the only RGB colour create_from_rgbd_image takes (float RGB: "Unsupported image format")
        color = o3d.geometry.Image(np.ascontiguousarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)))
        depth = o3d.geometry.Image(np.ascontiguousarray(np.where(z < 1e9, z, 0), dtype=np.float32))
        rgbd = o3d.geometry.RGBDImage.create_from_color_and_depth(color, depth, depth_scale=1.0, depth_trunc=1e9,
                                                                  convert_rgb_to_intensity=False)
        fx = lens / sensor_width * w
        intr = o3d.camera.PinholeCameraIntrinsic(w, h, fx, fx, w / 2 - 0.5, h / 2 - 0.5)
        return o3d.geometry.PointCloud.create_from_rgbd_image(rgbd, intr)
    return run


def first_visits(scene, folder, count):
    """bench_sequence's first visits by worker count on this Cycles scene's N-frame 16-pass
    sequence (bench_production's, rendered once), each count with a fresh playback cache."""
    import bpy

    from bench_production import render_sequence
    from bench_sequence import first_visits_by_workers, lazy_sequence
    from depth_cloud.glue.sequence import playback
    pattern, frames = render_sequence(scene, folder, count)

    def build(workers, prefetch=True):
        playback.reset_all()
        for ob in [o for o in scene.objects if o.depth_cloud.sequence.is_sequence or o.depth_cloud.is_cloud]:
            bpy.data.objects.remove(ob)
        scene.frame_set(frames[0])
        return scene, lazy_sequence(scene, pattern, prefetch, workers, cache_mb=16384.0)[0]
    first_visits_by_workers(frames, pattern, build=build)


def release_playback(scene):
    """The sequence, its cached frames and ready meshes gone (what follows starts lean)."""
    import bpy

    from depth_cloud.glue.sequence import playback
    playback.reset_all()
    for ob in [o for o in scene.objects if o.depth_cloud.sequence.is_sequence]:
        bpy.data.objects.remove(ob)
    for mesh in [m for m in bpy.data.meshes if m.users == 0]:
        bpy.data.meshes.remove(mesh)


def peak_bytes(fn):
    """``(result, bytes)``: the resident-memory peak ``fn`` adds over what was resident before."""
    def status(key):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
        return 0
    import ctypes
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # freed memory back to the system: RSS = memory in use
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets VmHWM to the current RSS
    except OSError:
        return fn(), None
    before = status("VmRSS:")
    result = fn()
    return result, status("VmHWM:") - before


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/depth_cloud_bench"))
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--codecs", default=",".join(CODECS))
    ap.add_argument("--safe-codecs", default=",".join(CODECS))
    ap.add_argument("--many-codecs", default="ZIP,NONE,PIZ,DWAA")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--safe-repeat", type=int, default=3)
    ap.add_argument("--no-4k", action="store_true")
    ap.add_argument("--sequence", type=int, default=12, metavar="N",
                    help="first visits of an N-frame 16-pass sequence with 1 and 2 read-ahead workers (0: skip)")
    args = ap.parse_args()
    w, h = map(int, args.size.lower().split("x"))
    listed = lambda text: [c.strip().upper() for c in text.split(",") if c.strip()]  # noqa: E731
    codecs, safe_codecs, many_codecs = listed(args.codecs), listed(args.safe_codecs), listed(args.many_codecs)

    import bpy
    import OpenEXR
    dc = import_extension()
    from depth_cloud.core.errors import DepthCloudError
    from depth_cloud.core.exr.header import read_exr_header

    folder = os.path.join(args.cache, f"{w}x{h}_b{bpy.app.version[0]}{bpy.app.version[1]}")
    os.makedirs(folder, exist_ok=True)
    for line in machine_lines(bpy, OpenEXR):
        say(line)
    scene = make_scene(w, h)
    lens = (scene.camera.data.lens, scene.camera.data.sensor_width)  # for Open3D, after the scene is gone
    name = lambda kind, codec: os.path.join(folder, f"{kind}_{codec}.exr")  # noqa: E731
    files = {}
    set_output(scene, "ZIP", ("z",))  # an EXR output first: its color depth offers '32'
    for c in dict.fromkeys(codecs + safe_codecs):
        half = c in ("B44", "B44A")  # Blender offers B44/B44A for half float output only
        scene.render.image_settings.color_depth = '16' if half else '32'
        files[c] = render_once(scene, name("combined_z", c + ("_half" if half else "")), c, ("z",))
    scene.render.image_settings.color_depth = '32'
    many = {}
    for c in many_codecs:
        many[c] = (render_once(scene, name("passes16", c), c, PASSES_16),
                   render_once(scene, name("lean", c), c, LEAN),
                   render_once(scene, name("lean_normals", c), c, LEAN_NORMALS))
    for path in files.values():  # one untimed round: every figure from a grown heap
        first_build(scene, path, 1)
    n = points_of(scene, files[codecs[0]])
    t_write = floor_write(n, args.repeat)
    say(f"\nwriting {n:,} positions + FLOAT_COLOR colours into a new Mesh (foreach_set): {1e3 * t_write:.1f} ms")

    say(f"\nCombined + Z, {w}x{h}, {n:,} points; ms, medians of {args.repeat} (target: first build <= 1.3x floor)")
    say(f"{'codec':6s} {'MiB':>6s} {'OpenEXR read':>12s} {'floor':>7s} {'first build':>11s} {'build/floor':>11s}")
    results = {}
    for codec in codecs:
        path = files[codec]
        t_read, threads = floor_read(path, args.repeat)
        t_build = first_build(scene, path, args.repeat)
        floor = t_read + t_write
        results[codec] = t_build
        say(f"{codec:6s} {os.path.getsize(path) / 2**20:6.1f} {1e3 * t_read:9.1f} ({threads}) {1e3 * floor:7.1f} "
            f"{1e3 * t_build:11.1f} {t_build / floor:10.2f}x {'met' if t_build <= 1.3 * floor else 'NOT MET'}")

    if safe_codecs:
        say(f"\nsafe readers (DEPTH_CLOUD_EXR_READER=safe), their own floor = safe read of the same channels + the "
            f"same write; medians of {args.safe_repeat} (target <= 1.3x)")
        say(f"{'codec':6s} {'safe read':>9s} {'floor':>8s} {'first build':>11s} {'build/floor':>11s}")
        for codec in safe_codecs:
            path = files[codec]
            try:
                t_read, _ = with_reader("safe", lambda path=path: timed(lambda: safe_read(path), args.safe_repeat, 1))
                t_build = with_reader("safe", lambda path=path: first_build(scene, path, args.safe_repeat))
            except DepthCloudError as err:
                say(f"{codec:6s} not read: {err}")
                continue
            floor = t_read + t_write
            say(f"{codec:6s} {1e3 * t_read:9.1f} {1e3 * floor:8.1f} {1e3 * t_build:11.1f} {t_build / floor:10.2f}x "
                f"{'met' if t_build <= 1.3 * floor else 'NOT MET'}")

    if many_codecs:
        f16 = read_exr_header(many[many_codecs[0]][0])
        say(f"\nmany passes: 16-pass multipart render ({len(f16.parts)} parts) against the same frame rendered "
            "with only the passes the build uses; first builds, ms (target <= 1.2x)")
        say(f"{'codec':6s} {'MiB 16/used':>12s} {'normals off: 16':>15s} {'used':>6s} {'ratio':>6s}   "
            f"{'normals on: 16':>14s} {'used':>6s} {'ratio':>6s}")
        for codec in many_codecs:
            full, lean, lean_n = many[codec]
            first_build(scene, full, 1)
            off16 = first_build(scene, full, args.repeat, normals=False)
            off = first_build(scene, lean, args.repeat, normals=False)
            on16 = first_build(scene, full, args.repeat, normals=True)
            on = first_build(scene, lean_n, args.repeat, normals=True)
            size = f"{os.path.getsize(full) / 2**20:.0f}/{os.path.getsize(lean) / 2**20:.0f}"
            say(f"{codec:6s} {size:>12s} {1e3 * off16:15.1f} {1e3 * off:6.1f} {off16 / off:5.2f}x   "
                f"{1e3 * on16:14.1f} {1e3 * on:6.1f} {on16 / on:5.2f}x "
                f"{'met' if max(off16 / off, on16 / on) <= 1.2 else 'NOT MET'}")

    if args.sequence:
        say("\nplayback first visits (every frame read from its EXR), by read-ahead workers (the preferences' "
            "Read-Ahead Workers; automatic = one per core):")
        first_visits(scene, folder, args.sequence)
        release_playback(scene)

    if not args.no_4k:
        say("\nsize: first builds of the ZIP Combined + Z render at two sizes (Cycles renders of the same scene)")
        rows = []
        for sw, sh in ((w, h), (2 * w, 2 * h)):
            sub = os.path.join(args.cache, f"{sw}x{sh}_b{bpy.app.version[0]}{bpy.app.version[1]}")
            os.makedirs(sub, exist_ok=True)
            big = make_scene(sw, sh)
            path = render_once(big, os.path.join(sub, "combined_z_ZIP.exr"), "ZIP", ("z",))
            first_build(big, path, 2)  # warm-up: the heap grows to this size's clouds first
            t = first_build(big, path, args.repeat)
            count = points_of(big, path)
            for ob in [o for o in big.objects if o.depth_cloud.is_cloud]:
                bpy.data.objects.remove(ob)
            _, peak = peak_bytes(lambda big=big, path=path: points_of(big, path))
            rows.append((sw, sh, t, count, peak))
        base = rows[0][2] / (rows[0][0] * rows[0][1])
        for sw, sh, t, count, peak in rows:
            per = t / (sw * sh)
            mem = f", peak memory {peak / count:.0f} B per point ({peak / 2**20:.0f} MiB)" if peak else ""
            say(f"  {sw}x{sh}: {1e3 * t:7.1f} ms, {count:,} points, {1e9 * per:.1f} ms per million pixels "
                f"({per / base:.2f}x the {w}x{h} rate){mem}")
    # last: Open3D's OpenMP threads may keep spinning after it returns
    ref_codec = "ZIP" if "ZIP" in results else codecs[0]
    run = open3d_build(files[ref_codec], *lens)
    if run is None:
        say("\nOpen3D: not importable here (skipped; never a dependency)")
    else:
        import open3d as o3d
        t_o3d, cloud = timed(run, repeat=args.repeat, warmup=1)
        say(f"\nOpen3D {o3d.__version__}: OpenEXR read + create_from_rgbd_image (8-bit colour), {ref_codec}: "
            f"{1e3 * t_o3d:.1f} ms for {len(cloud.points):,} points (no Blender datablock); the first build "
            f"{1e3 * results[ref_codec]:.1f} ms (float colour): {t_o3d / results[ref_codec]:.1f}x faster "
            "(target >= 3x)")
        ch = openexr_read(files[ref_codec], os.cpu_count() or 1)
        t_create, _ = timed(lambda: run(ch), repeat=args.repeat, warmup=1)
        t_read, _ = floor_read(files[ref_codec], args.repeat)
        after = results[ref_codec] - t_read
        say(f"  both read the same file: Open3D's work after the read {1e3 * t_create:.1f} ms, the build's "
            f"{1e3 * after:.1f} ms (first build - OpenEXR's read): {t_create / after:.1f}x")
        for codec in codecs:
            if codec != ref_codec:
                t_other, _ = timed(open3d_build(files[codec], *lens), repeat=args.repeat, warmup=1)
                say(f"  {codec:6s} Open3D {1e3 * t_other:7.1f} ms, build {t_other / results[codec]:.1f}x faster")

    dc.unregister()


if __name__ == "__main__":
    main()
