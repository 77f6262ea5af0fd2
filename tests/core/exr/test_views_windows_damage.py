"""Real-world EXR layouts without Blender: multi-view files (both OpenEXR layouts, written
here), the Beachball stereo frames when ``../shared/data`` is present, depth and color with
different data windows, and damaged files (cut at many offsets, flipped bytes)."""
import glob
import os

import numpy as np
import OpenEXR
import pytest

from depth_cloud.core.camera.model import CameraModel
from depth_cloud.core.errors import ChannelError, DepthCloudError, SourceFileError
from depth_cloud.core.exr.read import read_exr
from depth_cloud.core.output.info import file_info, format_info
from depth_cloud.core.points.inputs import SourceSpec
from depth_cloud.core.points.passes import read_frame_passes
from depth_cloud.core.points.unproject import unproject
from paths import OPENEXR_IMAGES

W, H = 40, 30
BEACHBALL = os.path.join(OPENEXR_IMAGES, "Beachball")


def _box(x0, y0, x1, y1):
    return (np.array([x0, y0], np.int32), np.array([x1, y1], np.int32))


def _part(chans, win=(0, 0, W - 1, H - 1), **attrs):
    h = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
         "dataWindow": _box(*win), "displayWindow": _box(0, 0, W - 1, H - 1)}
    h.update(attrs)
    return OpenEXR.Part(h, {k: np.ascontiguousarray(v, np.float32) for k, v in chans.items()})


