"""Color passes read interleaved (core/exr_groups.py) give exactly the channels a
channel-by-channel read gives, and builds gather colors and pixels from them without copies
they do not need (core/gather.py, core/pointset.PixelIndex)."""
import glob
import os

import numpy as np
import OpenEXR
import pytest
from test_core_exr import write as write_parts

from depth_cloud.core.exr import groups as exr_groups
from depth_cloud.core.exr.read import _read_all, read_exr
from depth_cloud.core.points.gather import gather_colors, interleaved_base
from depth_cloud.core.points.inputs import FramePasses
from depth_cloud.core.points.pointset import PixelIndex, PointSet
from paths import OPENEXR_IMAGES

DATA = OPENEXR_IMAGES
H, W = 13, 21


def plane(rng, dtype=np.float32):
    return (rng.random((H, W)) * 4 - 1).astype(dtype)


def layouts():
    rng = np.random.default_rng(7)
    f16 = np.float16
    return {
        "bare RGBA": [({}, {c: plane(rng) for c in "RGBA"})],
        "bare RGB + Z": [({}, {**{c: plane(rng) for c in "RGB"}, "Z": plane(rng)})],
        "half layer": [({}, {f"L.{c}": plane(rng, f16) for c in "RGBA"})],
        "mixed types (R/G float, B half)": [({}, {"L.R": plane(rng), "L.G": plane(rng), "L.B": plane(rng, f16)})],
        "mixed alpha (RGB float, A half)": [({}, {**{f"L.{c}": plane(rng) for c in "RGB"}, "L.A": plane(rng, f16)})],
        "lower case and partial groups": [({}, {**{f"C.{c}": plane(rng) for c in "rgba"},
                                               "D.R": plane(rng), "D.G": plane(rng)})],
        "group with extra channel": [({}, {**{f"L.{c}": plane(rng) for c in "RGBA"}, "L.X": plane(rng)})],
        "nested names (A.B is a channel and a layer)": [({}, {**{f"A.B.{c}": plane(rng) for c in "RGB"},
                                                              **{f"A.{c}": plane(rng) for c in "RGB"}})],
        "stereo single part": [({"multiView": ["right", "left"]},
                                {**{c: plane(rng) for c in "RGBA"}, **{f"left.{c}": plane(rng) for c in "RGBA"},
                                 "Z": plane(rng), "left.Z": plane(rng)})],
        "Blender 4 single part": [({}, {**{f"ViewLayer.Combined.{c}": plane(rng) for c in "RGBA"},
                                        "ViewLayer.Depth.Z": plane(rng),
                                        **{f"ViewLayer.Normal.{c}": plane(rng) for c in "XYZ"},
                                        **{f"ViewLayer.DiffCol.{c}": plane(rng, f16) for c in "RGB"}})],
        "Blender 5 multipart": [({"name": "ViewLayer.Combined"},
                                 {f"ViewLayer.Combined.{c}": plane(rng) for c in "RGBA"}),
                                ({"name": "ViewLayer.Depth"}, {"ViewLayer.Depth.Z": plane(rng)}),
                                ({"name": "ViewLayer.Diffuse Color"},
                                 {f"ViewLayer.Diffuse Color.{c}": plane(rng, f16) for c in "RGB"})],
    }


def separate_read(path):
    """OpenEXR's channel-by-channel read: {name: float32 (h, w)} in the order it gives them."""
    out = {}
    for part in OpenEXR.File(path, separate_channels=True).parts:
        for name, ch in part.channels.items():
            out[name] = ch.pixels.astype(np.float32)
    return out


