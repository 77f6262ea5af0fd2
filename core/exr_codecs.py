"""OpenEXR's codecs decoded with numpy + zlib only (the safe reader, core/exr_safe.py).

Each function takes one chunk's compressed bytes and returns its pixels as OpenEXR lays out
an uncompressed chunk: ``(lines, line bytes)`` uint8, per line every channel's ``width``
values one after the other (channels in header order), little-endian.

Codecs: NONE, RLE, ZIPS, ZIP (``core.exr_parts``' vectorised predictor), PXR24, B44, B44A
and PIZ (bitmap + LUT, Huffman, 2D Haar wavelet). DWAA, DWAB and HTJ2K are not decoded
(:class:`UnsupportedCodec`).

Variable-length streams (RLE control bytes, B44A's 3/14-byte blocks, PIZ's Huffman codes and
its packed code-length table) are parsed without a per-symbol loop: the length of a symbol
that *would* start at every position is computed at once, and the chain of positions actually
visited from the start is found by pointer doubling (:func:`chain`: ``log2(symbols)`` numpy
gathers over the stream). Everything else is whole-array arithmetic; the wavelet loops over
its levels (``log2(min(w, h))``), never over pixels.

Any inconsistency raises :class:`CorruptChunk` (the caller names the file and part).
"""
from __future__ import annotations

import zlib

import numpy as np

NONE, RLE, ZIPS, ZIP, PIZ, PXR24, B44, B44A, DWAA, DWAB = range(10)
NAMES = {0: "NONE", 1: "RLE", 2: "ZIPS", 3: "ZIP", 4: "PIZ", 5: "PXR24", 6: "B44", 7: "B44A", 8: "DWAA",
         9: "DWAB", 10: "HTJ2K256", 11: "HTJ2K32"}
DECODED = (NONE, RLE, ZIPS, ZIP, PIZ, PXR24, B44, B44A)
#: bytes per value of OpenEXR's pixel types: UINT, HALF, FLOAT
SIZES = {0: 4, 1: 2, 2: 4}
DTYPES = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}


class CorruptChunk(Exception):
    """A chunk's bytes are inconsistent with its codec or its size."""


class UnsupportedCodec(Exception):
    """A codec (or channel layout) these decoders do not handle."""


# --------------------------------------------------------------------------- stream helpers
def chain(step: np.ndarray, start: int = 0) -> np.ndarray:
    """Positions visited from ``start`` when each position ``p`` is followed by
    ``p + step[p]`` (``step`` > 0), up to the end of ``step``: pointer doubling, ``log2``
    (visits) gathers over ``step`` instead of one Python step per symbol."""
    n = len(step)
    if start >= n:
        return np.empty(0, np.int64)
    idx = np.int32 if n < 2 ** 31 - 64 else np.int64
    jump = np.empty(n + 1, idx)
    np.add(np.arange(n, dtype=idx), step.astype(idx, copy=False), out=jump[:n])
    np.minimum(jump[:n], n, out=jump[:n])
    jump[n] = n
    pos = np.array([start], idx)
    while True:
        more = jump[pos]
        if more[0] >= n:
            break
        pos = np.concatenate([pos, more])
        if pos[-1] >= n and len(pos) > 1:
            break
        jump = jump[jump]
    return pos[pos < n].astype(np.int64)


def _windows(data: np.ndarray, nbits: int) -> np.ndarray:
    """For every bit position ``p < nbits`` of ``data`` (bits MSB first), the next 64 bits
    as a left-justified uint64 (zeros past the end)."""
    nbytes = (nbits + 7) // 8 + 9
    b = np.zeros(nbytes + 8, np.uint8)
    m = min(len(data), nbytes)
    b[:m] = data[:m]
    words = np.zeros(nbytes, np.uint64)  # big-endian 64-bit word at every byte
    for k in range(8):
        words |= b[k:k + nbytes].astype(np.uint64) << np.uint64(56 - 8 * k)
    p = np.arange(nbits, dtype=np.int64)
    byte = p >> 3
    s = (p & 7).astype(np.uint64)
    w = words[byte] << s
    nxt = b[byte + 8].astype(np.uint64) >> (np.uint64(8) - s)  # s == 0: shifted out entirely
    w |= np.where(s == 0, np.uint64(0), nxt)
    return w


