"""Reading only the parts and channels a build uses, for scanline EXRs with NONE, ZIPS or
ZIP compression (what Blender writes by default): numpy + zlib from the standard library.

OpenEXR's Python ``File`` decodes every part and channel of a file: a 1080p render with 16
passes costs ~10x the same frame with Combined + Z. This module reads the file's offset
tables itself and decodes only the chunks of the parts that hold the wanted channels, on all
cores (``zlib.decompress`` releases the GIL). Everything else (PIZ, DWAA/DWAB, B44, PXR24,
RLE, tiled, deep, subsampled channels) is :class:`Unsupported`, and :func:`core.exr.read_exr`
then reads the file with OpenEXR as before.

Headers always come from OpenEXR (``header_only=True``), so they are exactly what a full
read gives. A damaged file is never guessed at: any inconsistency (offset outside the file,
chunk for the wrong part or line, wrong decompressed size, zlib error) raises
:class:`Damaged`, and the caller lets OpenEXR's full read decide (it repairs some files and
raises on the others), so both readers give the same pixels or the same error.
"""
from __future__ import annotations

import mmap
import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

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

    @property
    def size(self):
        return self.data_window[2] - self.data_window[0] + 1, self.data_window[3] - self.data_window[1] + 1


@dataclass
class FileLayout:
    path: str
    multipart: bool
    parts: list = field(default_factory=list)
    problem: str = ""  # why the file cannot be read here ("" = supported)


def _cstr(buf, pos, limit):
    end = buf.find(b"\0", pos, limit)
    if end < 0:
        raise Damaged("unterminated name in header")
    return bytes(buf[pos:end]).decode("latin-1"), end + 1


def _parse_header(buf, pos, index):
    """One part's header from ``pos``; returns ``(PartLayout, position after it)``."""
    channels, dw, compression, storage, chunk_count, sampled = None, None, None, "scanlineimage", None, False
    n = len(buf)
    while True:
        if pos >= n:
            raise Damaged("header runs past the end of the file")
        if buf[pos] == 0:
            pos += 1
            break
        name, pos = _cstr(buf, pos, n)
        kind, pos = _cstr(buf, pos, n)
        if pos + 4 > n:
            raise Damaged("header runs past the end of the file")
        size = struct.unpack_from("<i", buf, pos)[0]
        pos += 4
        if size < 0 or pos + size > n:
            raise Damaged(f"attribute {name!r} has an impossible size {size}")
        value = buf[pos:pos + size]
        if name == "channels" and kind == "chlist":
            channels, q = [], 0
            while q < size and value[q] != 0:
                cname, q = _cstr(value, q, size)
                if q + 16 > size:
                    raise Damaged("channel list runs past its attribute")
                ptype, _lin, xs, ys = struct.unpack_from("<iB3xii", value, q)
                q += 16
                channels.append((cname, ptype))
                sampled |= (xs, ys) != (1, 1)
        elif name == "dataWindow" and kind == "box2i" and size == 16:
            dw = struct.unpack_from("<4i", value, 0)
        elif name == "compression" and kind == "compression" and size == 1:
            compression = value[0]
        elif name == "type" and kind == "string":
            storage = bytes(value).decode("latin-1")
        elif name == "chunkCount" and kind == "int" and size == 4:
            chunk_count = struct.unpack_from("<i", value, 0)[0]
        pos += size
    if channels is None or dw is None or compression is None:
        raise Damaged(f"part {index} lacks channels, dataWindow or compression")
    return PartLayout(index, channels, dw, compression, storage, sampled, chunk_count), pos


def read_layout(path: str, buf) -> FileLayout:
    """Headers (the attributes this reader needs) and offset tables of the file in ``buf``."""
    if len(buf) < 8:
        raise Damaged("file too short")
    magic, version = struct.unpack_from("<ii", buf, 0)
    if magic != MAGIC:
        raise Damaged("not an OpenEXR file")
    multipart = bool(version & _MULTIPART)
    layout = FileLayout(path, multipart)
    if version & _DEEP:
        layout.problem = "deep data"
    elif version & _TILED:
        layout.problem = "tiled"
    pos = 8
    while True:
        part, pos = _parse_header(buf, pos, len(layout.parts))
        layout.parts.append(part)
        if not multipart:
            break
        if pos >= len(buf):
            raise Damaged("header list runs past the end of the file")
        if buf[pos] == 0:
            pos += 1
            break
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


