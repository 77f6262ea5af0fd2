"""The part/channel reader (core/exr_parts.py) against OpenEXR's own full read: same channels,
windows, headers and typed errors, on files written here with OpenEXR (every compression it
can write, half/float/uint, single- and multi-part, data windows, damaged and cut copies) and
on the real files in ../shared/data when present."""
import glob
import os

import numpy as np
import OpenEXR
import pytest
from test_core_exr import write as write_parts

from depth_cloud.core import SourceSpec, exr_parts, read_frame_passes
from depth_cloud.core.errors import ChannelError, SourceFileError
from depth_cloud.core.exr import _read_all, read_exr

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "openexr-images")
CODECS = {"NONE": OpenEXR.NO_COMPRESSION, "RLE": OpenEXR.RLE_COMPRESSION, "ZIPS": OpenEXR.ZIPS_COMPRESSION,
          "ZIP": OpenEXR.ZIP_COMPRESSION, "PIZ": OpenEXR.PIZ_COMPRESSION, "PXR24": OpenEXR.PXR24_COMPRESSION,
          "B44": OpenEXR.B44_COMPRESSION, "DWAA": OpenEXR.DWAA_COMPRESSION}
FAST = {"NONE", "ZIPS", "ZIP"}


def write(path, parts, compression):
    """test_core_exr's writer with every part in ``compression``."""
    return write_parts(path, [({"compression": compression, **hdr}, chans) for hdr, chans in parts])


def many_pass_file(tmp_path, codec, w=53, h=37):
    """A Blender-5-style multipart file: Combined (half RGBA), Depth (float Z), and passes
    a build does not use; one part with a data window and one with a uint channel."""
    rng = np.random.default_rng(1)
    rgba = {f"ViewLayer.Combined.{c}": rng.random((h, w)).astype(np.float16) * 4 for c in "RGBA"}
    z = {"ViewLayer.Depth.Z": (rng.random((h, w)) * 10 + 1).astype(np.float32)}
    normal = {f"ViewLayer.Normal.{c}": rng.standard_normal((h, w)).astype(np.float32) for c in "XYZ"}
    index = {"ViewLayer.IndexOB.X": rng.integers(0, 2 ** 31, (h, w)).astype(np.uint32)}
    part_dw = {f"ViewLayer.Mist.{c}": rng.random((11, 17)).astype(np.float32) for c in "X"}
    disp = ((0, 0), (w - 1, h - 1))
    return write(tmp_path / f"many_{codec}.exr", [
        ({"displayWindow": disp, "dataWindow": disp}, rgba),
        ({"displayWindow": disp, "dataWindow": disp, "Note": "hello"}, normal),
        ({"displayWindow": disp, "dataWindow": disp}, z),
        ({"displayWindow": disp, "dataWindow": disp}, index),
        ({"displayWindow": disp, "dataWindow": ((5, 3), (21, 13))}, part_dw),
    ], CODECS[codec])


def assert_same(selected, full, names):
    assert selected.names() == full.names()
    assert selected.display_window == full.display_window
    assert len(selected.headers) == len(full.headers)
    for a, b in zip(selected.headers, full.headers):
        assert a.keys() == b.keys()
        for k in a:
            va, vb = a[k], b[k]
            if isinstance(va, tuple) and va and isinstance(va[0], np.ndarray):
                assert all(np.array_equal(x, y) for x, y in zip(va, vb)), k
            elif isinstance(va, np.ndarray):
                np.testing.assert_array_equal(va, vb)
            elif k != "channels":
                assert va == vb, k
    assert set(selected.channels) == set(names)
    for n in names:
        a, b = selected.channels[n], full.channels[n]
        assert a.data_window == b.data_window and a.part == b.part, n
        assert a.pixels.dtype == np.float32 and a.pixels.shape == b.pixels.shape
        np.testing.assert_array_equal(a.pixels, b.pixels, err_msg=n)


