"""Depth (or world position) from images and arrays: PNG, TIFF, ``.npy`` and ``.npz``.

Stored values are read exactly, never through a display-referred or 8-bit path: a 16-bit
PNG holding 0…65535 reads back as those integers (gamma, ICC and sRGB chunks are ignored:
colour management never touches depth). Then ``stored × depth_scale`` is the depth (or
position) in scene units, and the depth convention (planar, ray, normalized, z-buffer,
inverse) applies to that. Pixels holding the *invalid value* (default: 0 for integer images,
none for float data) make no point.

Readers, in order (the first that can read the file wins):

1. numpy itself for ``.npy``/``.npz`` (float or integer arrays, (h, w) or (h, w, k));
2. a pure-numpy decoder in this module for PNG (8/16-bit gray, gray+alpha, RGB, RGBA;
   rows filtered with None/Sub/Up whole rows at a time) and baseline TIFF (strips,
   uncompressed or Deflate, predictor none or horizontal; 8/16/32-bit integers, 32/64-bit
   floats). This works without Blender;
3. OpenImageIO when it can be imported (Blender 4.5+ bundles it; the ``bpy`` wheel exposes it
   after ``bpy.utils.expose_bundled_modules()``), reading the file's native type;
4. ``fallback(path) -> (h, w, 4) float32`` given by the caller: Blender's own image loader
   with the Non-Color colour space (``glue/images.read_display_image``); integer files are
   then recovered exactly from ``value / (2**bits - 1)`` using the bit depth in the file's
   header;
5. PNGs with Average/Paeth rows (libpng's adaptive filtering) when neither (3) nor (4) is
   there: the pure decoder reconstructs them along anti-diagonals (every pixel of one needs
   only its left, upper and upper-left neighbours), h + w - 1 vectorised steps: ~0.3 s for
   640x480, ~1.3 s for 1920x1080.

Interlaced, palette and 1/2/4-bit PNGs and LZW/JPEG TIFFs need (3) or (4): inside Blender
they always work; outside Blender without OpenImageIO they are a :class:`SourceFileError`
saying so.
"""
from __future__ import annotations

import math
import os
import struct
import zlib
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ChannelError, SettingsError, SourceFileError

if TYPE_CHECKING:
    from collections.abc import Callable

PNG = (".png",)
TIFF = (".tif", ".tiff")
NUMPY = (".npy", ".npz")
EXTENSIONS = PNG + TIFF + NUMPY
#: npz keys tried, in order, when no key (``depth_channel``/``position_channels``) is given
NPZ_DEPTH_KEYS = ("depth", "z", "Z", "arr_0")
NPZ_POSITION_KEYS = ("position", "positions", "xyz", "P")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Unsupported(Exception):
    """The pure-numpy decoder does not handle this file's layout (another reader may)."""


def is_depth_image(path: str) -> bool:
    """True for the non-EXR depth files this module reads (by extension)."""
    return str(path).lower().endswith(EXTENSIONS)


# ------------------------------------------------------------------ options
def check_scale(scale) -> float:
    """``depth_scale`` as a float; 0, negative or non-finite is a SettingsError naming it."""
    try:
        value = float(scale)
    except (TypeError, ValueError) as err:
        raise SettingsError(f"depth scale must be a number, got {scale!r}") from err
    if not (math.isfinite(value) and value > 0):
        raise SettingsError(f"depth scale must be positive (stored value x scale = depth in scene units, "
                            f"e.g. 0.001 for millimetres), got {scale!r}")
    return value