def _unsupported_reason(part: PartLayout) -> str:
    if part.compression not in SUPPORTED:
        return f"compression {part.compression}"
    if part.sampled:
        return "subsampled channels"
    if any(t not in _DTYPES for _, t in part.channels):
        return "unknown pixel type"
    return ""


def _undo_zip(raw: bytes) -> np.ndarray:
    """OpenEXR's ZIP predictor and byte interleave undone (vectorised: a uint8 cumsum wraps)."""
    t = np.frombuffer(raw, dtype=np.uint8).copy()
    t[1:] -= np.uint8(128)
    np.cumsum(t, dtype=np.uint8, out=t)
    out = np.empty_like(t)
    half = (len(t) + 1) // 2
    out[0::2] = t[:half]
    out[1::2] = t[half:]
    return out


def _decode_part(buf, layout: FileLayout, part: PartLayout, pool):
    """The whole data window of ``part`` as one (h, line bytes) uint8 array."""
    w, h = part.size
    line_bytes = w * sum(_DTYPES[t].itemsize for _, t in part.channels)
    lines = SUPPORTED[part.compression]
    out = np.empty((h, line_bytes), dtype=np.uint8)
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
    seen = np.zeros(expected, dtype=bool)

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
        out[k * lines:k * lines + nlines] = block.reshape(nlines, line_bytes)
        return k

    ks = list(pool.map(one, offsets)) if pool is not None else [one(o) for o in offsets]
    seen[ks] = True
    if not seen.all():
        raise Damaged(f"part {part.index}: {int((~seen).sum())} chunks are missing")
    return out


def _split_channels(part: PartLayout, block: np.ndarray, wanted) -> dict:
    """``name -> (h, w) float32`` of the wanted channels in a decoded part."""
    w, h = part.size
    out, col = {}, 0
    for name, ptype in part.channels:
        dt = _DTYPES[ptype]
        nbytes = w * dt.itemsize
        if name in wanted:
            plane = np.ascontiguousarray(block[:, col:col + nbytes]).view(dt).reshape(h, w)
            out[name] = plane.astype(np.float32)
        col += nbytes
    return out


def _threads(parts) -> int:
    compressed = any(p.compression != NONE for p in parts)
    return min(os.cpu_count() or 1, 8) if compressed else 1


def read_channels(path: str, choose):
    """``(layout, {part index: {name: (h, w) float32}})`` of the channels ``choose`` picks.

    ``choose(names)`` gets every channel name of the file (parts in order) and returns the
    names to decode (an iterable) or a dict ``{part index: names}`` (for files that repeat
    names across parts, e.g. multi-view). Raises :class:`Unsupported` or :class:`Damaged`.
    """
    with open(path, "rb") as fh:
        try:
            buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError as err:  # empty file
            raise Damaged(str(err)) from err
    try:
        layout = read_layout(path, buf)
        if layout.problem:
            raise Unsupported(layout.problem)
        names = list(dict.fromkeys(n for p in layout.parts for n, _ in p.channels))
        chosen = choose(names)
        if isinstance(chosen, dict):
            per_part = {int(k): set(v) for k, v in chosen.items()}
        else:
            # a name repeated across parts is read from the last part that has it, as
            # OpenEXR's full read keyed by name gives it
            left, per_part = set(chosen), {}
            for p in reversed(layout.parts):
                hit = {n for n, _ in p.channels if n in left}
                if hit:
                    per_part[p.index] = hit
                    left -= hit
        parts = [layout.parts[i] for i in sorted(per_part) if 0 <= i < len(layout.parts)]
        for p in parts:
            reason = _unsupported_reason(p)
            if reason:
                raise Unsupported(reason)
        threads = _threads(parts)
        result = {}
        pool = ThreadPoolExecutor(threads) if threads > 1 else None
        try:
            for p in parts:
                result[p.index] = _split_channels(p, _decode_part(buf, layout, p, pool), per_part[p.index])
        finally:
            if pool is not None:
                pool.shutdown()
        return layout, result
    finally:
        try:
            buf.close()
        except BufferError:  # a view is still alive somewhere; the map closes when it goes
            pass
