"""Fusion core on analytic depth maps (a union of spheres ray traced in numpy)."""
import math

import numpy as np
import pytest

from depth_cloud.core import fusion
from depth_cloud.core.camera.lists import camera_from_direction, look_at
from depth_cloud.core.camera.model import CameraModel
from depth_cloud.core.errors import CameraError, InvalidDepthError, SettingsError, SizeMismatchError
from depth_cloud.core.fusion.knn import knn
from depth_cloud.core.points.inputs import FramePasses
from synthetic import dodecahedron_cameras, inject_outliers, render_depth, shade, surface_distance, surface_samples

DIAG = float(np.linalg.norm(np.ptp(surface_samples(20000), axis=0)))


def _views(size=96, outliers=None, blobs=None, cams=None):
    cams = cams or dodecahedron_cameras(size, size)
    views = []
    for i, c in enumerate(cams):
        z = render_depth(c)
        if outliers:
            z, _ = inject_outliers(z, outliers, seed=i)
        if blobs:
            z = _blobs(z, blobs, seed=i)
        views.append(fusion.DepthView(z, c, shade(c, z), name=f"v{i}"))
    return views


def _blobs(z, fraction, seed):
    """3x3 patches of one wrong depth: they support each other, so the spike filter keeps them."""
    rng = np.random.default_rng(100 + seed)
    z = z.copy()
    h, w = z.shape
    for _ in range(int(fraction * h * w / 9)):
        r, c = rng.integers(1, h - 1), rng.integers(1, w - 1)
        base = z[r, c] if np.isfinite(z[r, c]) else 1.5
        f = rng.uniform(0.4, 1.6)
        f = f if abs(f - 1) > 0.05 else 1.1
        z[r - 1:r + 2, c - 1:c + 2] = base * f
    return z


def _coverage(points, radius=0.01):
    samples = surface_samples(20000)  # every sample is seen by some of the 20 views
    d, _ = knn(points, 1, samples)
    return float((d[:, 0] <= radius * DIAG).mean())


# --------------------------------------------------------------------------- whole pipeline
def test_twenty_views_fuse_onto_the_surface():
    result = fusion.fuse(_views())
    ps = result.point_set
    d = surface_distance(ps.positions)
    cov = _coverage(ps.positions)
    print(f"{len(ps)} points, mean distance {100 * d.mean() / DIAG:.4f}% of diagonal, coverage {100 * cov:.2f}%")
    assert d.mean() <= 0.002 * DIAG and d.max() <= 0.01 * DIAG
    assert cov >= 0.99
    # normals: unit, pointing out of the nearest sphere
    from synthetic import CENTRES, RADII
    p = ps.positions.astype(np.float64)
    k = np.argmin([np.linalg.norm(p - c, axis=1) - r for c, r in zip(CENTRES, RADII)], axis=0)
    true_n = (p - CENTRES[k]) / np.linalg.norm(p - CENTRES[k], axis=1, keepdims=True)
    np.testing.assert_allclose(np.linalg.norm(ps.normals, axis=1), 1, atol=1e-5)
    cos = (true_n * ps.normals).sum(1)
    assert (cos > 0).mean() > 0.999 and np.median(cos) > math.cos(math.radians(3))
    views = ps.attributes["views"]
    assert views.dtype == np.int32 and views.min() >= 1 and views.max() <= 20 and np.median(views) >= 4
    conf = ps.attributes["confidence"]
    assert conf.min() > 0 and conf.max() <= 1
    assert set(np.unique(ps.attributes["source_view"])) <= set(range(20))
    assert ps.colors.shape == (len(ps), 4) and ps.radius.shape == (len(ps),)
    assert result.stats["points_out"] == len(ps)


def test_single_pixel_outliers_are_removed():
    """1% random outliers per depth map: <= 0.05% remain (points > 1% of the diagonal off)."""
    views = _views(outliers=0.01)
    raw = fusion.fuse(views, fusion.FusionSettings(min_views=0, neighbor_support=0, outlier_neighbors=0))
    raw_frac = (surface_distance(raw.point_set.positions) > 0.01 * DIAG).mean()
    ps = fusion.fuse(views).point_set
    frac = (surface_distance(ps.positions) > 0.01 * DIAG).mean()
    print(f"outliers: {100 * raw_frac:.2f}% unfiltered, {100 * frac:.4f}% fused")
    assert raw_frac > 0.01
    assert frac <= 0.0005
    assert _coverage(ps.positions) >= 0.99


