"""Sequence playback speed and memory at 1920x1080 (prints numbers; no assertions).

    "$(bash tools/venv.sh 5.0)"/bin/python bench/bench_sequence.py [--frames 48] [--size 1920x1080] [--keep]

Writes a synthetic 48-frame shot (a smooth surface: Z + RGBA, ZIP compression, OpenEXR) to a
temporary folder (kept with --keep for reruns), builds a lazy sequence object with the
Build Sequence operator, then measures frame_set through the frame-change handler:

* cold lazy playback: every frame read from its EXR, unprojected and written (with and
  without the read-ahead thread),
* cached playback: every frame already in the cache,
* memory per cached frame (bytes per point) and of the displayed mesh,
* first visits with 1 and with 2 read-ahead workers (the preferences' Read-Ahead Workers; the
  same frames, a fresh cache each time), the CPU time of one frame's read and the main
  thread's time to make a frame's points and Mesh from its decoded passes, and from those the
  first-visit fps expected on 8 and 16 cores (the model is printed with the numbers).

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

W, H = 1920, 1080  # --size


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


def build_lazy(frames, pattern, prefetch=True, workers=None):
    """A fresh scene (the playback cache emptied by the factory reset) with a lazy sequence
    of ``pattern`` built; ``workers``: the preferences' Read-Ahead Workers (0 = automatic)."""
    scene = setup_scene(frames)
    rss0 = rss_bytes()
    obj, first = lazy_sequence(scene, pattern, prefetch, workers, cache_mb=8192.0)
    return scene, obj, first, rss0


def lazy_sequence(scene, pattern, prefetch=True, workers=None, cache_mb=8192.0):
    """``(object, seconds)``: Build Sequence of ``pattern`` in ``scene`` as a lazy sequence
    (``workers``: the preferences' Read-Ahead Workers, 0 = automatic; None: as set)."""
    import bpy

    from depth_cloud.glue import preferences
    s = scene.depth_cloud.sequence
    s.mode, s.prefetch = 'LAZY', prefetch
    prefs = preferences.settings()
    prefs.cache_mb = cache_mb
    if workers is not None:
        prefs.read_ahead_workers = workers
    scene.depth_cloud.exr_path = pattern
    t0 = time.perf_counter()
    assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
    return next(o for o in scene.objects if o.depth_cloud.sequence.is_sequence), time.perf_counter() - t0


class _Decoded:
    """A read-ahead that already holds every frame's decoded passes: a first visit then costs
    the main thread's part alone (camera, unprojection, cache entry, Mesh, evaluation)."""
    workers = 1

    def __init__(self, passes):
        self.passes = passes

    def want(self, frames):
        pass

    def ready(self, frame):
        return frame in self.passes

    def take(self, frame):
        passes = self.passes.pop(frame, None)
        return None if passes is None else (passes, None)

    def stop(self):
        self.passes.clear()


def frame_costs(scene, obj, frames):
    """``(CPU seconds of one frame's read, its wall seconds, wall and CPU seconds of a first
    visit whose passes were decoded ahead)``, medians (CPU of the visits: the mean) over
    ``frames``: each read alone on this thread (process CPU time: OpenEXR's own decode threads
    count too), then ``frame_set`` of each frame with its passes handed over as a read-ahead
    hit (nothing else running; Blender's evaluation threads count in its CPU time)."""
    from depth_cloud.core.points.passes import read_frame_passes
    from depth_cloud.glue.sequence import playback
    spec = playback.spec_of(obj, scene)
    reads, walls, decoded = [], [], {}
    for f in frames:
        c0, t0 = time.process_time(), time.perf_counter()
        decoded[f] = read_frame_passes(spec, f)
        reads.append(time.process_time() - c0)
        walls.append(time.perf_counter() - t0)
    player = playback.player(obj.depth_cloud.sequence.uid)
    player.prefetcher = _Decoded(decoded)
    hits = player.read_ahead_hits
    c0 = time.process_time()
    main = play(scene, frames)
    main_cpu = (time.process_time() - c0) / len(frames)
    assert player.read_ahead_hits - hits == len(frames), "a frame was not taken from the decoded passes"
    player.prefetcher = None
    return statistics.median(reads), statistics.median(walls), statistics.median(main), main_cpu


