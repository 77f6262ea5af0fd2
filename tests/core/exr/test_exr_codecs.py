"""The safe EXR reader (core/exr_host.py, core/exr_codecs.py, core/exr_safe.py) against
OpenEXR's own read of the same files, written here with the OpenEXR module: every codec it
decodes, half/float/uint, scanline and tiled, odd sizes, data windows away from the origin,
multipart and multi-view files, deep parts; the real files in ../shared/data when present;
damaged copies give typed errors, never a crash."""
import glob
import os

import numpy as np
import OpenEXR
import pytest
from test_core_exr import write

from damaged import damaged_copies
from depth_cloud.core.errors import DepthCloudError, SettingsError, SourceFileError
from depth_cloud.core.exr import codecs as exr_codecs
from depth_cloud.core.exr import host as exr_host
from depth_cloud.core.exr.read import import_openexr, read_exr
from paths import OPENEXR_IMAGES

DATA = OPENEXR_IMAGES  # ../shared/data/openexr-images beside the repository (tests/paths.py)
CODECS = {"NONE": OpenEXR.NO_COMPRESSION, "RLE": OpenEXR.RLE_COMPRESSION, "ZIPS": OpenEXR.ZIPS_COMPRESSION,
          "ZIP": OpenEXR.ZIP_COMPRESSION, "PIZ": OpenEXR.PIZ_COMPRESSION, "PXR24": OpenEXR.PXR24_COMPRESSION,
          "B44": OpenEXR.B44_COMPRESSION, "B44A": OpenEXR.B44A_COMPRESSION}
LOSSY = {"PXR24", "B44", "B44A"}  # compared with what OpenEXR decodes, bit for bit all the same


def both(path, **kw):
    """``(OpenEXR's read, the safe reader's)`` of ``path``."""
    old = os.environ.get(exr_host.ENV)
    try:
        os.environ[exr_host.ENV] = "openexr"
        ref = read_exr(path, **kw)
        os.environ[exr_host.ENV] = "safe"
        got = read_exr(path, **kw)
    finally:
        if old is None:
            os.environ.pop(exr_host.ENV, None)
        else:
            os.environ[exr_host.ENV] = old
    return ref, got


