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

from damaged import damaged_copies
from depth_cloud.core import SourceSpec, read_frame_passes
from depth_cloud.core.errors import ChannelError, SourceFileError
from depth_cloud.core.exr import parts as exr_parts
from depth_cloud.core.exr.read import _read_all, read_exr
from paths import OPENEXR_IMAGES

DATA = OPENEXR_IMAGES
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
    monkeypatch.setattr("depth_cloud.core.exr.read._read_all", _no_full_read(_read_all))
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
    import depth_cloud.core.exr.read as exr_mod
    full = _read_all(path, False)
    np.testing.assert_array_equal(fast.depth, full.get("ViewLayer.Depth.Z"))
    for plane, c in zip(fast.color_planes, "RGBA"):
        np.testing.assert_array_equal(plane, full.get(f"ViewLayer.Combined.{c}"))
    assert fast.channels == list(full.channels)
    assert exr_mod.read_exr(path, channels=[]).channels == {}


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("codec", ["ZIP", "NONE", "ZIPS", "PIZ"])
def test_damaged_files_same_error_or_same_pixels(tmp_path, codec, reader):
    """On damaged and cut files both readers raise SourceFileError or give the same pixels."""
    src = many_pass_file(tmp_path, codec)
    wanted = ["ViewLayer.Depth.Z", "ViewLayer.Combined.R"]
    outcomes = []
    for p in damaged_copies(tmp_path, src):
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
    assert exr_parts.undo_zip(raw).tolist() == ref


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
    monkeypatch.setattr("depth_cloud.core.exr.read._read_all", _no_full_read(_read_all))
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
    monkeypatch.setattr("depth_cloud.core.exr.read._read_all", _no_full_read(_read_all))
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
    monkeypatch.setattr("depth_cloud.core.exr.read._read_all", _no_full_read(_read_all))
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


# ------------------------------------------------------------------ row bands (issue 12)
BAND_CODECS = {**CODECS, "B44A": OpenEXR.B44A_COMPRESSION, "DWAB": OpenEXR.DWAB_COMPRESSION}


def position_file(tmp_path, codec, layout, h=300, w=41):
    """A render with depth, a float Position pass and a half pass, data window (3, 7)-(43, 306)
    inside a 61x321 frame: Blender 5-style (one part per pass) or 4-style (one part)."""
    rng = np.random.default_rng(7)
    pos = {f"ViewLayer.Position.{c}": (rng.standard_normal((h, w)) * 10).astype(np.float32) for c in "XYZ"}
    half = {"ViewLayer.Vector.X": (rng.random((h, w)) * 3).astype(np.float16)}
    z = {"ViewLayer.Depth.Z": (rng.random((h, w)) * 10 + 1).astype(np.float32)}
    hdr = {"dataWindow": ((3, 7), (3 + w - 1, 7 + h - 1)), "displayWindow": ((0, 0), (60, 320))}
    parts = [(hdr, z), (hdr, {**pos, **half})] if layout == "multipart" else [(hdr, {**z, **pos, **half})]
    return write(tmp_path / f"{layout}_{codec}.exr", parts, BAND_CODECS[codec])


def _band_read(path, index, names, reader="auto"):
    from depth_cloud.core.exr.header import read_exr_header
    from depth_cloud.core.exr.read import _open_openexr
    return exr_parts.read_row_bands(read_exr_header(path), index, names, _open_openexr(True), reader=reader)


