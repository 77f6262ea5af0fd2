"""The part/channel reader (core/exr_parts.py) against OpenEXR's own full read: same channels,
windows, headers and typed errors, on files written here with OpenEXR (every compression it
can write, half/float/uint, single- and multi-part, data windows, damaged and cut copies) and
on the real files in ../shared/data when present."""
import glob
import os

import numpy as np
import OpenEXR
import pytest

from depth_cloud.core import SourceSpec, exr_parts, read_frame_passes
from depth_cloud.core.errors import ChannelError, SourceFileError
from depth_cloud.core.exr import _read_all, read_exr
from test_core_exr import write as write_parts

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
        except SourceFileError as err:
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