def first_visits_by_workers(frames, pattern, counts=(1, 2), build=None):
    """First-visit fps with each read-ahead worker count, every frame a first visit, and the
    fps expected on more cores from the measured per-frame costs. ``build(workers, prefetch)
    -> (scene, obj, ...)``: a lazy sequence of ``pattern`` built afresh (default: this bench's
    synthetic scene; ``bench/bench_floor.py`` passes its Cycles scene's)."""
    from depth_cloud.glue.sequence import playback
    if build is None:
        def build(workers, prefetch=True):
            return build_lazy(frames, pattern, prefetch=prefetch, workers=workers)
    measured = {}
    for workers in counts:
        scene, obj, *_ = build(workers)
        times = play(scene, frames[1:])
        player = playback.player(obj.depth_cloud.sequence.uid)
        measured[workers] = fps(times)
        print(f"first visits, {workers} read-ahead worker{'s' if workers > 1 else ' '}: {fps(times):6.1f} fps  "
              f"(median {1000 * statistics.median(times):.0f} ms per frame; {player.read_ahead_hits} of "
              f"{len(times)} frames decoded ahead)")
    scene, obj, *_ = build(None, prefetch=False)
    sample = frames[1:min(len(frames), 9)]
    read_cpu, read_wall, main, main_cpu = frame_costs(scene, obj, sample)
    print(f"per frame: read {1000 * read_cpu:.0f} ms of CPU time ({1000 * read_wall:.0f} ms wall on one thread); "
          f"main thread of a first visit decoded ahead {1000 * main:.0f} ms wall, {1000 * main_cpu:.0f} ms of CPU "
          f"(points, cache, Mesh, evaluation; medians of {len(sample)} frames)")

    def expect(cores):
        # all cores share the CPU work of a frame (its read on a worker, automatic = one worker
        # per core, and the main thread's part); the main thread's part runs one frame after another
        cpu = cores / (read_cpu + main_cpu)
        return min(cpu, 1.0 / main), cpu

    print("expected first visits = min(cores / (read CPU + main-thread CPU per frame), "
          "1 / main-thread wall per frame), automatic workers (one per core); other work on the machine lowers it:")
    for cores in sorted({os.cpu_count() or 1, 8, 16}):
        value, cpu = expect(cores)
        bound = "the main thread" if value < cpu else "CPU time"
        here = f"; measured here {max(measured.values()):.1f} fps" if cores == os.cpu_count() else ""
        print(f"  {cores:2d} cores: {value:6.1f} fps, bound by {bound} (CPU alone {cpu:.1f} fps{here})")
    return measured


def main():
    global W, H
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--keep", action="store_true", help="keep the synthetic EXRs in the temp folder for reruns")
    ap.add_argument("--exr-threads", type=int, default=1, help="OpenEXR decoding threads (default 1)")
    ap.add_argument("--size", default=f"{W}x{H}", help="frame size WIDTHxHEIGHT (default %(default)s)")
    args = ap.parse_args()
    W, H = (int(v) for v in args.size.lower().split("x"))

    import bpy
    import OpenEXR
    dc = import_extension()
    from depth_cloud.glue.sequence import playback

    OpenEXR.set_global_thread_count(args.exr_threads)
    frames = list(range(1, args.frames + 1))
    folder = os.path.join(tempfile.gettempdir(), "depth_cloud_bench_sequence"
                          + ("" if (W, H) == (1920, 1080) else f"_{W}x{H}"))
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
        scene, obj, first, rss0 = build_lazy(frames, pattern, prefetch)
        cold = play(scene, frames[1:])
        results[prefetch] = cold
        rss1 = rss_bytes()
        if run == 0 and rss0 and rss1:
            pts = sum(len(playback.cache().peek(k)) for k in playback.cache().keys())
            rss_line = (f"process memory growth over the cold pass: {(rss1 - rss0) / 2**20:.0f} MiB for "
                        f"{len(playback.cache())} cached frames = {(rss1 - rss0) / max(1, pts):.1f} bytes per cached "
                        f"point (includes the displayed Mesh, read-ahead buffers and allocator slack)")
        player = playback.player(obj.depth_cloud.sequence.uid)
        hits = player.read_ahead_hits
        label = ((f"with read-ahead ({player.prefetcher.workers} workers, automatic)" if prefetch
                  else "no read-ahead  ")
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
    first_visits_by_workers(frames, pattern)
    dc.unregister()
    if not args.keep:
        for f in frames:
            os.remove(pattern.replace("####", f"{f:04d}"))


if __name__ == "__main__":
    main()