def parse_invalid(value) -> float | None:
    """The invalid value setting: None or "" = the default (0 for integer images, none for
    float data), else a number (``nan`` accepted)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise SettingsError(f"invalid depth value must be a number or empty (default: 0 for integer images), "
                            f"got {value!r}") from err


# ------------------------------------------------------------------ PNG
def _png_chunks(path: str, data: bytes):
    if data[:8] != _PNG_SIGNATURE:
        raise SourceFileError(path, "not a PNG file (bad signature)")
    pos = 8
    while pos + 8 <= len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        if pos + 12 + n > len(data):
            raise SourceFileError(path, f"PNG truncated inside its {kind.decode('latin-1')!r} chunk")
        yield kind, data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IEND":
            return


def png_header(path: str, data: bytes | None = None) -> dict:
    """``width, height, bits, channels, color_type, interlace`` of a PNG."""
    if data is None:
        with open(path, "rb") as fh:
            data = fh.read(64)
    if data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise SourceFileError(path, "not a PNG file (bad signature)")
    w, h, bits, ctype, _comp, _flt, interlace = struct.unpack(">IIBBBBB", data[16:29])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(ctype)
    if channels is None:
        raise SourceFileError(path, f"PNG colour type {ctype} is invalid")
    return {"width": w, "height": h, "bits": bits, "channels": channels, "color_type": ctype,
            "interlace": interlace, "integer": True}


def read_png(path: str, wavefront: bool = True) -> np.ndarray:
    """A PNG's stored samples, (h, w, channels) uint8 or uint16, exactly (pure numpy).
    ``wavefront=False``: refuse (:class:`Unsupported`) files with Average/Paeth rows, whose
    reconstruction is slower (~0.3 s for 640x480) than OpenImageIO's or Blender's."""
    with open(path, "rb") as fh:
        data = fh.read()
    head = png_header(path, data)
    if head["color_type"] == 3:
        raise Unsupported("palette PNG")
    if head["bits"] not in (8, 16):
        raise Unsupported(f"{head['bits']}-bit PNG")
    if head["interlace"]:
        raise Unsupported("interlaced PNG")
    idat = b"".join(chunk for kind, chunk in _png_chunks(path, data) if kind == b"IDAT")
    try:
        raw = zlib.decompress(idat)
    except zlib.error as err:
        raise SourceFileError(path, f"PNG image data is damaged ({err})") from err
    w, h, ch, bits = head["width"], head["height"], head["channels"], head["bits"]
    bpp = ch * bits // 8
    stride = w * bpp
    if len(raw) < h * (stride + 1):
        raise SourceFileError(path, f"PNG image data is truncated ({len(raw)} of {h * (stride + 1)} bytes)")
    rows = np.frombuffer(raw, np.uint8, count=h * (stride + 1)).reshape(h, stride + 1)
    filters = rows[:, 0]
    if np.any(filters > 4):
        raise SourceFileError(path, f"PNG row filter {int(filters.max())} is invalid")
    if np.any(filters > 2):  # Average/Paeth rows: reconstructed along anti-diagonals
        if not wavefront:
            raise Unsupported("PNG rows with Average/Paeth filters")
        img = _unfilter_wavefront(rows[:, 1:], filters, w, bpp)
    else:
        img = _unfilter_simple(rows[:, 1:].copy(), filters, h, w, bpp, stride)
    if bits == 16:
        img = img.view(">u2").astype(np.uint16)
    return img.reshape(h, w, ch)


def _unfilter_simple(img, filters, h, w, bpp, stride):
    """None/Sub/Up rows, in place on (h, stride) uint8: whole rows at a time."""
    sub = np.flatnonzero(filters == 1)
    if sub.size:  # Raw(x) = Sub(x) + Raw(x - bpp) (mod 256): a running sum along each row
        img[sub] = np.cumsum(img[sub].reshape(len(sub), w, bpp), axis=1, dtype=np.uint8).reshape(len(sub), stride)
    up = filters == 2
    if up.any():  # Raw(x) = Up(x) + Prior(x): a running sum down each run of Up rows
        starts = np.flatnonzero(up & ~np.concatenate([[False], up[:-1]]))
        for s in starts:
            e = s
            while e + 1 < h and up[e + 1]:
                e += 1
            lo = max(s - 1, 0)
            img[lo:e + 1] = np.cumsum(img[lo:e + 1], axis=0, dtype=np.uint8)
    return img


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _predict(t, a, b, c):
    """The PNG predictor of filter ``t`` (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth) from the
    left ``a``, upper ``b`` and upper-left ``c`` bytes (int32)."""
    return np.where(t == 1, a, np.where(t == 2, b, np.where(t == 3, (a + b) >> 1,
                                                            np.where(t == 4, _paeth(a, b, c), 0))))


def _unfilter_wavefront(filtered, filters, w, bpp):
    """Any mix of the five row filters: a pixel needs its left, upper and upper-left
    neighbours only, so every pixel of an anti-diagonal (row + column = k) is reconstructed
    at once; h + w - 1 vectorised steps (about 0.1 s for 640x480)."""
    h = filtered.shape[0]
    x = filtered.reshape(h, w, bpp).astype(np.int32)
    out = np.zeros((h + 1, w + 1, bpp), np.int32)  # row 0 and column 0: the zero neighbours
    kind = filters.astype(np.int32)
    for k in range(h + w - 1):
        r = np.arange(max(0, k - w + 1), min(h - 1, k) + 1)
        c = k - r
        a, b, up_left = out[r + 1, c], out[r, c + 1], out[r, c]
        out[r + 1, c + 1] = (x[r, c] + _predict(kind[r][:, None], a, b, up_left)) & 255
    return out[1:, 1:].astype(np.uint8).reshape(h, w * bpp)


def write_png(path: str, array, filter_type: int = 0) -> None:
    """Write (h, w) or (h, w, 1|2|3|4) uint8/uint16 as a PNG (gray, gray+alpha, RGB, RGBA),
    rows filtered with None (0), Sub (1), Up (2), Average (3) or Paeth (4), or a sequence of
    one filter per row."""
    a = np.asarray(array)
    if a.ndim == 2:
        a = a[..., None]
    if a.dtype not in (np.uint8, np.uint16) or a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"write_png wants (h, w[, 1-4]) uint8 or uint16, got {a.dtype} {a.shape}")
    h, w, ch = a.shape
    bits = 8 * a.dtype.itemsize
    ctype = {1: 0, 2: 4, 3: 2, 4: 6}[ch]
    body = np.ascontiguousarray(a.astype(">u2") if bits == 16 else a).view(np.uint8).reshape(h, -1)
    bpp = ch * bits // 8
    raw = body.astype(np.int32)
    left = np.zeros_like(raw)
    left[:, bpp:] = raw[:, :-bpp]
    above = np.zeros_like(raw)
    above[1:] = raw[:-1]
    up_left = np.zeros_like(raw)
    up_left[1:, bpp:] = raw[:-1, :-bpp]
    kinds = np.broadcast_to(np.asarray(filter_type, dtype=np.int32).reshape(-1), (h,))
    if np.any((kinds < 0) | (kinds > 4)):
        raise ValueError("PNG filter types are 0 to 4")
    pred = _predict(kinds[:, None], left, above, up_left)
    rows = np.empty((h, body.shape[1] + 1), np.uint8)
    rows[:, 0] = kinds
    rows[:, 1:] = (raw - pred) & 255

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    out = _PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bits, ctype, 0, 0, 0))
    out += chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b"")
    with open(path, "wb") as fh:
        fh.write(out)


# ------------------------------------------------------------------ TIFF
_TIFF_TYPES = {1: "B", 2: "c", 3: "H", 4: "I", 5: "II", 6: "b", 8: "h", 9: "i", 11: "f", 12: "d", 16: "Q"}


def _tiff_tags(path: str, data: bytes) -> tuple[str, dict]:
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None:
        raise SourceFileError(path, "not a TIFF file (bad byte-order mark)")
    (magic,) = struct.unpack(order + "H", data[2:4])
    if magic == 43:
        raise Unsupported("BigTIFF")
    if magic != 42:
        raise SourceFileError(path, f"not a TIFF file (magic {magic})")
    (ifd,) = struct.unpack(order + "I", data[4:8])
    (n,) = struct.unpack(order + "H", data[ifd:ifd + 2])
    tags = {}
    for i in range(n):
        e = ifd + 2 + 12 * i
        tag, typ, count = struct.unpack(order + "HHI", data[e:e + 8])
        fmt = _TIFF_TYPES.get(typ)
        if fmt is None:
            continue
        size = struct.calcsize(fmt) * count
        where = e + 8 if size <= 4 else struct.unpack(order + "I", data[e + 8:e + 12])[0]
        if typ == 2:
            tags[tag] = data[where:where + count]
            continue
        vals = struct.unpack(order + fmt * count, data[where:where + size])
        tags[tag] = vals
    return order, tags


def tiff_header(path: str, data: bytes | None = None) -> dict:
    if data is None:
        with open(path, "rb") as fh:
            data = fh.read()
    order, tags = _tiff_tags(path, data)
    bits = tags.get(258, (1,))
    fmt = tags.get(339, (1,))[0]  # 1 uint, 2 int, 3 float
    return {"width": tags[256][0], "height": tags[257][0], "bits": int(bits[0]), "channels": tags.get(277, (1,))[0],
            "integer": fmt != 3, "order": order, "tags": tags, "sample_format": fmt}


def read_tiff(path: str) -> np.ndarray:
    """A baseline TIFF's stored samples, (h, w, channels) in their own type (pure numpy)."""
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        head = tiff_header(path, data)
    except (KeyError, struct.error, IndexError) as err:
        raise SourceFileError(path, f"TIFF header is damaged ({err})") from err
    tags, order = head["tags"], head["order"]
    w, h, ch, bits = head["width"], head["height"], head["channels"], head["bits"]
    comp = tags.get(259, (1,))[0]
    pred = tags.get(317, (1,))[0]
    if 322 in tags:
        raise Unsupported("tiled TIFF")
    if tags.get(284, (1,))[0] != 1 and ch > 1:
        raise Unsupported("planar TIFF")
    if comp not in (1, 8, 32946):
        raise Unsupported(f"TIFF compression {comp}")
    if pred not in (1, 2) or (pred == 2 and not head["integer"]):
        raise Unsupported(f"TIFF predictor {pred}")
    if len(set(tags.get(258, (bits,)))) != 1:
        raise Unsupported("TIFF with mixed bit depths")
    kind = {1: "u", 2: "i", 3: "f"}.get(head["sample_format"])
    if kind is None or bits not in (8, 16, 32, 64) or (kind == "f" and bits < 32):
        raise Unsupported(f"TIFF samples of format {head['sample_format']}, {bits} bits")
    dtype = np.dtype(f"{order}{kind}{bits // 8}")
    offsets, counts = tags[273], tags[279]
    parts = []
    for off, cnt in zip(offsets, counts):
        chunk = data[off:off + cnt]
        if comp != 1:
            try:
                chunk = zlib.decompress(chunk)
            except zlib.error as err:
                raise SourceFileError(path, f"TIFF strip at byte {off} is damaged ({err})") from err
        parts.append(chunk)
    raw = b"".join(parts)
    need = w * h * ch * dtype.itemsize
    if len(raw) < need:
        raise SourceFileError(path, f"TIFF image data is truncated ({len(raw)} of {need} bytes)")
    arr = np.frombuffer(raw, dtype, count=w * h * ch).reshape(h, w, ch)
    if pred == 2:  # horizontal differencing: a running sum along each row (wrapping)
        arr = np.cumsum(arr, axis=1, dtype=dtype)
    return arr.astype(dtype.newbyteorder("="))


