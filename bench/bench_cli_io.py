"""Speed of the CLI's file work at 1920x1080 (about 2 M points), in plain numbers.

* PLY writing: one structured numpy array (``core.ply.write_ply``) vs the naive per-point
  ``struct.pack`` loop most scripts use; MB/s and the ratio.
* ``info``: the header-only reader (``core.exr_header``) vs decoding the whole file
  (``core.exr.read_exr``) on a 1080p multilayer-style EXR.

Run: <venv>/bin/python bench/bench_cli_io.py   (no Blender needed; e.g. the .venv-core of tools/venv.sh)
"""
from __future__ import annotations

import os
import statistics
import struct
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
PKG = os.path.basename(os.path.dirname(HERE))
ply = __import__(f"{PKG}.core.ply", fromlist=["ply"])
exr_header = __import__(f"{PKG}.core.exr_header", fromlist=["exr_header"])
exr = __import__(f"{PKG}.core.exr", fromlist=["exr"])
info_mod = __import__(f"{PKG}.core.info", fromlist=["info"])
PointSet = __import__(f"{PKG}.core.pointset", fromlist=["PointSet"]).PointSet
srgb8 = ply.srgb8

W, H = 1920, 1080


def median_time(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def naive_write(path, ps):
    """Per-point Python: what a hand-written exporter does."""
    rgb = srgb8(ps.colors)  # (even with vectorized color encoding)
    with open(path, "wb") as fh:
        fh.write(ply.ply_header(len(ps), ply.vertex_dtype(radius=True)))
        pack = struct.Struct("<fffBBBf").pack
        for p, c, r in zip(ps.positions.tolist(), rgb.tolist(), ps.radius.tolist()):
            fh.write(pack(p[0], p[1], p[2], c[0], c[1], c[2], r))


def main():
    rng = np.random.default_rng(0)
    n = W * H
    colors = np.ones((n, 4), np.float32)
    colors[:, :3] = rng.random((n, 3), dtype=np.float32)
    ps = PointSet(positions=rng.normal(size=(n, 3)).astype(np.float32), colors=colors,
                  pixels=np.zeros((n, 2), np.int32), radius=rng.random(n, dtype=np.float32))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "c.ply")
        t_fast = median_time(lambda: ply.write_ply(path, ps))
        size = os.path.getsize(path)
        t_naive = median_time(lambda: naive_write(os.path.join(tmp, "n.ply"), ps), repeat=1)
        with open(path, "rb") as a, open(os.path.join(tmp, "n.ply"), "rb") as b:
            assert a.read() == b.read(), "the naive writer must produce the same bytes"
        print(f"PLY write, {n:,} points ({size / 1e6:.1f} MB, with fsync): vectorized {t_fast * 1e3:.0f} ms "
              f"({size / 1e6 / t_fast:.0f} MB/s); naive per-point {t_naive * 1e3:.0f} ms; "
              f"ratio {t_naive / t_fast:.1f}x")
        t_read = median_time(lambda: ply.read_ply(path))
        print(f"PLY read back (core.ply.read_ply): {t_read * 1e3:.1f} ms")

        try:
            import OpenEXR
        except ImportError:
            print("OpenEXR not available: info benchmark skipped")
            return
        epath = os.path.join(tmp, "f.exr")
        chans = {f"ViewLayer.Combined.{c}": rng.random((H, W), dtype=np.float32) for c in "RGBA"}
        chans["ViewLayer.Depth.Z"] = rng.random((H, W), dtype=np.float32) * 10
        for c in "XYZ":
            chans[f"ViewLayer.Position.{c}"] = rng.random((H, W), dtype=np.float32)
        with OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}, chans) as f:
            f.write(epath)
        t_head = median_time(lambda: info_mod.file_info(epath), repeat=20)
        t_full = median_time(lambda: exr.read_exr(epath), repeat=3)
        print(f"info on a 1080p 8-channel ZIP EXR ({os.path.getsize(epath) / 1e6:.1f} MB): header only "
              f"{t_head * 1e3:.2f} ms vs full decode {t_full * 1e3:.0f} ms ({t_full / t_head:.0f}x)")


if __name__ == "__main__":
    main()