def _same_value(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype and \
            np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    if hasattr(a, "xSize"):  # TileDescription
        return (a.xSize, a.ySize, a.mode.name, a.roundingMode.name) == (b.xSize, b.ySize, b.mode, b.roundingMode)
    if hasattr(a, "name") and hasattr(b, "name"):
        return a.name == b.name
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (a != a and b != b)
    return a == b


def assert_identical(ref, got):
    """Same channels bit for bit (float32 bits, NaNs included), windows, headers (values and
    types), views, warnings, deep parts."""
    assert got.names() == ref.names()
    assert set(got.channels) == set(ref.channels)
    for name, ch in ref.channels.items():
        mine = got.channels[name]
        assert mine.data_window == ch.data_window and mine.part == ch.part, name
        assert mine.pixels.dtype == np.float32 and mine.pixels.shape == ch.pixels.shape, name
        np.testing.assert_array_equal(mine.pixels.view(np.uint32), ch.pixels.view(np.uint32), err_msg=name)
    assert got.display_window == ref.display_window
    assert (got.views, got.view) == (ref.views, ref.view)
    assert got.warnings == ref.warnings
    assert len(got.headers) == len(ref.headers)
    for hr, hs in zip(ref.headers, got.headers):
        assert set(hr) == set(hs)
        for key in hr:
            assert _same_value(hr[key], hs[key]), (key, hr[key], hs[key])
    assert set(got.deep) == set(ref.deep)
    for index, part in ref.deep.items():
        mine = got.deep[index]
        assert (mine.name, mine.view, mine.data_window) == (part.name, part.view, part.data_window)
        np.testing.assert_array_equal(mine.counts, part.counts)
        assert set(mine.channels) == set(part.channels)
        for name, values in part.channels.items():
            assert mine.channels[name].dtype == values.dtype, name
            np.testing.assert_array_equal(mine.channels[name], values, err_msg=name)


@pytest.fixture
def safe_reader(monkeypatch):
    monkeypatch.setenv(exr_host.ENV, "safe")


@pytest.fixture(autouse=True)
def own_decoders(monkeypatch):
    """These tests are of this package's decoders: no codec goes to the child process first
    (``test_child_first`` covers that route)."""
    from depth_cloud.core.exr import safe as exr_safe
    monkeypatch.setattr(exr_safe, "CHILD_FIRST", ())


# ------------------------------------------------------------------ host detection
DEBIAN_MAPS = """\
55d0c0a00000-55d0c0c00000 r--p 00000000 08:01 1 /usr/bin/blender
7f1c2a000000-7f1c2a100000 r-xp 00000000 08:01 2 /usr/lib/x86_64-linux-gnu/libOpenEXR-3_1.so.30.3.1
7f1c2b000000-7f1c2b100000 r-xp 00000000 08:01 3 /usr/lib/x86_64-linux-gnu/libOpenEXRCore-3_1.so.30.3.1
7f1c2c000000-7f1c2c100000 r-xp 00000000 08:01 4 /usr/lib/x86_64-linux-gnu/libImath-3_1.so.29.5.0
"""
BPY_MAPS = """\
7f1c2a000000-7f1c2a100000 r-xp 00000000 08:01 2 /venv/site-packages/bpy/lib/libOpenEXR.so.33
7f1c2b000000-7f1c2b100000 r-xp 00000000 08:01 3 /venv/site-packages/bpy/lib/libOpenEXRCore.so.33
7f1c2d000000-7f1c2d100000 r-xp 00000000 08:01 5 /venv/site-packages/OpenEXR.cpython-313-x86_64-linux-gnu.so
"""


def test_host_rule_on_measured_maps():
    debian = exr_host.decide(DEBIAN_MAPS, versions=lambda p: None)  # version from the file name
    assert not debian.safe and "3.1" in debian.reason and "libOpenEXRCore-3_1" in debian.reason
    assert exr_host.decide(BPY_MAPS, versions=lambda p: (3, 4, 10)).safe
    assert exr_host.decide(BPY_MAPS, versions=lambda p: (3, 2, 4)).safe
    assert not exr_host.decide(BPY_MAPS, versions=lambda p: None).safe  # unknown: unsafe
    assert not exr_host.decide(BPY_MAPS, versions=lambda p: (3, 1, 9)).safe
    assert exr_host.decide("", versions=lambda p: None).safe
    assert exr_host.decide(None).safe  # no maps file (macOS, Windows)
    assert exr_host.mapped_libraries(BPY_MAPS) == ["/venv/site-packages/bpy/lib/libOpenEXR.so.33",
                                                   "/venv/site-packages/bpy/lib/libOpenEXRCore.so.33"]


def test_host_of_this_process_and_the_override(monkeypatch):
    monkeypatch.delenv(exr_host.ENV, raising=False)
    report = exr_host.host_report(refresh=True)
    assert report.safe, report.reason  # plain Python with the wheel: nothing else loaded
    monkeypatch.setenv(exr_host.ENV, "safe")
    assert not exr_host.openexr_safe()
    with pytest.raises(SourceFileError, match="cannot be used in this process"):
        import_openexr()
    monkeypatch.setenv(exr_host.ENV, "OpenEXR")
    assert exr_host.openexr_safe()
    monkeypatch.setenv(exr_host.ENV, "fast")
    with pytest.raises(SettingsError, match="DEPTH_CLOUD_EXR_READER"):
        exr_host.openexr_safe()


# ------------------------------------------------------------------ codecs
def _planes(w, h, seed):
    """Smooth values that compress, flat 4x4 areas (B44A's 3-byte blocks), and in the float
    channel a NaN, infinities and a negative zero."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    smooth = np.sin(xx / 7.0) * np.cos(yy / 5.0) * 3.0 + xx / w
    half = smooth.astype(np.float16)
    half[: h // 3, : w // 2] = np.float16(0.25)  # flat blocks
    z = (smooth * 10 + np.round(rng.random((h, w)), 1)).astype(np.float32)
    z[0, 0], z[-1, -1], z[h // 2, 1], z[1, w // 2] = np.nan, np.inf, -np.inf, -0.0
    ids = ((xx // 5).astype(np.uint32) + (yy // 3).astype(np.uint32) * 1000) % 4099
    return {"R": half, "G": (half * 2).astype(np.float16), "B": (-half).astype(np.float16), "Z": z,
            "id": ids.astype(np.uint32)}


def _tiles(x, y, mode=OpenEXR.ONE_LEVEL):
    t = OpenEXR.TileDescription()
    t.xSize, t.ySize, t.mode = x, y, mode
    return t


@pytest.mark.parametrize("tiled", [False, True], ids=["scanline", "tiled"])
@pytest.mark.parametrize("codec", list(CODECS))
def test_codec_equals_openexr(tmp_path, codec, tiled):
    w, h = 67, 45  # odd sizes: partial chunks, tiles and B44 blocks
    win = (np.array([-3, 7], np.int32), np.array([-3 + w - 1, 7 + h - 1], np.int32))
    hdr = {"compression": CODECS[codec], "dataWindow": win,
           "displayWindow": (np.array([0, 0], np.int32), np.array([80, 60], np.int32))}
    if tiled:
        hdr.update(type=OpenEXR.tiledimage, tiles=_tiles(32, 16))
    path = write(tmp_path / f"{codec}.exr", [(hdr, _planes(w, h, 1))])
    plain = write(tmp_path / "plain.exr", [({**hdr, "compression": OpenEXR.NO_COMPRESSION}, _planes(w, h, 1))])
    # the codec's own path is exercised, not its stored-as-is fallback (OpenEXR 3.5 writes
    # tiled PIZ uncompressed, measured: test_piz_tiles_from_scanline_chunks covers those)
    if codec != "NONE" and not (tiled and codec == "PIZ"):
        assert os.path.getsize(path) < os.path.getsize(plain)
    ref, got = both(path)
    assert_identical(ref, got)
    ref, got = both(path, header_only=True)
    assert_identical(ref, got)
    ref, got = both(path, channels=["Z", "G"])
    assert_identical(ref, got)
    if codec not in LOSSY:  # lossless: the pixels written
        np.testing.assert_array_equal(got.get("G"), _planes(w, h, 1)["G"].astype(np.float32))


def test_piz_tiles_from_scanline_chunks(tmp_path):
    """Tiled PIZ with compressed tiles (OpenEXR 3.5's writer stores tiled PIZ as is): a 64-wide
    scanline PIZ file's 32-line chunks are 64x32 blocks of pixels, encoded as a 64x32 tile
    would be; they are moved into a tiled file's chunks (tiles 64x32, compression patched to
    PIZ), which OpenEXR decodes with its own PIZ decoder."""
    import struct

    from depth_cloud.core.exr.header import read_exr_header
    yy, xx = np.mgrid[0:96, 0:64].astype(np.float32)
    smooth = np.sin(xx / 9.0) * np.cos(yy / 11.0)
    planes = {"R": smooth.astype(np.float16), "G": (smooth * 0.5).astype(np.float16), "Z": (smooth * 4).round(2),
              "id": (xx // 4 + yy // 8).astype(np.uint32)}
    scan = write(tmp_path / "scan.exr", [({"compression": OpenEXR.PIZ_COMPRESSION}, planes)])
    tiled = write(tmp_path / "tiled_none.exr", [({"compression": OpenEXR.NO_COMPRESSION, "type": OpenEXR.tiledimage,
                                                  "tiles": _tiles(64, 32)}, planes)])
    sh, th = read_exr_header(scan), read_exr_header(tiled)
    sdata, tdata = open(scan, "rb").read(), open(tiled, "rb").read()
    offsets = np.frombuffer(sdata, "<u8", count=3, offset=sh.header_end)
    payloads = []
    for off in offsets.tolist():
        y, size = struct.unpack_from("<ii", sdata, off)
        payloads.append(sdata[off + 8:off + 8 + size])
    assert sum(map(len, payloads)) < 96 * 64 * (2 * 2 + 4 + 4)  # really compressed
    head = bytearray(tdata[:th.header_end])
    key = b"compression\0compression\0" + struct.pack("<i", 1)
    at = head.index(key) + len(key)
    head[at] = 4  # PIZ
    table_end = len(head) + 8 * 3
    chunks, table, pos = [], [], table_end
    for k, data in enumerate(payloads):
        chunks.append(struct.pack("<5i", 0, k, 0, 0, len(data)) + data)
        table.append(pos)
        pos += len(chunks[-1])
    path = tmp_path / "tiled_piz.exr"
    path.write_bytes(bytes(head) + np.array(table, "<u8").tobytes() + b"".join(chunks))
    ref, got = both(str(path))
    assert ref.headers[0]["compression"] == "PIZ_COMPRESSION"
    assert_identical(ref, got)
    np.testing.assert_array_equal(got.get("Z").view(np.uint32), planes["Z"].view(np.uint32))


@pytest.mark.parametrize("codec", ["PIZ", "RLE", "B44A"])
def test_big_chunks_many_lanes(tmp_path, codec):
    """Chunks long enough for many lanes of core.exr_codecs.chain_multi (a 1000-wide frame)."""
    w, h = 1001, 70
    rng = np.random.default_rng(2)
    planes = _planes(w, h, 3)
    planes["N"] = rng.standard_normal((h, w)).astype(np.float16)  # noise: long codes, literal runs
    path = write(tmp_path / "big.exr", [({"compression": CODECS[codec]}, planes)])
    ref, got = both(path)
    assert_identical(ref, got)


def test_multipart_multiview_windows(tmp_path):
    """A multipart stereo file, each part in another codec and data window."""
    parts = []
    for k, (codec, view) in enumerate([("PIZ", "right"), ("RLE", "left"), ("B44A", "right"), ("PXR24", "left"),
                                       ("ZIP", None)]):
        w, h = 40 + 3 * k, 30 - 2 * k
        win = (np.array([k, 2 * k], np.int32), np.array([k + w - 1, 2 * k + h - 1], np.int32))
        hdr = {"compression": CODECS[codec], "dataWindow": win, "name": f"p{k}",
               "displayWindow": (np.array([0, 0], np.int32), np.array([63, 47], np.int32))}
        if view:
            hdr["view"] = view
        if k == 3:
            hdr.update(type=OpenEXR.tiledimage, tiles=_tiles(16, 16))
        planes = _planes(w, h, k)
        parts.append((hdr, {n: planes[n] for n in ("R", "G", "B", "Z")} if view else {"disparity.x": planes["Z"]}))
    path = write(tmp_path / "mp.exr", parts)
    for view in (None, "left", "right"):
        ref, got = both(path, view=view)
        assert_identical(ref, got)
        ref, got = both(path, view=view, channels=["Z", "R"])
        assert_identical(ref, got)


@pytest.mark.parametrize("mode", [OpenEXR.MIPMAP_LEVELS, OpenEXR.RIPMAP_LEVELS], ids=["mipmap", "ripmap"])
def test_tiled_levels_read_level_zero(tmp_path, mode, safe_reader):
    """Level 0 of a mip/ripmapped part (its tiles come first in the offset table). The
    bindings write level 0 only and leave the other levels' table empty (OpenEXR's own read
    then refuses the file, measured): the safe reader gives level 0, the pixels written."""
    planes = _planes(50, 34, 5)
    hdr = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.tiledimage, "tiles": _tiles(16, 16, mode)}
    path = write(tmp_path / "levels.exr", [(hdr, planes)])
    got = read_exr(path)
    for name, values in planes.items():
        np.testing.assert_array_equal(got.get(name), values.astype(np.float32), err_msg=name)


@pytest.mark.parametrize("tiled", [False, True], ids=["deepscanline", "deeptile"])
@pytest.mark.parametrize("codec", ["NONE", "RLE", "ZIPS"])
def test_deep_parts_equal_deep_read(tmp_path, codec, tiled):
    from depth_cloud.core.points.deep import write_deep_exr
    rng = np.random.default_rng(7)
    h, w = 29, 37
    counts = rng.integers(0, 4, (h, w)).astype(np.int32)
    counts[:5, :9] = 0
    n = int(counts.sum())
    chans = {c: rng.random(n).astype(np.float16) for c in "RGB"}
    chans["A"] = np.ones(n, np.float16)
    chans["Z"] = (rng.random(n) * 10).astype(np.float32)
    path = write_deep_exr(tmp_path / "deep.exr", counts, chans, tiled=tiled, compression=CODECS[codec])
    ref, got = both(path)
    assert_identical(ref, got)
    np.testing.assert_array_equal(got.deep[0].counts, counts)
    for name, values in chans.items():
        np.testing.assert_array_equal(got.deep[0].channels[name], values)


@pytest.mark.parametrize("codec", ["DWAA", "DWAB"])
def test_codec_not_decoded_goes_to_a_child_process(tmp_path, codec):
    """DWAA/DWAB: OpenEXR in a child process (``sys.executable``) reads the file; the pixels
    are exactly OpenEXR's."""
    planes = _planes(40, 20, 0)
    parts = [({"compression": getattr(OpenEXR, f"{codec}_COMPRESSION"), "name": "dwa"}, planes),
             ({"compression": OpenEXR.PIZ_COMPRESSION, "name": "piz"}, {"Y": planes["Z"]})]
    path = write(tmp_path / "dwa.exr", parts)
    ref, got = both(path)
    assert_identical(ref, got)
    ref, got = both(path, channels=["Y", "R"])
    assert_identical(ref, got)