def write_tiff(path: str, array, compress: bool = False, predictor: bool = False) -> None:
    """Write (h, w) or (h, w, k) uint8/uint16/uint32/float32 as a little-endian single-strip
    TIFF (Deflate and horizontal predictor optional, integers only for the predictor)."""
    a = np.asarray(array)
    if a.ndim == 2:
        a = a[..., None]
    if a.dtype not in (np.uint8, np.uint16, np.uint32, np.float32, np.float64):
        raise ValueError(f"write_tiff does not write {a.dtype}")
    h, w, ch = a.shape
    bits = 8 * a.dtype.itemsize
    fmt = 3 if a.dtype.kind == "f" else 1
    body = np.ascontiguousarray(a.astype(a.dtype.newbyteorder("<")))
    if predictor:
        if fmt == 3:
            raise ValueError("the horizontal predictor is for integer samples")
        body = body.copy()
        body[:, 1:] = body[:, 1:] - a[:, :-1]
    payload = body.tobytes()
    if compress:
        payload = zlib.compress(payload, 6)
    entries = [(256, 4, [w]), (257, 4, [h]), (258, 3, [bits] * ch), (259, 3, [8 if compress else 1]),
               (262, 3, [2 if ch >= 3 else 1]), (273, 4, [0]), (277, 3, [ch]), (278, 4, [h]),
               (279, 4, [len(payload)]), (284, 3, [1])]
    if predictor:
        entries.append((317, 3, [2]))
    entries.append((339, 3, [fmt] * ch))
    entries.sort()
    ifd_size = 2 + 12 * len(entries) + 4
    extra = b""
    extra_base = 8 + ifd_size
    blobs = []
    for tag, typ, vals in entries:
        code = "H" if typ == 3 else "I"
        blob = struct.pack("<" + code * len(vals), *vals)
        if len(blob) > 4:
            blobs.append((tag, extra_base + len(extra)))
            extra += blob + (b"\0" if len(blob) % 2 else b"")
    data_offset = extra_base + len(extra)
    ifd = struct.pack("<H", len(entries))
    where = dict(blobs)
    for tag, typ, vals in entries:
        if tag == 273:
            vals = [data_offset]
        code = "H" if typ == 3 else "I"
        blob = struct.pack("<" + code * len(vals), *vals)
        if tag in where:
            ifd += struct.pack("<HHII", tag, typ, len(vals), where[tag])
        else:
            ifd += struct.pack("<HHI", tag, typ, len(vals)) + blob.ljust(4, b"\0")
    ifd += b"\0\0\0\0"
    with open(path, "wb") as fh:
        fh.write(b"II*\0" + struct.pack("<I", 8) + ifd + extra + payload)


