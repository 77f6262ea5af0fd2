"""The fusion pipeline: the four steps in order, on worker threads where they run per view."""
from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from ..diagnostics import Diagnostics
from ..errors import InvalidDepthError, SettingsError
from ..points.pointset import PointSet

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

from ..diagnostics import counted
from .consistency import consistency_mask, similar_views, view_consistency
from .outliers import statistical_outliers
from .prepare import prepare_view
from .settings import FusionResult, FusionSettings
from .views import CONFIDENCE_ATTRIBUTE, SOURCE_VIEW_ATTRIBUTE, VIEWS_ATTRIBUTE, DepthView
from .voxels import voxel_downsample


def _workers(settings: FusionSettings) -> int:
    return settings.workers or max(1, min(2, os.cpu_count() or 1))


def _map(fn, items, workers):
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def fuse(views: Iterable[DepthView], settings: FusionSettings | None = None,
         progress: Callable[[float, str], object] | None = None) -> FusionResult:
    """Fuse DepthViews into one cleaned PointSet with normals, ``views`` and ``confidence``.

    ``progress(fraction, message)`` is called between stages.
    """
    settings = (settings or FusionSettings()).validate()
    views = list(views)
    if not views:
        raise SettingsError("fusion needs at least one depth map")
    report = progress or (lambda f, m: None)
    workers = _workers(settings)
    stats = {"views": len(views)}
    timer = _StepTimer(stats)

    report(0.0, f"preparing {len(views)} depth maps")
    prepared = _prepare(views, settings, workers, stats)
    timer.done("time_prepare")

    report(0.25, "checking multi-view consistency")
    counts = _consistency(prepared, settings, workers, stats)
    timer.done("time_consistency")
    cat = _consistent_points(prepared, counts, settings, stats)

    # automatic: the median pixel footprint (the radius is the half diagonal of the pixel)
    voxel = float(settings.voxel_size) or float(np.median(cat["radius"]) * math.sqrt(2.0))
    report(0.6, f"merging points on a {voxel:.4g} voxel grid")
    merged = _merge(cat, voxel, settings)
    timer.done("time_voxel")
    stats["points_merged"] = len(merged["radius"])

    keep = np.ones(len(merged["radius"]), dtype=bool)
    if settings.outlier_neighbors > 0:
        report(0.75, f"removing statistical outliers ({settings.outlier_neighbors} neighbours)")
        keep = _inliers(merged, voxel, settings, len(views))
    timer.done("time_outliers")
    stats["outliers_removed"] = int((~keep).sum())

    point_set = _fused_point_set(views, cat, merged, keep, voxel, stats)
    stats["points_out"] = len(point_set)
    stats["time_total"] = timer.total()
    report(1.0, f"fused {counted(len(views), 'view')} into {counted(len(point_set), 'point')}")
    return FusionResult(point_set=point_set, voxel_size=voxel, stats=stats)


class _StepTimer:
    """Seconds of each step into ``stats`` (``time_<step>``), and the total."""

    def __init__(self, stats: dict):
        self.stats = stats
        self.start = self.last = time.perf_counter()

    def done(self, key: str):
        now = time.perf_counter()
        self.stats[key] = now - self.last
        self.last = now

    def total(self) -> float:
        return time.perf_counter() - self.start


def _prepare(views, settings, workers, stats) -> list:
    """Step 1 on every view (in parallel); fails when no view has a usable pixel."""
    prepared = _map(lambda iv: prepare_view(iv[1], iv[0], settings), list(enumerate(views)), workers)
    stats["points_in"] = sum(p.stats["pixels"] for p in prepared)
    stats["spikes_removed"] = sum(p.stats["spikes"] for p in prepared)
    if sum(len(p.positions) for p in prepared) == 0:
        names = ", ".join(v.name or f"view {i + 1}" for i, v in enumerate(views[:5]))
        raise InvalidDepthError(f"no usable depth pixel in the {len(views)} depth map(s) ({names}…)")
    return prepared


