"""Time multi-view fusion of 20 depth maps of 512x512 (goal: <= 5 s on two cores).

    python bench/bench_fusion.py [--size 512] [--views 20] [--repeat 3] [--outliers 0.01]

Depth maps are ray traced in numpy (a union of three spheres seen from the 20 vertices of a
dodecahedron at distance 1.5, lens 30 mm), with 1% random outliers, so every stage has work.
Pure core: runs with any Python that has numpy (no Blender needed). Prints numbers only:
the median total and per-stage times with 2 worker threads and with 1, and the ratio against
naive approaches measured on a sample and extrapolated (a per-point Python loop for the
multi-view check; brute-force numpy k-NN for the outlier removal). Nothing is asserted.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
from _common import import_extension  # noqa: E402

import_extension(register=False)
from depth_cloud.core import fusion  # noqa: E402
from depth_cloud.core.fusion.knn import knn_brute, knn_distances  # noqa: E402
from synthetic import dodecahedron_cameras, inject_outliers, render_depth, shade  # noqa: E402

STAGES = ("time_prepare", "time_consistency", "time_voxel", "time_outliers")


def make_views(size, count, outliers):
    cams = dodecahedron_cameras(size, size)[:count]
    views = []
    for i, cam in enumerate(cams):
        z = render_depth(cam)
        if outliers:
            z, _ = inject_outliers(z, outliers, seed=i)
        views.append(fusion.DepthView(z, cam, shade(cam, z), name=f"view {i + 1}"))
    return views


def run(views, workers, repeat):
    results = [fusion.fuse(views, fusion.FusionSettings(workers=workers)) for _ in range(repeat)]
    med = {k: statistics.median(r.stats[k] for r in results) for k in STAGES + ("time_total",)}
    return med, results[-1]


def naive_consistency_seconds(views, sample=300):
    """Per-point Python loop: project each point into every other view, compare depths."""
    prepared = [fusion.prepare_view(v, i, fusion.FusionSettings()) for i, v in enumerate(views)]
    total = sum(len(p.positions) for p in prepared)
    src = prepared[0]
    pts = src.positions[:sample].astype(np.float64)
    t = time.perf_counter()
    for p in pts:
        agree = 0
        for other in prepared[1:]:
            x, y, d = other.camera.project(p[None])
            c, r = int(x[0]), int(y[0])
            if 0 <= c < other.camera.width and 0 <= r < other.camera.height and d[0] > 0:
                if abs(other.lookup[r, c] - d[0]) <= 0.01 * d[0]:
                    agree += 1
    per_point = (time.perf_counter() - t) / len(pts)
    return per_point * total, total


def naive_knn_seconds(points, k=16, sample=2000):
    """Brute-force numpy k-NN (no spatial index), extrapolated from ``sample`` queries."""
    q = points[:sample]
    t = time.perf_counter()
    knn_brute(points, k + 1, q, exclude_self=False)
    return (time.perf_counter() - t) / len(q) * len(points)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--views", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--outliers", type=float, default=0.01)
    args = ap.parse_args()

    t = time.perf_counter()
    views = make_views(args.size, args.views, args.outliers)
    pixels = sum(int(np.isfinite(v.depth).sum()) for v in views)
    print(f"{args.views} depth maps of {args.size}x{args.size} ({pixels:,} surface pixels, "
          f"{100 * args.outliers:g}% outliers) ray traced in {time.perf_counter() - t:.1f} s (not timed below)")
    print(f"CPU cores: {os.cpu_count()}, numpy {np.__version__}")

    fusion.fuse(views[:2])  # warm up imports and allocator
    for workers in (2, 1):
        med, result = run(views, workers, args.repeat)
        st = result.stats
        stages = ", ".join(f"{k[5:]} {med[k]:.2f} s" for k in STAGES)
        print(f"fusion, {workers} worker thread(s): {med['time_total']:.2f} s median of {args.repeat} "
              f"({stages})")
    print(f"  points: {st['points_in']:,} pixels -> {st['points_consistent']:,} consistent -> "
          f"{st['points_merged']:,} merged (voxel {result.voxel_size:.4g}) -> {st['points_out']:,} out; "
          f"removed {st['spikes_removed']:,} spikes, {st['inconsistent_removed']:,} inconsistent, "
          f"{st['outliers_removed']:,} statistical outliers")
    print("  goal: <= 5 s for 20 x 512x512 on two cores")

    naive_mv, total = naive_consistency_seconds(views)
    print(f"multi-view check: naive per-point Python loop ~{naive_mv:.0f} s for {total:,} points "
          f"(extrapolated) vs {med['time_consistency']:.2f} s: {naive_mv / med['time_consistency']:.0f}x")
    merged = result.point_set.positions.astype(np.float64)
    t = time.perf_counter()
    knn_distances(merged, 16, max_distance=12 * result.voxel_size)
    grid = time.perf_counter() - t
    brute = naive_knn_seconds(merged)
    print(f"16-NN of {len(merged):,} points: grid {grid:.2f} s vs brute-force numpy ~{brute:.0f} s "
          f"(extrapolated): {brute / grid:.0f}x")


if __name__ == "__main__":
    main()