def _eye(seed, win):
    """Depth 2..6 with a hole (background 0 is outside the clip range), RGBA distinct per eye."""
    w, h = win[2] - win[0] + 1, win[3] - win[1] + 1
    rng = np.random.default_rng(seed)
    z = rng.uniform(2, 6, (h, w)).astype(np.float32)
    z[: h // 3, : w // 4] = 0.0
    rgba = rng.random((4, h, w)).astype(np.float32)
    return z, rgba


def camera():
    m = np.eye(4)
    m[:3, 3] = (0.0, 0.0, 8.0)
    return CameraModel(m, W, H, lens=35.0, clip_start=1e-3, clip_end=1e4)


WIN = {"right": (0, 0, W - 1, H - 1), "left": (3, 2, W - 2, H - 4)}


def multipart_stereo(path):
    """Blender 5.x / OpenEXR multi-part layout: a part per view and pass, names repeating,
    right first (the default), a shared part with no view, left windows smaller."""
    parts, truth = [], {}
    for seed, view in enumerate(("right", "left")):
        truth[view] = _eye(seed, WIN[view])
    for view in ("right", "left"):
        z, rgba = truth[view]
        parts.append(_part({"Z": z}, WIN[view], name=f"depth_{view}", view=view))
    parts.insert(1, _part({"disparity.x": np.ones((H, W))}, name="disparity"))
    for view in ("left", "right"):
        z, rgba = truth[view]
        parts.append(_part(dict(zip("RGBA", rgba)), WIN[view], name=f"rgba_{view}", view=view))
    OpenEXR.File(parts).write(str(path))
    return str(path), truth


def singlepart_stereo(path, blender=False):
    """One part with ``multiView``: OpenEXR style (default view unprefixed, ``left.R``) or
    Blender 4.x style (``ViewLayer.Combined.left.R`` for every view)."""
    win = WIN["right"]
    truth = {view: _eye(seed, win) for seed, view in enumerate(("right", "left"))}
    chans = {}
    for view, (z, rgba) in truth.items():
        if blender:
            chans[f"ViewLayer.Depth.{view}.Z"] = z
            chans.update({f"ViewLayer.Combined.{view}.{c}": p for c, p in zip("RGBA", rgba)})
        else:
            pre = "" if view == "right" else f"{view}."
            chans[f"{pre}Z"] = z
            chans.update({f"{pre}{c}": p for c, p in zip("RGBA", rgba)})
    views = ["left", "right"] if blender else ["right", "left"]
    OpenEXR.File([_part(chans, win, multiView=views)]).write(str(path))
    return str(path), truth, views[0]


def _assert_view(path, truth, view, asked, win):
    ps = unproject(read_frame_passes(SourceSpec(path, view=asked), 1), camera())
    z, rgba = truth[view]
    valid = z > 0
    assert len(ps) == int(valid.sum())
    rows, cols = ps.pixels[:, 1] - win[1], ps.pixels[:, 0] - win[0]
    np.testing.assert_array_equal(ps.depth, z[rows, cols])
    np.testing.assert_array_equal(ps.colors, np.stack(rgba, -1)[rows, cols])
    return ps


def test_multipart_views_never_mixed(tmp_path):
    path, truth = multipart_stereo(tmp_path / "mp.exr")
    _assert_view(path, truth, "right", "", WIN["right"])  # default: the first part's view
    for view in ("left", "right"):
        _assert_view(path, truth, view, view, WIN[view])
    assert read_exr(path, view="left").views == ["right", "left"]
    with pytest.raises(ChannelError, match=r"mp\.exr: no view 'centre' in this file; its views: right, left"):
        read_frame_passes(SourceSpec(path, view="centre"), 1)


@pytest.mark.parametrize("blender", [False, True])
def test_singlepart_multiview(tmp_path, blender):
    path, truth, default = singlepart_stereo(tmp_path / "sp.exr", blender)
    _assert_view(path, truth, default, "", WIN["right"])
    for view in ("left", "right"):
        _assert_view(path, truth, view, view, WIN["right"])


def test_info_lists_views_and_the_one_built(tmp_path):
    path, _ = multipart_stereo(tmp_path / "mp.exr")
    info = file_info(path, view="left")
    assert info["views"] == ["right", "left"] and info["view"] == "left"
    assert info["data_window"]["min"] == list(WIN["left"][:2])
    text = "\n".join(format_info(file_info(path)))
    assert "views: right, left (default right); a build reads view 'right'" in text


def test_plain_file_with_a_view_is_an_error(tmp_path):
    p = str(tmp_path / "plain.exr")
    OpenEXR.File([_part({"Z": np.full((H, W), 3.0)})]).write(p)
    with pytest.raises(ChannelError, match="plain.exr: no view 'left' in this file; it is not a multi-view EXR"):
        read_frame_passes(SourceSpec(p, view="left"), 1)


# ------------------------------------------------------------------ real files
def _beachball_files():
    return sorted(glob.glob(os.path.join(BEACHBALL, "*.exr")))


def _raw_view(path, view):
    """``(Z, R, G, B, A, data window)`` of ``view`` read with OpenEXR directly."""
    f = OpenEXR.File(path, separate_channels=True)
    if len(f.parts) > 1:
        found = {}
        for part in f.parts:
            if part.header.get("view") == view:
                for k, ch in part.channels.items():
                    if k in "ZRGBA":
                        found[k] = (ch.pixels, part.header["dataWindow"])
        win = found["Z"][1]
        assert all(np.array_equal(found[c][1][0], win[0]) for c in "RGBA")
        return [found[c][0].astype(np.float32) for c in "ZRGBA"], win
    part = f.parts[0]
    pre = "" if view == part.header["multiView"][0] else f"{view}."
    return [part.channels[pre + c].pixels.astype(np.float32) for c in "ZRGBA"], part.header["dataWindow"]


@pytest.mark.skipif(not _beachball_files(), reason="../shared/data/openexr-images/Beachball is not here "
                                                   "(a clone without the shared real files)")
@pytest.mark.parametrize("name", [os.path.basename(p) for p in _beachball_files()] or ["none"])
def test_beachball_each_view(name):
    path = os.path.join(BEACHBALL, name)
    m = np.eye(4)
    cam = CameraModel(m, 2048, 1556, lens=35.0, clip_start=1e-6, clip_end=1e6)
    for asked, view in (("", "right"), ("right", "right"), ("left", "left")):
        (z, r, g, b, a), win = _raw_view(path, view)
        passes = read_frame_passes(SourceSpec(path, view=asked), 1)
        assert passes.view == view and passes.warnings == []
        ps = unproject(passes, cam)
        valid = np.isfinite(z) & (z > 1e-6)
        assert len(ps) == int(valid.sum()) > 100_000
        rows, cols = ps.pixels[:, 1] - int(win[0][1]), ps.pixels[:, 0] - int(win[0][0])
        np.testing.assert_array_equal(ps.depth, z[rows, cols])
        np.testing.assert_array_equal(ps.colors, np.stack([r, g, b, a], -1)[rows, cols])


# ------------------------------------------------------------------ data windows
def test_color_window_smaller_than_depth_skips_with_a_count(tmp_path):
    """Depth over the whole frame, color over a smaller window: pixels pair by display-window
    position; depth pixels with no color are skipped and counted, never black points."""
    z = np.full((H, W), 4.0, np.float32)
    cwin = (5, 4, 30, 25)
    cw, ch = cwin[2] - cwin[0] + 1, cwin[3] - cwin[1] + 1
    rgba = np.random.default_rng(3).uniform(0.2, 1, (4, ch, cw)).astype(np.float32)
    path = str(tmp_path / "win.exr")
    OpenEXR.File([_part({"Depth.Z": z}, name="Depth"),
                  _part({f"Combined.{c}": p for c, p in zip("RGBA", rgba)}, cwin, name="Combined")]).write(path)
    passes = read_frame_passes(SourceSpec(path), 1)
    ps = unproject(passes, camera())
    assert len(ps) == cw * ch
    skipped = W * H - cw * ch
    assert passes.no_color == skipped
    assert [w for w in ps.meta["warnings"] if "outside the data window of the color" in w] == [
        f"{path}: {skipped} pixels with depth lie outside the data window of the color (channel 'Combined.R') "
        "and were skipped: there is no color for them"]
    assert not any("NaN" in w for w in ps.meta["warnings"])
    np.testing.assert_array_equal(ps.colors, np.stack(rgba, -1)[ps.pixels[:, 1] - cwin[1], ps.pixels[:, 0] - cwin[0]])
    assert ps.colors[:, :3].min() >= 0.2  # no invented black point


def test_separate_color_exr_window(tmp_path):
    z = np.full((H, W), 4.0, np.float32)
    zpath = str(tmp_path / "z.exr")
    OpenEXR.File([_part({"Z": z})]).write(zpath)
    cwin = (0, 0, W - 1, H - 6)
    cpath = str(tmp_path / "c.exr")
    OpenEXR.File([_part({c: np.full((H - 5, W), 0.5) for c in "RGB"}, cwin)]).write(cpath)
    passes = read_frame_passes(SourceSpec(zpath, color_path=cpath), 1)
    ps = unproject(passes, camera())
    assert len(ps) == W * (H - 5) and passes.no_color == 5 * W
    assert np.all(ps.colors[:, :3] == 0.5)


# ------------------------------------------------------------------ damage
def two_part_render(path):
    """Depth part then Combined part (large enough that a cut can fall inside either)."""
    rng = np.random.default_rng(1)
    z = rng.uniform(2, 6, (H * 4, W * 4)).astype(np.float32)
    rgba = rng.random((4, H * 4, W * 4)).astype(np.float32)
    big = (0, 0, W * 4 - 1, H * 4 - 1)
    parts = []
    for name, chans in (("ViewLayer.Depth", {"ViewLayer.Depth.Z": z}),
                        ("ViewLayer.Combined", {f"ViewLayer.Combined.{c}": p for c, p in zip("RGBA", rgba)})):
        h = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage, "name": name,
             "dataWindow": _box(*big), "displayWindow": _box(*big)}
        parts.append(OpenEXR.Part(h, chans))
    OpenEXR.File(parts).write(str(path))
    return str(path)