# ------------------------------------------------------------------ any reader
def _header(path: str) -> dict | None:
    low = path.lower()
    try:
        if low.endswith(PNG):
            return png_header(path)
        if low.endswith(TIFF):
            return tiff_header(path)
    except (KeyError, struct.error, IndexError):
        return None
    return None


def _read_oiio(path: str) -> np.ndarray | None:
    try:
        import OpenImageIO as oiio
    except ImportError:
        return None
    inp = oiio.ImageInput.open(path)
    if inp is None:
        return None
    try:
        spec = inp.spec()
        arr = inp.read_image(0, 0, 0, spec.nchannels, spec.format)
    finally:
        inp.close()
    if arr is None:
        return None
    arr = np.asarray(arr)
    return arr.reshape(spec.height, spec.width, -1)


def from_fallback(path: str, fallback, head: dict | None) -> np.ndarray:
    rgba = np.asarray(fallback(path), dtype=np.float32)
    if head is None:
        return rgba
    ch = int(head["channels"])
    # Blender expands gray to RGB(A); keep the file's own channel count
    keep = rgba[..., :1] if ch <= 2 else rgba[..., :3]
    if ch in (2, 4):
        keep = np.concatenate([keep, rgba[..., 3:4]], axis=-1)
    if head["integer"] and head["bits"] in (8, 16):
        top = float(2 ** head["bits"] - 1)
        return np.rint(keep.astype(np.float64) * top).astype(np.uint16 if head["bits"] == 16 else np.uint8)
    return keep


