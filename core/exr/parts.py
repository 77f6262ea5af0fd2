"""Reading only the parts and channels a build uses, for scanline EXRs with NONE, ZIPS or
ZIP compression (what Blender writes by default): numpy + zlib from the standard library.

OpenEXR's Python ``File`` decodes every part and channel of a file: a 1080p render with 16
passes costs ~10x the same frame with Combined + Z. This module reads the file's offset
tables itself and decodes only the chunks of the parts that hold the wanted channels, on all
cores (``zlib.decompress`` releases the GIL). Everything else (PIZ, DWAA/DWAB, B44, PXR24,
RLE, tiled, deep, subsampled channels) is :class:`Unsupported`, and :func:`core.exr.read_exr`
then reads the file with OpenEXR as before.

The file's headers are parsed once, by ``core.exr_header`` in ``core.exr.read_exr`` (the
same read that finds the views and the damaged parts and lets the build choose its
channels); this module takes that parse (:func:`layout_from_header`) and adds only the
offset tables. The attribute dicts a build sees come from OpenEXR (``header_only=True``), so
they are exactly what a full read gives. A damaged file is never guessed at: any inconsistency (offset outside the file,
chunk for the wrong part or line, wrong decompressed size, zlib error) raises
:class:`Damaged`, and the caller lets OpenEXR's full read decide (it repairs some files and
raises on the others), so both readers give the same pixels or the same error.
"""
from __future__ import annotations

import mmap
import os
import struct
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ..errors import SourceFileError
from . import groups as exr_groups
from . import noise as exr_noise
from . import threads as exr_threads
from .half import to_float32
from .header import COMPRESSIONS, read_exr_header

MAGIC = 20000630
NONE, RLE, ZIPS, ZIP = 0, 1, 2, 3
SUPPORTED = {NONE: 1, ZIPS: 1, ZIP: 16}  # compression -> scanlines per chunk (this module's decoder)
#: Scanlines per chunk of every codec (OpenEXR's ``getCompressionNumScanlines``): NONE, RLE,
#: ZIPS, ZIP, PIZ, PXR24, B44, B44A, DWAA, DWAB, HTJ2K256, HTJ2K32.
LINES = {0: 1, 1: 1, 2: 1, 3: 16, 4: 32, 5: 16, 6: 32, 7: 32, 8: 32, 9: 256, 10: 256, 11: 32}
_DTYPES = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}  # UINT, HALF, FLOAT
_TILED, _LONG_NAMES, _DEEP, _MULTIPART = 0x200, 0x400, 0x800, 0x1000


class Unsupported(Exception):
    """The file uses a layout this reader does not decode (OpenEXR reads it instead)."""


class Damaged(Exception):
    """The file is inconsistent; OpenEXR's full read decides what to do with it."""


@dataclass
class PartLayout:
    index: int
    channels: list  # [(name, pixel type)] in file (sorted) order
    data_window: tuple  # (xmin, ymin, xmax, ymax)
    compression: int
    storage: str = "scanlineimage"
    sampled: bool = False  # some channel has x/y sampling != 1
    chunk_count: int | None = None
    offsets: np.ndarray | None = None
    header_span: tuple = (0, 0)  # byte range of this part's header (with its closing null)

    @property
    def size(self):
        return self.data_window[2] - self.data_window[0] + 1, self.data_window[3] - self.data_window[1] + 1


@dataclass
class FileLayout:
    path: str
    multipart: bool
    parts: list = field(default_factory=list)
    problem: str = ""  # why the file cannot be read here ("" = supported)
    version: int = 2


_PIXEL_TYPES = {"uint": 0, "half": 1, "float": 2}
_COMPRESSIONS = {name: code for code, name in COMPRESSIONS.items()}