def _cut(src, dst, n):
    with open(src, "rb") as fh:
        data = fh.read()
    with open(dst, "wb") as fh:
        fh.write(data[:n])
    return str(dst)


def test_cut_files_never_build_white_or_wrong(tmp_path):
    """Cut at many offsets: a typed error naming what is damaged, or (cut after every needed
    byte) a correct build; never a white cloud, never 'channel channel', never the path twice."""
    src = two_part_render(tmp_path / "full.exr")
    size = os.path.getsize(src)
    big = CameraModel(camera().cam_to_world, W * 4, H * 4, lens=35.0, clip_start=1e-3, clip_end=1e4)
    seen = set()
    for frac in np.linspace(0.0, 0.999, 41):
        cut = _cut(src, tmp_path / f"cut_{frac:.3f}.exr", int(size * frac))
        try:
            ps = unproject(read_frame_passes(SourceSpec(cut), 1), big)
        except DepthCloudError as err:
            msg = str(err)
            assert msg.startswith(cut + ":") and msg.count(cut) == 1, msg
            assert "channel channel" not in msg and "Unable to open" not in msg, msg
            if frac > 0.05:
                assert "truncated" in msg or "damaged" in msg, msg
            seen.add(msg.split(": ", 1)[1].split(" (")[0][:40])
        else:
            raise AssertionError(f"a file cut at {frac:.1%} built {len(ps)} points")
    assert len(seen) >= 2  # header and data cuts are told apart