READERS = ("auto", "parts", "numpy")


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("codec", sorted(CODECS))
def test_selected_channels_equal_openexr(tmp_path, codec, reader):
    path = many_pass_file(tmp_path, codec)
    full = _read_all(path, False)
    wanted = ["ViewLayer.Combined.R", "ViewLayer.Combined.A", "ViewLayer.Depth.Z", "ViewLayer.IndexOB.X",
              "ViewLayer.Mist.X"]
    sel = read_exr(path, channels=wanted, reader=reader)
    assert_same(sel, full, wanted)
    if codec == "PXR24":  # lossy for float and uint, but both readers agree on what it gives
        return
    # lossless codecs keep the written values: half colors exactly, float depth exactly
    np.testing.assert_array_equal(sel.get("ViewLayer.IndexOB.X"), full.get("ViewLayer.IndexOB.X"))


@pytest.mark.parametrize("codec,reader", [(c, "numpy") for c in sorted(FAST)] +
                         [(c, "parts") for c in sorted(CODECS)])
def test_only_chosen_parts_are_decoded(tmp_path, codec, reader, monkeypatch):
    """Both part readers decode only the parts asked for, never falling back to a full read."""
    path = many_pass_file(tmp_path, codec)
    decoded = []
    if reader == "numpy":
        real = exr_parts._decode_part
        monkeypatch.setattr(exr_parts, "_decode_part", lambda buf, lay, part, wanted, pool:
                            decoded.append(part.index) or real(buf, lay, part, wanted, pool))
    else:
        real = exr_parts._parts_by_openexr
        monkeypatch.setattr(exr_parts, "_parts_by_openexr", lambda buf, lay, per_part, open_exr:
                            decoded.extend(per_part) or real(buf, lay, per_part, open_exr))
    monkeypatch.setattr("depth_cloud.core.exr._read_all", _no_full_read(_read_all))
    f = read_exr(path, channels=lambda names: [n for n in names if n in ("ViewLayer.Depth.Z", "ViewLayer.Combined.G")],
                 reader=reader)
    assert sorted(decoded) == [0, 2]
    assert set(f.channels) == {"ViewLayer.Combined.G", "ViewLayer.Depth.Z"}
    assert "ViewLayer.Normal.X" in f.names()
    with pytest.raises(ChannelError, match="not read"):
        f.get("ViewLayer.Normal.X")


def test_auto_picks_a_part_reader(tmp_path):
    import mmap
    for codec, want in (("NONE", "numpy"), ("ZIP", "parts"), ("DWAA", "parts")):
        path = many_pass_file(tmp_path, codec)
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            layout = exr_parts.read_layout(path, buf)
        assert exr_parts.pick_reader(layout, {0: {"ViewLayer.Combined.R"}, 2: {"ViewLayer.Depth.Z"}}) == want


def _no_full_read(real):
    def guarded(path, header_only):
        assert header_only, "the fast path must not fall back to OpenEXR's full read"
        return real(path, header_only)
    return guarded


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("codec", ["NONE", "ZIP", "ZIPS"])
def test_single_part_blender4_layout_and_big_chunks(tmp_path, codec, reader):
    """Blender 4.x: one part, every pass in it; heights not a multiple of 16 lines."""
    rng = np.random.default_rng(2)
    h, w = 45, 70
    chans = {f"ViewLayer.Combined.{c}": rng.random((h, w)).astype(np.float32) for c in "RGBA"}
    chans["ViewLayer.Depth.Z"] = rng.random((h, w)).astype(np.float32)
    chans["ViewLayer.Vector.X"] = rng.random((h, w)).astype(np.float16)
    path = write(tmp_path / "one.exr", [({"dataWindow": ((3, 2), (72, 46)), "displayWindow": ((0, 0), (99, 59))},
                                         chans)], CODECS[codec])
    wanted = ["ViewLayer.Depth.Z", "ViewLayer.Combined.B"]
    assert_same(read_exr(path, channels=wanted, reader=reader), _read_all(path, False), wanted)