# --------------------------------------------------------------------------- ZIP / RLE
def undo_predictor(raw) -> np.ndarray:
    """OpenEXR's ZIP/RLE predictor and byte interleave undone (a fresh uint8 array)."""
    from .exr_parts import _undo_zip
    if len(raw) == 0:
        return np.empty(0, np.uint8)
    return _undo_zip(raw).copy()


def rle_expand(data: np.ndarray) -> np.ndarray:
    """OpenEXR's run-length bytes: a signed count ``c``; ``c < 0``: ``-c`` literal bytes
    follow; else the next byte repeated ``c + 1`` times."""
    data = np.asarray(data, np.uint8)
    if len(data) == 0:
        return data
    c = data.view(np.int8).astype(np.int64)
    step = np.where(c < 0, 1 - c, 2)
    pos = chain(step)
    if len(pos) == 0 or pos[-1] + step[pos[-1]] != len(data):
        raise CorruptChunk("RLE data ends inside a run")
    cp = c[pos]
    lit = cp < 0
    lengths = np.where(lit, -cp, cp + 1)
    total = int(lengths.sum())
    first = np.repeat(pos + 1, lengths)
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return data[first + within * np.repeat(lit, lengths)]


def zip_raw(data, want: int) -> bytes:
    try:
        raw = zlib.decompress(data)
    except zlib.error as err:
        raise CorruptChunk(f"zlib: {err}") from err
    if len(raw) != want:
        raise CorruptChunk(f"holds {len(raw)} bytes, needs {want}")
    return raw


# --------------------------------------------------------------------------- PXR24
def undo_pxr24(data, channels, w: int, nlines: int) -> np.ndarray:
    """PXR24: zlib, then per line and channel the values' bytes in planes (most significant
    first: 4 for uint, 2 for half, 3 for float's top 24 bits) as differences along the line."""
    planes = {0: 4, 1: 2, 2: 3}
    packed_line = sum(planes[t] * w for _, t in channels)
    try:
        raw = zlib.decompress(data)
    except zlib.error as err:
        raise CorruptChunk(f"zlib: {err}") from err
    if len(raw) != packed_line * nlines:
        raise CorruptChunk(f"holds {len(raw)} bytes, needs {packed_line * nlines}")
    src = np.frombuffer(raw, np.uint8).reshape(nlines, packed_line)
    line = sum(SIZES[t] * w for _, t in channels)
    out = np.empty((nlines, line), np.uint8)
    a = b = 0
    for _, t in channels:
        k = planes[t]
        block = src[:, a:a + k * w].reshape(nlines, k, w).astype(np.uint32)
        diff = np.zeros((nlines, w), np.uint32)
        for i in range(k):
            diff |= block[:, i] << np.uint32(8 * (3 - i) if t != 1 else 8 * (1 - i))
        vals = np.cumsum(diff, axis=1, dtype=np.uint32)
        if t == 1:
            out[:, b:b + 2 * w] = (vals & np.uint32(0xFFFF)).astype("<u2").view(np.uint8).reshape(nlines, 2 * w)
        else:
            out[:, b:b + 4 * w] = vals.astype("<u4").view(np.uint8).reshape(nlines, 4 * w)
        a += k * w
        b += SIZES[t] * w
    return out


# --------------------------------------------------------------------------- channel-major helpers
def _to_lines(planes, channels, w: int, nlines: int) -> np.ndarray:
    """Channel-major planes (per channel ``(nlines, w * size)`` uint8) into line-major rows."""
    line = sum(SIZES[t] * w for _, t in channels)
    out = np.empty((nlines, line), np.uint8)
    b = 0
    for plane, (_, t) in zip(planes, channels):
        nb = SIZES[t] * w
        out[:, b:b + nb] = plane
        b += nb
    return out