def test_damaged_needed_part_names_it_and_unneeded_part_warns(tmp_path):
    src = two_part_render(tmp_path / "full.exr")
    info = OpenEXR.File(src, header_only=True)
    assert len(info.parts) == 2
    size = os.path.getsize(src)
    cut = _cut(src, tmp_path / "cut.exr", size - 200)  # inside the last (Combined) part
    with pytest.raises(SourceFileError) as e:
        read_frame_passes(SourceSpec(cut), 1)
    msg = str(e.value)
    assert "part 1 ('ViewLayer.Combined')" in msg and "truncated" in msg and "ViewLayer.Combined.R" in msg
    # a build that does not need the color: one warning naming the damaged part
    spec = SourceSpec(cut, color_channels="")
    f = read_exr(cut)
    assert list(f.damaged) and f.warnings == [f"{cut}: part 1 ('ViewLayer.Combined') was skipped: " +
                                              f.damaged["ViewLayer.Combined.R"][1]]
    with pytest.raises(SourceFileError, match="truncated"):
        f.get("ViewLayer.Combined.G")
    np.testing.assert_array_equal(f.get("ViewLayer.Depth.Z"), read_exr(src).get("ViewLayer.Depth.Z"))
    del spec
    text = "\n".join(format_info(file_info(cut)))  # info names the damaged part too (header only)
    assert "DAMAGED part 1 ('ViewLayer.Combined'): truncated" in text and "DAMAGED part 0" not in text


def test_unneeded_damaged_part_builds_with_one_warning(tmp_path):
    """A damaged part no build needs (an extra pass after depth and color): the cloud builds,
    with one warning naming that part."""
    rng = np.random.default_rng(2)
    z = rng.uniform(2, 6, (H, W)).astype(np.float32)
    extra = rng.random((H * 8, W * 8)).astype(np.float32)
    path = str(tmp_path / "extra.exr")
    OpenEXR.File([_part({"Depth.Z": z}, name="Depth"),
                  _part({f"Combined.{c}": np.full((H, W), 0.25) for c in "RGBA"}, name="Combined"),
                  OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
                                "name": "Noise", "dataWindow": _box(0, 0, W * 8 - 1, H * 8 - 1),
                                "displayWindow": _box(0, 0, W - 1, H - 1)}, {"Noise.V": extra})]).write(path)
    cut = _cut(path, tmp_path / "extra_cut.exr", os.path.getsize(path) - 500)
    passes = read_frame_passes(SourceSpec(cut), 1)
    ps = unproject(passes, camera())
    assert len(ps) == W * H and np.all(ps.colors == 0.25)
    damaged = [w for w in ps.meta["warnings"] if "Noise" in w]
    assert len(damaged) == 1 and "part 2 ('Noise') was skipped: truncated" in damaged[0]


def test_flipped_bytes_and_not_an_exr(tmp_path):
    src = two_part_render(tmp_path / "full.exr")
    data = bytearray(open(src, "rb").read())
    rng = np.random.default_rng(5)
    outcomes = []
    for i in range(12):
        bad = bytearray(data)
        for pos in rng.integers(8, len(bad), 6):
            bad[pos] ^= 0xFF
        p = tmp_path / f"flip{i}.exr"
        p.write_bytes(bytes(bad))
        try:
            ps = unproject(read_frame_passes(SourceSpec(str(p)), 1),
                           CameraModel(camera().cam_to_world, W * 4, H * 4, lens=35.0, clip_start=1e-3))
            outcomes.append(("built", len(ps)))
        except DepthCloudError as err:
            assert str(err).count(str(p)) == 1 and "Unable to open" not in str(err), str(err)
            outcomes.append(("error", type(err).__name__))
    assert any(o[0] == "error" for o in outcomes)
    txt = tmp_path / "notes.exr"
    txt.write_text("not an image")
    with pytest.raises(SourceFileError, match=r"notes\.exr: not an OpenEXR file$"):
        read_exr(txt)


def test_impossible_data_window(tmp_path):
    """A header whose data window needs more pixel blocks than the file can hold."""
    path = str(tmp_path / "ok.exr")
    OpenEXR.File([_part({"Z": np.full((H, W), 3.0)})]).write(path)
    data = bytearray(open(path, "rb").read())
    key = b"dataWindow\0box2i\0" + (16).to_bytes(4, "little")
    at = data.index(key) + len(key)
    data[at + 12:at + 16] = (452_984_832).to_bytes(4, "little")  # ymax
    bad = tmp_path / "huge.exr"
    bad.write_bytes(bytes(data))
    with pytest.raises(SourceFileError, match=r"huge\.exr: impossible data window in part 0: 40x452984833 pixels need"):
        read_exr(bad)
    text = "\n".join(format_info(file_info(bad)))
    assert "border/crop" not in text and "impossible" in text