@pytest.mark.parametrize("codec", ["NONE", "ZIP", "PIZ"])
@pytest.mark.parametrize("label", list(layouts()))
def test_grouped_read_equals_channel_by_channel_read(tmp_path, label, codec):
    compression = {"NONE": OpenEXR.NO_COMPRESSION, "ZIP": OpenEXR.ZIP_COMPRESSION,
                   "PIZ": OpenEXR.PIZ_COMPRESSION}[codec]
    parts = [({"compression": compression, **hdr}, chans) for hdr, chans in layouts()[label]]
    path = write_parts(tmp_path / "f.exr", parts)
    want = separate_read(path)
    views = OpenEXR.File(path, separate_channels=True, header_only=True).parts[0].header.get("multiView")
    for view in ([None] + list(views or [])[1:]):
        f = read_exr(path, view=view)
        got = {ch.name: ch.pixels for ch in f.channels.values()}
        for name, pixels in got.items():
            assert pixels.dtype == np.float32 and pixels.shape == (H, W), name
            np.testing.assert_array_equal(pixels, want[name], err_msg=name)
        if view is None:
            assert [ch.name for ch in f.channels.values()] == [n for n in want if n in got]


def test_mixed_type_groups_are_read_channel_by_channel(tmp_path):
    """OpenEXR refuses to join a group of mixed pixel types (ValueError): the header says so
    before any decoding, and such a file is read channel by channel."""
    rng = np.random.default_rng(3)
    path = write_parts(tmp_path / "m.exr", [({}, {"L.R": plane(rng), "L.G": plane(rng), "L.B": plane(rng, np.float16),
                                                  "M.R": plane(rng), "M.G": plane(rng), "M.B": plane(rng)})])
    with pytest.raises(ValueError):
        OpenEXR.File(path, separate_channels=False)
    _, grouped = exr_groups.open_channels(OpenEXR, path, [[("L.R", "float"), ("L.G", "float"), ("L.B", "half"),
                                                           ("M.R", "float"), ("M.G", "float"), ("M.B", "float")]])
    assert grouped is False
    want = separate_read(path)
    for ch in read_exr(path).channels.values():
        np.testing.assert_array_equal(ch.pixels, want[ch.name])


def test_color_planes_are_views_of_one_interleaved_array(tmp_path):
    """The Combined pass comes back as four views of one (h, w, 4) array, which gather_colors
    hands on whole (every pixel) or gathers from (some pixels), equal to the EXR's pixels."""
    rng = np.random.default_rng(5)
    names = [f"ViewLayer.Combined.{c}" for c in "RGBA"]
    path = write_parts(tmp_path / "c.exr", [({"name": "ViewLayer.Combined"}, {n: plane(rng) for n in names}),
                                            ({"name": "ViewLayer.Depth"}, {"ViewLayer.Depth.Z": plane(rng)})])
    want = separate_read(path)
    for channels in (None, names + ["ViewLayer.Depth.Z"]):
        f = read_exr(path, channels=channels)
        planes = tuple(f.get(n) for n in names)
        base = interleaved_base(planes)
        assert base is not None and base.shape == (H, W, 4)
        passes = FramePasses(path=path, frame_size=(W, H), window=(0, 0), header={}, channels=list(f.names()))
        passes.color_planes = planes
        passes.depth = f.get("ViewLayer.Depth.Z")
        stacked = np.stack([want[n] for n in names], axis=-1).reshape(-1, 4)
        whole = gather_colors(passes, None)
        assert np.shares_memory(whole, base)  # no copy for every pixel
        np.testing.assert_array_equal(whole, stacked)
        index = np.sort(rng.choice(H * W, 57, replace=False))
        np.testing.assert_array_equal(gather_colors(passes, index), stacked[index])
        passes.color_planes = tuple(np.ascontiguousarray(p) for p in planes)  # separate planes: interleaved here
        assert interleaved_base(passes.color_planes) is None
        np.testing.assert_array_equal(gather_colors(passes, index), stacked[index])
        np.testing.assert_array_equal(gather_colors(passes, None), stacked)