def test_outlier_patches_need_the_multi_view_check():
    """3x3 patches survive the spike filter; multi-view consistency and the statistical
    removal take them out."""
    views = _views(blobs=0.01)
    frac = {}
    for label, kw in (("spike filter only", dict(min_views=0, outlier_neighbors=0)),
                      ("without multi-view", dict(min_views=0)), ("all", {})):
        ps = fusion.fuse(views, fusion.FusionSettings(**kw)).point_set
        frac[label] = (surface_distance(ps.positions) > 0.01 * DIAG).mean()
    print({k: f"{100 * v:.3f}%" for k, v in frac.items()})
    assert frac["spike filter only"] > 0.005
    assert frac["all"] < frac["without multi-view"] / 5
    assert frac["all"] <= 0.001


def test_comparing_with_the_most_similar_views_only():
    views = _views(outliers=0.01)
    full = fusion.fuse(views)
    near = fusion.fuse(views, fusion.FusionSettings(check_views=6))
    assert full.stats["compared_pairs"] == 20 * 19 and near.stats["compared_pairs"] == 20 * 6
    ps = near.point_set
    assert surface_distance(ps.positions).mean() <= 0.002 * DIAG
    assert (surface_distance(ps.positions) > 0.01 * DIAG).mean() <= 0.0005
    assert _coverage(ps.positions) >= 0.99
    prepared = [fusion.prepare_view(v, i, fusion.FusionSettings()) for i, v in enumerate(views)]
    nearest = fusion.similar_views(prepared, 3)
    # the dodecahedron: each vertex's 3 nearest vertices are its neighbours (41.8 degrees away)
    axes = np.array([-v.camera.cam_to_world[:3, 2] for v in views])
    for i, others in enumerate(nearest):
        angles = np.degrees(np.arccos(np.clip(axes[others] @ axes[i], -1, 1)))
        np.testing.assert_allclose(angles, 41.81, atol=0.05)


def test_orthographic_views_and_a_single_view():
    cams = [CameraModel(cam_to_world=camera_from_direction(d, 3.0), width=96, height=96, projection="ORTHO",
                        ortho_scale=1.6) for d in ((1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1))]
    ps = fusion.fuse(_views(cams=cams)).point_set
    d = surface_distance(ps.positions)
    assert len(ps) > 1000 and d.mean() <= 0.002 * DIAG
    one = fusion.fuse(_views(cams=cams[:1])).point_set
    assert len(one) > 300 and surface_distance(one.positions).mean() <= 0.002 * DIAG
    assert (one.attributes["views"] == 1).all()


# --------------------------------------------------------------------------- stages
def test_voxel_downsample_averages_per_voxel():
    pts = np.array([[0.1, 0.1, 0.1], [0.3, 0.2, 0.1], [1.2, 0.1, 0.1], [1.4, 0.3, 0.2], [1.3, 0.2, 0.9]])
    col = np.arange(20, dtype=np.float32).reshape(5, 4)
    out = fusion.voxel_downsample(pts, 0.5, colors=col)
    order = np.argsort(out["positions"][:, 0] + 10 * out["positions"][:, 2])
    np.testing.assert_allclose(out["positions"][order], [[0.2, 0.15, 0.1], [1.3, 0.2, 0.15], [1.3, 0.2, 0.9]],
                               atol=1e-6)
    np.testing.assert_array_equal(out["counts"][order], [2, 2, 1])
    np.testing.assert_allclose(out["colors"][order][0], col[:2].mean(0))
    assert (out["group"][0] == out["group"][1]) and out["group"][0] != out["group"][2]
    # opposite normals in one voxel are kept apart (the two sides of a thin wall)
    nrm = np.array([[0, 0, 1], [0, 0, -1], [0, 0, 1], [0, 0, 1], [0, 0, 1]], np.float32)
    split = fusion.voxel_downsample(pts, 0.5, normals=nrm)
    assert len(split["counts"]) == 4
    merged = fusion.voxel_downsample(pts, 0.5, normals=nrm, split_normals=False)
    assert len(merged["counts"]) == 3
    with pytest.raises(SettingsError, match="voxel size"):
        fusion.voxel_groups(pts, 0.0)


