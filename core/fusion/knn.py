"""Exact k nearest neighbours in numpy, on a uniform grid (voxel hashing).

Blender's Python has no scipy, so there is no ``cKDTree`` to lean on. This module finds the
exact k nearest neighbours of every query with vectorized numpy:

1. Points are hashed into cubic cells of size ``h`` (chosen so that an occupied cell holds a
   few points) and sorted by cell key; a dense table (or a sorted key array for huge grids)
   maps a cell to its run of points.
2. For each query the candidates are the points of the ``(2r+1)^3`` cells around its own
   cell, ``r = 1`` first. Every point within ``r*h`` of the query is in that block, so when
   the k-th nearest candidate is within ``r*h`` the answer is exact.
3. Queries that fail (sparse regions, isolated outliers) are retried with ``r = 2``, then
   with ``r = 2`` on grids 4x, 16x… coarser, each exact within its block's reach; what is
   left is solved by brute force, or, when the caller gives ``max_distance``, answered
   exactly up to that distance (farther neighbours reported as missing).

Candidates are gathered per query into a padded matrix (queries grouped by candidate count so
the padding stays small) and the k smallest distances are taken with ``np.partition``; no
Python loop runs per point.
"""
from __future__ import annotations

import numpy as np

#: Aim for about this many points per occupied cell (surfaces occupy ~9 of the 27 cells).
_POINTS_PER_CELL = 3.0
#: ... and about k / this many for k neighbours.
_TARGET_DIV = 2.0
#: Upper bound on candidate pairs (or cell look-ups) handled at once.
_CHUNK = 2_000_000
#: Largest dense cell table (int32 entries) before falling back to binary search.
_DENSE_CELLS = 32_000_000