def layout_from_header(header, buf) -> FileLayout:
    """This reader's view of a file whose headers ``core.exr_header.read_exr_header`` parsed
    (``header``: the one header read of a build): per part the channels with pixel types, data
    window, compression, header bytes, and the chunk offset table read from ``buf``."""
    word = header.version | header.flags
    layout = FileLayout(header.path, header.multipart, version=word)
    if word & _DEEP:
        layout.problem = "deep data"
    elif word & _TILED:
        layout.problem = "tiled"
    for index, ph in enumerate(header.parts):
        attrs = ph.attributes
        count = attrs.get("chunkCount")
        layout.parts.append(PartLayout(
            index, [(c.name, _PIXEL_TYPES.get(c.pixel_type, -1)) for c in ph.channels], tuple(ph.data_window),
            _COMPRESSIONS.get(attrs.get("compression"), -1), ph.storage or "scanlineimage",
            any((c.x_sampling, c.y_sampling) != (1, 1) for c in ph.channels),
            count if isinstance(count, int) else None, header_span=tuple(ph.span)))
    pos = header.header_end
    for part in layout.parts:
        if part.storage != "scanlineimage":
            layout.problem = layout.problem or part.storage
        lines = LINES.get(part.compression, 32)
        w, h = part.size
        if w <= 0 or h <= 0:
            raise Damaged(f"part {part.index} has an empty data window {part.data_window}")
        count = part.chunk_count if part.chunk_count is not None else -(-h // lines)
        if count < 0 or pos + 8 * count > len(buf):
            raise Damaged(f"offset table of part {part.index} runs past the end of the file")
        part.offsets = np.frombuffer(buf, dtype="<u8", count=count, offset=pos).astype(np.int64)
        pos += 8 * count
    return layout


def read_layout(path: str, buf) -> FileLayout:
    """:func:`layout_from_header` of the file at ``path`` (mapped in ``buf``)."""
    try:
        header = read_exr_header(path)
    except SourceFileError as err:
        raise Damaged(str(err)) from err
    return layout_from_header(header, buf)


def _unsupported_reason(part: PartLayout) -> str:
    if part.compression not in SUPPORTED:
        return f"compression {part.compression}"
    if part.sampled:
        return "subsampled channels"
    if any(t not in _DTYPES for _, t in part.channels):
        return "unknown pixel type"
    return ""


_EVEN = np.uint64(0x00FF00FF00FF00FF)
_LANES = np.uint64(0x0001000100010001)
_ODD_TOP = np.uint64(0x8000800080008000)
_S8, _S16, _S48 = np.uint64(8), np.uint64(16), np.uint64(48)


class _Scratch(threading.local):
    """Work buffers reused per thread: fresh large arrays cost page faults on every chunk
    (about as much as the arithmetic itself)."""

    words = 0

    def get(self, nwords):
        if nwords > self.words:
            self.words = nwords
            self.bytes_in = np.zeros(nwords * 8, np.uint8)
            self.result = np.empty(nwords * 8, np.uint8)
            self.w = [np.empty(nwords, np.uint64) for _ in range(5)]
            self.b = [np.empty(nwords, np.uint8) for _ in range(2)]
        return self


_SCRATCH = _Scratch()


def _byte_prefix_sums(s, nwords):
    """Running sums mod 256 of ``s.bytes_in[:8 nwords]``, with the top bit of odd bytes
    flipped, eight bytes at a time: even and odd bytes go to 16-bit lanes of a uint64, where a
    multiplication by 0x0001000100010001 sums the lanes below each lane without overflow; the
    words are then chained by the running sum of their last bytes (8x shorter). Returns a
    uint64 view of the scratch buffers."""
    x = s.bytes_in[:nwords * 8].view("<u8")
    even, odd, low, high, tmp = (w[:nwords] for w in s.w)
    total, carry = (b[:nwords] for b in s.b)
    np.bitwise_and(x, _EVEN, out=even)
    np.right_shift(x, _S8, out=odd)
    np.bitwise_and(odd, _EVEN, out=odd)
    np.multiply(even, _LANES, out=even)
    np.multiply(odd, _LANES, out=odd)
    np.left_shift(odd, _S16, out=low)
    np.add(low, even, out=low)
    np.bitwise_and(low, _EVEN, out=low)  # bytes 0, 2, 4, 6: their sums within the word
    np.add(even, odd, out=high)
    np.bitwise_and(high, _EVEN, out=high)  # bytes 1, 3, 5, 7
    np.right_shift(high, _S48, out=tmp)
    np.copyto(total, tmp, casting="unsafe")  # each word's byte sum
    carry[0] = 0
    np.cumsum(total[:-1], dtype=np.uint8, out=carry[1:])
    np.multiply(carry, _LANES, out=tmp)
    np.add(low, tmp, out=low)
    np.bitwise_and(low, _EVEN, out=low)
    np.add(high, tmp, out=high)
    np.bitwise_and(high, _EVEN, out=high)
    np.left_shift(high, _S8, out=high)
    np.bitwise_or(low, high, out=low)
    np.bitwise_xor(low, _ODD_TOP, out=low)
    return low


def undo_zip(raw) -> np.ndarray:
    """OpenEXR's ZIP predictor and byte interleave undone, vectorised. The predictor stores
    ``d[i] = p[i] - p[i-1] + 128``, so ``p[i] = sum(d[:i+1]) - 128 i``: the running byte sum
    with the top bit flipped at odd ``i``. Returns a view of this thread's scratch buffer,
    valid until its next call."""
    n = len(raw)
    nwords = -(-n // 8)
    s = _SCRATCH.get(nwords)
    s.bytes_in[:n] = np.frombuffer(raw, dtype=np.uint8)
    s.bytes_in[n:nwords * 8] = 0
    p = _byte_prefix_sums(s, nwords).view(np.uint8)[:n]
    out = s.result[:n]
    half = (n + 1) // 2
    out[0::2] = p[:half]
    out[1::2] = p[half:]
    return out


def _decode_part(buf, layout: FileLayout, part: PartLayout, wanted, pool, chunks=None) -> dict:
    """``name -> (h, w) float32`` of the ``wanted`` channels of ``part``, each chunk decoded
    and its channels written straight into the planes. ``chunks``: only these chunk numbers
    (ascending), their lines stacked in that order (``(lines of those chunks, w)`` planes)."""
    w, h = part.size
    cols, col = [], 0
    for name, ptype in part.channels:
        dt = _DTYPES[ptype]
        if name in wanted:
            cols.append((name, dt, col, w * dt.itemsize))
        col += w * dt.itemsize
    line_bytes = col
    lines = SUPPORTED[part.compression]
    head = 12 if layout.multipart else 8
    ymin = part.data_window[1]
    n = len(buf)
    offsets = part.offsets
    expected = -(-h // lines)
    if len(offsets) != expected:
        raise Damaged(f"part {part.index} has {len(offsets)} chunks, its data window needs {expected}")
    ks = list(range(expected)) if chunks is None else [int(k) for k in chunks]
    first_row, out_rows = {}, 0  # chunk number -> its first row in the planes
    for k in ks:
        first_row[k] = out_rows
        out_rows += min(lines, h - k * lines)
    planes = channel_planes(cols, out_rows, w)
    offsets = offsets[ks] if chunks is not None else offsets
    if np.any(offsets < 8) or np.any(offsets + head > n):
        raise Damaged(f"part {part.index}: a chunk offset lies outside the file")
    mv = memoryview(buf)

    def one(offset):
        offset = int(offset)
        if layout.multipart:
            pnum, y, size = struct.unpack_from("<iii", buf, offset)
            if pnum != part.index:
                raise Damaged(f"chunk at {offset} belongs to part {pnum}, not {part.index}")
        else:
            y, size = struct.unpack_from("<ii", buf, offset)
        k, rem = divmod(y - ymin, lines)
        if rem or k not in first_row:
            raise Damaged(f"part {part.index}: chunk at {offset} starts at line {y}")
        nlines = min(lines, h - k * lines)
        want = nlines * line_bytes
        start = offset + head
        if size <= 0 or start + size > n:
            raise Damaged(f"part {part.index}: chunk of line {y} runs past the end of the file")
        data = mv[start:start + size]
        if size < want and part.compression != NONE:
            try:
                raw = zlib.decompress(data)
            except zlib.error as err:
                raise Damaged(f"part {part.index}: chunk of line {y}: {err}") from err
            if len(raw) != want:
                raise Damaged(f"part {part.index}: chunk of line {y} holds {len(raw)} bytes, needs {want}")
            block = undo_zip(raw)
        elif size == want:
            block = np.frombuffer(data, dtype=np.uint8)
        else:
            raise Damaged(f"part {part.index}: chunk of line {y} holds {size} bytes, needs {want}")
        block = block.reshape(nlines, line_bytes)
        r0 = first_row[k]
        for name, dt, c0, nbytes in cols:
            to_float32(block[:, c0:c0 + nbytes].view(dt), out=planes[name][r0:r0 + nlines])
        return k

    if not cols:
        return planes
    if chunks is None and part.compression == NONE and \
            _uncompressed_block(buf, layout, part, head, line_bytes, cols, planes):
        return planes
    got = list(pool.map(one, offsets)) if pool is not None else [one(o) for o in offsets]
    if set(got) != set(ks):
        raise Damaged(f"part {part.index}: {len(set(ks) - set(got))} chunks are missing")
    return planes


def channel_planes(cols, h: int, w: int) -> dict:
    """Float32 (h, w) planes of the wanted channels; a wanted ``<prefix>.R/G/B`` (+ ``A``)
    group is made as views of one interleaved (h, w, 3|4) array, as OpenEXR's grouped read
    gives it (``core.exr_groups``), so its colors need no interleaving later."""
    names = [name for name, _, _, _ in cols]
    planes = {}
    for members in exr_groups.color_groups(names):
        group = np.empty((h, w, len(members)), np.float32)
        planes.update({m: group[..., k] for k, m in enumerate(members)})
    for name in names:
        if name not in planes:
            planes[name] = np.empty((h, w), np.float32)
    return {name: planes[name] for name in names}


def _uncompressed_block(buf, layout: FileLayout, part: PartLayout, head: int, line_bytes: int, cols,
                        planes) -> bool:
    """Uncompressed scanlines stored one after another (as writers lay them out): every line
    of the part read at once through one strided view of the file, its chunk headers checked
    all at once. False (nothing written) when the lines are not laid out so."""
    w, h = part.size
    offsets = part.offsets.astype(np.int64)
    stride = head + line_bytes
    first = int(offsets[0])
    if len(offsets) != h or first + h * stride > len(buf) or \
            not np.array_equal(offsets, first + stride * np.arange(h, dtype=np.int64)):
        return False
    records = np.frombuffer(buf, dtype=np.uint8, count=h * stride, offset=first).reshape(h, stride)
    fields = records[:, :head].copy().view("<i4")  # (part number,) line, size per chunk
    ymin = part.data_window[1]
    if not np.array_equal(fields[:, -2], ymin + np.arange(h)) or np.any(fields[:, -1] != line_bytes) or \
            (layout.multipart and np.any(fields[:, 0] != part.index)):
        return False  # the per-chunk reader names what is wrong
    for name, dt, c0, nbytes in cols:
        to_float32(records[:, head + c0:head + c0 + nbytes].view(dt), out=planes[name])
    return True


def remux(buf, layout: FileLayout, indices) -> list:
    """A multipart EXR holding only the parts ``indices`` of ``buf``, byte for byte (headers
    and compressed chunks copied, chunk part numbers and offsets renumbered): OpenEXR then
    decodes just those, with its own codecs (PIZ, DWAA… included) and threads. Returned as
    its pieces in order (the chunks as views of ``buf``: written out with one copy)."""
    if not layout.multipart:
        raise Unsupported("single-part file")
    parts = [layout.parts[i] for i in indices]
    pieces = [struct.pack("<iI", MAGIC, layout.version)]
    pieces += [bytes(buf[p.header_span[0]:p.header_span[1]]) for p in parts]
    pieces.append(b"\0")
    table_at = sum(len(x) for x in pieces)
    pos = table_at + 8 * sum(len(p.offsets) for p in parts)
    n = len(buf)
    mv = memoryview(buf)
    tables, chunks = [], []
    for new_index, p in enumerate(parts):
        if p.storage not in ("scanlineimage", "tiledimage"):
            raise Unsupported(p.storage)
        lead = 12 if p.storage == "scanlineimage" else 24  # part, y (tile x, y, level x, y), size
        offsets = p.offsets
        if len(offsets) and (offsets.min() < 8 or offsets.max() + lead > n):
            raise Damaged(f"part {p.index}: a chunk offset lies outside the file")
        new = np.empty(len(offsets), np.uint64)
        for k, off in enumerate(offsets.tolist()):
            pnum = struct.unpack_from("<i", buf, off)[0]
            size = struct.unpack_from("<i", buf, off + lead - 4)[0]
            if pnum != p.index or size < 0 or off + lead + size > n:
                raise Damaged(f"part {p.index}: chunk at byte {off} is damaged")
            new[k] = pos
            chunks.append(struct.pack("<i", new_index))
            chunks.append(mv[off + 4:off + lead + size])
            pos += lead + size
        tables.append(new.astype("<u8").tobytes())
    return pieces + tables + chunks


def _write(fd, pieces):
    """Write ``pieces`` (bytes and views of the mapped file) to the open file ``fd``, then
    let the views go (the map can only close once they are gone)."""
    try:
        with os.fdopen(fd, "wb") as out:
            out.writelines(pieces)
    finally:
        for piece in pieces:
            if isinstance(piece, memoryview):
                piece.release()


def _temp_dir():
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def _parts_by_openexr(buf, layout: FileLayout, per_part: dict, open_exr) -> dict:
    """The chosen parts decoded by OpenEXR (``open_exr(path, [[(channel, pixel type)] per part])
    -> OpenEXR.File``, color groups read interleaved where the types allow) from a
    remuxed copy of just those parts (written to a temporary file: the bindings read paths)."""
    import tempfile
    indices = sorted(per_part)
    data = remux(buf, layout, indices)
    fd, tmp = tempfile.mkstemp(suffix=".exr", prefix="depth_cloud_", dir=_temp_dir())
    try:
        _write(fd, data)
        del data
        got = list(open_exr(tmp, [layout.parts[i].channels for i in indices]).parts)
    except Exception as err:  # the bindings raise RuntimeError, ValueError…: damaged chunks
        raise Damaged(f"OpenEXR could not decode the chosen parts ({exr_noise.clean(err)})") from err
    finally:
        os.unlink(tmp)
    if len(got) != len(indices):
        raise Damaged(f"{len(got)} of {len(indices)} parts came back")
    result = {}
    for new_index, original in enumerate(indices):
        w, h = layout.parts[original].size
        planes = {}
        channels = exr_groups.part_channels(got[new_index], [name for name, _ in layout.parts[original].channels])
        if channels is None:  # read channel by channel: groups that map onto no header names
            channels = {n: getattr(c, "pixels", None) for n, c in got[new_index].channels.items()}
        for name in per_part[original]:
            px = channels.get(name)
            if px is None or getattr(px, "shape", None) != (h, w):
                raise Damaged(f"channel {name!r} came back with {getattr(px, 'shape', None)} pixels")
            planes[name] = px if px.dtype == np.float32 else to_float32(px)
        result[original] = planes
    return result


#: Row bands a check reads (:func:`read_row_bands`): this many, evenly spread over the data
#: window, each of whole chunks and at least ``BAND_LINES`` lines (one chunk of ZIP, 16 of ZIPS).
BANDS = 8
BAND_LINES = 16


def band_chunks(count: int, lines: int, bands: int = BANDS) -> list:
    """The row bands of a part of ``count`` chunks of ``lines`` scanlines: lists of
    consecutive chunk numbers, ascending, ``bands`` of them (fewer when they would cover more
    than half the chunks, at least one) evenly spread from the first chunk to the last."""
    per = min(count, max(1, -(-BAND_LINES // lines)))
    n = min(bands, max(1, -(-count // (2 * per))))
    starts = np.linspace(0, count - per, n).round().astype(int).tolist()
    chunks = sorted({k for s in starts for k in range(s, s + per)})
    runs = []
    for k in chunks:
        if runs and runs[-1][-1] == k - 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    return runs


def _band_header(raw: bytes, window, name: str, chunks: int) -> bytes:
    """The part header ``raw`` (its closing null included) for a part of the data window
    ``window`` = ``(xmin, ymin, xmax, ymax)`` holding ``chunks`` chunks: ``dataWindow``,
    ``name``, ``type`` and ``chunkCount`` set, every other attribute copied byte for byte."""
    attrs, pos = [], 0
    try:
        while raw[pos] != 0:
            end = raw.index(b"\0", pos)
            key = raw[pos:end]
            tend = raw.index(b"\0", end + 1)
            kind = raw[end + 1:tend]
            (size,) = struct.unpack_from("<i", raw, tend + 1)
            value = raw[tend + 5:tend + 5 + size]
            if size < 0 or len(value) != size:
                raise Damaged("a header attribute runs past its header")
            attrs.append([key, kind, value])
            pos = tend + 5 + size
    except (IndexError, ValueError, struct.error) as err:
        raise Damaged(f"damaged part header ({err})") from err
    set_to = {b"dataWindow": (b"box2i", struct.pack("<4i", *window)), b"name": (b"string", name.encode()),
              b"type": (b"string", b"scanlineimage"), b"chunkCount": (b"int", struct.pack("<i", chunks))}
    attrs = [a for a in attrs if a[0] not in set_to] + [[k, t, v] for k, (t, v) in set_to.items()]
    return b"".join(k + b"\0" + t + b"\0" + struct.pack("<i", len(v)) + v for k, t, v in attrs) + b"\0"


def remux_bands(buf, layout: FileLayout, part: PartLayout, runs) -> list:
    """A multipart EXR of one part per run of consecutive chunks ``runs`` of the scanline
    ``part`` (from a single- or a multipart file): each part's data window covers just the
    lines of its chunks, the chunks copied byte for byte (so OpenEXR decodes them with its own
    codec), chunk part numbers and offsets renumbered. Returned as its pieces, like
    :func:`remux`."""
    lines = LINES[part.compression]
    xmin, ymin, xmax, ymax = part.data_window
    raw = bytes(buf[part.header_span[0]:part.header_span[1]])
    head = 12 if layout.multipart else 8
    n = len(buf)
    headers, leaders = [], []
    for run in runs:
        y0 = ymin + run[0] * lines
        window = (xmin, y0, xmax, min(ymax, ymin + (run[-1] + 1) * lines - 1))
        headers.append(_band_header(raw, window, f"rows {y0}", len(run)))
        for k in run:
            off = int(part.offsets[k])
            if off < 8 or off + head > n:
                raise Damaged(f"part {part.index}: a chunk offset lies outside the file")
            if layout.multipart:
                pnum, y, size = struct.unpack_from("<iii", buf, off)
                if pnum != part.index:
                    raise Damaged(f"chunk at {off} belongs to part {pnum}, not {part.index}")
            else:
                y, size = struct.unpack_from("<ii", buf, off)
            if y != ymin + k * lines or size <= 0 or off + head + size > n:
                raise Damaged(f"part {part.index}: chunk {k} at byte {off} is damaged")
            leaders.append((len(headers) - 1, y, off + head, size))
    word = (layout.version & 0xFF) | _MULTIPART | (layout.version & _LONG_NAMES)
    pieces = [struct.pack("<iI", MAGIC, word)] + headers + [b"\0"]
    pos = sum(len(x) for x in pieces) + 8 * len(leaders)
    table, body = [], []
    mv = memoryview(buf)
    for new_index, y, start, size in leaders:
        table.append(pos)
        body += [struct.pack("<iii", new_index, y, size), mv[start:start + size]]
        pos += 12 + size
    return pieces + [np.array(table, "<u8").tobytes()] + body


def _bands_by_openexr(buf, layout: FileLayout, part: PartLayout, runs, names, open_exr) -> dict:
    """``name -> (rows, w) float32``: the chunk runs ``runs`` of ``part`` decoded by OpenEXR
    from :func:`remux_bands`' copies (temporary files: the bindings read paths). The bindings
    decode the parts of one file one after the other, each band on one thread: the bands are
    split over one file per core, decoded side by side (the bindings release the GIL)."""
    import tempfile
    files = max(1, min(len(runs), _threads([part])))
    groups = [runs[i * len(runs) // files:(i + 1) * len(runs) // files] for i in range(files)]
    paths = []

    def decode(group):
        data = remux_bands(buf, layout, part, group)
        fd, tmp = tempfile.mkstemp(suffix=".exr", prefix="depth_cloud_rows_", dir=_temp_dir())
        paths.append(tmp)
        _write(fd, data)
        del data
        return list(open_exr(tmp).parts)

    try:
        if files > 1:
            with ThreadPoolExecutor(files) as pool:
                got = [p for parts in pool.map(decode, groups) for p in parts]
        else:
            got = decode(groups[0])
    except Damaged:
        raise
    except Exception as err:  # the bindings raise RuntimeError, ValueError…: damaged chunks
        raise Damaged(f"OpenEXR could not decode the chosen rows ({exr_noise.clean(err)})") from err
    finally:
        for tmp in paths:
            os.unlink(tmp)
    if len(got) != len(runs):
        raise Damaged(f"{len(got)} of {len(runs)} row bands came back")
    w, h = part.size
    lines = LINES[part.compression]
    planes = {}
    for name in names:
        bands = []
        for run, got_part in zip(runs, got):
            px = getattr(got_part.channels.get(name), "pixels", None)
            want = (min(h, (run[-1] + 1) * lines) - run[0] * lines, w)
            if px is None or getattr(px, "shape", None) != want:
                raise Damaged(f"channel {name!r} came back with {getattr(px, 'shape', None)} pixels, not {want}")
            bands.append(px)
        planes[name] = np.concatenate(bands).astype(np.float32, copy=False)
    return planes


def read_row_bands(header, index: int, names, open_exr, bands: int = BANDS, reader: str = "auto"):
    """``(rows, {name: (len(rows), w) float32})``: the channels ``names`` of part ``index``
    of the file whose headers are ``header`` (``core.exr_header.ExrHeader``), only in the row
    bands of :func:`band_chunks` (whole chunks: ``rows`` are their rows within the data
    window, ascending; the whole window for a part of few chunks).

    ``reader``: ``"numpy"`` (this module's decoder: NONE/ZIPS/ZIP), ``"parts"`` (OpenEXR on
    :func:`remux_bands`' copy: any scanline codec) or ``"auto"`` (numpy for NONE, where it
    copies the rows straight from the file, else OpenEXR). Raises :class:`Unsupported`
    (tiled, deep, subsampled, unknown codec: the caller reads the whole channel) or
    :class:`Damaged` (likewise: OpenEXR's full read decides)."""
    with open(header.path, "rb") as fh:
        try:
            buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError as err:  # empty file
            raise Damaged(str(err)) from err
    try:
        layout = layout_from_header(header, buf)
        part = layout.parts[index]
        if layout.problem or part.storage != "scanlineimage":
            raise Unsupported(layout.problem or part.storage)
        if part.sampled or part.compression not in LINES:
            raise Unsupported("subsampled channels" if part.sampled else f"compression {part.compression}")
        lines = LINES[part.compression]
        w, h = part.size
        count = -(-h // lines)
        if len(part.offsets) != count:
            raise Damaged(f"part {part.index} has {len(part.offsets)} chunks, its data window needs {count}")
        runs = band_chunks(count, lines, bands)
        chunks = [k for run in runs for k in run]
        rows = np.concatenate([np.arange(k * lines, min(h, (k + 1) * lines)) for k in chunks])
        if reader == "auto":
            reader = "numpy" if part.compression == NONE and not _unsupported_reason(part) else "parts"
        if reader == "numpy":
            reason = _unsupported_reason(part)
            if reason:
                raise Unsupported(reason)
            threads = _threads([part])
            pool = ThreadPoolExecutor(threads) if threads > 1 else None
            try:
                planes = _decode_part(buf, layout, part, set(names), pool, chunks)
            finally:
                if pool is not None:
                    pool.shutdown()
        elif reader == "parts":
            planes = _bands_by_openexr(buf, layout, part, runs, names, open_exr)
        else:
            raise Unsupported(f"reader {reader!r}")
        return rows, planes
    finally:
        try:
            buf.close()
        except BufferError:  # a view is still alive somewhere; the map closes when it goes
            pass


def _threads(parts) -> int:
    """Decode threads of one read (``core.exr.threads``: a read-ahead worker may ask for fewer)."""
    return exr_threads.decode_threads(any(p.compression != NONE for p in parts))


def _parts_by_numpy(buf, layout: FileLayout, per_part: dict) -> dict:
    parts = [layout.parts[i] for i in sorted(per_part)]
    if layout.problem:
        raise Unsupported(layout.problem)
    for p in parts:
        reason = _unsupported_reason(p)
        if reason:
            raise Unsupported(reason)
    threads = _threads(parts)
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    try:
        return {p.index: _decode_part(buf, layout, p, per_part[p.index], pool) for p in parts}
    finally:
        if pool is not None:
            pool.shutdown()


def pick_reader(layout: FileLayout, per_part: dict) -> str:
    """The reader that measured fastest for these parts (docs/production.md): ``"numpy"``
    when every chosen part is uncompressed scanlines (no copy, no temporary file),
    ``"parts"`` when a multipart file has parts the build does not use, else ``"full"``."""
    parts = [layout.parts[i] for i in per_part]
    if not layout.problem and parts and all(p.compression == NONE and not _unsupported_reason(p) for p in parts):
        return "numpy"
    if layout.multipart and len(per_part) < len(layout.parts) and not layout.version & _DEEP:
        return "parts"
    return "full"


def read_parts(header, per_part: dict, open_exr, reader: str = "auto"):
    """``(layout, {part index: {name: (h, w) float32}})``: the channels ``per_part`` =
    ``{part index: channel names}`` of the file whose headers are ``header``
    (``core.exr_header.ExrHeader``, read once by ``core.exr.read_exr``, which also chose the
    channels: the view's, the healthy parts').

    ``reader``: ``"numpy"`` (this module's decoder), ``"parts"`` (OpenEXR on a remuxed copy of
    the chosen parts; ``open_exr(path, channel lists) -> OpenEXR.File``) or ``"auto"`` (:func:`pick_reader`).
    Raises :class:`Unsupported` (the caller reads the whole file with OpenEXR) or
    :class:`Damaged` (likewise: OpenEXR's full read decides).
    """
    with open(header.path, "rb") as fh:
        try:
            buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError as err:  # empty file
            raise Damaged(str(err)) from err
    try:
        layout = layout_from_header(header, buf)
        if layout.version & _DEEP:  # deep parts: core/deep_read.py reads the whole file
            raise Unsupported("deep data")
        if reader == "auto":
            reader = pick_reader(layout, per_part)
        if reader == "numpy":
            return layout, _parts_by_numpy(buf, layout, per_part)
        if reader == "parts":
            if not layout.multipart or layout.version & _DEEP:
                raise Unsupported("not a multipart scanline/tiled file")
            return layout, _parts_by_openexr(buf, layout, per_part, open_exr)
        raise Unsupported(f"reader {reader!r}")
    finally:
        try:
            buf.close()
        except BufferError:  # a view is still alive somewhere; the map closes when it goes
            pass
