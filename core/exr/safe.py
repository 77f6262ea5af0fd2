"""The safe EXR reader: every read without the OpenEXR module (issue 22).

Used by ``core.exr.read.read_exr`` when ``core.exr.host`` finds the bundled OpenEXR module unsafe
in this process (a Blender linking an older OpenEXR, where importing it crashes), or when
``DEPTH_CLOUD_EXR_READER=safe``. The headers come from ``core.exr_header`` (pure Python), the
chunk offset tables are read here, and the chunks are decoded by ``core.exr_codecs`` (numpy +
zlib): scanline and tiled parts (level 0 of any level mode), half/float/uint, any data
window, multipart and multi-view files, deep scanline/tiled parts (NONE/RLE/ZIPS/ZIP).

The result is the same :class:`core.exr.ExrFile` a read with OpenEXR gives: the same
channels (float32, color groups as views of one interleaved array), headers with the same
value types (``dataWindow`` as two int32 arrays, matrices as arrays, enums by name), the same
deep parts. A part these decoders cannot read (DWAA/DWAB/HTJ2K, subsampled channels) raises
a :class:`SourceFileError` naming the file, part and codec and what to do; a damaged part is
reported like OpenEXR's full read reports it (left out with a warning, or the typed error).
"""
from __future__ import annotations

import mmap
import os
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..errors import DepthCloudError, SourceFileError
from . import codecs
from . import damage as exr_damage
from . import parts as exr_parts
from . import threads as exr_threads
from .deep_read import DeepPart, DeepSampleError
from .file import ExrChannel, ExrFile, add_header, damaged_part_error, select_view
from .half import to_float32

_PTYPES = {"uint": 0, "half": 1, "float": 2}
_CODES = {name: code for code, name in codecs.NAMES.items()}
_SCANLINE_LINES = {0: 1, 1: 1, 2: 1, 3: 16, 4: 32, 5: 16, 6: 32, 7: 32, 8: 32, 9: 256, 10: 256, 11: 32}
REMEDY = "re-save it with ZIP or PIZ compression"


class Unreadable(Exception):
    """A part the safe decoders cannot take (codec, channel layout)."""


@dataclass
class SafePart:
    index: int
    storage: str
    codec: int
    channels: list  # [(name, pixel type code)] in file order
    window: tuple
    tile: tuple | None  # (x size, y size, level mode) for tiled parts
    offsets: np.ndarray
    sampled: bool = False
    linear: tuple = ()

    @property
    def size(self):
        return self.window[2] - self.window[0] + 1, self.window[3] - self.window[1] + 1


class _Header(dict):
    """A part header in the shape ``core.exr._add_header`` takes (``.header``)."""

    @property
    def header(self):
        return self


class SafeChannel:
    """What the OpenEXR bindings give as a header's channel (``name``, ``type``, sampling)."""

    def __init__(self, name, ptype, xs=1, ys=1):
        self.name, self.type, self.xSampling, self.ySampling = name, ptype, xs, ys

    def __repr__(self):
        return f'Channel("{self.name}", xSampling={self.xSampling}, ySampling={self.ySampling})'


class SafeTiles:
    """What the bindings give as a ``tiles`` attribute (``xSize``, ``ySize``, ``mode`` and
    ``roundingMode`` by name)."""

    def __init__(self, x, y, mode):
        self.xSize, self.ySize = int(x), int(y)
        self.mode = ("ONE_LEVEL", "MIPMAP_LEVELS", "RIPMAP_LEVELS").__getitem__(mode & 0x0F) \
            if mode & 0x0F < 3 else f"unknown({mode & 0x0F})"
        self.roundingMode = "ROUND_UP" if mode >> 4 else "ROUND_DOWN"

    def __repr__(self):
        return f"TileDescription({self.xSize}, {self.ySize}, {self.mode}, {self.roundingMode})"