def test_constant_image_stored_raw_and_compressed(tmp_path):
    """ZIP chunks that do not shrink are stored raw; constant ones shrink a lot: both decode."""
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 2 ** 32, (40, 64), dtype=np.uint64).astype(np.uint32).view(np.float32)
    noise = np.where(np.isfinite(noise), noise, 0).astype(np.float32)
    path = write(tmp_path / "mixed.exr", [({}, {"A": noise, "B": np.ones((40, 64), np.float32)})],
                 OpenEXR.ZIP_COMPRESSION)
    for reader in READERS:
        assert_same(read_exr(path, channels=["A", "B"], reader=reader), _read_all(path, False), ["A", "B"])


def test_frame_passes_same_through_both_readers(tmp_path):
    path = many_pass_file(tmp_path, "ZIP")
    fast = read_frame_passes(SourceSpec(path), 1)
    import depth_cloud.core.exr as exr_mod
    full = _read_all(path, False)
    np.testing.assert_array_equal(fast.depth, full.get("ViewLayer.Depth.Z"))
    for plane, c in zip(fast.color_planes, "RGBA"):
        np.testing.assert_array_equal(plane, full.get(f"ViewLayer.Combined.{c}"))
    assert fast.channels == list(full.channels)
    assert exr_mod.read_exr(path, channels=[]).channels == {}


def _damaged_copies(tmp_path, path):
    data = open(path, "rb").read()
    out = []
    for cut in (len(data) // 3, len(data) // 2, len(data) - 7, 400):
        p = tmp_path / f"cut_{cut}.exr"
        p.write_bytes(data[:cut])
        out.append(str(p))
    rng = np.random.default_rng(4)
    for k in range(12):  # bytes flipped past the headers: chunk tables and pixel data
        b = bytearray(data)
        at = rng.integers(len(data) // 8, len(data), 6)
        for i in at:
            b[i] ^= 0x5A
        p = tmp_path / f"flip_{k}.exr"
        p.write_bytes(bytes(b))
        out.append(str(p))
    return out


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("codec", ["ZIP", "NONE", "ZIPS", "PIZ"])
def test_damaged_files_same_error_or_same_pixels(tmp_path, codec, reader):
    """On damaged and cut files both readers raise SourceFileError or give the same pixels."""
    src = many_pass_file(tmp_path, codec)
    wanted = ["ViewLayer.Depth.Z", "ViewLayer.Combined.R"]
    outcomes = []
    for p in _damaged_copies(tmp_path, src):
        try:
            full = _read_all(p, False)
        except SourceFileError:
            with pytest.raises(SourceFileError, match=os.path.basename(p)):
                read_exr(p, channels=wanted, reader=reader)
            outcomes.append("error")
            continue
        if not all(n in full.channels for n in wanted):  # OpenEXR gave up on a part after a warning
            with pytest.raises(SourceFileError, match="damaged EXR: channel"):
                read_exr(p, channels=wanted, reader=reader)
            outcomes.append("part lost")
            continue
        sel = read_exr(p, channels=wanted, reader=reader)
        for n in wanted:
            np.testing.assert_array_equal(sel.channels[n].pixels, full.channels[n].pixels, err_msg=p)
        outcomes.append("read")
    assert "error" in outcomes  # the cut files at least


@pytest.mark.parametrize("reader", READERS)
def test_missing_and_not_exr(tmp_path, reader):
    with pytest.raises(SourceFileError, match="nothere"):
        read_exr(tmp_path / "nothere.exr", channels=["Z"], reader=reader)
    p = tmp_path / "text.exr"
    p.write_text("not an exr")
    with pytest.raises(SourceFileError, match="text.exr"):
        read_exr(p, channels=["Z"], reader=reader)
    p = tmp_path / "empty.exr"
    p.write_bytes(b"")
    with pytest.raises(SourceFileError, match="empty.exr"):
        read_exr(p, channels=["Z"], reader=reader)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 1001, 4096])
