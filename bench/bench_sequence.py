"""Sequence playback speed and memory at 1920x1080 (prints numbers; no assertions).

    "$(bash tools/venv.sh 5.0)"/bin/python bench/bench_sequence.py [--frames 48] [--keep]

Writes a synthetic 48-frame shot (a smooth surface: Z + RGBA, ZIP compression, OpenEXR) to a
temporary folder (kept with --keep for reruns), builds a lazy sequence object with the
Build Sequence operator, then measures frame_set through the frame-change handler:

* cold lazy playback: every frame read from its EXR, unprojected and written (with and
  without the read-ahead thread),
* cached playback: every frame already in the cache,
* memory per cached frame (bytes per point) and of the displayed mesh.

Goals (issue 3): cached >= 60 fps, cold >= 10 fps on two cores, <= 20 bytes per point.
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
sys.path.insert(0, os.path.join(REPO, "tools"))
from checkout import import_extension  # noqa: E402

W, H = 1920, 1080


def camera_matrix(frame):
    """The synthetic camera: dollying along x and turning slowly, looking down -Z at a wall."""
    yaw = 0.004 * frame
    c, s = np.cos(yaw), np.sin(yaw)
    m = np.eye(4)
    m[:3, :3] = [[c, 0, s], [0, 1, 0], [-s, 0, c]]
    m[:3, 3] = (0.02 * frame, 0.0, 0.0)
    return m


def write_shot(folder, frames):
    import OpenEXR
    pattern = os.path.join(folder, "bench_####.exr")
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    for f in frames:
        path = pattern.replace("####", f"{f:04d}")
        if os.path.isfile(path):
            continue
        z = 6.0 + 0.8 * np.sin(xx / 240.0 + 0.1 * f) + 0.6 * np.cos(yy / 170.0)
        z[:40, :] = 1e10  # a strip of background, as renders have
        ch = {"Z": z, "R": 0.5 + 0.5 * np.sin(xx / 50.0 + f), "G": yy / H, "B": 0.5 + 0.5 * np.cos(xx / 80.0),
              "A": np.ones_like(z)}
        ch = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in ch.items()}
        header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
        with OpenEXR.File(header, ch) as out:
            out.write(path)
    return pattern


def setup_scene(frames):
    import bpy
    from mathutils import Matrix
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = W, H, 100
    scene.frame_start, scene.frame_end = frames[0], frames[-1]
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    cam.data.clip_end = 1000.0
    scene.camera = cam
    for f in frames:  # keyframed, so each frame evaluates its own camera
        cam.matrix_world = Matrix(camera_matrix(f).tolist())
        cam.keyframe_insert("location", frame=f)
        cam.keyframe_insert("rotation_euler", frame=f)
    scene.frame_set(frames[0])
    return scene


def play(scene, frames):
    """Seconds per frame_set (median and mean) over ``frames``."""
    times = []
    for f in frames:
        t0 = time.perf_counter()
        scene.frame_set(f)
        times.append(time.perf_counter() - t0)
    return times


def rss_bytes():
    """Resident memory of this process (Linux), or None."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def fps(times):
    return 1.0 / statistics.mean(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--keep", action="store_true", help="keep the synthetic EXRs in the temp folder for reruns")
    ap.add_argument("--exr-threads", type=int, default=1, help="OpenEXR decoding threads (default 1)")
    args = ap.parse_args()

    import bpy
    import OpenEXR
    dc = import_extension()
    from depth_cloud.glue import preferences
    from depth_cloud.glue.sequence import playback

    OpenEXR.set_global_thread_count(args.exr_threads)
    frames = list(range(1, args.frames + 1))
    folder = os.path.join(tempfile.gettempdir(), "depth_cloud_bench_sequence")
    os.makedirs(folder, exist_ok=True)
    t0 = time.perf_counter()
    pattern = write_shot(folder, frames)
    print(f"shot: {len(frames)} frames {W}x{H} Z+RGBA ZIP in {folder} ({time.perf_counter() - t0:.1f} s to write)")
    print(f"bpy {bpy.app.version_string}, OpenEXR {OpenEXR.__version__}, {os.cpu_count()} cores, "
          f"EXR threads {args.exr_threads}, load average {os.getloadavg()[0]:.2f} (other work slows these numbers)")

    results = {}
    rss_line = ""
    # The first pass runs in a fresh process: its memory is new to the OS (page faults are
    # part of a real first playback). The later passes reuse memory the first one grew.
    for run, prefetch in enumerate((True, False, True)):
        scene = setup_scene(frames)
        s = scene.depth_cloud.sequence
        s.mode, s.prefetch = 'LAZY', prefetch
        preferences.settings().cache_mb = 8192.0
        scene.depth_cloud.exr_path = pattern
        rss0 = rss_bytes()
        t0 = time.perf_counter()
        assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
        first = time.perf_counter() - t0
        obj = next(o for o in scene.objects if o.depth_cloud.sequence.is_sequence)
        cold = play(scene, frames[1:])
        results[prefetch] = cold
        rss1 = rss_bytes()
        if run == 0 and rss0 and rss1:
            pts = sum(len(playback.cache().peek(k)) for k in playback.cache().keys())
            rss_line = (f"process memory growth over the cold pass: {(rss1 - rss0) / 2**20:.0f} MiB for "
                        f"{len(playback.cache())} cached frames = {(rss1 - rss0) / max(1, pts):.1f} bytes per cached "
                        f"point (includes the displayed Mesh, read-ahead buffers and allocator slack)")
        hits = playback.player(obj.depth_cloud.sequence.uid).read_ahead_hits
        label = (("with read-ahead" if prefetch else "no read-ahead  ")
                 + (", fresh process" if run == 0 else ", warm memory  "))
        print(f"cold lazy playback {label}: {fps(cold):6.1f} fps  (median {1000 * statistics.median(cold):.0f} ms, "
              f"max {1000 * max(cold):.0f} ms per frame; first frame via the operator {1000 * first:.0f} ms; "
              f"{hits} of {len(cold)} frames decoded ahead)")
    cache = playback.cache()
    uid = obj.depth_cloud.sequence.uid
    mine = [k for k in cache.keys() if k[0] == uid]
    points = [len(cache.peek(k)) for k in mine]
    cached = play(scene, frames) + play(scene, frames[::-1])
    print(f"cached playback: {fps(cached):6.1f} fps  (median {1000 * statistics.median(cached):.1f} ms, "
          f"max {1000 * max(cached):.1f} ms per frame over {len(cached)} frame changes)")
    same = play(scene, [frames[0]] * 20)
    print(f"frame_set to the frame already shown: {1000 * statistics.median(same):.2f} ms")
    per_point = cache.nbytes / max(1, sum(points))
    print(f"memory per cached frame: {cache.nbytes / len(mine) / 2**20:.1f} MiB for {statistics.mean(points):,.0f} "
          f"points = {per_point:.1f} bytes per point ({len(mine)} frames, {cache.nbytes / 2**20:.0f} MiB cached)")
    if rss_line:
        print(rss_line)
    mesh = obj.data
    shown = len(mesh.vertices)
    display = shown * (12 + 16 + 4)
    print(f"displayed frame (one Mesh: position + FLOAT_COLOR Col + radius): {display / 2**20:.1f} MiB "
          f"({shown:,} points), only for the frame on screen")
    dc.unregister()
    if not args.keep:
        for f in frames:
            os.remove(pattern.replace("####", f"{f:04d}"))


if __name__ == "__main__":
    main()