def openexr_style(part) -> dict:
    """A part's attributes (``core.exr_header.PartHeader``) with the value types OpenEXR's
    bindings give: boxes as two arrays, vectors and matrices as arrays, enums by name."""
    out = {}
    types = getattr(part, "types", {}) or {}
    for key, value in part.attributes.items():
        kind = types.get(key, "")
        if kind == "box2i" and isinstance(value, tuple) and len(value) == 4:
            value = (np.array(value[:2], np.int32), np.array(value[2:], np.int32))
        elif kind == "box2f" and isinstance(value, tuple) and len(value) == 4:
            value = (np.array(value[:2], np.float32), np.array(value[2:], np.float32))
        elif kind in ("v2i", "v3i"):
            value = np.array(value, np.int32)
        elif kind in ("v2f", "v3f"):
            value = np.array(value, np.float32)
        elif kind in ("v2d", "v3d"):
            value = np.array(value, np.float64)
        elif kind in ("m33f", "m44f"):
            value = np.array(value, np.float32).reshape((3, 3) if kind == "m33f" else (4, 4))
        elif kind in ("m33d", "m44d"):
            value = np.array(value, np.float64).reshape((3, 3) if kind == "m33d" else (4, 4))
        elif kind == "compression" and isinstance(value, str) and not value.startswith("unknown"):
            value = "NO_COMPRESSION" if value == "NONE" else f"{value}_COMPRESSION"
        elif kind == "tiledesc" and isinstance(value, dict):
            value = SafeTiles(value["x"], value["y"], value["mode"])
        elif kind == "chlist":
            value = [SafeChannel(c.name, c.pixel_type, c.x_sampling, c.y_sampling) for c in part.channels]
        out[key] = value
    return out


