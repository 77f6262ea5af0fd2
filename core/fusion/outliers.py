"""Step 4: statistical outlier removal (mean distance to the k nearest neighbours, exact grid
k-NN of :mod:`.knn`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .knn import knn, knn_distances

if TYPE_CHECKING:

    pass


def statistical_outliers(positions, k: int = 16, std_ratio: float = 2.0, max_distance: float | None = None,
                         judge=None, reference: int = 50_000, seed: int = 0):
    """Boolean mask of the points to keep: a point is dropped when its mean distance to its k
    nearest neighbours exceeds ``mean + std_ratio * std`` of that distance over the cloud.

    With ``max_distance`` neighbours beyond it are not searched: they count as
    ``max_distance`` in the statistics, and a point with fewer than k neighbours within it is
    dropped. ``judge`` (boolean mask) limits the test to some points (the others are kept);
    the mean and std then come from those points plus a random sample of ``reference``
    points of the cloud, so only they need a k-NN search.
    """
    p = np.asarray(positions)
    n = len(p)
    keep = np.ones(n, dtype=bool)
    if k <= 0 or n <= k:
        return keep
    if judge is None or n <= reference:
        test = np.arange(n) if judge is None else np.flatnonzero(judge)
        dist = knn_distances(p, k, max_distance=max_distance)
        stats_idx = np.arange(n)
        md_all, found_all = _mean_found(dist, max_distance)
        md, found = md_all[test], found_all[test]
    else:
        test = np.flatnonzero(judge)
        if len(test) == 0:
            return keep
        rng = np.random.default_rng(seed)
        sample = rng.choice(n, size=reference, replace=False)
        queries = np.union1d(test, sample)
        d, _ = knn(p, k + 1, queries=p[queries], exclude_self=False, max_distance=max_distance)
        md_q, found_q = _mean_found(d[:, 1:], max_distance)  # column 0 is the point itself
        md_all = md_q
        stats_idx = np.arange(len(queries))
        pos = np.searchsorted(queries, test)
        md, found = md_q[pos], found_q[pos]
    ref = md_all[stats_idx]
    ref = ref[np.isfinite(ref)]
    limit = float(ref.mean() + std_ratio * ref.std()) if len(ref) else np.inf
    keep[test] = found & (md <= limit)
    return keep


def _mean_found(dist, max_distance):
    found = np.isfinite(dist).all(axis=1)
    cap = max_distance if max_distance is not None else np.inf
    return np.where(np.isfinite(dist), dist, cap).mean(axis=1), found
