"""Shared bench helpers: import the extension from this checkout, make synthetic frames."""
import os
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
from checkout import import_extension  # noqa: E402,F401


def synthetic_frame(width=1920, height=1080, seed=0):
    """A smooth surface (depth 3..9) with 10% background and a color ramp, as float32 arrays."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    z = (6.0 + 2.0 * np.sin(xx / width * 6.0 + seed) * np.cos(yy / height * 4.0)
         + rng.random((height, width), np.float32) * 0.01)
    z[: height // 10] = 1e10  # background band
    rgba = np.stack([xx / width, yy / height, 0.5 + 0.5 * np.sin(xx / 50.0), np.ones_like(xx)],
                    axis=-1).astype(np.float32)
    return z, rgba


def write_blender_like_exr(path, z, rgba, layer="ViewLayer"):
    """One-part EXR with Blender's multilayer channel names, ZIP compressed."""
    import OpenEXR
    chans = {f"{layer}.Depth.Z": np.ascontiguousarray(z)}
    for i, c in enumerate("RGBA"):
        chans[f"{layer}.Combined.{c}"] = np.ascontiguousarray(rgba[..., i])
    hdr = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(hdr, chans) as f:
        f.write(path)
    return path


def timed(fn, repeat=5, warmup=2):
    """(median seconds after ``warmup`` untimed runs, last result). The first runs of a
    1080p build pay for page faults while the heap grows; they are reported separately."""
    times, result = [], None
    for _ in range(warmup):
        fn()
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), result


def fresh_memory_cost(megabytes=64):
    """``(ms per 100 MB, faults)``: what first touching freshly mapped memory costs here, in
    4 KiB pages (as Blender's own arrays get them from glibc's malloc in the bpy wheel; numpy
    asks for huge pages). A 1080p cloud's attributes are ~66 MB of such memory per build; on
    these virtual machines a page fault costs several microseconds, so that alone is tens of
    milliseconds (docs/production.md)."""
    import mmap
    import resource
    size = megabytes << 20
    best = None
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t = time.perf_counter()
        m = mmap.mmap(-1, size)
        view = np.frombuffer(m, np.uint8)
        view[::4096] = 1  # one write per page: the cost is the fault, not the bandwidth
        dt = time.perf_counter() - t
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        del view
        m.close()
        best = dt if best is None else min(best, dt)
    return 1e3 * best * 100 / megabytes, faults


def malloc_env() -> str:
    """The glibc malloc tunables set for this process (they change every figure above), or ""."""
    names = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES")
    return " ".join(f"{n}={os.environ[n]}" for n in names if n in os.environ)


def machine_lines(bpy, OpenEXR) -> list[str]:
    """What every production bench prints first: versions, cores, load, and what fresh memory
    costs here (the figures below depend on them)."""
    cost, faults = fresh_memory_cost()
    tunables = malloc_env()
    return [f"bpy {bpy.app.version_string}, OpenEXR {OpenEXR.__version__}, {os.cpu_count()} cores, "
            f"load average {os.getloadavg()[0]:.2f} (other work on the machine slows every figure)",
            f"fresh memory: {cost:.0f} ms per 100 MB on first touch ({faults} page faults for 64 MB; a 1080p "
            "cloud's attributes are ~66 MB of it per build)" + (f"; malloc tunables: {tunables}" if tunables else "")]