def read_array(path: str, key: str = "", fallback: Callable[[str], np.ndarray] | None = None,
               position: bool = False) -> np.ndarray:
    """The stored values of a depth/position file, (h, w, k) in the file's own type.

    ``key``: the array of an ``.npz`` (default: ``depth``/``z``/``arr_0``, or for positions
    ``position``/``xyz``/``P``; a file of one array needs none)."""
    path = str(path)
    if not os.path.isfile(path):
        raise SourceFileError(path, "depth file not found")
    low = path.lower()
    if low.endswith(NUMPY):
        try:
            loaded = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise SourceFileError(path, f"cannot read the NumPy file ({err})") from err
        if low.endswith(".npz"):
            with loaded:
                names = list(loaded.files)
                if key:
                    if key not in names:
                        raise ChannelError(path, f"array {key!r}", names, "arrays", noun="")
                    name = key
                elif len(names) == 1:
                    name = names[0]
                else:
                    wanted = NPZ_POSITION_KEYS if position else NPZ_DEPTH_KEYS
                    name = next((n for n in wanted if n in names), None)
                    if name is None:
                        raise ChannelError(path, f"{'position' if position else 'depth'} array (one of "
                                                 f"{', '.join(wanted)}; or name it as the channel)", names,
                                           "arrays", noun="")
                arr = loaded[name]
        else:
            arr = loaded
        arr = np.asarray(arr)
        if arr.dtype.kind not in "uif" and arr.dtype != np.bool_:
            raise SourceFileError(path, f"array of {arr.dtype} is not numbers")
        if arr.ndim == 2:
            arr = arr[..., None]
        if arr.ndim != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
            raise SourceFileError(path, f"expected an (height, width) or (height, width, channels) array, got shape "
                                        f"{arr.shape}")
        return arr
    if not low.endswith(PNG + TIFF):
        raise SourceFileError(path, f"unsupported depth file type; use EXR or one of {', '.join(EXTENSIONS)}")
    why = ""
    try:
        return read_png(path, wavefront=False) if low.endswith(PNG) else read_tiff(path)
    except Unsupported as err:
        why = str(err)
    arr = _read_oiio(path)
    if arr is not None:
        return arr
    if fallback is not None:
        return from_fallback(path, fallback, _header(path))
    if "Average/Paeth" in why:
        return read_png(path)  # no faster reader here: the pure decoder's anti-diagonal sweep
    raise SourceFileError(path, f"{why} needs an image reader: OpenImageIO or Blender's image loader (run inside "
                                "Blender), or save it with None/Sub/Up PNG filters or an uncompressed/Deflate TIFF")