@pytest.mark.parametrize("layout", ["multipart", "single"])
@pytest.mark.parametrize("codec", sorted(BAND_CODECS))
def test_row_bands_equal_openexr(tmp_path, codec, layout):
    """Every codec OpenEXR writes, float and half channels, a data window not at 0, Blender 4-
    and 5-style layouts: the bands' pixels are exactly OpenEXR's full read of those rows, in
    whole chunks spread from the first to the last row, fewer rows than the window."""
    path = position_file(tmp_path, codec, layout)
    full = _read_all(path, False)
    index = 1 if layout == "multipart" else 0
    names = ["ViewLayer.Position.X", "ViewLayer.Position.Z", "ViewLayer.Vector.X"]
    lines = exr_parts.LINES[exr_parts._COMPRESSIONS[codec]]
    for reader in ("auto", "parts") + (("numpy",) if codec in FAST else ()):
        rows, planes = _band_read(path, index, names, reader)
        assert rows[0] == 0 and np.all(np.diff(rows) > 0) and len(rows) < 300
        chunks = sorted(set((rows // lines).tolist()))  # whole chunks (the last one may be short)
        assert rows.tolist() == [r for k in chunks for r in range(k * lines, min(300, (k + 1) * lines))]
        if codec != "DWAB":  # DWAB's 256-line chunks: the first of two
            assert rows[-1] == 299 and len(chunks) * lines >= 8 * 16
        for n in names:
            assert planes[n].dtype == np.float32 and planes[n].shape == (len(rows), 41)
            np.testing.assert_array_equal(planes[n], full.channels[n].pixels[rows], err_msg=f"{n} {reader}")
    if codec in FAST:
        return
    with pytest.raises(exr_parts.Unsupported):  # the numpy decoder refuses other codecs
        _band_read(path, index, names, "numpy")


@pytest.mark.parametrize("codec", sorted(BAND_CODECS))
def test_read_exr_bands_decode_only_the_rows(tmp_path, codec, monkeypatch):
    """``read_exr(bands=...)`` on a 5-style file: the Position part only in row bands (never a
    full read, never the whole part), placed in another window by ``get_rows``."""
    path = position_file(tmp_path, codec, "multipart")
    full = _read_all(path, False)
    monkeypatch.setattr("depth_cloud.core.exr.read._read_all", _no_full_read(_read_all))
    real = exr_parts.read_parts
    decoded = []
    monkeypatch.setattr(exr_parts, "read_parts", lambda hdr, per_part, open_exr, how: decoded.append(
        sorted(per_part)) or real(hdr, per_part, open_exr, how))
    pos = [f"ViewLayer.Position.{c}" for c in "XYZ"]
    f = read_exr(path, channels=["ViewLayer.Depth.Z"], bands=lambda names: pos)
    assert decoded == [[0]] and set(f.channels) == {"ViewLayer.Depth.Z"} and set(f.bands) == set(pos)
    for n in pos:
        band = f.bands[n]
        assert band.part == 1 and band.data_window == (3, 7, 43, 306)
        np.testing.assert_array_equal(band.pixels, full.channels[n].pixels[band.rows])
    rows, px = f.get_rows(pos[0], (0, 10, 50, 200))  # a window starting 3 rows lower, 9 columns wider
    band = f.bands[pos[0]]
    inside = (band.rows - 3 >= 0) & (band.rows - 3 <= 190)
    np.testing.assert_array_equal(rows, band.rows[inside] - 3)
    np.testing.assert_array_equal(px[:, 3:44], band.pixels[inside])
    assert np.isnan(px[:, :3]).all() and np.isnan(px[:, 44:]).all()


def test_frame_passes_position_rows_for_the_camera_check(tmp_path):
    """A build's read: a Position pass next to the depth comes as row bands over the depth's
    window; Check Camera's read (full_position) and a part decoded anyway give whole planes;
    a POSITION build reads it whole."""
    path = position_file(tmp_path, "ZIP", "multipart")
    full = _read_all(path, False)
    passes = read_frame_passes(SourceSpec(path), 1)
    assert passes.position_planes is None and passes.window == (3, 7)
    rows, planes = passes.position_rows
    for plane, c in zip(planes, "XYZ"):
        np.testing.assert_array_equal(plane, full.get(f"ViewLayer.Position.{c}")[rows])
    whole = read_frame_passes(SourceSpec(path), 1, full_position=True)
    assert whole.position_rows is None
    for plane, c in zip(whole.position_planes, "XYZ"):
        np.testing.assert_array_equal(plane, full.get(f"ViewLayer.Position.{c}"))
    from depth_cloud.core.points.detail import at_detail
    for n in (2, 3):  # every Nth pixel: the bands' kept rows, renumbered like the kept rows
        rows_n, planes_n = at_detail(passes, n).position_rows
        whole_n = at_detail(whole, n).position_planes
        assert len(rows_n) >= len(rows) // n - 8
        for plane, want in zip(planes_n, whole_n):
            np.testing.assert_array_equal(plane, want[rows_n])
    assert read_frame_passes(SourceSpec(path, kind="POSITION"), 1).position.shape == (300, 41, 3)
    single = read_frame_passes(SourceSpec(position_file(tmp_path, "ZIP", "single")), 1)
    assert single.position_rows is None and single.position_planes is not None  # its part is decoded anyway
    masked = read_frame_passes(SourceSpec(path, attributes=("Vector",)), 1)  # reads the whole view
    assert masked.position_rows is None and masked.position_planes is not None


def test_band_choice_spreads_over_the_window():
    """8 bands of whole chunks (at least 16 lines), first and last chunk included, at most half
    the chunks; a part of one chunk is read whole."""
    for count, lines in ((68, 16), (1080, 1), (34, 32), (5, 256), (3, 16), (1, 16), (7, 1)):
        runs = exr_parts.band_chunks(count, lines)
        chunks = [k for run in runs for k in run]
        assert chunks == sorted(set(chunks)) and chunks[0] == 0
        assert all(run == list(range(run[0], run[-1] + 1)) for run in runs)
        if count > 1:
            assert chunks[-1] == count - 1 and len(chunks) <= -(-count // 2) + max(1, 16 // lines)
    assert len(exr_parts.band_chunks(68, 16)) == 8 and len(exr_parts.band_chunks(1080, 1)) == 8
    assert all(len(run) == 16 for run in exr_parts.band_chunks(1080, 1))
    assert exr_parts.band_chunks(1, 16) == [[0]]


def test_tiled_position_part_falls_back_to_the_full_read(tmp_path):
    rng = np.random.default_rng(8)
    h, w = 70, 50
    z = rng.random((h, w)).astype(np.float32) + 1
    pos = {f"P.{c}": rng.random((h, w)).astype(np.float32) for c in "XYZ"}
    tiles = OpenEXR.TileDescription()
    tiles.xSize = tiles.ySize = 16
    tiles.mode = OpenEXR.ONE_LEVEL
    path = str(tmp_path / "tiled.exr")
    OpenEXR.File([OpenEXR.Part({"type": OpenEXR.tiledimage, "tiles": tiles, "name": "Depth",
                                "compression": OpenEXR.ZIP_COMPRESSION}, {"Depth.Z": z}),
                  OpenEXR.Part({"type": OpenEXR.tiledimage, "tiles": tiles, "name": "Position",
                                "compression": OpenEXR.ZIP_COMPRESSION}, dict(pos))]).write(path)
    with pytest.raises(exr_parts.Unsupported):
        _band_read(path, 1, ["P.X"])
    f = read_exr(path, channels=["Depth.Z"], bands=["P.X", "P.Y", "P.Z"])
    assert not f.bands and set(f.channels) == {"Depth.Z", "P.X", "P.Y", "P.Z"}
    np.testing.assert_array_equal(f.get("P.Y"), pos["P.Y"])
    passes = read_frame_passes(SourceSpec(path), 1)
    assert passes.position_rows is None
    np.testing.assert_array_equal(passes.position_planes[2], pos["P.Z"])


@pytest.mark.parametrize("codec", ["ZIP", "NONE", "PIZ", "DWAA"])
def test_damaged_position_part_never_gives_wrong_rows(tmp_path, codec):
    """Cut and byte-flipped copies: the build's read raises what OpenEXR's full read raises, or
    its Position rows are exactly those rows of OpenEXR's full read (of the undamaged file when
    the full read dropped the damaged Position part: the bands' own chunks were intact); a
    band chunk found damaged falls back to the full read, whose damage rules decide (a
    damaged Position part only warns)."""
    src = position_file(tmp_path, codec, "multipart")
    good = _read_all(src, False)
    pos = [f"ViewLayer.Position.{c}" for c in "XYZ"]
    data = open(src, "rb").read()
    copies = damaged_copies(tmp_path, src)
    # the size of the Position part's first chunk (always in a band) made to run past the end
    import mmap
    with open(src, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        first = int(exr_parts.read_layout(src, buf).parts[1].offsets[0])
    b = bytearray(data)
    b[first + 8:first + 12] = (len(data)).to_bytes(4, "little")
    (tmp_path / "bad_chunk.exr").write_bytes(bytes(b))
    copies += [str(tmp_path / "bad_chunk.exr"), src]
    seen = set()
    for p in copies:
        try:
            whole = read_frame_passes(SourceSpec(p), 1, full_position=True)
        except SourceFileError:
            with pytest.raises(SourceFileError):
                read_frame_passes(SourceSpec(p), 1)
            seen.add("error")
            continue
        passes = read_frame_passes(SourceSpec(p), 1)
        np.testing.assert_array_equal(passes.depth, whole.depth)
        if passes.position_rows is not None:
            rows, planes = passes.position_rows
            truth = whole.position_planes or tuple(good.get(n) for n in pos)
            for plane, want in zip(planes, truth):
                np.testing.assert_array_equal(plane, want[rows], err_msg=p)
            seen.add("rows")
        elif passes.position_planes is not None:
            for plane, want in zip(passes.position_planes, whole.position_planes):
                np.testing.assert_array_equal(plane, want, err_msg=p)
            seen.add("planes")
        else:
            assert whole.position_planes is None, p  # the Position part is damaged: no check, a warning
            assert any("ViewLayer.Position" in w or "part 1" in w for w in passes.warnings), passes.warnings
            seen.add("none")
        if p.endswith("bad_chunk.exr"):
            assert passes.position_rows is None, "a damaged band chunk must not give rows"
    assert "error" in seen and "rows" in seen
