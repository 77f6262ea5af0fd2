"""Deep EXRs (core/deep.py) without Blender: files written here with the OpenEXR bindings,
and the real deep files of ../shared/data (skipped when absent)."""
import os
import re

import numpy as np
import pytest

import paths
from depth_cloud.core import CameraModel, SourceSpec, read_frame_passes, unproject
from depth_cloud.core.errors import ChannelError, DepthCloudError, SourceFileError
from depth_cloud.core.exr import deep_read
from depth_cloud.core.output.info import exr_info, format_info
from depth_cloud.core.points import deep

REPO = paths.REPO
REAL = os.path.join(REPO, "..", "shared", "data", "openexr-images", "v2", "LowResLeftView")


def _camera(w, h, **kw):
    m = np.eye(4)
    m[:3, 3] = (0.3, -0.2, 1.0)
    return CameraModel(m, w, h, lens=35.0, clip_start=0.1, clip_end=1000.0, **kw)


def _samples(w=24, h=16, seed=1):
    """counts (h, w) 0..3, Z (S,), premultiplied RGBA with alpha in 0.1..1 (some 0)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 4, size=(h, w)).astype(np.int32)
    s = int(counts.sum())
    z = rng.uniform(1.0, 50.0, s).astype(np.float32)
    straight = rng.uniform(0.05, 1.0, (s, 3)).astype(np.float32)
    a = rng.uniform(0.1, 1.0, s).astype(np.float32)
    a[::7] = 0.0
    return counts, z, straight, a


def _channels(z, straight, a, half=False):
    t = np.float16 if half else np.float32
    ch = {"Z": z, "A": a.astype(t)}
    for i, c in enumerate("RGB"):
        ch[c] = (straight[:, i] * a).astype(t)
    return ch


def _expected_pixels(counts):
    h, w = counts.shape
    flat = np.repeat(np.arange(h * w), counts.reshape(-1))
    return np.stack([flat % w, flat // w], axis=1)


@pytest.mark.parametrize("tiled", [False, True])
def test_every_sample_is_a_point_at_its_depth(tmp_path, tiled):
    counts, z, straight, a = _samples()
    path = deep.write_deep_exr(str(tmp_path / "d.exr"), counts, _channels(z, straight, a), tiled=tiled)
    h, w = counts.shape
    cam = _camera(w, h)
    ps = unproject(read_frame_passes(SourceSpec(path), 1), cam)
    assert len(ps) == int(counts.sum())
    np.testing.assert_array_equal(ps.pixels, _expected_pixels(counts))
    x, y, d = cam.project(ps.positions.astype(np.float64))
    # each point lies on its pixel's ray (through the pixel centre) at its sample's planar depth
    np.testing.assert_allclose(d, z, rtol=2e-6)
    np.testing.assert_allclose(x, ps.pixels[:, 0] + 0.5, atol=1e-3)
    np.testing.assert_allclose(y, ps.pixels[:, 1] + 0.5, atol=1e-3)
    np.testing.assert_array_equal(ps.depth, z)
    # straight colors where alpha > 0; alpha kept
    pos = a > 0
    np.testing.assert_allclose(ps.colors[pos, :3], straight[pos], rtol=1e-5)
    np.testing.assert_array_equal(ps.colors[:, 3], a)
    np.testing.assert_array_equal(ps.attributes["alpha"], a)
    start = np.cumsum(counts.reshape(-1)) - counts.reshape(-1)
    pix = np.repeat(np.arange(h * w), counts.reshape(-1))
    np.testing.assert_array_equal(ps.attributes["sample"], np.arange(len(z)) - start[pix])
    np.testing.assert_array_equal(ps.attributes["sample_count"], counts.reshape(-1)[pix])
    assert ps.meta["deep"] and ps.meta["samples"] == len(z)


def test_front_sample_and_min_alpha(tmp_path):
    counts, z, straight, a = _samples(seed=3)
    path = deep.write_deep_exr(str(tmp_path / "d.exr"), counts, _channels(z, straight, a))
    h, w = counts.shape
    cam = _camera(w, h)
    front = unproject(read_frame_passes(SourceSpec(path, deep_samples="FRONT"), 1), cam)
    assert len(front) == int((counts > 0).sum())
    pix = np.repeat(np.arange(h * w), counts.reshape(-1))
    nearest = np.full(h * w, np.inf)
    np.minimum.at(nearest, pix, z)
    np.testing.assert_array_equal(front.depth, nearest[front.pixel_index].astype(np.float32))
    kept = unproject(read_frame_passes(SourceSpec(path, deep_min_alpha=0.5), 1), cam)
    assert len(kept) == int((a >= 0.5).sum())
    assert (kept.colors[:, 3] >= 0.5).all()
    # the flat view of a deep frame (fusion, pixel_to_world) is the front sample
    passes = read_frame_passes(SourceSpec(path), 1)
    has = counts.reshape(-1) > 0
    np.testing.assert_array_equal(passes.depth.reshape(-1)[has], nearest[has].astype(np.float32))
    assert np.isposinf(passes.depth.reshape(-1)[~has]).all()


def test_clip_range_nan_and_zback(tmp_path):
    counts = np.array([[2, 1], [0, 3]], np.int32)
    z = np.array([0.05, 2.0, np.nan, 3.0, 2000.0, 4.0], np.float32)
    zback = z + np.float32(0.5)
    path = deep.write_deep_exr(str(tmp_path / "d.exr"), counts, {"Z": z, "ZBack": zback})
    ps = unproject(read_frame_passes(SourceSpec(path), 1), _camera(2, 2))
    np.testing.assert_array_equal(ps.depth, [2.0, 3.0, 4.0])  # near/far clip and NaN make no point
    np.testing.assert_allclose(ps.attributes["thickness"], 0.5)
    assert np.allclose(ps.colors, 1.0) and any("NaN/inf" in m for m in ps.meta["warnings"])


def test_multipart_views_and_data_window(tmp_path):
    counts, z, straight, a = _samples(w=10, h=6, seed=5)
    c2, z2, s2, a2 = _samples(w=10, h=6, seed=6)
    win = {"dataWindow": (np.array([3, 2], np.int32), np.array([12, 7], np.int32)),
           "displayWindow": (np.array([0, 0], np.int32), np.array([19, 11], np.int32))}
    path = deep.write_deep_exr(str(tmp_path / "stereo.exr"), None, None, parts=[
        ("rgba.left", counts, _channels(z, straight, a), dict(win, view="left")),
        ("rgba.right", c2, _channels(z2, s2, a2), dict(win, view="right"))])
    cam = _camera(20, 12)
    ps = unproject(read_frame_passes(SourceSpec(path), 1), cam)  # default view: the first part's
    assert len(ps) == int(counts.sum())
    np.testing.assert_array_equal(ps.pixels, _expected_pixels(counts) + (3, 2))
    np.testing.assert_array_equal(ps.depth, z)
    _, _, d = cam.project(ps.positions.astype(np.float64))
    np.testing.assert_allclose(d, z, rtol=2e-6)


def test_info_reports_sample_counts(tmp_path):
    counts, z, straight, a = _samples(seed=2)
    path = deep.write_deep_exr(str(tmp_path / "d.exr"), counts, _channels(z, straight, a, half=True))
    info = exr_info(path)
    d = info["deep"][0]
    assert (d["samples"], d["min"], d["max"], d["empty"]) == (int(counts.sum()), 0, 3, int((counts == 0).sum()))
    text = "\n".join(format_info(info))
    assert f"{int(counts.sum()):,} samples" in text and "0..3 samples per pixel" in text


def test_bad_deep_input_names_file_part_channel(tmp_path):
    counts, z, straight, a = _samples(seed=4)
    ch = _channels(z, straight, a)
    no_z = deep.write_deep_exr(str(tmp_path / "noz.exr"), counts, {k: v for k, v in ch.items() if k != "Z"})
    with pytest.raises(ChannelError, match=r"noz\.exr: no depth \(Z\) channel in deep part"):
        read_frame_passes(SourceSpec(no_z), 1)
    with pytest.raises(ChannelError, match=r"noz\.exr: no view layer 'Beauty' in deep part\(s\) 0; "):
        read_frame_passes(SourceSpec(no_z, layer="Beauty"), 1)
    # depth in one part, color in another with other sample counts
    c2 = counts.copy()
    c2[0, 0] += 1
    rgb = {k: np.concatenate([v[:1], v]) for k, v in ch.items() if k != "Z"}
    mixed = deep.write_deep_exr(str(tmp_path / "mixed.exr"), None, None, parts=[
        ("depth", counts, {"Z": z}, {}), ("color", c2, rgb, {})])
    with pytest.raises(deep_read.DeepSampleError, match=r"mixed\.exr: deep part 1 \('color'\), channel '[RGBA]' has "
                                                    r"other sample counts than the depth channel 'Z' of part 0"):
        read_frame_passes(SourceSpec(mixed), 1)
    # damaged: the file cut short
    good = deep.write_deep_exr(str(tmp_path / "good.exr"), counts, ch)
    cut = str(tmp_path / "cut.exr")
    with open(good, "rb") as src, open(cut, "wb") as dst:
        data = src.read()
        dst.write(data[:len(data) * 2 // 3])
    with pytest.raises(SourceFileError, match=r"cut\.exr"):
        unproject(read_frame_passes(SourceSpec(cut), 1), _camera(*counts.shape[::-1]))
    # damaged: bytes overwritten at 20 places; the library prints corrupt chunks and gives up on
    # the part, which is named with its channels (EXR has no checksums: some overwrites decode)
    data = bytes(open(good, "rb").read())
    broken, messages = str(tmp_path / "broken.exr"), []
    for k in range(20):
        at = len(data) // 10 + k * len(data) // 25
        with open(broken, "wb") as fh:
            fh.write(data[:at] + b"\xff" * 8 + data[at + 8:])
        try:
            read_frame_passes(SourceSpec(broken), 1)
        except DepthCloudError as err:
            messages.append(str(err))
    assert any(re.fullmatch(r".*broken\.exr: damaged deep EXR: deep part 0 could not be decoded "
                            r"\(channels A, B, G, R, Z\)", m) for m in messages), messages
    with pytest.raises(DepthCloudError, match="deep samples 'MIDDLE' is unknown"):
        SourceSpec(good, deep_samples="MIDDLE")


def test_flatten_channel_without_python_loops_matches_reference():
    counts, z, _, _ = _samples(w=50, h=40, seed=9)
    arr = deep.sample_arrays(counts, z)
    c, v = deep_read.flatten_channel(arr, counts.shape)
    np.testing.assert_array_equal(c, counts.reshape(-1))
    np.testing.assert_array_equal(v, z)
    arr[3, 4] = "junk"
    with pytest.raises(deep_read.DeepSampleError, match="channel 'Z'"):
        deep_read.flatten_channel(arr, counts.shape, "f.exr", "0", "Z")


def _real(name):
    path = os.path.join(REAL, name)
    if not os.path.isfile(path):
        pytest.skip(f"real deep file {path} is absent (../shared/data not present)")
    return path


@pytest.mark.parametrize("name", ["Balls.exr", "Trunks.exr"])
def test_real_deep_files(name):
    import OpenEXR
    path = _real(name)
    part = OpenEXR.File(path, separate_channels=True).parts[0]
    chans = part.channels
    flat = {n: [x for x in chans[n].pixels.reshape(-1) if x is not None] for n in "RGBAZ"}  # reference, slow
    z = np.concatenate(flat["Z"]).astype(np.float32)
    a = np.concatenate(flat["A"]).astype(np.float32)
    rgb = np.stack([np.concatenate(flat[c]).astype(np.float32) for c in "RGB"], axis=1)
    lo, hi = part.header["dataWindow"]
    w, h = int(hi[0] - lo[0] + 1), int(hi[1] - lo[1] + 1)
    cam = _camera(1024, 576)
    ps = unproject(read_frame_passes(SourceSpec(path), 1), cam, clip=False)
    assert len(ps) == len(z) == {"Balls.exr": 162877}.get(name, len(z))  # one point per sample
    _, _, d = cam.project(ps.positions.astype(np.float64))
    np.testing.assert_allclose(d, z, rtol=2e-6)  # planar depth = the sample's Z
    np.testing.assert_array_equal(ps.depth, z)
    pos = a > 0
    np.testing.assert_allclose(ps.colors[pos, :3], rgb[pos] / a[pos, None], rtol=1e-6)  # straight
    np.testing.assert_array_equal(ps.colors[:, 3], a)
    assert ps.pixels[:, 0].min() >= lo[0] and ps.pixels[:, 1].max() <= hi[1]
    counts = np.array([len(x) if x is not None else 0 for x in chans["Z"].pixels.reshape(-1)])
    assert ps.attributes["sample_count"].max() == counts.max() and counts.size == w * h


@pytest.mark.parametrize("layout", ["prefixed", "mixed_types"])
def test_interleaved_and_channel_by_channel_reads_agree(tmp_path, layout):
    """All-deep files are read with R, G, B, A interleaved; layouts the bindings cannot
    interleave (half color, float alpha) are read channel by channel: same points."""
    counts, z, straight, a = _samples(seed=8)
    ch = _channels(z, straight, a, half=True)
    if layout == "prefixed":
        ch = {("Z" if k == "Z" else f"beauty.{k}"): v for k, v in ch.items()}
    else:
        ch["A"] = a  # float alpha next to half RGB
    path = deep.write_deep_exr(str(tmp_path / "d.exr"), counts, ch)
    ps = unproject(read_frame_passes(SourceSpec(path), 1), _camera(*counts.shape[::-1]))
    want_a = np.asarray(ch["A" if layout != "prefixed" else "beauty.A"], np.float32)
    np.testing.assert_array_equal(ps.colors[:, 3], want_a)
    r = np.asarray(ch["R" if layout != "prefixed" else "beauty.R"], np.float32)
    pos = want_a > 0
    np.testing.assert_allclose(ps.colors[pos, 0], r[pos] / want_a[pos], rtol=1e-6)


def test_edge_cleanup_judges_deep_pixels_by_their_front_sample(tmp_path):
    from depth_cloud.core.points.filters import depth_grid
    counts, z, straight, a = _samples(seed=11)
    path = deep.write_deep_exr(str(tmp_path / "d.exr"), counts, _channels(z, straight, a))
    ps = unproject(read_frame_passes(SourceSpec(path), 1), _camera(*counts.shape[::-1]))
    grid, (c0, r0) = depth_grid(ps)
    front = read_frame_passes(SourceSpec(path), 1).depth  # the front sample's depth, +inf where empty
    has = counts > 0
    np.testing.assert_array_equal(grid[ps.pixels[:, 1] - r0, ps.pixels[:, 0] - c0],
                                  front[ps.pixels[:, 1], ps.pixels[:, 0]])
    assert has.sum() == np.isfinite(grid).sum()


def test_separate_flat_color_file_colors_every_sample_of_its_pixel(tmp_path):
    import OpenEXR
    counts, z, straight, a = _samples(seed=12)
    h, w = counts.shape
    path = deep.write_deep_exr(str(tmp_path / "d.exr"), counts, {"Z": z})
    rgb = np.random.default_rng(0).random((h, w, 3)).astype(np.float32)
    color = str(tmp_path / "c.exr")
    with OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage},
                      {c: np.ascontiguousarray(rgb[..., i]) for i, c in enumerate("RGB")}) as f:
        f.write(color)
    ps = unproject(read_frame_passes(SourceSpec(path, color_path=color), 1), _camera(w, h))
    assert len(ps) == len(z)
    np.testing.assert_array_equal(ps.colors[:, :3], rgb[ps.pixels[:, 1], ps.pixels[:, 0]])


def test_info_of_the_real_deep_file():
    path = _real("Balls.exr")
    text = "\n".join(format_info(exr_info(path)))
    assert "deep part 0 'rgba.left': 162,877 samples in 310,184 pixels, 0..2 samples per pixel" in text
    assert "assumed planar camera depth" in text


def test_panoramic_camera_is_refused_by_name(tmp_path):
    from depth_cloud.core.camera import lens as panorama
    from depth_cloud.core.errors import CameraError
    counts, z, straight, a = _samples(seed=13)
    h, w = counts.shape
    path = deep.write_deep_exr(str(tmp_path / "d.exr"), counts, {"Z": z})
    cam = CameraModel(np.eye(4), w, h, projection="PANO", panorama=panorama.panorama_dict("EQUIRECTANGULAR"))
    with pytest.raises(CameraError, match=r"d\.exr: deep files rendered by panoramic cameras are not supported"):
        unproject(read_frame_passes(SourceSpec(path), 1), cam)