def _consistency(prepared, settings, workers, stats) -> list:
    """Step 2: ``[(agreeing views, contradicting views)]`` per point of each view."""
    if len(prepared) <= 1:
        stats["compared_pairs"] = 0
        return [(np.zeros(len(prepared[0].positions), np.int16),) * 2]
    others = [None] * len(prepared)
    if 0 < settings.check_views < len(prepared) - 1:
        others = [set(o) for o in similar_views(prepared, settings.check_views)]
    stats["compared_pairs"] = sum(len(prepared) - 1 if o is None else len(o) for o in others)
    return _map(lambda i: view_consistency(prepared, i, settings.depth_tolerance, others[i]),
                list(range(len(prepared))), workers)


def _consistent_points(prepared, counts, settings, stats) -> dict:
    """The points every view keeps, concatenated: positions, normals, colors, pixels, radius,
    ``views`` (own + agreeing), ``confidence`` and the ``view`` each came from."""
    parts = {k: [] for k in ("positions", "normals", "colors", "pixels", "radius", "views", "confidence", "view")}
    for p, (agree, contra) in zip(prepared, counts):
        keep = consistency_mask(agree, contra, settings.min_views)
        parts["positions"].append(p.positions[keep])
        parts["normals"].append(p.normals[keep])
        parts["colors"].append(p.colors[keep])
        parts["pixels"].append(p.pixels[keep])
        parts["radius"].append(p.radius[keep])
        a = agree[keep].astype(np.int32)
        parts["views"].append(a + 1)
        parts["confidence"].append(((a + 1) / (a + 1 + contra[keep])).astype(np.float32))
        parts["view"].append(np.full(int(keep.sum()), p.index, np.int32))
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    stats["points_consistent"] = len(cat["positions"])
    stats["inconsistent_removed"] = sum(len(p.positions) for p in prepared) - len(cat["positions"])
    if len(cat["positions"]) == 0:
        raise InvalidDepthError(f"no point of the {len(prepared)} depth maps is confirmed by {settings.min_views} "
                                "other view(s): check the cameras (pose, lens, size) or raise the depth tolerance")
    return cat


def _merge(cat, voxel, settings) -> dict:
    """Step 3: the voxel grid's merged points (``voxel_downsample``'s arrays) with their
    ``views`` (max), ``confidence`` (mean) and ``radius`` (mean, at least half a voxel's diagonal)."""
    ds = voxel_downsample(cat["positions"], voxel, cat["colors"], cat["normals"], settings.split_normals)
    group = ds["group"]
    g = len(ds["counts"])
    ds["views"] = np.maximum.reduceat(cat["views"][ds["order"]], ds["starts"]).astype(np.int32)
    ds["confidence"] = (np.bincount(group, weights=cat["confidence"], minlength=g) / ds["counts"]).astype(np.float32)
    ds["radius"] = np.maximum((np.bincount(group, weights=cat["radius"], minlength=g) / ds["counts"]),
                              math.sqrt(0.5) * voxel).astype(np.float32)
    return ds


def _inliers(merged, voxel, settings, view_count: int) -> np.ndarray:
    """Step 4: which merged points are kept (by default only unconfirmed points are judged)."""
    spacing = max(voxel, float(np.median(merged["radius"])) * 2.0)
    judge = merged["views"] < 2 if settings.outliers_unconfirmed_only and view_count > 1 else None
    return statistical_outliers(merged["positions"], settings.outlier_neighbors, settings.outlier_std_ratio,
                                max_distance=12.0 * spacing * math.sqrt(settings.outlier_neighbors / 16.0),
                                judge=judge)


def _fused_point_set(views, cat, merged, keep, voxel, stats) -> PointSet:
    first_k = merged["first"][keep]
    return PointSet(
        positions=np.ascontiguousarray(merged["positions"][keep]),
        colors=np.ascontiguousarray(merged["colors"][keep]),
        pixels=np.ascontiguousarray(cat["pixels"][first_k]), depth=None, radius=merged["radius"][keep],
        image_size=(views[0].camera.width, views[0].camera.height),
        meta={"views": len(views), "names": [v.name for v in views], "voxel_size": voxel, "stats": stats,
              "warnings": Diagnostics(w for v in views for w in v.warnings)},
        normals=np.ascontiguousarray(merged["normals"][keep]),
        attributes={VIEWS_ATTRIBUTE: merged["views"][keep], CONFIDENCE_ATTRIBUTE: merged["confidence"][keep],
                    SOURCE_VIEW_ATTRIBUTE: cat["view"][first_k]})