def test_codec_not_decoded_without_a_child_is_a_typed_error(tmp_path, safe_reader, monkeypatch):
    from depth_cloud.core.exr import safe as exr_safe
    monkeypatch.setattr(exr_safe, "openexr_module_dir", lambda: None)
    planes = _planes(40, 20, 0)
    path = write(tmp_path / "dwa.exr", [({"compression": OpenEXR.DWAA_COMPRESSION}, planes)])
    with pytest.raises(SourceFileError, match=r"dwa\.exr: part 0 uses DWAA compression.*re-save it with ZIP or PIZ"):
        read_exr(path)
    assert read_exr(path, header_only=True).headers[0]["compression"] == "DWAA_COMPRESSION"  # headers still read


# ------------------------------------------------------------------ stream primitives
@pytest.mark.parametrize("n", [1, 300, 5000, 200000])
def test_chain_matches_a_plain_walk(n):
    rng = np.random.default_rng(n)
    for step in (rng.integers(1, 20, n), np.full(n, 3), rng.integers(1, 3, n)):
        cuts = np.sort(rng.choice(np.arange(1, n), min(9, n - 1), replace=False)) if n > 1 else np.array([], int)
        starts, ends = np.r_[0, cuts], np.r_[cuts, n]
        want, seg = [], []
        for i, (a, b) in enumerate(zip(starts, ends)):
            p = a
            while p < b:
                want.append(p)
                seg.append(i)
                p += step[p]
        pos, got_seg = exr_codecs.chain_multi(step, starts, ends)
        assert pos.tolist() == want and got_seg.tolist() == seg


