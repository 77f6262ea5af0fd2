"""Detail (every Nth pixel): the points are the full build's points at those pixels, with N
times the footprint, on files written here with OpenEXR."""
import numpy as np
import OpenEXR
import pytest

from depth_cloud.core import CameraModel, SourceSpec, read_frame_passes, unproject
from depth_cloud.core.errors import SettingsError
from depth_cloud.core.points.detail import at_detail


def _file(tmp_path, w=41, h=29, dw=None):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w]
    z = (4 + np.sin(xx / 7.0) + 0.3 * np.cos(yy / 5.0)).astype(np.float32)
    z[5:9, 10:14] = 1e10  # background
    chans = {"Z": z, **{c: rng.random((h, w)).astype(np.float32) for c in "RGB"}}
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    if dw:
        header.update(dataWindow=dw, displayWindow=((0, 0), (63, 47)))
    path = str(tmp_path / "d.exr")
    OpenEXR.File([OpenEXR.Part(header, chans)]).write(path)
    return path


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("windowed", [False, True])
def test_detail_is_the_full_build_subsampled(tmp_path, n, windowed):
    dw = ((7, 5), (47, 33)) if windowed else None
    path = _file(tmp_path, dw=dw)
    m = np.eye(4)
    m[:3, 3] = (0.2, 0.1, 0.0)
    size = (64, 48) if windowed else (41, 29)
    cam = CameraModel(m, *size, lens=35.0, shift_x=0.05)
    passes = read_frame_passes(SourceSpec(path), 1)
    full = unproject(passes, cam)
    coarse = unproject(passes, cam, detail=n)
    o = (n - 1) // 2
    x0, y0 = passes.window
    keep = ((full.pixels[:, 0] - x0) % n == o) & ((full.pixels[:, 1] - y0) % n == o)
    assert len(coarse) == keep.sum() > 0
    np.testing.assert_array_equal(coarse.pixels, full.pixels[keep])
    np.testing.assert_array_equal(coarse.positions, full.positions[keep])
    np.testing.assert_array_equal(coarse.colors, full.colors[keep])
    np.testing.assert_allclose(coarse.radius, full.radius[keep] * n, rtol=1e-6)
    # the points sit on the rays of their own (real) source pixels
    x, y, d = cam.project(coarse.positions)
    np.testing.assert_allclose(x, coarse.pixels[:, 0] + 0.5, atol=2e-3)
    np.testing.assert_allclose(y, coarse.pixels[:, 1] + 0.5, atol=2e-3)
    assert at_detail(passes, 1) is passes


@pytest.mark.parametrize("bad", [0, -1, 1.5, "x", None, 1000])
def test_bad_detail_names_the_setting(tmp_path, bad):
    passes = read_frame_passes(SourceSpec(_file(tmp_path)), 1)
    with pytest.raises(SettingsError, match="detail"):
        unproject(passes, CameraModel(np.eye(4), 41, 29), detail=bad)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_detail_with_a_smaller_color_window_counts_what_it_keeps(tmp_path, n):
    """Depth pixels outside a separate color file's data window are skipped (core/color_window)
    at every detail, and the NaN count of the kept pixels is not confused with them."""
    from test_views_windows_damage import H, W, _part, camera
    z = np.full((H, W), 4.0, np.float32)
    z[0, 0] = z[1, 1] = np.nan  # (0, 0) is kept at every detail, (1, 1) only at detail 1
    zpath = str(tmp_path / "z.exr")
    OpenEXR.File([_part({"Z": z})]).write(zpath)
    cpath = str(tmp_path / "c.exr")
    OpenEXR.File([_part({c: np.full((H - 5, W), 0.5) for c in "RGB"}, (0, 0, W - 1, H - 6))]).write(cpath)
    ps = unproject(read_frame_passes(SourceSpec(zpath, color_path=cpath, detail=n), 1), camera(), detail=n)
    rows, cols = np.arange((n - 1) // 2, H, n), np.arange((n - 1) // 2, W, n)
    kept = z[np.ix_(rows, cols)]
    colored = (rows <= H - 6)[:, None] & np.ones(len(cols), bool)[None, :]
    assert len(ps) == int((np.isfinite(kept) & colored).sum())
    assert ps.meta["nonfinite"] == int((~np.isfinite(kept)).sum())
    assert np.all(ps.colors[:, :3] == 0.5)
    assert not [w for w in ps.meta["warnings"] if "NaN/inf" in w and "-" in w.split("NaN")[0].split(": ")[-1]]


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("windowed", [False, True])
def test_detail_points_carry_their_own_pixels_normals_and_named_passes(tmp_path, n, windowed):
    """At every detail each point's normal and named-pass value are the ones of its own
    source pixel (the gathers index the every-Nth-pixel arrays, not the frame's)."""
    rng = np.random.default_rng(4)
    w, h = 41, 29
    yy, xx = np.mgrid[0:h, 0:w]
    z = (4 + np.sin(xx / 7.0) + 0.3 * np.cos(yy / 5.0)).astype(np.float32)
    z[5:9, 10:14] = 1e10
    normal = rng.standard_normal((h, w, 3)).astype(np.float32)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    aov = rng.random((h, w)).astype(np.float32)
    chans = {"Z": z, **{c: rng.random((h, w)).astype(np.float32) for c in "RGB"},
             **{f"Normal.{c}": np.ascontiguousarray(normal[..., k]) for k, c in enumerate("XYZ")}, "Glow.V": aov}
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    x0, y0 = (7, 5) if windowed else (0, 0)
    if windowed:
        header.update(dataWindow=((x0, y0), (x0 + w - 1, y0 + h - 1)), displayWindow=((0, 0), (63, 47)))
    path = str(tmp_path / "n.exr")
    OpenEXR.File([OpenEXR.Part(header, chans)]).write(path)
    cam = CameraModel(np.eye(4), *((64, 48) if windowed else (w, h)), lens=35.0)
    passes = read_frame_passes(SourceSpec(path, attributes="Glow.V"), 1)
    points = unproject(passes, cam, detail=n)
    assert points.normals is not None and "Glow" in points.attributes
    cols, rows = points.pixels[:, 0] - x0, points.pixels[:, 1] - y0
    o = (n - 1) // 2
    assert ((cols % n == o) & (rows % n == o)).all()
    np.testing.assert_allclose(points.normals, normal[rows, cols], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(points.attributes["Glow"], aov[rows, cols])