@pytest.mark.parametrize("step,offset", [(1, 0), (2, 1), (3, 1)])
def test_pixel_index_makes_the_pixels_on_first_use(step, offset):
    rng = np.random.default_rng(2)
    h, w, x0, y0 = 9, 14, 5, 3
    index = np.sort(rng.choice(h * w, 40, replace=False))
    rows, cols = np.divmod(index, w)
    extra = offset if step != 1 else 0
    want = np.stack([cols * step + x0 + extra, rows * step + y0 + extra], axis=1).astype(np.int32)
    lazy = PixelIndex(index, w, h, x0, y0, step, offset)
    ps = PointSet(positions=np.zeros((40, 3), np.float32), colors=np.ones((40, 4), np.float32), pixels=lazy)
    assert ps.__dict__["_pixels"] is lazy  # not made yet
    assert (ps.flat_index((h, w), (x0, y0)) is index) == (step == 1)
    np.testing.assert_array_equal(ps.pixels, want)
    assert ps.pixels.dtype == np.int32 and ps.__dict__["_pixels"] is ps.pixels  # made once
    np.testing.assert_array_equal(ps.subset(np.arange(0, 40, 3)).pixels, want[::3])
    every = PixelIndex(None, w, h, x0, y0)
    full = PointSet(positions=np.zeros((h * w, 3), np.float32), colors=np.ones((h * w, 4), np.float32), pixels=every)
    assert full.pixels[w + 2].tolist() == [x0 + 2, y0 + 1]
    with pytest.raises(ValueError):
        PointSet(positions=np.zeros((3, 3), np.float32), colors=np.ones((3, 4), np.float32), pixels=lazy)


@pytest.mark.skipif(not os.path.isdir(DATA), reason="../shared/data/openexr-images is absent (real sample files)")
@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(DATA, "Beachball", "*.0001.exr"))))
def test_real_stereo_files_read_the_same_grouped(path):
    """Every view of the real Beachball files (single part with multiView, and multipart):
    the grouped read gives the channels of the channel-by-channel read, value for value."""
    views = read_exr(path, header_only=True).views
    assert views
    for view in views:
        grouped = read_exr(path, view=view)
        separate = _read_all(path, False, view, None, grouped=False)
        assert list(grouped.channels) == list(separate.channels)
        for name, ch in separate.channels.items():
            np.testing.assert_array_equal(grouped.channels[name].pixels, ch.pixels, err_msg=f"{view}: {name}")


def test_uncompressed_parts_are_read_as_one_block_and_bad_chunk_headers_are_named(tmp_path, monkeypatch):
    """An uncompressed part whose lines lie one after another is read in one strided view
    (its colors straight into one interleaved array); a chunk header naming the wrong line
    makes the block reader step aside and the file's damage is reported as before."""
    from depth_cloud.core.exr import parts as exr_parts
    rng = np.random.default_rng(11)
    names = [f"ViewLayer.Combined.{c}" for c in "RGBA"]
    path = write_parts(tmp_path / "n.exr", [
        ({"name": "ViewLayer.Combined", "compression": OpenEXR.NO_COMPRESSION},
         {n: plane(rng, np.float16) for n in names}),
        ({"name": "ViewLayer.Depth", "compression": OpenEXR.NO_COMPRESSION}, {"ViewLayer.Depth.Z": plane(rng)})])
    used = []
    real = exr_parts._uncompressed_block
    monkeypatch.setattr(exr_parts, "_uncompressed_block", lambda *a: used.append(real(*a)) or used[-1])
    want = separate_read(path)
    f = read_exr(path, channels=names + ["ViewLayer.Depth.Z"], reader="numpy")
    assert used == [True, True]
    for n in names + ["ViewLayer.Depth.Z"]:
        np.testing.assert_array_equal(f.get(n), want[n])
    assert interleaved_base(tuple(f.get(n) for n in names)) is not None
    # overwrite the line number of the Depth part's 5th chunk: the block reader refuses it
    data = bytearray(open(path, "rb").read())
    layout = exr_parts.read_layout(path, bytes(data))
    off = int(layout.parts[1].offsets[4])
    data[off + 4:off + 8] = (999).to_bytes(4, "little", signed=True)
    bad = tmp_path / "bad.exr"
    bad.write_bytes(bytes(data))
    used.clear()
    with pytest.raises(exr_parts.Damaged, match="starts at line 999"):
        exr_parts.read_parts(exr_parts.read_exr_header(str(bad)), {1: {"ViewLayer.Depth.Z"}}, None, "numpy")
    assert used == [False]