# --------------------------------------------------------------------------- B44 / B44A
def _unpack_b44(blocks: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """``(n, 14)`` uint8 blocks (3-byte ones padded) -> ``(n, 16)`` uint16 half bit patterns."""
    b = blocks.astype(np.uint32)
    s = np.empty((len(b), 16), np.uint32)
    s[:, 0] = (b[:, 0] << 8) | b[:, 1]
    shift = b[:, 2] >> 2
    bias = np.uint32(0x20) << shift
    six = [None] * 15
    six[0] = ((b[:, 2] << 4) | (b[:, 3] >> 4)) & 0x3F
    six[1] = ((b[:, 3] << 2) | (b[:, 4] >> 6)) & 0x3F
    six[2] = b[:, 4] & 0x3F
    six[3] = b[:, 5] >> 2
    six[4] = ((b[:, 5] << 4) | (b[:, 6] >> 4)) & 0x3F
    six[5] = ((b[:, 6] << 2) | (b[:, 7] >> 6)) & 0x3F
    six[6] = b[:, 7] & 0x3F
    six[7] = b[:, 8] >> 2
    six[8] = ((b[:, 8] << 4) | (b[:, 9] >> 4)) & 0x3F
    six[9] = ((b[:, 9] << 2) | (b[:, 10] >> 6)) & 0x3F
    six[10] = b[:, 10] & 0x3F
    six[11] = b[:, 11] >> 2
    six[12] = ((b[:, 11] << 4) | (b[:, 12] >> 4)) & 0x3F
    six[13] = ((b[:, 12] << 2) | (b[:, 13] >> 6)) & 0x3F
    six[14] = b[:, 13] & 0x3F
    # (target, source, difference index) in unpack14's order
    order = [(4, 0, 0), (8, 4, 1), (12, 8, 2), (1, 0, 3), (5, 4, 4), (9, 8, 5), (13, 12, 6), (2, 1, 7),
             (6, 5, 8), (10, 9, 9), (14, 13, 10), (3, 2, 11), (7, 6, 12), (11, 10, 13), (15, 14, 14)]
    for dst, src, k in order:
        s[:, dst] = (s[:, src] + (six[k] << shift) - bias) & 0xFFFF
    if flat.any():
        s[flat] = s[flat, :1]
    s &= 0xFFFF
    top = (s & 0x8000) != 0
    s = np.where(top, s & 0x7FFF, (~s) & 0xFFFF)
    return s.astype(np.uint16)


def undo_b44(data, channels, w: int, nlines: int, linear=()) -> np.ndarray:
    """B44/B44A: per channel (channel-major), half channels as 4x4 blocks of 14 bytes (or 3
    for a flat block in B44A, marked by a third byte >= 0xd0), other types stored as is."""
    if any(linear):
        raise UnsupportedCodec("B44 with perceptually linear (pLinear) channels")
    buf = np.frombuffer(data, np.uint8)
    pos, planes = 0, []
    for _, t in channels:
        if t != 1:
            nb = SIZES[t] * w * nlines
            if pos + nb > len(buf):
                raise CorruptChunk("B44 data ends inside a channel")
            planes.append(buf[pos:pos + nb].reshape(nlines, SIZES[t] * w))
            pos += nb
            continue
        bx, by = -(-w // 4), -(-nlines // 4)
        n = bx * by
        region = np.zeros(len(buf) - pos + 16, np.uint8)
        region[:len(buf) - pos] = buf[pos:]
        step = np.where(region[2:len(buf) - pos + 2] >= 13 << 2, 3, 14)
        starts = chain(step)[:n]
        if len(starts) < n:
            raise CorruptChunk("B44 data ends inside a channel")
        blocks = region[starts[:, None] + np.arange(14)]
        end = int(starts[-1] + step[starts[-1]])
        if end > len(buf) - pos:
            raise CorruptChunk("B44 data ends inside a block")
        s = _unpack_b44(blocks, step[starts] == 3)  # (n, 16): rows of 4 of each block
        img = s.reshape(by, bx, 4, 4).transpose(0, 2, 1, 3).reshape(by * 4, bx * 4)[:nlines, :w]
        planes.append(np.ascontiguousarray(img).astype("<u2").view(np.uint8).reshape(nlines, 2 * w))
        pos += end
    return _to_lines(planes, channels, w, nlines)


# --------------------------------------------------------------------------- PIZ
_SHORT_RUN, _LONG_RUN = 59, 63


def _huf_lengths(table: np.ndarray, nbits: int, im: int, iM: int) -> np.ndarray:
    """The code length of every symbol ``im..iM`` from hufPackEncTable's 6-bit codes (59-62:
    2-5 zero lengths; 63 + 8 bits: 6-261 zero lengths)."""
    wins = _windows(table, nbits + 14)
    six = (wins >> np.uint64(58)).astype(np.int64)[:nbits]
    step = np.where(six == _LONG_RUN, 14, 6)
    pos = chain(step)
    vals = six[pos]
    eight = ((wins[pos] >> np.uint64(50)) & np.uint64(0xFF)).astype(np.int64)
    counts = np.where(vals == _LONG_RUN, eight + 6, np.where(vals >= _SHORT_RUN, vals - _SHORT_RUN + 2, 1))
    need = iM - im + 1
    total = np.cumsum(counts)
    k = int(np.searchsorted(total, need))
    if k >= len(total) or total[k] != need:
        raise CorruptChunk("Huffman code table is damaged")
    vals, counts = vals[:k + 1], counts[:k + 1]
    return np.repeat(np.where(vals >= _SHORT_RUN, 0, vals), counts)


def huf_decode(src: np.ndarray, count: int) -> np.ndarray:
    """OpenEXR's Huffman stream (``internal_huf_decompress``) -> ``count`` uint16 values."""
    if len(src) < 20:
        raise CorruptChunk("Huffman header is truncated")
    im, iM, table_len, nbits = (int(v) for v in np.frombuffer(src[:16].tobytes(), "<u4"))
    if im >= 65537 or iM >= 65537 or im > iM:
        raise CorruptChunk("Huffman symbol range is damaged")
    rest = src[20:]
    lens = _huf_lengths(rest, min(8 * len(rest), 8 * table_len + 64), im, iM)
    data_start = table_len  # the codes start after the packed table
    if data_start > len(rest) or nbits > 8 * (len(rest) - data_start):
        raise CorruptChunk("Huffman data is truncated")
    data = rest[data_start:]
    syms = np.arange(im, iM + 1, dtype=np.int64)
    has = lens > 0
    syms, lens = syms[has], lens[has]
    if len(lens) == 0 or lens.max() > 58:
        raise CorruptChunk("Huffman code table is damaged")
    ncount = np.bincount(lens, minlength=59)
    base = np.zeros(59, np.uint64)
    c = 0
    for i in range(58, 0, -1):
        base[i] = c
        c = (c + int(ncount[i])) >> 1
    order = np.lexsort((syms, lens))  # by length, then symbol: each length's codes in order
    syms_sorted = syms[order]
    first = np.zeros(59, np.int64)
    first[1:] = np.cumsum(ncount)[:-1]
    used = np.nonzero(ncount[1:])[0] + 1
    desc = used[::-1]  # longest first: left-justified bases ascending
    ljbase = np.array([int(base[length]) << (64 - int(length)) for length in desc], np.uint64)
    if np.any(np.diff(ljbase.astype(np.float64)) < 0):
        raise CorruptChunk("Huffman code table is damaged")
    wins = _windows(data, nbits + 64)
    k = np.searchsorted(ljbase, wins, side="right") - 1
    valid = k >= 0
    length = desc[np.maximum(k, 0)].astype(np.int64)
    prefix = wins >> (np.uint64(64) - length.astype(np.uint64))
    rank = prefix.astype(np.int64) - base[length].astype(np.int64)
    valid &= (rank >= 0) & (rank < ncount[length])
    sym = syms_sorted[np.clip(first[length] + rank, 0, len(syms_sorted) - 1)]
    rlc = iM
    is_run = sym == rlc
    step = length + 8 * is_run
    step[~valid[:len(step)]] = 1 << 40
    pos = chain(step[:nbits])
    if len(pos) == 0 or not valid[pos].all() or int(pos[-1] + step[pos[-1]]) != nbits:
        raise CorruptChunk("Huffman data is damaged")
    s = sym[pos]
    run = is_run[pos]
    reps = np.ones(len(pos), np.int64)
    if run.any():
        at = pos[run] + length[pos[run]]
        reps[run] = (wins[at] >> np.uint64(56)).astype(np.int64)
        idx = np.where(run, 0, np.arange(len(pos)))
        np.maximum.accumulate(idx, out=idx)
        if run[0]:
            raise CorruptChunk("Huffman data starts with a run")
        s = s[idx]
    if int(reps.sum()) != count:
        raise CorruptChunk(f"Huffman data holds {int(reps.sum())} values, needs {count}")
    return np.repeat(s, reps).astype(np.uint16)


def _wdec(lo, hi, w14: bool):
    """OpenEXR's ``wdec14``/``wdec16`` on int64 arrays: ``(a, b)`` from ``(l, h)``."""
    if w14:
        ls = lo.astype(np.int16).astype(np.int64)
        hs = hi.astype(np.int16).astype(np.int64)
        ai = ls + (hs & 1) + (hs >> 1)
        return ai & 0xFFFF, (ai - hs) & 0xFFFF
    bb = (lo - (hi >> 1)) & 0xFFFF
    aa = (hi + bb - 0x8000) & 0xFFFF
    return aa, bb


def wav_decode(a: np.ndarray, mx: int) -> None:
    """OpenEXR's ``wav_2D_decode`` in place on a 2D uint16 array, level by level (each level
    one set of strided whole-array operations)."""
    ny, nx = a.shape
    w14 = mx < (1 << 14)
    n = min(nx, ny)
    p = 1
    while p <= n:
        p <<= 1
    p >>= 1
    p2 = p
    p >>= 1
    v = a.astype(np.int64)
    while p >= 1:
        ys = (ny - p2) // p2 + 1 if ny >= p2 else 0  # full rows of blocks
        xs = (nx - p2) // p2 + 1 if nx >= p2 else 0
        ye, xe = ys * p2, xs * p2
        if ys and xs:
            a00 = v[0:ye:p2, 0:xe:p2]
            a01 = v[0:ye:p2, p:xe:p2]
            a10 = v[p:ye:p2, 0:xe:p2]
            a11 = v[p:ye:p2, p:xe:p2]
            i00, i10 = _wdec(a00, a10, w14)
            i01, i11 = _wdec(a01, a11, w14)
            r00, r01 = _wdec(i00, i01, w14)
            r10, r11 = _wdec(i10, i11, w14)
            v[0:ye:p2, 0:xe:p2] = r00
            v[0:ye:p2, p:xe:p2] = r01
            v[p:ye:p2, 0:xe:p2] = r10
            v[p:ye:p2, p:xe:p2] = r11
        if nx & p and ys:  # odd column
            c0, c1 = v[0:ye:p2, xe], v[p:ye:p2, xe]
            r0, r1 = _wdec(c0, c1, w14)
            v[0:ye:p2, xe] = r0
            v[p:ye:p2, xe] = r1
        if ny & p and xs:  # odd line
            l0, l1 = v[ye, 0:xe:p2], v[ye, p:xe:p2]
            r0, r1 = _wdec(l0, l1, w14)
            v[ye, 0:xe:p2] = r0
            v[ye, p:xe:p2] = r1
        p2 = p
        p >>= 1
    a[...] = v.astype(np.uint16)


def undo_piz(data, channels, w: int, nlines: int) -> np.ndarray:
    """PIZ: a bitmap of the 16-bit values present, Huffman-coded wavelet coefficients per
    channel (channel-major, each 16-bit word of a 32-bit value its own plane)."""
    buf = np.frombuffer(data, np.uint8)
    want = sum(SIZES[t] * w for _, t in channels) * nlines
    if len(buf) < 4:
        raise CorruptChunk("PIZ data is truncated")
    lo, hi = (int(v) for v in np.frombuffer(buf[:4].tobytes(), "<u2"))
    if hi >= 8192:
        raise CorruptChunk("PIZ bitmap range is damaged")
    bitmap = np.zeros(8192, np.uint8)
    pos = 4
    if lo <= hi:
        if pos + hi - lo + 1 > len(buf):
            raise CorruptChunk("PIZ bitmap is truncated")
        bitmap[lo:hi + 1] = buf[pos:pos + hi - lo + 1]
        pos += hi - lo + 1
    present = np.unpackbits(bitmap, bitorder="little").astype(bool)
    present[0] = True
    lut = np.nonzero(present)[0].astype(np.uint16)
    maxval = len(lut) - 1
    if pos + 4 > len(buf):
        raise CorruptChunk("PIZ data is truncated")
    nhuf = int(np.frombuffer(buf[pos:pos + 4].tobytes(), "<u4")[0])
    pos += 4
    if pos + nhuf > len(buf):
        raise CorruptChunk("PIZ Huffman data is truncated")
    words = huf_decode(buf[pos:pos + nhuf], want // 2)
    planes, at = [], 0
    for _, t in channels:
        wc = SIZES[t] // 2
        n = w * nlines * wc
        plane = words[at:at + n].reshape(nlines, w, wc)
        for j in range(wc):
            sub = np.ascontiguousarray(plane[:, :, j])
            wav_decode(sub, maxval)
            plane[:, :, j] = sub
        at += n
        planes.append(plane)
    if int(max((p.max() for p in planes if p.size), default=0)) > maxval:
        raise CorruptChunk("PIZ values lie outside its bitmap")
    planes = [lut[p].astype("<u2").view(np.uint8).reshape(nlines, -1) for p in planes]
    return _to_lines(planes, channels, w, nlines)


# --------------------------------------------------------------------------- dispatch
def decode(codec: int, data, channels, w: int, nlines: int, linear=()) -> np.ndarray:
    """One chunk's bytes -> ``(nlines, line bytes)`` uint8 rows (see the module docstring).
    ``channels``: ``[(name, pixel type)]`` in file order; ``w``: the chunk's width."""
    line = sum(SIZES[t] * w for _, t in channels)
    want = line * nlines
    size = len(data)
    if size == want:  # every codec stores a chunk as is when it would not shrink
        return np.frombuffer(data, np.uint8).reshape(nlines, line)
    if codec == NONE:
        raise CorruptChunk(f"holds {size} bytes, needs {want}")
    if codec in (ZIPS, ZIP):
        raw = undo_predictor(zip_raw(data, want))
    elif codec == RLE:
        raw = rle_expand(np.frombuffer(data, np.uint8))
        if len(raw) != want:
            raise CorruptChunk(f"holds {len(raw)} bytes, needs {want}")
        raw = undo_predictor(raw.tobytes())
    elif codec == PXR24:
        return undo_pxr24(data, channels, w, nlines)
    elif codec in (B44, B44A):
        return undo_b44(data, channels, w, nlines, linear)
    elif codec == PIZ:
        return undo_piz(data, channels, w, nlines)
    else:
        raise UnsupportedCodec(NAMES.get(codec, f"compression {codec}"))
    return raw.reshape(nlines, line)


def decode_bytes(codec: int, data, want: int) -> np.ndarray:
    """Deep data (sample count tables, sample bytes): NONE/RLE/ZIPS/ZIP of ``want`` bytes."""
    if len(data) == want:
        return np.frombuffer(data, np.uint8)
    if codec in (ZIPS, ZIP):
        return undo_predictor(zip_raw(data, want))
    if codec == RLE:
        raw = rle_expand(np.frombuffer(data, np.uint8))
        if len(raw) != want:
            raise CorruptChunk(f"holds {len(raw)} bytes, needs {want}")
        return undo_predictor(raw.tobytes())
    if codec == NONE:
        if len(data) > want:  # OpenEXR pads some uncompressed deep tiles
            return np.frombuffer(data, np.uint8)[:want]
        raise CorruptChunk(f"holds {len(data)} bytes, needs {want}")
    raise UnsupportedCodec(NAMES.get(codec, f"compression {codec}"))