def knn_brute(points: np.ndarray, k: int, queries: np.ndarray | None = None,
              exclude_self: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Reference k-NN by brute force (chunked). Returns ``(distances (Q, k), indices (Q, k))``
    sorted by distance; missing neighbours (fewer than k points) get ``inf`` / ``-1``."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    self_query = queries is None
    q = pts if self_query else np.asarray(queries, dtype=np.float64).reshape(-1, 3)
    exclude = self_query if exclude_self is None else exclude_self
    n, nq = len(pts), len(q)
    dist = np.full((nq, max(k, 0)), np.inf)
    idx = np.full((nq, max(k, 0)), -1, dtype=np.int64)
    if n == 0 or nq == 0 or k <= 0:
        return dist, idx
    kk = min(k, n)
    sq = (pts * pts).sum(axis=1)
    step = max(1, _CHUNK // n)
    for a in range(0, nq, step):
        b = min(nq, a + step)
        qa = q[a:b]
        d2 = (qa * qa).sum(axis=1)[:, None] + sq[None, :] - 2.0 * (qa @ pts.T)
        np.maximum(d2, 0.0, out=d2)
        if exclude:
            d2[np.arange(b - a), np.arange(a, b)] = np.inf
        part = np.argpartition(d2, kk - 1, axis=1)[:, :kk] if kk < n else np.tile(np.arange(n), (b - a, 1))
        # exact distances of the selected candidates (the expansion above loses precision)
        pd = ((pts[part] - qa[:, None, :]) ** 2).sum(-1)
        pd[~np.isfinite(np.take_along_axis(d2, part, axis=1))] = np.inf
        order = np.argsort(pd, axis=1, kind="stable")
        pd = np.take_along_axis(pd, order, axis=1)
        pi = np.take_along_axis(part, order, axis=1)
        pi[~np.isfinite(pd)] = -1
        dist[a:b, :kk] = np.sqrt(pd)
        idx[a:b, :kk] = pi
    return dist, idx


class _Grid:
    """Points sorted by cubic cell, and a map from cell to its run of points."""

    def __init__(self, points: np.ndarray, h: float):
        self.h = float(h)
        self.origin = points.min(axis=0)
        cells = np.floor((points - self.origin) / self.h).astype(np.int64)
        self.dims = cells.max(axis=0) + 1
        ncells = float(np.prod(self.dims.astype(np.float64)))
        if ncells > 2 ** 62:
            raise ValueError("grid too fine for 64-bit cell keys")
        key = self._key(cells)
        self.order = np.argsort(key, kind="stable")
        sk = key[self.order]
        first = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
        self.keys = sk[first]
        self.starts = first
        self.counts = np.diff(np.r_[first, len(sk)])
        self.sorted_points = points[self.order]
        self.rank = np.empty(len(points), dtype=np.int64)  # position of each point in sorted order
        self.rank[self.order] = np.arange(len(points))
        self.table = None
        if ncells <= _DENSE_CELLS:
            self.table = np.full(int(ncells), -1, dtype=np.int32)
            self.table[self.keys] = np.arange(len(self.keys), dtype=np.int32)

    def _key(self, cells):
        return (cells[..., 0] * self.dims[1] + cells[..., 1]) * self.dims[2] + cells[..., 2]

    def reach(self, queries, qcells, ring: int):
        """Distance from each query to the boundary of its ``(2*ring+1)^3`` block: every
        point closer than this is in the block."""
        frac = (queries - self.origin) / self.h - qcells
        return (ring + np.minimum(frac, 1.0 - frac).min(axis=1)) * self.h

    def cell_of(self, queries):
        return np.floor((queries - self.origin) / self.h).astype(np.int64)

    def ranges(self, qcells, offsets):
        """Start and count (in sorted order) of the neighbour cells ``qcell + offset``
        (count 0 for empty or out-of-grid cells): two (Q, len(offsets)) arrays."""
        nb = qcells[:, None, :] + offsets[None, :, :]
        inside = ((nb >= 0) & (nb < self.dims)).all(axis=-1)
        key = self._key(np.clip(nb, 0, self.dims - 1))
        if self.table is not None:
            slot = self.table[key]
            hit = inside & (slot >= 0)
        else:
            slot = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
            hit = inside & (self.keys[slot] == key)
        slot = np.where(hit, slot, 0)
        return np.where(hit, self.starts[slot], 0), np.where(hit, self.counts[slot], 0)


def _offsets(ring: int) -> np.ndarray:
    r = np.arange(-ring, ring + 1)
    return np.stack(np.meshgrid(r, r, r, indexing="ij"), axis=-1).reshape(-1, 3)


def _cell_size(points: np.ndarray, k: int) -> float:
    """A cell size giving a few points per occupied cell (estimated on a subsample, assuming
    points spread over surfaces, where the count per cell grows as h**2)."""
    n = len(points)
    rng = np.random.default_rng(0)
    sample = points if n <= 200_000 else points[rng.choice(n, 200_000, replace=False)]
    scale = n / len(sample)
    diag = float(np.linalg.norm(np.ptp(points, axis=0))) or 1.0
    h = diag / max(2.0, np.sqrt(n / _POINTS_PER_CELL))
    target = max(_POINTS_PER_CELL, k / _TARGET_DIV)
    for _ in range(5):
        cells = np.floor((sample - sample.min(0)) / h).astype(np.int64)
        dims = cells.max(0) + 1
        if float(np.prod(dims.astype(np.float64))) > 2 ** 62:
            h *= 4
            continue
        occupied = len(np.unique((cells[:, 0] * dims[1] + cells[:, 1]) * dims[2] + cells[:, 2]))
        ratio = target / (len(sample) * scale / occupied)
        if 0.75 < ratio < 1.33:
            break
        h *= float(np.clip(np.sqrt(ratio), 0.25, 4.0))
    return max(h, diag * 1e-9)


def _select(grid, queries, start, count, k, self_index):
    """k smallest distances among the candidate runs of each query."""
    nq = len(queries)
    dist = np.full((nq, k), np.inf)
    idx = np.full((nq, k), -1, dtype=np.int64)
    total = count.sum(axis=1)
    by_count = np.argsort(total, kind="stable")
    sorted_total = np.maximum(total[by_count], 1)
    pos = 0
    while pos < nq:
        end = min(nq, pos + max(1, _CHUNK // int(sorted_total[pos])))
        while end > pos + 1 and (end - pos) * int(sorted_total[end - 1]) > _CHUNK:
            end = pos + max(1, _CHUNK // int(sorted_total[end - 1]))
        width = int(sorted_total[end - 1])
        sel = by_count[pos:end]
        mat = _candidate_matrix(start[sel], count[sel], width)
        valid = mat >= 0
        diff = grid.sorted_points[np.where(valid, mat, 0)] - queries[sel][:, None, :]
        d2 = np.einsum("ijk,ijk->ij", diff, diff)
        d2[~valid] = np.inf
        if self_index is not None:
            d2[mat == self_index[sel][:, None]] = np.inf
        kd, ki = _k_smallest(d2, mat, k)
        dist[sel, :kd.shape[1]] = kd
        idx[sel, :kd.shape[1]] = ki
        pos = end
    return dist, idx


def _candidate_matrix(start, count, width: int) -> np.ndarray:
    """``(Q, width)`` int64 candidate indices (in the grid's sorted order) of each query, the
    runs ``start[q, j] .. start[q, j] + count[q, j]`` one after the other, padded with -1."""
    lens = count.ravel()
    flat_total = int(lens.sum())
    cand = np.repeat(start.ravel() - (np.cumsum(lens) - lens), lens) + np.arange(flat_total)
    row_tot = count.sum(axis=1)
    row_of = np.repeat(np.arange(len(row_tot)), row_tot)
    within = np.arange(flat_total) - np.repeat(np.cumsum(row_tot) - row_tot, row_tot)
    mat = np.full((len(row_tot), width), -1, dtype=np.int64)
    mat[row_of, within] = cand
    return mat


def _k_smallest(d2, cand, k: int):
    """The ``min(k, width)`` smallest squared distances of each row of ``d2`` as sorted
    distances, and their ``cand`` entries (-1 where the distance is infinite)."""
    width = d2.shape[1]
    kk = min(k, width)
    if kk < width:
        part = np.argpartition(d2, kk - 1, axis=1)[:, :kk]
    else:
        part = np.broadcast_to(np.arange(width), d2.shape)
    pd = np.take_along_axis(d2, part, axis=1)
    o = np.argsort(pd, axis=1, kind="stable")
    pd = np.take_along_axis(pd, o, axis=1)
    pi = np.take_along_axis(np.take_along_axis(cand, part, axis=1), o, axis=1)
    pi[~np.isfinite(pd)] = -1
    return np.sqrt(pd), pi


def _gather(grid: _Grid, queries, qcells, k, ring, self_index):
    """k nearest candidates from the ``(2*ring+1)^3`` block around each query:
    ``(dist (Q,k), idx (Q,k), exact (Q,))``; ``self_index`` and ``idx`` are indices of the
    original points."""
    if self_index is not None:
        self_index = grid.rank[self_index]
    nq = len(queries)
    dist = np.full((nq, k), np.inf)
    idx = np.full((nq, k), -1, dtype=np.int64)
    offsets = _offsets(ring)
    step = max(1, _CHUNK // len(offsets))
    for a in range(0, nq, step):
        b = min(nq, a + step)
        start, count = grid.ranges(qcells[a:b], offsets)
        dist[a:b], idx[a:b] = _select(grid, queries[a:b], start, count, k,
                                      None if self_index is None else self_index[a:b])
    kth = dist[:, k - 1]
    found = idx >= 0
    idx = np.where(found, grid.order[np.where(found, idx, 0)], -1)
    return dist, idx, np.isfinite(kth) & (kth <= grid.reach(queries, qcells, ring))


def knn(points: np.ndarray, k: int, queries: np.ndarray | None = None, exclude_self: bool | None = None,
        max_distance: float | None = None, method: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours: ``(distances (Q, k), indices (Q, k))`` sorted by distance.

    Without ``queries`` every point queries its neighbours among the others (itself
    excluded). Missing neighbours (fewer than k other points, or farther than
    ``max_distance`` when given) get ``inf`` / ``-1``. ``method``: ``"grid"``, ``"brute"``
    or ``"auto"`` (brute force for tiny inputs).
    """
    pts = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 3)
    self_query = queries is None
    q = pts if self_query else np.ascontiguousarray(queries, dtype=np.float64).reshape(-1, 3)
    exclude = self_query if exclude_self is None else exclude_self
    n, nq = len(pts), len(q)
    k = int(k)
    if n == 0 or nq == 0 or k <= 0:
        return np.full((nq, max(k, 0)), np.inf), np.full((nq, max(k, 0)), -1, dtype=np.int64)
    if method not in ("auto", "grid", "brute"):
        raise ValueError(f"unknown k-NN method {method!r}")
    if method == "brute" or (method == "auto" and n * nq <= 4_000_000):
        dist, idx = knn_brute(pts, k, None if self_query else q, exclude)
    else:
        dist, idx = _knn_grid(pts, q, k, exclude and self_query, max_distance, self_query)
    if max_distance is not None:
        far = dist > max_distance
        dist[far] = np.inf
        idx[far] = -1
    return dist, idx


def _cell_pass(grid: _Grid, k: int, exclude_self: bool, with_index: bool = True):
    """Ring-1 search for every point of the grid, batched per occupied cell (the points of a
    cell share their 27-cell candidate list). Results are in the grid's sorted order.

    ``with_index=False`` computes distances only, in float32 (the fast path of the
    statistical outlier removal): self is dropped as the one zero distance of the k+1 smallest.
    """
    n = len(grid.sorted_points)
    dtype = np.float64 if with_index else np.float32
    dist = np.full((n, k), np.inf, dtype=dtype)
    idx = np.full((n, k), -1, dtype=np.int64) if with_index else None
    keys = grid.keys
    dz, dy = grid.dims[2], grid.dims[1]
    cells = np.stack([keys // (dy * dz), (keys // dz) % dy, keys % dz], axis=-1)
    start, count = grid.ranges(cells, _offsets(1))
    m = count.sum(axis=1)
    q = grid.counts
    order = np.lexsort((m, q))
    sp = grid.sorted_points if with_index else grid.sorted_points.astype(np.float32)
    drop_self = exclude_self and not with_index
    want = k + 1 if drop_self else k
    pos = 0
    ncell = len(keys)
    while pos < ncell:
        qv = int(q[order[pos]])
        # cells with this many points, in increasing candidate count
        stop = pos + int(np.searchsorted(q[order[pos:]], qv, side="right"))
        while pos < stop:
            end = min(stop, pos + max(1, _CHUNK // (qv * int(m[order[pos]]))))
            while end > pos + 1 and (end - pos) * qv * int(m[order[end - 1]]) > _CHUNK:
                end = pos + max(1, _CHUNK // (qv * int(m[order[end - 1]])))
            sel = order[pos:end]
            width = int(m[sel].max())
            mat = _candidate_matrix(start[sel], count[sel], width)
            valid = mat >= 0
            qidx = grid.starts[sel][:, None] + np.arange(qv)  # (nc, qv), sorted order
            a = sp[qidx]
            o = a[:, :1, :]
            a = a - o
            b = sp[np.where(valid, mat, 0)] - o
            b[~valid] = np.inf
            with np.errstate(invalid="ignore", over="ignore"):
                d2 = ((a * a).sum(-1)[:, :, None] + (b * b).sum(-1)[:, None, :]
                      - 2 * np.einsum("cqd,cmd->cqm", a, b))
                np.maximum(d2, 0, out=d2)
            d2[np.isnan(d2)] = np.inf
            rows = qidx.ravel()
            d2 = d2.reshape(len(sel) * qv, width)
            if not with_index:
                kk = min(want, width)
                pd = np.partition(d2, kk - 1, axis=1)[:, :kk] if kk < width else d2
                pd = np.sort(pd, axis=1)
                if drop_self:
                    pd = pd[:, 1:]
                dist[rows, :pd.shape[1]] = np.sqrt(pd)
                pos = end
                continue
            if exclude_self:
                d2[(qidx[:, :, None] == mat[:, None, :]).reshape(d2.shape)] = np.inf
            kd, ki = _k_smallest(d2, np.repeat(mat, qv, axis=0), k)
            dist[rows, :kd.shape[1]] = kd
            idx[rows, :kd.shape[1]] = ki
            pos = end
    return dist, idx


def _knn_grid(pts, q, k, exclude_self, max_distance, self_query=False, with_index=True):
    """Grid search: a ring-1 pass, ring 2, then ring 2 on grids 4x, 16x… coarser for the
    few queries left (sparse regions), and brute force for what remains."""
    h = _cell_size(pts, k)
    grid = _Grid(pts, h)
    diag = float(np.linalg.norm(np.ptp(pts, axis=0))) + h
    if self_query:
        sd, si = _cell_pass(grid, k, exclude_self, with_index)
        rank = grid.rank
        dist = sd[rank].astype(np.float64)
        idx = grid.order[np.maximum(si[rank], 0)] if with_index else np.zeros(dist.shape, dtype=np.int64)
        if with_index:
            idx[si[rank] < 0] = -1
        kth = dist[:, k - 1]
        todo = np.flatnonzero(~(np.isfinite(kth) & (kth <= grid.reach(q, grid.cell_of(q), 1))))
        reach, ring = grid.h, 2
    else:
        dist = np.full((len(q), k), np.inf)
        idx = np.full((len(q), k), -1, dtype=np.int64)
        todo = np.arange(len(q))
        reach, ring = 0.0, 1
    while len(todo) and (max_distance is None or reach < max_distance):
        if ring > 2:  # rings 1 and 2 done on this grid: go 4x coarser
            if grid.h > diag:
                break
            grid = _Grid(pts, grid.h * 4)
            ring = 2
        d, i, exact = _gather(grid, q[todo], grid.cell_of(q[todo]), k, ring,
                              todo if exclude_self else None)
        dist[todo], idx[todo] = d, i
        todo = todo[~exact]
        reach = ring * grid.h
        ring += 1
    if len(todo) and (max_distance is None or reach < max_distance):
        extra = 1 if exclude_self else 0
        db, ib = knn_brute(pts, k + extra, q[todo], exclude_self=False)
        if exclude_self:
            db = np.where(ib == todo[:, None], np.inf, db)
            o = np.argsort(db, axis=1, kind="stable")[:, :k]
            db, ib = np.take_along_axis(db, o, axis=1), np.take_along_axis(ib, o, axis=1)
            ib[~np.isfinite(db)] = -1
        dist[todo], idx[todo] = db, ib
    return dist, (idx if with_index else None)


def knn_distances(points: np.ndarray, k: int, max_distance: float | None = None, method: str = "auto") -> np.ndarray:
    """Distances (N, k) from every point to its k nearest other points, sorted; the fast
    path (float32 batched distances, no indices) behind the statistical outlier removal.
    Neighbours farther than ``max_distance`` (or missing) are ``inf``."""
    pts = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 3)
    n, k = len(pts), int(k)
    if method == "brute" or (method == "auto" and n * n <= 4_000_000) or k <= 0 or n == 0:
        return knn(pts, k, max_distance=max_distance, method="brute" if method == "brute" else "auto")[0]
    dist, _ = _knn_grid(pts, pts, k, True, max_distance, self_query=True, with_index=False)
    if max_distance is not None:
        dist[dist > max_distance] = np.inf
    return dist


def mean_neighbor_distance(points: np.ndarray, k: int, max_distance: float | None = None) -> np.ndarray:
    """Mean distance of each point to its k nearest other points. With ``max_distance``,
    neighbours beyond it are not searched and count as ``max_distance`` (a lower bound)."""
    dist = knn_distances(points, k, max_distance=max_distance)
    if max_distance is not None:
        dist = np.where(np.isfinite(dist), dist, max_distance)
    return dist.mean(axis=1) if dist.shape[1] else np.full(len(dist), np.inf)