def test_rle_expand_matches_a_plain_loop():
    rng = np.random.default_rng(9)
    data = bytearray()
    want = bytearray()
    for _ in range(3000):
        if rng.random() < 0.5:
            k = int(rng.integers(1, 128))
            lit = bytes(rng.integers(0, 256, k, dtype=np.uint8))
            data += bytes([256 - k]) + lit
            want += lit
        else:
            k = int(rng.integers(0, 128))
            v = int(rng.integers(0, 256))
            data += bytes([k, v])
            want += bytes([v]) * (k + 1)
    assert exr_codecs.rle_expand(bytes(data)).tobytes() == bytes(want)
    with pytest.raises(exr_codecs.CorruptChunk):
        exr_codecs.rle_expand(bytes(data[:-1]))


# ------------------------------------------------------------------ damaged files
@pytest.mark.parametrize("codec", list(CODECS))
def test_damaged_files_typed_errors_never_a_crash(tmp_path, codec, safe_reader):
    """Cut and bit-flipped copies: the safe reader raises a DepthCloudError naming the file or
    gives frames of the right shapes (a flipped bit inside pixel data can decode to other
    values), never another exception."""
    w, h = 61, 47
    path = write(tmp_path / f"{codec}.exr", [({"compression": CODECS[codec]}, _planes(w, h, 2))])
    outcomes = []
    for p in damaged_copies(tmp_path, path, 10):
        try:
            f = read_exr(p)
        except DepthCloudError as err:
            assert os.path.basename(p) in str(err)
            outcomes.append("error")
            continue
        for name, ch in f.channels.items():
            assert ch.pixels.shape == (h, w), (p, name)
        outcomes.append("read")
    assert outcomes.count("error") >= 4  # the cut files at least


