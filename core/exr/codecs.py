"""OpenEXR's codecs decoded with numpy + zlib only (the safe reader, core/exr_safe.py).

Each function takes one chunk's compressed bytes and returns its pixels as OpenEXR lays out
an uncompressed chunk: ``(lines, line bytes)`` uint8, per line every channel's ``width``
values one after the other (channels in header order), little-endian.

Codecs: NONE, RLE, ZIPS, ZIP (``core.exr_parts``' vectorised predictor), PXR24, B44, B44A
and PIZ (bitmap + LUT, Huffman, 2D Haar wavelet). DWAA, DWAB and HTJ2K are not decoded
(:class:`UnsupportedCodec`).

Variable-length streams (RLE control bytes, B44A's 3/14-byte blocks, PIZ's Huffman codes and
its packed code-length table) are parsed without a Python step per symbol: the symbols a
stream holds are found by :func:`chain_multi`, lanes that start every 1,024 positions of all
chunks of a part at once and walk in lockstep (one vector operation per symbol of a lane),
then are stitched where they resynchronise. The length of a symbol starting at a position
comes from an array computed at once (RLE, B44A) or from a table look-up where a lane reads
it (PIZ). Everything else is whole-array arithmetic; the wavelet loops over its levels
(``log2(min(w, h))``), never over pixels. :func:`decode_many` decodes a part's chunks.

Any inconsistency raises :class:`CorruptChunk` (the caller names the file and part).
"""
from __future__ import annotations

import threading
import zlib

import numpy as np

from . import parts as exr_parts

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
class _Scratch(threading.local):
    """Work arrays of :func:`chain_multi` kept per thread: fresh memory costs a page fault per
    4 KiB on first touch (on these machines about as much as the work itself). Marks carry a
    base that grows with every call, so that old marks (below it) need no clearing."""

    mark = np.zeros(0, np.int32)
    flag = np.zeros(0, bool)
    base = 1

    def marks(self, n: int, lanes: int):
        if len(self.mark) < n or self.base + lanes >= 2 ** 31 - 1:
            self.mark = np.zeros(max(n, len(self.mark)), np.int32)
            self.base = 1
        base = self.base
        self.base += lanes
        return self.mark, base

    def steps(self, n: int, dtype):
        have = getattr(self, "step", None)
        if have is None or len(have) < n or have.dtype != dtype:
            self.step = np.empty(max(n, 0 if have is None else len(have)), dtype)
        return self.step[:n]

    def flags(self, n: int):
        if len(self.flag) < n:
            self.flag = np.zeros(n, bool)
        return self.flag[:n]


_SCRATCH = _Scratch()
#: Lane length and overlap of :func:`chain_multi` (positions): lanes start every ``_LANE``
#: positions and walk ``_OVERLAP`` past the next lane's start to meet its path.
_LANE, _OVERLAP = 1024, 256