def depth_plane(path: str, arr: np.ndarray, position: bool) -> np.ndarray:
    """The depth (h, w) or position (h, w, 3) values of ``arr``: a colour image given as depth
    (channels that differ) is an error naming the file and a pixel."""
    k = arr.shape[2]
    if position:
        if k < 3:
            raise SourceFileError(path, f"a world position file needs 3 channels (X, Y, Z), this one has {k}")
        return arr[..., :3]
    if k in (1, 2):
        return arr[..., 0]
    rgb = arr[..., :3]
    differ = (rgb[..., 0] != rgb[..., 1]) | (rgb[..., 1] != rgb[..., 2])
    if differ.any():
        r, c = np.argwhere(differ)[0]
        raise SourceFileError(path, f"a {k}-channel colour image given as depth (pixel ({c}, {r}) is "
                                    f"{rgb[r, c].tolist()}): depth must be one channel or gray; for a world position "
                                    "image set the pass to World Position")
    return arr[..., 0]


def times(values: np.ndarray, scale: float) -> np.ndarray:
    """float32 ``values x scale`` rounded once (computed in float64: 1500 x 0.001 is 1.5)."""
    return (np.asarray(values, dtype=np.float64) * float(scale)).astype(np.float32)


def scaled(path: str, values: np.ndarray, scale: float, invalid: float | None) -> tuple[np.ndarray, int]:
    """``(float32 values × scale with invalid pixels NaN, count of invalid pixels)``."""
    integer = values.dtype.kind in "uib"
    if invalid is None:
        invalid = 0.0 if integer else None
    v = values.astype(np.float64) if values.dtype != np.float64 else values
    bad = None
    if invalid is not None:
        bad = np.isnan(v) if math.isnan(invalid) else (v == invalid)
        if bad.ndim == 3:
            bad = bad.all(axis=-1)
    out = (v * scale).astype(np.float32)
    count = 0
    if bad is not None and bad.any():
        count = int(np.count_nonzero(bad))
        out[bad] = np.nan
    return out, count


