"""Grid k-NN (numpy, no scipy) against brute force."""
import numpy as np
import pytest

from depth_cloud.core.fusion.knn import knn, knn_brute, knn_distances, mean_neighbor_distance


def _sphere(n, seed=0, outliers=0):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return np.vstack([v, rng.uniform(-2, 2, (outliers, 3))])


def _true_knn(points, k, queries=None):
    """Plain O(N^2) reference: full sort of every distance row."""
    p = np.asarray(points, np.float64)
    q = p if queries is None else np.asarray(queries, np.float64)
    d = np.linalg.norm(q[:, None, :] - p[None, :, :], axis=-1)
    if queries is None:
        np.fill_diagonal(d, np.inf)
    d.sort(axis=1)
    return d[:, :k]


_REF = {}


def _cloud_ref(name):
    if name not in _REF:
        pts = CLOUDS[name]()
        _REF[name] = (pts, _true_knn(pts, 16))
    return _REF[name]


CLOUDS = {
    "surface+outliers": lambda: _sphere(3000, 1, outliers=40),
    "uniform": lambda: np.random.default_rng(2).uniform(-1, 1, (2500, 3)),
    "clusters": lambda: np.concatenate([np.random.default_rng(3).normal(c, 0.01, (300, 3))
                                        for c in ((0, 0, 0), (1, 0, 0), (0, 5, 0))]),
    "plane+duplicates": lambda: np.concatenate([np.c_[np.random.default_rng(4).uniform(0, 1, (1500, 2)),
                                                      np.zeros(1500)]] * 2),
}


@pytest.mark.parametrize("name", sorted(CLOUDS))
@pytest.mark.parametrize("k", [1, 8, 16])
def test_grid_matches_brute_force(name, k):
    pts, ref = _cloud_ref(name)
    ref = ref[:, :k]
    dist, idx = knn(pts, k, method="grid")
    np.testing.assert_allclose(dist, ref, rtol=0, atol=1e-12)
    # the indices point at points at those distances, never at the query itself
    got = np.linalg.norm(pts[idx] - pts[:, None, :], axis=-1)
    np.testing.assert_allclose(got, ref, atol=1e-12)
    assert (idx != np.arange(len(pts))[:, None]).all()


def test_external_queries_and_brute_force_agree():
    pts = _sphere(2000, 5, outliers=20)
    q = np.random.default_rng(6).uniform(-1.5, 1.5, (700, 3))
    for method in ("grid", "brute"):
        dist, idx = knn(pts, 5, q, method=method)
        np.testing.assert_allclose(dist, _true_knn(pts, 5, q), atol=1e-12)
        np.testing.assert_allclose(np.linalg.norm(pts[idx] - q[:, None, :], axis=-1), dist, atol=1e-12)


def test_max_distance_reports_missing_neighbours():
    pts = _sphere(3000, 7, outliers=30)
    ref = _true_knn(pts, 8)
    dist, idx = knn(pts, 8, max_distance=0.08, method="grid")
    within = ref <= 0.08
    np.testing.assert_allclose(dist[within], ref[within], atol=1e-12)
    assert np.isinf(dist[~within]).all() and (idx[~within] == -1).all()
    assert (~within).any()  # the outliers really have far neighbours


def test_fewer_points_than_k():
    pts = np.random.default_rng(0).normal(size=(5, 3))
    dist, idx = knn(pts, 8, method="grid")
    assert np.isfinite(dist[:, :4]).all() and np.isinf(dist[:, 4:]).all()
    assert (idx[:, 4:] == -1).all()
    d2, _ = knn_brute(pts, 8)
    np.testing.assert_allclose(d2, dist)


def test_fast_distances_match_within_float32():
    pts = _sphere(4000, 8, outliers=50)
    ref = _true_knn(pts, 16)
    fast = knn_distances(pts, 16, method="grid")
    # float32 differences of coordinates within a cell (cloud extent ~2): ~1e-6 absolute
    np.testing.assert_allclose(fast, ref, rtol=1e-5, atol=5e-6)
    capped = knn_distances(pts, 16, max_distance=0.1, method="grid")
    within = ref <= 0.1 - 1e-5
    np.testing.assert_allclose(capped[within], ref[within], rtol=1e-5, atol=5e-6)
    assert np.isinf(capped[ref > 0.1 + 1e-5]).all()
    md = mean_neighbor_distance(pts, 16)
    np.testing.assert_allclose(md, ref.mean(axis=1), rtol=1e-5, atol=5e-6)


def test_large_cloud_uses_grid_and_stays_exact_on_a_sample():
    pts = _sphere(60_000, 9, outliers=100)
    dist, idx = knn(pts, 12)  # auto: grid
    sample = np.random.default_rng(1).choice(len(pts), 150, replace=False)
    d = np.linalg.norm(pts[sample][:, None, :] - pts[None, :, :], axis=-1)
    d[np.arange(len(sample)), sample] = np.inf
    np.testing.assert_allclose(dist[sample], np.sort(d, axis=1)[:, :12], atol=1e-12)