# ------------------------------------------------------------------ real files
REAL = sorted(glob.glob(os.path.join(DATA, "**", "*.exr"), recursive=True))


@pytest.mark.skipif(not REAL, reason="../shared/data/openexr-images is absent (real sample files)")
@pytest.mark.parametrize("path", REAL, ids=[os.path.relpath(p, DATA) for p in REAL])
def test_real_files_equal_openexr(path):
    try:
        os.environ[exr_host.ENV] = "openexr"
        read_exr(path)
    except DepthCloudError:
        os.environ.pop(exr_host.ENV, None)
        with pytest.raises(DepthCloudError):
            both(path)
        return
    finally:
        os.environ.pop(exr_host.ENV, None)
    ref, got = both(path)
    assert_identical(ref, got)
    ref, got = both(path, header_only=True)
    assert_identical(ref, got)


# ------------------------------------------------------------------ PIZ and RLE: a child process first
@pytest.mark.parametrize("codec", ["PIZ", "RLE"])
def test_child_first(tmp_path, codec, monkeypatch):
    """PIZ and RLE parts go to OpenEXR in a child process first (faster than the decoders
    here); without a child, or when it gives a part back wrong, the decoders here read it:
    the same pixels every way."""
    from depth_cloud.core.exr import safe as exr_safe
    monkeypatch.setattr(exr_safe, "CHILD_FIRST", (exr_safe.codecs.RLE, exr_safe.codecs.PIZ))
    w, h = 67, 45
    path = write(tmp_path / f"{codec}.exr", [({"compression": CODECS[codec]}, _planes(w, h, 2))])
    calls = []
    real = exr_safe.child_read

    def counted(*args):
        calls.append(args[2])
        return real(*args)
    monkeypatch.setattr(exr_safe, "child_read", counted)
    ref, got = both(path, channels=["Z", "R"])
    assert_identical(ref, got)
    assert len(calls) == 1 and list(calls[0]) == [0] and set(calls[0][0]) == {"Z", "R"}  # the child read it
    # a child that hands back a wrong shape: the decoders here read the part instead
    monkeypatch.setattr(exr_safe, "child_read", lambda *a: {0: {"Z": np.zeros((2, 2), np.float32),
                                                                  "R": np.zeros((2, 2), np.float32)}})
    ref, got = both(path, channels=["Z", "R"])
    assert_identical(ref, got)
    # no child at all
    monkeypatch.setattr(exr_safe, "openexr_module_dir", lambda: None)
    monkeypatch.setattr(exr_safe, "child_read", real)
    ref, got = both(path)
    assert_identical(ref, got)