def test_header_fuzz_gives_typed_errors_only(tmp_path):
    """Bytes flipped inside the header (where a fuzzer does most harm) and cuts at every
    header offset: each file builds or raises a DepthCloudError, never anything else."""
    src = two_part_render(tmp_path / "full.exr")
    data = open(src, "rb").read()
    from depth_cloud.core.exr.header import read_exr_header
    end = read_exr_header(src).header_end
    rng = np.random.default_rng(11)
    big = CameraModel(camera().cam_to_world, W * 4, H * 4, lens=35.0, clip_start=1e-3, clip_end=1e4)
    kinds = {}
    cases = [(f"cut{n}", data[:n]) for n in range(0, end + 40, 7)]
    for i in range(80):
        bad = bytearray(data)
        for pos in rng.integers(0, end + 16 * 8, rng.integers(1, 4)):
            bad[pos] = int(rng.integers(0, 256))
        cases.append((f"flip{i}", bytes(bad)))
    for name, blob in cases:
        p = tmp_path / f"{name}.exr"
        p.write_bytes(blob)
        try:
            unproject(read_frame_passes(SourceSpec(str(p)), 1), big)
            kinds["built"] = kinds.get("built", 0) + 1
        except DepthCloudError as err:
            msg = str(err)
            assert msg.count(str(p)) == 1 and "channel channel" not in msg, msg
            kinds[type(err).__name__] = kinds.get(type(err).__name__, 0) + 1
    print("fuzz outcomes", len(cases), kinds)
    assert kinds.get("SourceFileError", 0) > len(cases) // 3, kinds


def test_text_attribute_that_is_not_utf8(tmp_path):
    path = str(tmp_path / "ok.exr")
    OpenEXR.File([_part({"Z": np.full((H, W), 3.0)}, owner="abcdef")]).write(path)
    data = bytearray(open(path, "rb").read())
    at = data.index(b"abcdef")
    data[at:at + 6] = b"\xff\xfe\xfd\xfc\xfb\xfa"
    bad = tmp_path / "owner.exr"
    bad.write_bytes(bytes(data))
    with pytest.raises(SourceFileError,
                       match=r"owner\.exr: damaged header attribute: a text attribute is not valid UTF-8"):
        read_exr(bad)


def test_flat_file_retyped_as_deep(tmp_path):
    """A header that calls flat pixel data deep (a damaged type attribute): a typed error
    naming the file once (deep files themselves are read by core/deep_read.py)."""
    path = str(tmp_path / "flat.exr")
    OpenEXR.File([_part({"Z": np.full((H, W), 3.0)})]).write(path)
    data = open(path, "rb").read()
    old = b"type\0string\0" + (13).to_bytes(4, "little") + b"scanlineimage"
    assert old in data
    deep = tmp_path / "deep.exr"
    deep.write_bytes(data.replace(old, b"type\0string\0" + (12).to_bytes(4, "little") + b"deepscanline"))
    with pytest.raises(SourceFileError, match=r"deep\.exr: damaged EXR") as e:
        read_frame_passes(SourceSpec(str(deep)), 1)
    assert str(e.value).count(str(deep)) == 1


def test_separate_color_file_uses_the_depths_view(tmp_path):
    """Depth and color in two multi-view files: the color comes from the depth's view; a color
    file without that view is an error, never the other eye's colors."""
    dpath, truth = multipart_stereo(tmp_path / "depth.exr")
    cpath, _ = multipart_stereo(tmp_path / "color.exr")
    for view in ("left", "right"):
        _assert_view(dpath, truth, view, view, WIN[view])  # depth file alone
        passes = read_frame_passes(SourceSpec(dpath, color_path=cpath, view=view), 1)
        ps = unproject(passes, camera())
        z, rgba = truth[view]
        win = WIN[view]
        np.testing.assert_array_equal(ps.colors, np.stack(rgba, -1)[ps.pixels[:, 1] - win[1], ps.pixels[:, 0] - win[0]])
    other = str(tmp_path / "other.exr")
    OpenEXR.File([_part({c: np.ones((H, W)) for c in "RGB"}, name=f"rgb_{v}", view=v)
                  for v in ("centre", "side")]).write(other)
    with pytest.raises(ChannelError, match=r"other\.exr: no view 'left' in this file; its views: centre, side"):
        read_frame_passes(SourceSpec(dpath, color_path=other, view="left"), 1)