# --------------------------------------------------------------------------- layout
def _tile_count(w, h, tile) -> int:
    tx, ty, _mode = tile
    return -(-w // tx) * -(-h // ty)


def file_parts(header, buf) -> list:
    """Every part of the file (``core.exr_header.ExrHeader``) with its offset table (for
    tiled parts of several levels: the level-0 tiles, which come first)."""
    parts = []
    pos = header.header_end
    for index, ph in enumerate(header.parts):
        attrs = ph.attributes
        storage = ph.storage or "scanlineimage"
        codec = _CODES.get(attrs.get("compression"), -1)
        window = tuple(ph.data_window)
        w, h = window[2] - window[0] + 1, window[3] - window[1] + 1
        tiles = attrs.get("tiles")
        tile = None
        if storage in ("tiledimage", "deeptile"):
            if not isinstance(tiles, dict) or not tiles.get("x") or not tiles.get("y"):
                raise Unreadable(f"{exr_damage.part_label(index, ph)} has no tile description")
            tile = (int(tiles["x"]), int(tiles["y"]), int(tiles.get("mode", 0)) & 0x0F)
            first = _tile_count(w, h, tile)
        else:
            first = -(-h // _SCANLINE_LINES.get(codec, 1))
        count = attrs.get("chunkCount")
        count = count if isinstance(count, int) else first
        if count < first or pos + 8 * count > len(buf):
            raise codecs.CorruptChunk(f"the offset table of {exr_damage.part_label(index, ph)} runs past the end")
        offsets = np.frombuffer(buf, "<u8", count=first, offset=pos).astype(np.int64)
        pos += 8 * count
        parts.append(SafePart(index, storage, codec,
                              [(c.name, _PTYPES.get(c.pixel_type, -1)) for c in ph.channels], window, tile, offsets,
                              any((c.x_sampling, c.y_sampling) != (1, 1) for c in ph.channels)))
    return parts


def _threads(part) -> int:
    return exr_threads.decode_threads(part.codec != codecs.NONE)


def _map(fn, items, threads):
    if threads > 1 and len(items) > 1:
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(fn, items))
    return [fn(x) for x in items]


def check_readable(part: SafePart, label: str, path: str):
    """The typed error for a part the decoders cannot take (None when they can)."""
    why = None
    if part.codec not in codecs.DECODED:
        why = f"uses {codecs.NAMES.get(part.codec, 'an unknown')} compression, which Depth Cloud's own EXR " \
              f"decoders do not read"
    elif part.sampled:
        why = "has subsampled channels, which Depth Cloud's own EXR decoders do not read"
    elif any(t not in codecs.SIZES for _, t in part.channels):
        why = "has a channel of an unknown pixel type"
    elif part.storage in ("deepscanline", "deeptile") and part.codec not in (0, 1, 2, 3):
        why = f"is deep with {codecs.NAMES.get(part.codec)} compression, which deep data cannot use"
    if why is None:
        return None
    problem = f"{label} {why} (the OpenEXR module cannot be used in this Blender: it has an older OpenEXR loaded)"
    err = SourceFileError(path, f"{problem}; {REMEDY}")
    err.problem = problem
    return err


def _chunk_fields(buf, part: SafePart, k: int, multipart: bool, lead: int, ints: int, after: int):
    """``(offset, fields)`` of chunk ``k``: its first ``ints`` little-endian ints, the part
    number (multi-part files) checked and dropped; the chunk's ``lead + after`` first bytes must
    lie in the file."""
    off = int(part.offsets[k])
    if off < 8 or off + lead + after > len(buf):
        raise codecs.CorruptChunk(f"chunk {k} lies outside the file")
    fields = struct.unpack_from(f"<{ints}i", buf, off)
    if multipart and fields[0] != part.index:
        raise codecs.CorruptChunk(f"chunk at byte {off} belongs to part {fields[0]}")
    return off, (fields[1:] if multipart else fields)


def _chunk_place(part: SafePart, fields, off: int, lines: int):
    """``(x0, y0, width, height, slot)`` of a chunk in its part's data window, from its tile
    coordinates (level 0 only) or first line; ``slot``: its index among the part's chunks."""
    w, h = part.size
    if part.tile is not None:
        tx, ty, lx, ly = fields[:4]
        if (lx, ly) != (0, 0):
            raise codecs.CorruptChunk(f"chunk at byte {off} is level {(lx, ly)}, not level 0")
        x0, y0 = tx * part.tile[0], ty * part.tile[1]
        if tx < 0 or ty < 0 or x0 >= w or y0 >= h:
            raise codecs.CorruptChunk(f"chunk at byte {off} is tile {(tx, ty)}, outside the data window")
        return x0, y0, min(part.tile[0], w - x0), min(part.tile[1], h - y0), ty * -(-w // part.tile[0]) + tx
    r, rem = divmod(fields[0] - part.window[1], lines)
    if rem or not 0 <= r * lines < h:
        raise codecs.CorruptChunk(f"chunk at byte {off} starts at line {fields[0]}")
    return 0, r * lines, w, min(lines, h - r * lines), r


# --------------------------------------------------------------------------- flat parts
def read_flat(buf, multipart: bool, part: SafePart, wanted) -> dict:
    """``{name: (h, w) float32}`` of the ``wanted`` channels of a scanline or tiled part."""
    w, h = part.size
    cols = [(name, None, 0, 0) for name, _ in part.channels if name in wanted]
    planes = exr_parts.channel_planes(cols, h, w)
    n = len(buf)
    tiled = part.tile is not None
    lead = (4 if multipart else 0) + (16 if tiled else 4)
    lines = _SCANLINE_LINES.get(part.codec, 1)
    seen = np.zeros(len(part.offsets), bool)

    def locate(k):
        off, fields = _chunk_fields(buf, part, k, multipart, lead, lead // 4 + 1, 4)
        size = fields[-1]
        if size < 0 or off + lead + 4 + size > n:
            raise codecs.CorruptChunk(f"chunk at byte {off} runs past the end of the file")
        x0, y0, cw, ch, slot = _chunk_place(part, fields, off, lines)
        if seen[slot]:
            raise codecs.CorruptChunk(f"two chunks hold block {slot}")
        seen[slot] = True
        return off + lead + 4, size, x0, y0, cw, ch

    if not cols:
        return planes
    where = [locate(k) for k in range(len(part.offsets))]
    if not seen.all():
        raise codecs.CorruptChunk(f"{int((~seen).sum())} chunks are missing")
    line = sum(codecs.SIZES[t] for _, t in part.channels)
    threads = _threads(part)
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    mv = memoryview(buf)
    try:
        k = 0
        while k < len(where):  # groups of chunks of at most GROUP_BYTES decoded
            j, raw = k, 0
            while j < len(where) and (j == k or raw + where[j][4] * where[j][5] * line <= GROUP_BYTES):
                raw += where[j][4] * where[j][5] * line
                j += 1
            group = where[k:j]
            items = [(mv[a:a + size], cw, ch) for a, size, _, _, cw, ch in group]
            blocks = codecs.decode_many(part.codec, items, part.channels, part.linear, pool)
            for (_, _, x0, y0, cw, ch), block in zip(group, blocks):
                col = 0
                for name, t in part.channels:
                    nb = codecs.SIZES[t] * cw
                    if name in planes:
                        planes[name][y0:y0 + ch, x0:x0 + cw] = block[:, col:col + nb].view(codecs.DTYPES[t])
                    col += nb
            del items, blocks
            k = j
    finally:
        if pool is not None:
            pool.shutdown()
        mv.release()
    return planes


#: Uncompressed bytes of the chunks decoded together (bounds the decoders' work memory).
GROUP_BYTES = 48 << 20


# --------------------------------------------------------------------------- deep parts
def read_deep(buf, multipart: bool, part: SafePart, path: str, label: str):
    """A ``core.deep_read.DeepPart``: per-pixel sample counts and every channel's samples
    (stored dtype) in pixel order, as ``core.deep_read.flatten_part`` gives them."""
    w, h = part.size
    n = len(buf)
    tiled = part.tile is not None
    lead = (4 if multipart else 0) + (16 if tiled else 4)
    lines = _SCANLINE_LINES.get(part.codec, 1)
    sizes = [codecs.SIZES[t] for _, t in part.channels]

    def one(k):
        off, fields = _chunk_fields(buf, part, k, multipart, lead, lead // 4, 24)
        table_size, packed, unpacked = struct.unpack_from("<3q", buf, off + lead)
        start = off + lead + 24
        if min(table_size, packed, unpacked) < 0 or start + table_size + packed > n:
            raise codecs.CorruptChunk(f"chunk at byte {off} runs past the end of the file")
        x0, y0, cw, ch, _slot = _chunk_place(part, fields, off, lines)
        mv = memoryview(buf)
        table = codecs.decode_bytes(part.codec, mv[start:start + table_size], 4 * cw * ch)
        cum = table.view("<i4").reshape(ch, cw).astype(np.int64)
        counts = np.diff(cum, axis=1, prepend=0)  # one running count per line
        if np.any(counts < 0):
            raise codecs.CorruptChunk(f"chunk at byte {off} has a damaged sample count table")
        total = int(counts.sum())
        if unpacked != total * sum(sizes):
            raise codecs.CorruptChunk(f"chunk at byte {off} holds {unpacked} sample bytes, its counts need "
                                      f"{total * sum(sizes)}")
        data = codecs.decode_bytes(part.codec, mv[start + table_size:start + table_size + packed], unpacked)
        return x0, y0, cw, ch, counts, data

    chunks = _map(one, range(len(part.offsets)), _threads(part))
    counts = np.zeros((h, w), np.int32)
    for x0, y0, cw, ch, c, _ in chunks:
        counts[y0:y0 + ch, x0:x0 + cw] = c
    flat_counts = counts.reshape(-1)
    starts = np.cumsum(flat_counts, dtype=np.int64) - flat_counts
    total = int(flat_counts.sum())
    values = {name: np.empty(total, codecs.DTYPES[t]) for name, t in part.channels}
    for x0, y0, cw, ch, c, data in chunks:
        # a chunk's samples (scanlines and tiles alike): line by line, in each line every
        # channel's samples of the line's pixels, channel after channel
        per_line = c.sum(axis=1).astype(np.int64)
        pix = (np.arange(y0, y0 + ch)[:, None] * w + np.arange(x0, x0 + cw)[None, :]).reshape(-1)
        nsub = c.reshape(-1).astype(np.int64)
        dest = np.repeat(starts[pix] - np.cumsum(nsub) + nsub, nsub) + np.arange(int(nsub.sum()))
        line_bytes = per_line * sum(sizes)
        line_start = np.cumsum(line_bytes) - line_bytes  # byte where each line's samples begin
        first = np.cumsum(per_line) - per_line  # sample index where each line begins
        line_of = np.repeat(np.arange(ch), per_line)
        within = np.arange(len(dest)) - first[line_of]
        before = 0
        for (name, t), size in zip(part.channels, sizes):
            at = line_start[line_of] + before * per_line[line_of] + within * size
            vals = data[at[:, None] + np.arange(size)].reshape(-1).view(codecs.DTYPES[t])
            values[name][dest] = vals
            before += size
    name = str(part_name(part))
    return DeepPart(index=part.index, name=name, view="", data_window=tuple(part.window), counts=counts,
                    channels=values)


def part_name(part) -> str:
    return getattr(part, "name", "")


# --------------------------------------------------------------------------- file
def open_buffer(path: str):
    with open(path, "rb") as fh:
        try:
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError as err:  # empty file
            raise SourceFileError(path, f"cannot map the file ({err})") from err


def close_buffer(buf):
    try:
        buf.close()
    except BufferError:  # a view is still alive; the map closes when it goes
        pass


# --------------------------------------------------------------------------- a child process
CHILD = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import OpenEXR
path, out, wanted = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
parts = list(OpenEXR.File(path, separate_channels=True).parts)
if len(parts) != int(sys.argv[5]):
    sys.exit(f"OpenEXR read {len(parts)} of the file's {sys.argv[5]} parts")
arrays, names = {}, []
for index, chans in wanted.items():
    for name, ch in parts[int(index)].channels.items():
        if chans is None or name in chans:
            arrays[f"a{len(names)}"] = ch.pixels
            names.append([int(index), name])
arrays["names"] = np.array(json.dumps(names))
np.savez(out, **arrays)
"""
#: Seconds a child read may take before it is given up (a damaged file must not hang a build).
CHILD_TIMEOUT = 300


def openexr_module_dir():
    """The folder of the bundled OpenEXR module, found without importing it (None if absent)."""
    import importlib.util
    try:
        spec = importlib.util.find_spec("OpenEXR")
    except (ImportError, ValueError):
        return None
    return os.path.dirname(spec.origin) if spec is not None and spec.origin else None


def child_read(path: str, header, wanted: dict) -> dict:
    """``{part index: {name: (h, w) float32}}`` of the ``wanted`` parts (``{index: names or
    None}``) read by OpenEXR in a child process started with ``sys.executable`` (in a host
    where importing the module would crash this process, a separate Python reads the file
    fine: BLENDER_NOTES). Raises ``RuntimeError`` saying why when there is no such child."""
    import json
    import subprocess
    import sys
    import tempfile
    moddir = openexr_module_dir()
    exe = sys.executable
    if moddir is None or not exe or not os.path.isfile(exe) or "python" not in os.path.basename(exe).lower():
        raise RuntimeError("no Python interpreter with the OpenEXR module to start")
    fd, out = tempfile.mkstemp(suffix=".npz", prefix="depth_cloud_child_",
                               dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
    os.close(fd)
    try:
        spec = {str(i): (None if n is None else sorted(n)) for i, n in wanted.items()}
        try:
            done = subprocess.run([exe, "-I", "-c", CHILD, moddir, str(path), out, json.dumps(spec),
                                   str(len(header.parts))], capture_output=True, text=True, timeout=CHILD_TIMEOUT)
        except (OSError, subprocess.SubprocessError) as err:
            raise RuntimeError(f"the OpenEXR child process failed ({err})") from err
        if done.returncode != 0:
            tail = (done.stderr or "").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
            raise RuntimeError(f"the OpenEXR child process failed ({tail[0][:200]})")
        with np.load(out, allow_pickle=False) as got:
            names = json.loads(str(got["names"]))
            result = {}
            for k, (index, name) in enumerate(names):
                px = got[f"a{k}"]
                result.setdefault(index, {})[name] = px if px.dtype == np.float32 else to_float32(px)
        return result
    finally:
        os.unlink(out)


def _by_numpy_reader(header, parts, wanted: dict, problems: dict) -> dict:
    """The scanline NONE/ZIPS/ZIP parts read by ``core.exr_parts``' numpy reader (the build's
    fast path in every host, which never touches OpenEXR): ``{index: {name: planes}}``, or
    ``{}`` when it cannot take the file (tiled or deep parts, damage it finds: this module's
    decoders then read those parts and name the damage)."""
    take = {i: (set(n for n, _ in parts[i].channels) if names is None else set(names))
            for i, names in wanted.items() if i not in problems and parts[i].storage == "scanlineimage"
            and parts[i].codec in (codecs.NONE, codecs.ZIPS, codecs.ZIP) and not parts[i].sampled}
    if not take:
        return {}
    try:
        _, got = exr_parts.read_parts(header, take, None, "numpy")
    except (exr_parts.Unsupported, exr_parts.Damaged, OSError):
        return {}
    return got


#: Codecs a child process (OpenEXR, ``child_read``) reads faster than this module's decoders,
#: tried there first (measured on a 1080p Combined + Z render: PIZ ~0.6 s against 6.3 s, RLE
#: ~0.5 s against 1.5 s; the child's start and hand-over cost ~0.35 s, so faster codecs stay
#: here). The decoders read what the child cannot (no child, damage, a part it did not give).
CHILD_FIRST = (codecs.RLE, codecs.PIZ)


def _child_first(path, header, parts, wanted: dict, problems: dict, done: dict) -> dict:
    """The healthy flat parts of :data:`CHILD_FIRST` codecs read by a child process, each
    only when every wanted channel came back with its data window's shape; ``{}`` when there
    is no child or it fails (this module's decoders then read them and name any damage)."""
    take = {i: names for i, names in wanted.items() if i not in problems and i not in done
            and parts[i].codec in CHILD_FIRST and parts[i].storage in ("scanlineimage", "tiledimage")
            and not parts[i].sampled}
    if not take:
        return {}
    try:
        got = child_read(path, header, take)
    except RuntimeError:
        return {}
    out = {}
    for index, names in take.items():
        part = parts[index]
        w, h = part.size
        want = set(n for n, _ in part.channels) if names is None else set(names)
        planes = got.get(index, {})
        if set(planes) >= want and all(planes[n].shape == (h, w) for n in want):
            out[index] = {n: planes[n] for n in want}
    return out


def decode_parts(path: str, header, wanted: dict, problems: dict) -> tuple[dict, dict, dict]:
    """``(flat, deep, failed)``: the ``wanted`` = ``{part index: channel names or None (all)}``
    decoded: ``flat`` ``{index: {name: (h, w) float32}}``, ``deep`` ``{index: DeepPart}``,
    ``failed`` ``{index: problem}`` for damaged parts. A part the decoders cannot take raises
    the typed error (its file, part and codec, and the remedy)."""
    buf = open_buffer(path)
    try:
        try:
            parts = file_parts(header, buf)
        except codecs.CorruptChunk as err:
            raise SourceFileError(path, f"damaged EXR: {err}") from err
        except Unreadable as err:
            raise SourceFileError(path, f"{err}; {REMEDY}") from err
        flat, deep, failed, elsewhere = {}, {}, {}, {}
        flat.update(_by_numpy_reader(header, parts, wanted, problems))
        flat.update(_child_first(path, header, parts, wanted, problems, flat))
        for index in sorted(wanted):
            if index in problems or index in flat:
                continue
            part = parts[index]
            ph = header.parts[index]
            label = exr_damage.part_label(index, ph)
            error = check_readable(part, label, path)
            if error is not None:
                elsewhere[index] = error
                continue
            names = wanted[index]
            try:
                if part.storage in ("deepscanline", "deeptile"):
                    dp = read_deep(buf, header.multipart, part, path, label)
                    dp.name = ph.name
                    dp.view = str(ph.attributes.get("view", "") or "")
                    deep[index] = dp
                else:
                    want = set(n for n, _ in part.channels) if names is None else set(names)
                    got = read_flat(buf, header.multipart, part, want)
                    flat[index] = {k: (v if v.dtype == np.float32 else to_float32(v)) for k, v in got.items()}
            except codecs.UnsupportedCodec as err:
                raise SourceFileError(path, f"{label} uses {err}, which Depth Cloud's own EXR decoders do not read "
                                            f"(the OpenEXR module cannot be used in this Blender); {REMEDY}") from err
            except (codecs.CorruptChunk, ValueError, IndexError, struct.error) as err:
                failed[index] = f"damaged pixel data ({err})"
        if elsewhere:  # codecs not decoded here: OpenEXR in a child process, else the typed error
            if any(parts[i].storage in ("deepscanline", "deeptile") or parts[i].sampled for i in elsewhere):
                raise next(iter(elsewhere.values()))
            try:
                flat.update(child_read(path, header, {i: wanted[i] for i in elsewhere}))
            except RuntimeError as err:
                first = next(iter(elsewhere.values()))
                raise SourceFileError(path, f"{first.problem}, and {err}; {REMEDY}") from err
        return flat, deep, failed
    except DepthCloudError:
        raise
    finally:
        close_buffer(buf)


# --------------------------------------------------------------------------- core.exr.read_exr
def read(path: str, known, header_only: bool, view, channels=None, bands=None):
    """``core.exr.read.read_exr`` without the OpenEXR module (``known``: its ``_checked_header``
    result). ``bands`` channels are read whole (into ``channels``), as read_exr does for any
    channel its band reader cannot take."""
    layout, problems = known
    problems = dict(problems)
    out = ExrFile(path=path)
    for index, ph in enumerate(layout.parts):
        add_header(out, path, index, _Header(openexr_style(ph)))
    if header_only:
        select_view(out, layout, [], problems, view, True)
        return out
    any_deep = any(exr_damage.is_deep(p) for p in layout.parts)
    strict = channels is not None and not callable(channels)
    slot_of = None
    if channels is None or any_deep:  # every part (deep files are read whole, as with OpenEXR)
        wanted = {i: None for i in range(len(layout.parts))}
    else:
        slots = [(i, p.attributes, c.name, (i, c.name)) for i, p in enumerate(layout.parts) if i not in problems
                 for c in p.channels]
        probe = ExrFile(path=path)
        probe.part_headers = out.part_headers
        select_view(probe, layout, slots, problems, view, False)
        slot_of = probe.channels
        listed = list(slot_of) + [n for n in probe.damaged if n not in slot_of]
        chosen = list(dict.fromkeys(channels(list(listed)) if callable(channels) else channels))
        extra = list(dict.fromkeys(bands(list(listed)) if callable(bands) else bands or ()))
        if strict:
            for name in chosen:
                if name not in slot_of and name in probe.damaged:
                    raise probe.damage_error(name)
        wanted = {}
        for name in chosen + extra:
            if name in slot_of:
                i, raw = slot_of[name]
                wanted.setdefault(i, set()).add(raw)
    flat, deep, failed = decode_parts(path, layout, wanted, problems)
    for index, problem in failed.items():
        if exr_damage.is_deep(layout.parts[index]):
            label = exr_damage.part_label(index, layout.parts[index])
            raise DeepSampleError(path, f"damaged deep EXR: deep part {label} could not be decoded ({problem})")
        problems[index] = problem
    out.deep = deep
    if slot_of is None:
        if problems and len(problems) == len(layout.parts):
            raise damaged_part_error(path, layout, problems)
        entries = [(i, layout.parts[i].attributes, name,
                    ExrChannel(name, px, tuple(layout.parts[i].data_window), i))
                   for i in sorted(flat) for name, px in flat[i].items()]
        select_view(out, layout, entries, problems, view, False)
        return out
    entries = [(i, p.attributes, c.name, (i, c.name)) for i, p in enumerate(layout.parts) if i not in problems
               for c in p.channels]
    select_view(out, layout, entries, problems, view, False)
    slot_of, out.channels = out.channels, {}
    out.listed = list(slot_of) + [n for n in out.damaged if n not in slot_of]
    for name in chosen + extra:
        if name in slot_of:
            i, raw = slot_of[name]
            if i in flat and raw in flat[i]:
                out.channels[name] = ExrChannel(raw, flat[i][raw], tuple(layout.parts[i].data_window), i)
    if strict:
        for name in chosen:
            if name not in out.channels and name in out.damaged:
                raise out.damage_error(name)
    return out