def test_spike_filter_keeps_steep_smooth_surfaces():
    h, w = 20, 30
    rows, cols = np.mgrid[0:h, 0:w]
    steep = (2.0 + 0.2 * cols).astype(np.float32)  # 10% depth change per pixel: far beyond 1%
    support = fusion.neighbor_support(steep, 0.01)
    assert (support[1:-1, 1:-1] >= 2).all()
    spiky = steep.copy()
    spiky[10, 10] *= 1.3
    s2 = fusion.neighbor_support(spiky, 0.01)
    assert s2[10, 10] == 0 and (np.delete(s2[1:-1, 1:-1].ravel(), (10 - 1) * (w - 2) + 9) >= 1).all()


def test_depth_normals_of_a_tilted_plane():
    for proj in ("PERSP", "ORTHO"):
        cam = CameraModel(cam_to_world=np.eye(4), width=40, height=30, projection=proj, lens=35, ortho_scale=2.0)
        # plane through (0,0,-3) with camera-space normal n (facing the camera)
        n = np.array([0.3, -0.4, 0.8])
        n /= np.linalg.norm(n)
        x = cam.plane_x(np.arange(40))[None, :]
        y = cam.plane_y(np.arange(30))[:, None]
        if proj == "PERSP":
            z = (3.0 * n[2]) / (n[2] - n[0] * x - n[1] * y)  # z (x, y, -1) on the plane n.p = -3 n_z
        else:
            z = (3.0 * n[2] + n[0] * x + n[1] * y) / n[2]
        z = z.astype(np.float32)
        z[12:15, 20:24] = np.nan  # a hole: neighbours fall back to the other side
        normals, ok = fusion.depth_normals(cam, z)
        valid = np.isfinite(z)
        np.testing.assert_allclose(normals[valid], np.broadcast_to(n, normals[valid].shape), atol=2e-3)
        assert ok[valid].all()


def test_projector_matches_camera_model():
    rng = np.random.default_rng(3)
    for kw in (dict(lens=28, shift_x=0.1, shift_y=-0.05), dict(sensor_fit="VERTICAL", pixel_aspect_y=1.3),
               dict(projection="ORTHO", ortho_scale=3.0, shift_x=-0.2)):
        cam = CameraModel(cam_to_world=look_at((1, -4, 2), (0, 0, 0)), width=81, height=57, **kw)
        p = rng.uniform(-1, 1, (500, 3))
        x, y, d = fusion.Projector(cam)(p.astype(np.float32))
        ex, ey, ed = cam.project(p)
        np.testing.assert_allclose(x, ex, atol=2e-3)
        np.testing.assert_allclose(y, ey, atol=2e-3)
        np.testing.assert_allclose(d, ed, rtol=1e-5)


def test_compare_with_view_agree_contradict_hidden():
    cam = CameraModel(cam_to_world=np.eye(4), width=20, height=20, lens=36)
    lookup = np.full((20, 20), 2.0, np.float32)  # a wall at depth 2
    lookup[:, :5] = np.inf  # background on the left
    lookup[0:3, 15:20] = np.nan  # unknown corner
    proj = fusion.Projector(cam)

    def at(col, row, depth):
        return np.array([[cam.plane_x(col) * depth, cam.plane_y(row) * depth, -depth]], np.float32)

    pts = np.concatenate([at(10, 10, 2.01), at(10, 10, 1.5), at(10, 10, 3.0), at(2, 10, 1.0), at(17, 1, 1.0),
                          at(30, 10, 2.0), [[0, 0, 1]]]).astype(np.float32)
    agree, contra = fusion.compare_with_view(pts, proj, lookup, 0.01)
    assert agree.tolist() == [True, False, False, False, False, False, False]
    assert contra.tolist() == [False, True, False, True, False, False, False]
    # keep rule: at least min(min_views, views that should see it) must agree
    a = np.array([0, 1, 2, 0, 1, 3], np.int16)
    c = np.array([0, 0, 0, 1, 1, 4], np.int16)
    assert fusion.consistency_mask(a, c, 2).tolist() == [True, True, True, False, False, True]
    assert fusion.consistency_mask(a, c, 0).all()


