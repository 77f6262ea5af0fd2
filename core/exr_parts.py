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

from . import exr_groups
from .exr_header import COMPRESSIONS, read_exr_header

MAGIC = 20000630
NONE, RLE, ZIPS, ZIP = 0, 1, 2, 3
SUPPORTED = {NONE: 1, ZIPS: 1, ZIP: 16}  # compression -> scanlines per chunk
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
        lines = SUPPORTED.get(part.compression, 32)
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
    from .errors import SourceFileError
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


def _undo_zip(raw) -> np.ndarray:
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


def _decode_part(buf, layout: FileLayout, part: PartLayout, wanted, pool) -> dict:
    """``name -> (h, w) float32`` of the ``wanted`` channels of ``part``, each chunk decoded
    and its channels written straight into the planes."""
    w, h = part.size
    cols, col = [], 0
    for name, ptype in part.channels:
        dt = _DTYPES[ptype]
        if name in wanted:
            cols.append((name, dt, col, w * dt.itemsize))
        col += w * dt.itemsize
    line_bytes = col
    planes = _planes(cols, h, w)
    lines = SUPPORTED[part.compression]
    head = 12 if layout.multipart else 8
    ymin = part.data_window[1]
    n = len(buf)
    offsets = part.offsets
    expected = -(-h // lines)
    if len(offsets) != expected:
        raise Damaged(f"part {part.index} has {len(offsets)} chunks, its data window needs {expected}")
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
        if rem or not 0 <= k < expected:
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
            block = _undo_zip(raw)
        elif size == want:
            block = np.frombuffer(data, dtype=np.uint8)
        else:
            raise Damaged(f"part {part.index}: chunk of line {y} holds {size} bytes, needs {want}")
        block = block.reshape(nlines, line_bytes)
        r0 = k * lines
        for name, dt, c0, nbytes in cols:
            planes[name][r0:r0 + nlines] = block[:, c0:c0 + nbytes].view(dt)
        return k

    if not cols:
        return planes
    if part.compression == NONE and _uncompressed_block(buf, layout, part, head, line_bytes, cols, planes):
        return planes
    ks = list(pool.map(one, offsets)) if pool is not None else [one(o) for o in offsets]
    seen = np.zeros(expected, dtype=bool)
    seen[ks] = True
    if not seen.all():
        raise Damaged(f"part {part.index}: {expected - int(seen.sum())} chunks are missing")
    return planes


def _planes(cols, h: int, w: int) -> dict:
    """Float32 (h, w) planes of the wanted channels; a wanted ``<prefix>.R/G/B`` (+ ``A``)
    group is made as views of one interleaved (h, w, 3|4) array, as OpenEXR's grouped read
    gives it (``core.exr_groups``), so its colors need no interleaving later."""
    names = [name for name, _, _, _ in cols]
    planes = {}
    for name in names:
        if name in planes or not (name == "R" or name.endswith(".R")):
            continue
        stem = name[:-1]
        members = [stem + c for c in "RGBA" if stem + c in names]
        if members[:3] == [stem + c for c in "RGB"]:
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
        planes[name][...] = records[:, head + c0:head + c0 + nbytes].view(dt)
    return True


def remux(buf, layout: FileLayout, indices) -> bytes:
    """A multipart EXR holding only the parts ``indices`` of ``buf``, byte for byte (headers
    and compressed chunks copied, chunk part numbers and offsets renumbered): OpenEXR then
    decodes just those, with its own codecs (PIZ, DWAA… included) and threads."""
    if not layout.multipart:
        raise Unsupported("single-part file")
    parts = [layout.parts[i] for i in indices]
    pieces = [struct.pack("<iI", MAGIC, layout.version)]
    pieces += [bytes(buf[p.header_span[0]:p.header_span[1]]) for p in parts]
    pieces.append(b"\0")
    table_at = sum(len(x) for x in pieces)
    pos = table_at + 8 * sum(len(p.offsets) for p in parts)
    n = len(buf)
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
            chunks.append(buf[off + 4:off + lead + size])
            pos += lead + size
        tables.append(new.astype("<u8").tobytes())
    return b"".join(pieces + tables + chunks)


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
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        del data
        got = list(open_exr(tmp, [layout.parts[i].channels for i in indices]).parts)
    except Exception as err:  # the bindings raise RuntimeError, ValueError…: damaged chunks
        raise Damaged(f"OpenEXR could not decode the chosen parts ({err})") from err
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
            planes[name] = px if px.dtype == np.float32 else px.astype(np.float32)
        result[original] = planes
    return result


def _threads(parts) -> int:
    compressed = any(p.compression != NONE for p in parts)
    return min(os.cpu_count() or 1, 8) if compressed else 1


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