def test_unit_normals_gathered_in_blocks_equal_the_whole_array_formula():
    """core.attributes.unit_vectors: every pixel (no gather) or an index, blocks of any size,
    missing and tiny normals zeroed and counted."""
    from depth_cloud.core.points import attributes, gather
    rng = np.random.default_rng(9)
    n = gather.BLOCK * 2 + 123
    planes = [rng.standard_normal(n).astype(np.float32) for _ in range(3)]
    planes[0][5], planes[1][gather.BLOCK + 7] = np.nan, np.inf
    planes[0][9] = planes[1][9] = planes[2][9] = 0.0
    v = np.stack(planes, axis=1).astype(np.float64)
    length = np.linalg.norm(v, axis=1)
    ok = np.isfinite(length) & (length > 1e-6)
    want = np.where(ok[:, None], v / np.where(ok, length, 1)[:, None], 0.0)
    got, missing = attributes.unit_vectors(planes, None)  # every element, no gather
    np.testing.assert_allclose(got, want, atol=2e-7)
    assert missing == 3
    index = np.sort(rng.choice(n, 5000, replace=False))
    got, missing = attributes.unit_vectors(planes, index)
    np.testing.assert_allclose(got, want[index], atol=2e-7)
    assert missing == int((~ok[index]).sum())


@pytest.mark.parametrize("ortho", [False, True])
def test_blocked_unprojection_of_a_large_frame_with_full_partial_and_empty_blocks(ortho):
    """A frame larger than one block (core.gather.BLOCK pixels): rows of sky (empty blocks),
    rows with scattered background (partial blocks) and full rows (blocks written straight
    through) give each point the position pixel_to_world gives its pixel (float64), and its
    own color and pixel."""
    from depth_cloud.core import CameraModel, pixel_to_world, unproject
    from depth_cloud.core.points.gather import BLOCK
    rng = np.random.default_rng(12)
    w, h = 1000, 400
    assert w * h > 4 * BLOCK
    z = (3 + rng.random((h, w)) * 4).astype(np.float32)
    z[:90] = 1e10  # sky: whole blocks without a point
    z[150:260][rng.random((110, w)) < 0.2] = np.inf  # scattered background
    z[300:310, 500] = np.nan
    m = np.eye(4)
    m[:3, :3] = np.array([[0.8, -0.6, 0.0], [0.36, 0.48, -0.8], [0.48, 0.64, 0.6]])
    m[:3, 3] = (1.0, -2.0, 0.5)
    cam = CameraModel(m, w, h, projection='ORTHO' if ortho else 'PERSP', lens=30.0, ortho_scale=6.0, shift_x=0.03)
    passes = FramePasses(path="mem.exr", frame_size=(w, h), window=(0, 0), header={}, channels=[])
    passes.depth, passes.depth_channel = z, "Z"
    rgba = rng.random((h, w, 4)).astype(np.float32)
    passes.color_planes = tuple(np.ascontiguousarray(rgba[..., k]) for k in range(4))
    points = unproject(passes, cam)
    valid = np.isfinite(z) & (z < 1e9)
    assert len(points) == int(valid.sum())
    rows, cols = np.nonzero(valid)
    np.testing.assert_array_equal(points.pixels, np.stack([cols, rows], axis=1))
    want = pixel_to_world(cam, cols, rows, z[rows, cols])
    np.testing.assert_allclose(points.positions, want, rtol=0, atol=2e-5 * float(np.abs(want).max()))
    np.testing.assert_array_equal(points.colors, rgba[rows, cols])