def test_undo_zip_matches_reference(n):
    """The vectorised predictor + interleave against a plain loop of OpenEXR's algorithm."""
    raw = bytes(np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8))
    t = list(raw)
    for i in range(1, len(t)):
        t[i] = (t[i - 1] + t[i] - 128) & 0xFF
    half = (len(t) + 1) // 2
    ref = [0] * len(t)
    ref[0::2], ref[1::2] = t[:half], t[half:]
    assert exr_parts._undo_zip(raw).tolist() == ref


@pytest.mark.skipif(not os.path.isdir(DATA), reason="../shared/data/openexr-images is absent (real sample files)")
@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(DATA, "Beachball", "*.exr")))[:4] +
                         sorted(glob.glob(os.path.join(DATA, "Beachball", "singlepart.0001.exr"))))
def test_real_files_equal_openexr(path):
    full = _read_all(path, False)
    names = full.names()
    wanted = [n for n in names if n.endswith(("Z", "R", "A"))]
    for reader in READERS:
        assert_same(read_exr(path, channels=wanted, reader=reader), full, wanted)


# ------------------------------------------------------------------ views and damage (issue 13)
@pytest.mark.parametrize("codec,reader", [("NONE", "numpy"), ("ZIP", "parts"), ("ZIP", "auto")])
@pytest.mark.parametrize("view", ["left", "right"])
def test_views_decode_only_that_views_parts(tmp_path, codec, reader, view, monkeypatch):
    """A stereo multipart file: the chosen view's depth and color parts alone are decoded (no
    full read), giving exactly what OpenEXR's full read gives for that view."""
    from test_views_windows_damage import _part, multipart_stereo
    src, truth = multipart_stereo(tmp_path / "stereo_zip.exr")
    path = str(tmp_path / f"stereo_{codec}.exr")
    parts = OpenEXR.File(src, separate_channels=True).parts
    OpenEXR.File([OpenEXR.Part({**p.header, "compression": CODECS[codec]},
                               {n: c.pixels for n, c in p.channels.items()}) for p in parts]).write(path)
    full = _read_all(path, False, view)
    decoded = []
    real = exr_parts.read_parts
    monkeypatch.setattr(exr_parts, "read_parts", lambda hdr, per_part, open_exr, how: decoded.append(
        {k: sorted(v) for k, v in per_part.items()}) or real(hdr, per_part, open_exr, how))
    monkeypatch.setattr("depth_cloud.core.exr._read_all", _no_full_read(_read_all))
    wanted = ["Z", "R", "G", "B", "A"]
    sel = read_exr(path, view=view, channels=wanted, reader=reader)
    names = [p.header["name"] for p in parts]
    assert decoded == [{names.index(f"depth_{view}"): ["Z"], names.index(f"rgba_{view}"): list("ABGR")}]
    assert_same(sel, full, wanted)
    assert sel.view == view and sel.views == ["right", "left"]
    z, rgba = truth[view]
    np.testing.assert_array_equal(sel.get("Z"), z)
    np.testing.assert_array_equal(sel.get("R"), rgba[0])
    passes = read_frame_passes(SourceSpec(path, view=view), 1)  # the build's read: same view, same pixels
    assert passes.view == view
    np.testing.assert_array_equal(passes.depth, z)
    del _part


def _cut_file(src, dst, n):
    data = open(src, "rb").read()
    open(dst, "wb").write(data[:n])
    return str(dst)


