"""Step 3: points merged per voxel (and per normal direction, so the two sides of a thin wall
are not averaged together)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import SettingsError

if TYPE_CHECKING:

    pass


def normal_bucket(normals) -> np.ndarray:
    """Index 0..5 of the major axis direction (+X, -X, +Y, -Y, +Z, -Z) of each normal."""
    n = np.asarray(normals)
    axis = np.abs(n).argmax(axis=1)
    neg = n[np.arange(len(n)), axis] < 0
    return (axis * 2 + neg).astype(np.int64)


def voxel_groups(positions, voxel_size: float, normals=None, origin=None):
    """Group points by voxel (and by normal direction when ``normals`` are given).

    Returns ``(group, order, starts, counts)``: the group index of every point (groups are
    numbered in sorted key order), the points sorted by group, and each group's first
    position in ``order`` and size.
    """
    p = np.asarray(positions, dtype=np.float64)
    if len(p) == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e, e
    if not voxel_size > 0:
        raise SettingsError(f"voxel size must be positive, got {voxel_size}")
    origin = p.min(axis=0) if origin is None else np.asarray(origin, dtype=np.float64)
    q = np.floor((p - origin) / voxel_size).astype(np.int64)
    q -= q.min(axis=0)
    dims = q.max(axis=0) + 1
    buckets = 6 if normals is not None else 1
    if float(np.prod(dims.astype(np.float64))) * buckets >= 2 ** 62:
        raise SettingsError(f"voxel size {voxel_size} is too small for the extent of the cloud")
    key = (q[:, 0] * dims[1] + q[:, 1]) * dims[2] + q[:, 2]
    if normals is not None:
        key = key * 6 + normal_bucket(normals)
    order = np.argsort(key, kind="stable")
    sk = key[order]
    starts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
    counts = np.diff(np.r_[starts, len(sk)])
    group = np.empty(len(p), dtype=np.int64)
    group[order] = np.repeat(np.arange(len(starts)), counts)
    return group, order, starts, counts


def voxel_downsample(positions, voxel_size: float, colors=None, normals=None, split_normals: bool = True):
    """Merge points per voxel: mean position and color, summed-and-normalized normal, count.

    Returns a dict with ``positions`` (G, 3) float32, ``colors`` (G, 4) or None, ``normals``
    (G, 3) or None, ``counts`` (G,) int32, ``group`` (N,) (the voxel of every input point) and
    ``first`` (G,) (index of a representative input point), and ``order``/``starts`` (the
    points sorted by voxel and each voxel's first position there, for ``np.*.reduceat``).
    """
    group, order, starts, counts = voxel_groups(positions, voxel_size, normals if split_normals else None)
    out = {"group": group, "order": order, "starts": starts, "counts": counts.astype(np.int32),
           "first": order[starts] if len(order) else order}
    if len(group) == 0:
        out.update(positions=np.zeros((0, 3), np.float32),
                   colors=None if colors is None else np.zeros((0, 4), np.float32),
                   normals=None if normals is None else np.zeros((0, 3), np.float32))
        return out
    out["positions"] = group_mean(positions, order, starts, counts)
    out["colors"] = None if colors is None else group_mean(colors, order, starts, counts)
    if normals is not None:
        s = np.add.reduceat(np.asarray(normals, dtype=np.float64)[order], starts, axis=0)
        norm = np.linalg.norm(s, axis=1, keepdims=True)
        first = np.asarray(normals, dtype=np.float64)[order[starts]]
        out["normals"] = np.where(norm > 1e-9, s / np.where(norm > 0, norm, 1), first).astype(np.float32)
    else:
        out["normals"] = None
    return out


def group_mean(values, order, starts, counts) -> np.ndarray:
    """Per-group mean of ``values`` (float64 sums, float32 result)."""
    v = np.asarray(values, dtype=np.float64)[order]
    s = np.add.reduceat(v, starts, axis=0)
    return (s / counts.reshape((-1,) + (1,) * (s.ndim - 1))).astype(np.float32)