def chain_multi(step, starts, ends, stepper=None, n=None) -> tuple[np.ndarray, np.ndarray]:
    """Positions visited in each segment ``[starts[i], ends[i])`` of a stream from its start,
    each position ``p`` followed by ``p + step[p]`` (``step`` > 0; a step past the segment's
    end ends it): ``(positions, segment of each)``, ascending. No Python step per symbol:
    lanes start every ``_LANE`` positions of a segment and walk their stretch in lockstep
    (one vector step per symbol of a lane); then each lane walks on (only the lanes still
    walking, again in lockstep) until it lands on a later lane's path: variable-length codes
    resynchronise within a few symbols (measured on PIZ streams: half within 12 bits, the
    worst within ~9,000). The true path is the first lane's up to where it meets a later
    lane's path, that lane's from there, and so on (a Python step per lane, not per symbol).

    ``stepper(positions, segments) -> steps`` (with ``n``, the stream's length) instead of
    ``step``: the steps computed where the lanes are (a Huffman stream: a table look-up per
    code read, not one per bit); 0 at and past ``n``."""
    n = len(step) if stepper is None else int(n)
    starts = np.asarray(starts, np.int64)
    ends = np.asarray(ends, np.int64)
    if n == 0 or len(starts) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    if stepper is None:
        pad = int(step.max()) + 1 if len(step) else 1
        idx = np.int32 if n + pad < 2 ** 31 - 1 else np.int64
        stp = _SCRATCH.steps(n + pad + 1, idx)
        stp[n:] = 0  # 0 past the end: a lane that gets there stays
        np.maximum(step, 1, out=stp[:n], casting="unsafe")
    else:
        pad = 256
        idx = np.int64
    seg_len = np.maximum(ends - starts, 0)
    nl = np.maximum(1, -(-seg_len // _LANE))
    seg_of = np.repeat(np.arange(len(starts)), nl)
    k_in = np.arange(len(seg_of)) - np.repeat(np.cumsum(nl) - nl, nl)
    lstart = starts[seg_of] + k_in * _LANE
    seg_end = ends[seg_of]
    own_end = np.minimum(lstart + _LANE, seg_end)
    has_next = k_in < nl[seg_of] - 1
    lanes = np.arange(len(lstart))

    def steps(pos, lane):
        """16 lockstep steps of the lanes ``lane`` at ``pos`` (advanced in place): ``(16, lanes)``."""
        blk = np.empty((16, len(pos)), idx)
        tmp = np.empty_like(pos)
        seg = seg_of[lane]
        for i in range(16):
            blk[i] = pos
            if stepper is None:
                np.take(stp, pos, out=tmp)
            else:
                tmp = stepper(pos, seg)
            pos += tmp
        return blk

    # 1) every lane over its own stretch (lanes leave the walk once past it)
    lane_ids, positions = [], []
    cur, pos = lanes, lstart.astype(idx)
    last = np.empty(len(lanes), np.int64)  # where each lane stopped (its first step past)
    while len(cur):
        blk = steps(pos, cur)
        lane_ids.append(np.broadcast_to(cur, blk.shape).reshape(-1))
        positions.append(blk.reshape(-1))
        done = pos >= own_end[cur]
        last[cur[done]] = pos[done]
        cur, pos = cur[~done], pos[~done]
    L = np.concatenate(lane_ids)
    P = np.concatenate(positions)
    del lane_ids, positions
    valid = P < seg_end[L]
    own = P < own_end[L]
    mark, base = _SCRATCH.marks(n + pad + 1, len(lanes))  # a lane's mark: base + lane
    mark[P[own]] = L[own] + base
    # 2) where each lane that has a later lane lands on a later lane's path
    meet = seg_end.copy()
    meet_lane = np.full(len(lanes), -1, np.int64)
    hit = valid & ~own & has_next[L] & (mark[P] > L + base)
    # a lane's entries come in walk order: its first hit is its first entry among the hits
    hit_lanes, first = np.unique(L[hit], return_index=True)
    found = np.zeros(len(lanes), bool)
    found[hit_lanes] = True
    meet[hit_lanes] = P[hit][first]
    meet_lane[hit_lanes] = mark[meet[hit_lanes]] - base
    more_l, more_p = [], []
    cur = lanes[has_next & ~found & (last < seg_end)]
    pos = last[cur].astype(idx)
    while len(cur):  # the few lanes still out of step walk on, 16 steps at a time
        blk = steps(pos, cur)
        inside = blk < seg_end[cur][None, :]
        hit = inside & (mark[blk] > cur[None, :] + base)
        found = hit.any(axis=0)
        first = np.where(found, hit.argmax(axis=0), 16)
        meet[cur[found]] = blk[first[found], np.nonzero(found)[0]]
        meet_lane[cur[found]] = mark[meet[cur[found]]] - base
        before = inside & (np.arange(16)[:, None] < first[None, :])
        more_l.append(np.broadcast_to(cur, blk.shape)[before])
        more_p.append(blk[before])
        go = ~found & (pos < seg_end[cur])
        cur, pos = cur[go], pos[go]
    # 3) stitch: first lane of each segment, then the lane each one met
    on = np.zeros(len(lanes), bool)
    lo = lstart.copy()
    hi = seg_end.copy()
    nxt = meet_lane.tolist()
    meets = meet.tolist()
    for k in lanes[k_in == 0].tolist():
        while True:
            on[k] = True
            j = nxt[k]
            if j < 0:
                break
            hi[k] = meets[k]
            lo[j] = meets[k]
            k = j
    if more_l:
        L = np.concatenate([L] + more_l)
        P = np.concatenate([P] + more_p)
        valid = P < seg_end[L]
    keep = valid & on[L] & (P >= lo[L]) & (P < hi[L])
    flag = _SCRATCH.flags(n)  # the true path's positions are distinct: a bitmap sorts them
    flag[P[keep]] = True
    out = np.flatnonzero(flag)
    flag[out] = False  # cleared for the next call
    seg = np.searchsorted(ends, out, side="right")
    return out, seg


def chain(step: np.ndarray, start: int = 0) -> np.ndarray:
    """:func:`chain_multi` of one segment, ``[start, len(step))``."""
    return chain_multi(step, [start], [len(step)])[0]


# --------------------------------------------------------------------------- ZIP / RLE
def undo_predictor(raw) -> np.ndarray:
    """OpenEXR's ZIP/RLE predictor and byte interleave undone (a fresh uint8 array)."""
    if len(raw) == 0:
        return np.empty(0, np.uint8)
    return exr_parts.undo_zip(raw).copy()


def rle_expand_many(datas) -> list:
    """OpenEXR's run-length bytes of several chunks at once (one :func:`chain_multi`): a
    signed count ``c``; ``c < 0``: ``-c`` literal bytes follow; else the next byte repeated
    ``c + 1`` times. Returns each chunk's expanded bytes."""
    lens = np.array([len(d) for d in datas], np.int64)
    if not len(lens):
        return []
    cat = np.concatenate([np.frombuffer(d, np.uint8) for d in datas]) if len(datas) > 1 else \
        np.frombuffer(datas[0], np.uint8)
    ends = np.cumsum(lens)
    starts = ends - lens
    c = cat.view(np.int8).astype(np.int16)
    step = np.where(c < 0, 1 - c, 2).astype(np.uint8)
    pos, seg = chain_multi(step, starts, ends)
    last = np.searchsorted(seg, np.arange(len(lens)), side="right") - 1
    if np.any(last < 0) or np.any(seg[np.maximum(last, 0)] != np.arange(len(lens))) or \
            np.any(pos[last] + step[pos[last]] != ends):
        raise CorruptChunk("RLE data ends inside a run")
    cp = c[pos].astype(np.int64)
    lit = cp < 0
    lengths = np.where(lit, -cp, cp + 1)
    total = int(lengths.sum())
    first = np.repeat(pos + 1, lengths)
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out = cat[first + within * np.repeat(lit, lengths)]
    sizes = np.bincount(seg, weights=lengths, minlength=len(lens)).astype(np.int64)
    return np.split(out, np.cumsum(sizes)[:-1])


def rle_expand(data) -> np.ndarray:
    """:func:`rle_expand_many` of one chunk."""
    return rle_expand_many([data])[0] if len(data) else np.empty(0, np.uint8)


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


def b44_many(codec: int, items, channels, linear=()) -> list:
    """B44/B44A chunks (``items``: ``(data, width, lines)``), all blocks of all chunks found
    and unpacked at once: per chunk, channel after channel, half channels as 4x4 blocks of 14
    bytes (or 3 for a flat block in B44A, marked by a third byte >= 0xd0: one
    :func:`chain_multi` finds where each block starts), other types stored as is."""
    if any(linear):
        raise UnsupportedCodec("B44 with perceptually linear (pLinear) channels")
    lens = np.array([len(d) for d, _, _ in items], np.int64)
    cat = np.zeros(int(lens.sum()) + 16, np.uint8)
    ends = np.cumsum(lens)
    starts = ends - lens
    for (d, _, _), a in zip(items, starts.tolist()):
        cat[a:a + len(d)] = np.frombuffer(d, np.uint8)
    ws = np.array([w for _, w, _ in items], np.int64)
    hs = np.array([h for _, _, h in items], np.int64)
    cursor = starts.copy()
    planes = [[None] * len(channels) for _ in items]
    step = np.where(cat[2:len(cat) - 14] >= 13 << 2, 3, 14).astype(np.uint8) if codec == B44A else None
    c = 0
    while c < len(channels):
        t = channels[c][1]
        if t != 1:  # stored as is
            nb = SIZES[t] * ws * hs
            if np.any(cursor + nb > ends):
                raise CorruptChunk("B44 data ends inside a channel")
            for k, (_, w, h) in enumerate(items):
                planes[k][c] = cat[cursor[k]:cursor[k] + nb[k]].reshape(h, SIZES[t] * w)
            cursor += nb
            c += 1
            continue
        run = [c]
        while run[-1] + 1 < len(channels) and channels[run[-1] + 1][1] == 1:
            run.append(run[-1] + 1)
        bx, by = -(-ws // 4), -(-hs // 4)
        per = bx * by  # blocks per channel of each chunk
        need = per * len(run)
        if codec == B44:
            total = int(need.sum())
            rank = np.arange(total) - np.repeat(np.cumsum(need) - need, need)
            bstart = np.repeat(cursor, need) + 14 * rank
            flat = np.zeros(total, bool)
            bend = bstart + 14
        else:
            pos, seg = chain_multi(step, cursor, ends)
            first = np.searchsorted(seg, np.arange(len(items)))
            rank = np.arange(len(pos)) - first[seg]
            keep = rank < need[seg]
            if np.any(np.bincount(seg[keep], minlength=len(items)) != need):
                raise CorruptChunk("B44 data ends inside a channel")
            bstart = pos[keep]
            flat = step[bstart] == 3
            bend = bstart + np.where(flat, 3, 14)
        if np.any(bend > np.repeat(ends, need)):
            raise CorruptChunk("B44 data ends inside a block")
        s = _unpack_b44(cat[bstart[:, None] + np.arange(14)], flat)
        at = 0
        for k, (_, w, h) in enumerate(items):
            for ci in run:
                n = int(per[k])
                img = s[at:at + n].reshape(by[k], bx[k], 4, 4).transpose(0, 2, 1, 3)
                img = img.reshape(by[k] * 4, bx[k] * 4)[:h, :w]
                planes[k][ci] = np.ascontiguousarray(img).astype("<u2").view(np.uint8).reshape(h, 2 * w)
                at += n
        cursor = bend[np.cumsum(need) - 1]
        c = run[-1] + 1
    return [_to_lines(planes[k], channels, w, h) for k, (_, w, h) in enumerate(items)]


def undo_b44(data, channels, w: int, nlines: int, linear=(), codec: int = B44A) -> np.ndarray:
    """:func:`b44_many` of one chunk."""
    return b44_many(codec, [(data, w, nlines)], channels, linear)[0]


# --------------------------------------------------------------------------- PIZ
_SHORT_RUN, _LONG_RUN = 59, 63


def _bits_every(data: np.ndarray, nbits: int, width: int) -> np.ndarray:
    """The ``width`` (<= 25) bits starting at every bit position ``< nbits`` of ``data``
    (MSB first; ``data`` padded with 4 bytes past the last bit), as uint32."""
    nbytes = (nbits + 7) // 8
    b = data[:nbytes + 4].astype(np.uint32)
    w32 = (b[:nbytes] << 24) | (b[1:nbytes + 1] << 16) | (b[2:nbytes + 2] << 8) | b[3:nbytes + 3]
    shifts = np.uint32(32 - width) - np.arange(8, dtype=np.uint32)
    return ((w32[:, None] >> shifts) & np.uint32((1 << width) - 1)).reshape(-1)[:nbits]


def _bits_at(data: np.ndarray, at: np.ndarray, width) -> np.ndarray:
    """The ``width`` (<= 25; a number or one per position) bits at bit positions ``at`` of
    ``data`` (padded), as int64."""
    byte = at >> 3
    w32 = (data[byte].astype(np.int64) << 24) | (data[byte + 1].astype(np.int64) << 16) | \
        (data[byte + 2].astype(np.int64) << 8) | data[byte + 3]
    return (w32 >> (32 - width - (at & 7))) & ((np.int64(1) << width) - 1)


def _huf_lengths(table: np.ndarray, nbits: int, im: int, iM: int) -> np.ndarray:
    """The code length of every symbol ``im..iM`` from hufPackEncTable's 6-bit codes (59-62:
    2-5 zero lengths; 63 + 8 bits: 6-261 zero lengths)."""
    data = np.zeros(len(table) + 8, np.uint8)
    data[:len(table)] = table
    v = _bits_every(data, nbits, 14)
    step = np.where((v >> 8) == _LONG_RUN, 14, 6).astype(np.uint8)
    pos = chain(step)
    vals = (v[pos] >> 8).astype(np.int64)
    eight = (v[pos] & 0xFF).astype(np.int64)
    counts = np.where(vals == _LONG_RUN, eight + 6, np.where(vals >= _SHORT_RUN, vals - _SHORT_RUN + 2, 1))
    need = iM - im + 1
    total = np.cumsum(counts)
    k = int(np.searchsorted(total, need))
    if k >= len(total) or total[k] != need:
        raise CorruptChunk("Huffman code table is damaged")
    vals, counts = vals[:k + 1], counts[:k + 1]
    return np.repeat(np.where(vals >= _SHORT_RUN, 0, vals), counts)


_TABLE_BITS = 20  # codes up to this long are decoded by one table look-up


class _Huf:
    """One chunk's Huffman stream prepared for :func:`chain_multi`: the step (code length,
    + 8 after the run-length code) of a code starting at every bit, from one look-up table
    of every ``width``-bit pattern (``width``: the longest code, up to 20 bits; longer codes,
    rare, are matched where they start)."""

    def __init__(self, src: np.ndarray, count: int):
        if len(src) < 20:
            raise CorruptChunk("Huffman header is truncated")
        im, iM, table_len, nbits = (int(v) for v in np.frombuffer(src[:16].tobytes(), "<u4"))
        if im >= 65537 or iM >= 65537 or im > iM:
            raise CorruptChunk("Huffman symbol range is damaged")
        rest = src[20:]
        if table_len > len(rest) or nbits > 8 * (len(rest) - table_len):
            raise CorruptChunk("Huffman data is truncated")
        lens = _huf_lengths(rest[:table_len], 8 * table_len, im, iM)
        syms = np.arange(im, iM + 1, dtype=np.int64)
        has = lens > 0
        syms, lens = syms[has], lens[has]
        if len(lens) == 0 or lens.max() > 58:
            raise CorruptChunk("Huffman code table is damaged")
        ncount = np.bincount(lens, minlength=59)
        base = [0] * 59
        c = 0
        for i in range(58, 0, -1):
            base[i] = c
            c = (c + int(ncount[i])) >> 1
        order = np.lexsort((syms, lens))  # by length, then symbol: each length's codes in order
        syms, lens = syms[order], lens[order]
        first = np.concatenate([[0], np.cumsum(ncount)[:-1]])
        codes = np.array(base, np.int64)[lens] + np.arange(len(syms)) - first[lens]
        if np.any(codes >> lens):
            raise CorruptChunk("Huffman code table is damaged")
        self.count, self.nbits, self.rlc = count, nbits, iM
        self.data = np.zeros(len(rest) - table_len + 16, np.uint8)
        self.data[:len(rest) - table_len] = rest[table_len:]
        width = int(min(lens.max(), _TABLE_BITS))
        short = lens <= width
        spans = np.left_shift(1, width - lens[short])
        at = np.repeat(codes[short] << (width - lens[short]), spans) + \
            np.arange(int(spans.sum())) - np.repeat(np.cumsum(spans) - spans, spans)
        self.lut_len = np.zeros(1 << width, np.uint8)
        self.lut_sym = np.zeros(1 << width, np.int32)
        self.lut_len[at] = np.repeat(lens[short], spans)
        self.lut_sym[at] = np.repeat(syms[short], spans)
        lut_step = (self.lut_len + 8 * (self.lut_sym == iM)).astype(np.uint8)
        lut_step[self.lut_len == 0] = 255  # no code starts so: on the path only in a damaged stream
        self.width, self.lut_step, self.long, self.step = width, lut_step, None, None
        self.whole = bool(short.all())  # every code in the table: steps can be looked up where read
        self._tables = (lens, syms, codes, base, ncount, first, short, iM)

    def bit_steps(self) -> np.ndarray:
        """The step of a code starting at every bit (codes longer than the table matched there)."""
        if self.step is not None:
            return self.step
        lens, syms, codes, base, ncount, first, short, iM = self._tables
        width = self.width
        self.step = self.lut_step[_bits_every(self.data, self.nbits, width)]
        if not short.all():  # codes longer than the table: matched where the table has none
            where = np.nonzero(self.step == 255)[0]
            wins = _windows_at(self.data, where)
            used = np.unique(lens)[::-1]  # longest first: left-justified bases ascending
            ljbase = np.array([int(base[L]) << (64 - int(L)) for L in used], np.uint64)
            k = np.searchsorted(ljbase, wins, side="right") - 1  # the shortest length that fits
            got_len = used[np.maximum(k, 0)].astype(np.int64)
            rank = (wins >> (np.uint64(64) - got_len.astype(np.uint64))).astype(np.int64) - \
                np.array(base, np.int64)[got_len]
            ok = (k >= 0) & (got_len > width) & (rank >= 0) & (rank < ncount[got_len])
            got_sym = np.where(ok, syms[np.clip(first[got_len] + rank, 0, len(syms) - 1)], 0)
            self.step[where[ok]] = np.minimum(got_len[ok] + 8 * (got_sym[ok] == iM), 254)
            self.long = (where[ok], got_len[ok], got_sym[ok])
        return self.step

    def _codes_at(self, pos: np.ndarray):
        v = _bits_at(self.data, pos, self.width)
        length = self.lut_len[v].astype(np.int64)
        sym = self.lut_sym[v].astype(np.int64)
        if self.long is not None and len(self.long[0]):
            i = np.searchsorted(self.long[0], pos)
            hit = (i < len(self.long[0])) & (self.long[0][np.minimum(i, len(self.long[0]) - 1)] == pos)
            length[hit] = self.long[1][i[hit]]
            sym[hit] = self.long[2][i[hit]]
        return length, sym

    def finish(self, pos: np.ndarray) -> np.ndarray:
        """The ``count`` values from the positions of the codes (this stream's path)."""
        if len(pos) == 0:
            raise CorruptChunk("Huffman data is empty")
        length, s = self._codes_at(pos)
        if np.any(length == 0) or int(pos[-1] + length[-1] + 8 * (s[-1] == self.rlc)) != self.nbits:
            raise CorruptChunk("Huffman data is damaged")
        run = s == self.rlc
        reps = np.ones(len(pos), np.int64)
        if run.any():
            if run[0]:
                raise CorruptChunk("Huffman data starts with a run")
            reps[run] = _bits_at(self.data, pos[run] + length[run], 8)
            idx = np.where(run, 0, np.arange(len(pos)))
            np.maximum.accumulate(idx, out=idx)
            s = s[idx]
        if int(reps.sum()) != self.count:
            raise CorruptChunk(f"Huffman data holds {int(reps.sum())} values, needs {self.count}")
        return np.repeat(s, reps).astype(np.uint16)


def _windows_at(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The 64 bits (left-justified uint64) at bit positions ``at`` of ``data`` (padded with
    at least 9 bytes past the last position's byte)."""
    byte = at >> 3
    s = (at & 7).astype(np.uint64)
    w = np.zeros(len(at), np.uint64)
    for k in range(8):
        w |= data[byte + k].astype(np.uint64) << np.uint64(56 - 8 * k)
    return (w << s) | (data[byte + 8].astype(np.uint64) >> (np.uint64(8) - s))


def huf_decode(src: np.ndarray, count: int) -> np.ndarray:
    """OpenEXR's Huffman stream (``internal_huf_decompress``) -> ``count`` uint16 values."""
    h = _Huf(np.asarray(src, np.uint8), count)
    return h.finish(chain(h.bit_steps()))


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


class _Piz:
    """One PIZ chunk up to its Huffman codes (:class:`_Huf`): the bitmap's LUT."""

    def __init__(self, data, channels, w: int, nlines: int):
        buf = np.frombuffer(data, np.uint8)
        self.channels, self.w, self.nlines = channels, w, nlines
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
        self.lut = np.nonzero(present)[0].astype(np.uint16)
        if pos + 4 > len(buf):
            raise CorruptChunk("PIZ data is truncated")
        nhuf = int(np.frombuffer(buf[pos:pos + 4].tobytes(), "<u4")[0])
        pos += 4
        if pos + nhuf > len(buf):
            raise CorruptChunk("PIZ Huffman data is truncated")
        self.huf = _Huf(buf[pos:pos + nhuf], want // 2)

    def finish(self, pos: np.ndarray) -> np.ndarray:
        words = self.huf.finish(pos)
        maxval = len(self.lut) - 1
        w, nlines = self.w, self.nlines
        planes, at = [], 0
        for _, t in self.channels:
            wc = SIZES[t] // 2
            n = w * nlines * wc
            plane = words[at:at + n].reshape(nlines, w, wc)
            for j in range(wc):
                sub = np.ascontiguousarray(plane[:, :, j])
                wav_decode(sub, maxval)
                plane[:, :, j] = sub
            at += n
            planes.append(plane)
        if max((int(p.max()) for p in planes if p.size), default=0) > maxval:
            raise CorruptChunk("PIZ values lie outside its bitmap")
        planes = [self.lut[p].astype("<u2").view(np.uint8).reshape(nlines, -1) for p in planes]
        return _to_lines(planes, self.channels, w, nlines)


def piz_many(items, channels, pool=None) -> list:
    """PIZ chunks (``items``: ``(data, width, lines)``): each prepared (bitmap, Huffman
    tables, a code at every bit), the code paths of all found by one :func:`chain_multi`,
    then each finished (run lengths, wavelet, LUT)."""
    run = pool.map if pool is not None else map
    prepared = list(run(lambda it: _Piz(it[0], channels, it[1], it[2]), items))
    hufs = [p.huf for p in prepared]
    if all(h.whole for h in hufs):  # a table look-up per code read, where the lanes are
        sizes = np.array([len(h.data) for h in hufs], np.int64)
        byte0 = np.cumsum(sizes) - sizes
        data = np.concatenate([h.data for h in hufs] + [np.zeros(16, np.uint8)])
        starts = 8 * byte0
        ends = starts + np.array([h.nbits for h in hufs], np.int64)
        widths = np.array([h.width for h in hufs], np.int64)
        tables = np.array([len(h.lut_step) for h in hufs], np.int64)
        lut0 = np.cumsum(tables) - tables
        lut = np.concatenate([h.lut_step for h in hufs])
        total = 8 * int(sizes.sum())
        b = data.astype(np.uint32)
        words = ((b[:-3] << 24) | (b[1:-2] << 16) | (b[2:-1] << 8) | b[3:]).astype(np.int64)  # at every byte
        shift0 = 32 - widths  # per segment: shift of a window starting at a byte's top bit
        mask = (np.int64(1) << widths) - 1

        def stepper(pos, seg):
            at = np.minimum(pos, total)
            v = (words[at >> 3] >> (shift0[seg] - (at & 7))) & mask[seg]
            st = lut[lut0[seg] + v].astype(np.int64)
            st[pos >= total] = 0
            return st

        pos, seg = chain_multi(None, starts, ends, stepper, total)
    else:
        steps = [h.bit_steps()[:h.nbits] for h in hufs]
        lens = np.array([len(x) for x in steps], np.int64)
        ends = np.cumsum(lens)
        starts = ends - lens
        pos, seg = chain_multi(np.concatenate(steps) if len(steps) > 1 else steps[0], starts, ends)
    cuts = np.searchsorted(seg, np.arange(len(items) + 1))
    return list(run(lambda k: prepared[k].finish(pos[cuts[k]:cuts[k + 1]] - starts[k]), range(len(items))))


def undo_piz(data, channels, w: int, nlines: int) -> np.ndarray:
    """:func:`piz_many` of one chunk."""
    return piz_many([(data, w, nlines)], channels)[0]


# --------------------------------------------------------------------------- dispatch
def decode(codec: int, data, channels, w: int, nlines: int, linear=()) -> np.ndarray:
    """One chunk's bytes -> ``(nlines, line bytes)`` uint8 rows (see the module docstring).
    ``channels``: ``[(name, pixel type)]`` in file order; ``w``: the chunk's width."""
    return decode_many(codec, [(data, w, nlines)], channels, linear)[0]


#: Compressed bytes decoded together by :func:`decode_many` (bounds its work arrays: PIZ
#: keeps a few bytes per compressed *bit*).
BATCH_BYTES = {PIZ: 1 << 20, RLE: 8 << 20, B44: 8 << 20, B44A: 8 << 20}


def decode_many(codec: int, items, channels, linear=(), pool=None) -> list:
    """:func:`decode` of many chunks (``items``: ``(data, width, lines)``) of one part:
    the variable-length codecs (RLE, B44A, PIZ) parse all their chunks together, in batches
    of :data:`BATCH_BYTES`; the others decode chunk by chunk on ``pool``'s threads."""
    out = [None] * len(items)
    todo = []
    for k, (data, w, nlines) in enumerate(items):
        line = sum(SIZES[t] * w for _, t in channels)
        if len(data) == line * nlines:  # every codec stores a chunk as is when it would not shrink
            out[k] = np.frombuffer(data, np.uint8).reshape(nlines, line)
        elif codec == NONE:
            raise CorruptChunk(f"holds {len(data)} bytes, needs {line * nlines}")
        else:
            todo.append(k)
    if not todo:
        return out
    run = pool.map if pool is not None else map
    if codec in BATCH_BYTES:
        batches, size = [[]], 0
        for k in todo:
            if batches[-1] and size + len(items[k][0]) > BATCH_BYTES[codec]:
                batches.append([])
                size = 0
            batches[-1].append(k)
            size += len(items[k][0])
        for ks in batches:
            its = [items[k] for k in ks]
            if codec == PIZ:
                got = piz_many(its, channels, pool)
            elif codec in (B44, B44A):
                got = b44_many(codec, its, channels, linear)
            else:
                raws = rle_expand_many([d for d, _, _ in its])
                wants = [sum(SIZES[t] * w for _, t in channels) * h for _, w, h in its]
                if any(len(r) != n for r, n in zip(raws, wants)):
                    raise CorruptChunk("RLE data expands to the wrong size")
                got = list(run(lambda r: undo_predictor(r.tobytes()), raws))
                got = [g.reshape(h, -1) for g, (_, _, h) in zip(got, its)]
            for k, g in zip(ks, got):
                out[k] = g
        return out
    if codec in (ZIPS, ZIP):
        def one(k):
            data, w, nlines = items[k]
            want = sum(SIZES[t] * w for _, t in channels) * nlines
            return undo_predictor(zip_raw(data, want)).reshape(nlines, -1)
    elif codec == PXR24:
        def one(k):
            data, w, nlines = items[k]
            return undo_pxr24(data, channels, w, nlines)
    else:
        raise UnsupportedCodec(NAMES.get(codec, f"compression {codec}"))
    for k, g in zip(todo, run(one, todo)):
        out[k] = g
    return out


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