def is_gray(arr: np.ndarray) -> bool:
    """True when the first three channels of (h, w, k) are equal everywhere."""
    if arr.shape[2] < 3:
        return True
    return bool(np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 1], arr[..., 2]))


def read_display(path: str) -> np.ndarray:
    """A PNG/TIFF color image without Blender: (h, w, 4) float32, integers over their
    maximum (0..1 as stored; the caller linearizes), gray expanded to RGB, alpha 1 if none."""
    arr = read_array(path)
    top = float(np.iinfo(arr.dtype).max) if arr.dtype.kind in "ui" else 1.0
    v = arr.astype(np.float32) / np.float32(top)
    h, w, k = v.shape
    out = np.ones((h, w, 4), np.float32)
    out[..., :3] = v[..., :1] if k <= 2 else v[..., :3]
    if k in (2, 4):
        out[..., 3] = v[..., -1]
    return out


def image_info(path: str, stats: bool = False, fallback=None) -> dict:
    """What ``info`` shows of a depth image: size, sample type, channels, how a build reads it
    and (``stats``) the range of its values (0 counted apart for integer images)."""
    low = path.lower()
    info = {"path": path, "format": "DEPTH_IMAGE", "file_size": os.path.getsize(path)}
    if low.endswith(NUMPY):
        arr = read_array(path)
        info.update(width=arr.shape[1], height=arr.shape[0], channels=arr.shape[2], type=str(arr.dtype))
    else:
        head = png_header(path) if low.endswith(PNG) else tiff_header(path)
        kind = "uint" if head["integer"] else "float"
        if low.endswith(TIFF) and head.get("sample_format") == 2:
            kind = "int"
        info.update(width=head["width"], height=head["height"], channels=head["channels"],
                    type=f"{kind}{head['bits']}")
        arr = read_array(path, fallback=fallback) if stats else None
    info["kind"] = "POSITION" if info["channels"] >= 3 and info["type"].startswith("float") else "DEPTH"
    if stats and arr is not None:
        v = arr[..., 0] if info["kind"] == "DEPTH" else arr[..., :3]
        finite = v[np.isfinite(v)] if v.dtype.kind == "f" else v.ravel()
        zeros = int(np.count_nonzero(finite == 0))
        nonzero = finite[finite != 0]
        info["stats"] = {"min": float(nonzero.min()) if nonzero.size else None,
                         "max": float(nonzero.max()) if nonzero.size else None,
                         "zeros": zeros, "nonfinite": int(v.size - finite.size)}
    return info


def format_image_info(info: dict) -> list:
    lines = [info["path"], f"  depth image {info['width']}x{info['height']}, {info['channels']} channel(s) of "
                           f"{info['type']}, {info['file_size']:,} bytes",
             f"  pass (auto): {info['kind']}; depth = stored value x --depth-scale (then the convention); "
             f"invalid: {'0' if not info['type'].startswith('float') else 'none'} unless --invalid-value"]
    s = info.get("stats")
    if s:
        lines.append(f"  values: {s['min']}..{s['max']} (non-zero), {s['zeros']:,} zero, {s['nonfinite']:,} NaN/inf")
    return lines