def test_statistical_outliers_drop_isolated_points():
    rng = np.random.default_rng(0)
    grid = np.stack(np.meshgrid(np.arange(60), np.arange(60), indexing="ij"), -1).reshape(-1, 2) * 0.01
    surface = np.c_[grid, 0.001 * rng.normal(size=len(grid))]
    lone = rng.uniform([0, 0, 0.2], [0.6, 0.6, 1.0], (20, 3))
    keep = fusion.statistical_outliers(np.vstack([surface, lone]), 16, 2.0)
    assert not keep[len(surface):].any()
    assert keep[:len(surface)].mean() > 0.97
    capped = fusion.statistical_outliers(np.vstack([surface, lone]), 16, 2.0, max_distance=0.1)
    assert not capped[len(surface):].any() and capped[:len(surface)].mean() > 0.97


# --------------------------------------------------------------------------- inputs and errors
def test_view_from_passes_places_a_cropped_window_and_position_passes():
    cam = CameraModel(cam_to_world=look_at((0, -3, 0), (0, 0, 0)), width=40, height=30, lens=30)
    z = render_depth(cam)
    crop = FramePasses(path="crop.exr", frame_size=(40, 30), window=(5, 4), depth=z[4:20, 5:30].copy(),
                       depth_channel="Z")
    v = fusion.view_from_passes(crop, cam)
    assert v.depth.shape == (30, 40) and np.isnan(v.depth[:4]).all() and np.isnan(v.depth[:, 30:]).all()
    inside = np.isfinite(z[4:20, 5:30])
    np.testing.assert_allclose(v.depth[4:20, 5:30][inside], z[4:20, 5:30][inside])
    assert np.isposinf(v.depth[4:20, 5:30][~inside]).all()  # background stays "seen empty"
    # a world position pass gives the same depths
    from synthetic import rays
    o, d = rays(cam)
    pos = np.where(np.isfinite(z)[..., None], o + d * np.where(np.isfinite(z), z, 0)[..., None], 0).astype(np.float32)
    pv = fusion.view_from_passes(FramePasses(path="p.exr", frame_size=(40, 30), position=pos), cam)
    np.testing.assert_allclose(pv.depth[np.isfinite(z)], z[np.isfinite(z)], rtol=1e-5)
    assert np.isposinf(pv.depth[~np.isfinite(z)]).all()


def test_settings_and_inputs_are_checked():
    cam = CameraModel(cam_to_world=np.eye(4), width=8, height=6)
    for kw, msg in ((dict(voxel_size=-1), "voxel size"), (dict(min_views=-1), "minimum views"),
                    (dict(depth_tolerance=0), "depth tolerance"), (dict(neighbor_support=9), "neighbour support"),
                    (dict(outlier_std_ratio=0), "standard-deviation"), (dict(max_incidence=95), "incidence")):
        with pytest.raises(SettingsError, match=msg):
            fusion.fuse([fusion.DepthView(np.ones((6, 8), np.float32), cam)], fusion.FusionSettings(**kw))
    with pytest.raises(SettingsError, match="at least one depth map"):
        fusion.fuse([])
    with pytest.raises(SizeMismatchError, match="left: color image"):
        fusion.DepthView(np.ones((6, 8)), cam, colors=np.ones((5, 8, 4)), name="left")
    with pytest.raises(SizeMismatchError, match="2D image"):
        fusion.DepthView(np.ones((6, 8, 2)), cam)
    with pytest.raises(CameraError, match="panoramic"):
        fusion.DepthView(np.ones((6, 8)), CameraModel(cam_to_world=np.eye(4), width=8, height=6, projection="PANO"))
    empty = fusion.DepthView(np.full((6, 8), np.inf, np.float32), cam, name="empty")
    with pytest.raises(InvalidDepthError, match="no usable depth pixel.*empty"):
        fusion.fuse([empty])


def test_fused_cloud_exports_to_ply_with_normals(tmp_path):
    from depth_cloud.core.output.ply import read_ply, write_ply
    ps = fusion.fuse(_views(size=48)).point_set
    path = str(tmp_path / "fused.ply")
    write_ply(path, ps)
    data = read_ply(path)
    rec = data["vertex"] if "vertex" in data else data
    np.testing.assert_allclose(np.c_[rec["x"], rec["y"], rec["z"]], ps.positions)
    np.testing.assert_allclose(np.c_[rec["nx"], rec["ny"], rec["nz"]], ps.normals)
    # subsets keep the extra attributes aligned
    sub = ps.subset(ps.attributes["views"] >= 3)
    assert len(sub.attributes["views"]) == len(sub) == len(sub.normals) and (sub.attributes["views"] >= 3).all()