@pytest.mark.parametrize("codec", ["NONE", "ZIP"])
def test_damaged_parts_before_decoding(tmp_path, codec, monkeypatch):
    """Damage found by the header read: an unneeded damaged part (the other eye's color, last
    in the file) is never decoded and gives one warning while the build goes on through the
    part reader; the same part needed (that eye's build) raises the error naming it."""
    from test_views_windows_damage import multipart_stereo
    src, truth = multipart_stereo(tmp_path / "stereo.exr")
    parts = OpenEXR.File(src, separate_channels=True).parts
    assert parts[-1].header["name"] == "rgba_right"
    full_path = str(tmp_path / f"s_{codec}.exr")
    OpenEXR.File([OpenEXR.Part({**p.header, "compression": CODECS[codec]},
                               {n: c.pixels for n, c in p.channels.items()}) for p in parts]).write(full_path)
    cut = _cut_file(full_path, tmp_path / f"cut_{codec}.exr", os.path.getsize(full_path) - 40)
    problem = read_exr(cut, view="right").damaged["R"][1]  # OpenEXR's full read of that view
    decoded = []
    real = exr_parts.read_parts
    monkeypatch.setattr(exr_parts, "read_parts", lambda hdr, per_part, open_exr, how:
                        decoded.append(sorted(per_part)) or real(hdr, per_part, open_exr, how))
    monkeypatch.setattr("depth_cloud.core.exr._read_all", _no_full_read(_read_all))
    passes = read_frame_passes(SourceSpec(cut, view="left"), 1)
    z, rgba = truth["left"]
    np.testing.assert_array_equal(passes.depth, z)
    np.testing.assert_array_equal(passes.color_planes[0], rgba[0])
    label = f"part {len(parts) - 1} ('rgba_right')"
    assert [w for w in passes.warnings if "rgba_right" in w] == [f"{cut}: {label} was skipped: {problem}"]
    assert len(decoded) == 1 and len(parts) - 1 not in decoded[0]
    with pytest.raises(SourceFileError, match=r"damaged EXR: channel 'R' is in part 4 \('rgba_right'\), which is "
                                              r"damaged: truncated"):
        read_frame_passes(SourceSpec(cut, view="right"), 1)
    with pytest.raises(SourceFileError, match=r"part 4 \('rgba_right'\)"):  # names asked for must be readable
        read_exr(cut, view="right", channels=["Z", "R"])
    f = read_exr(cut, view="right", channels=lambda names: ["Z", "R"])  # a chooser: it decides on use
    assert "R" in f.names() and "R" not in f.channels
    with pytest.raises(SourceFileError, match="rgba_right"):
        f.get("R")
    assert len(decoded) == 3 and all(len(parts) - 1 not in d for d in decoded)  # the damaged part: never decoded


@pytest.mark.parametrize("blender", [False, True])
@pytest.mark.parametrize("view", ["left", "right"])
def test_single_part_views_by_the_numpy_reader(tmp_path, blender, view, monkeypatch):
    """One part with ``multiView`` (OpenEXR's and Blender 4's names), uncompressed: the numpy
    reader decodes just that view's depth and color channels of the part."""
    from test_views_windows_damage import singlepart_stereo
    src, truth, _default = singlepart_stereo(tmp_path / "sp_zip.exr", blender)
    part = OpenEXR.File(src, separate_channels=True).parts[0]
    path = str(tmp_path / "sp_none.exr")
    OpenEXR.File([OpenEXR.Part({**part.header, "compression": OpenEXR.NO_COMPRESSION},
                               {n: c.pixels for n, c in part.channels.items()})]).write(path)
    full = _read_all(path, False, view)
    decoded = []
    real = exr_parts._decode_part
    monkeypatch.setattr(exr_parts, "_decode_part", lambda buf, lay, p, wanted, pool:
                        decoded.append(sorted(wanted)) or real(buf, lay, p, wanted, pool))
    monkeypatch.setattr("depth_cloud.core.exr._read_all", _no_full_read(_read_all))
    passes = read_frame_passes(SourceSpec(path, view=view), 1)
    if blender:
        want = [f"ViewLayer.Combined.{view}.{c}" for c in "ABGR"] + [f"ViewLayer.Depth.{view}.Z"]
    else:
        want = [("" if view == "right" else f"{view}.") + c for c in "ABGRZ"]
    assert decoded == [want]
    z, rgba = truth[view]
    np.testing.assert_array_equal(passes.depth, z)
    for plane, want in zip(passes.color_planes, rgba):
        np.testing.assert_array_equal(plane, want)
    assert passes.channels == full.names() and passes.view == view
