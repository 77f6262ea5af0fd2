"""Reading OpenEXR *headers* without decoding a single pixel (pure Python, no OpenEXR module).

The OpenEXR bindings in header-only mode give no channel pixel types, and reading pixels
just to learn a file's layout is slow on big compressed frames. The header format is small
and stable (OpenEXR "File Layout" document): magic ``20000630``, a version/flags word, then
per part a list of ``name\\0 type\\0 size value`` attributes ended by an empty name; multi-part
files end the list of headers with one more empty name.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

from ..errors import SourceFileError
from ..fileio import require_file

MAGIC = 20000630
_TILED = 0x200
_LONG_NAMES = 0x400
_DEEP = 0x800
_MULTIPART = 0x1000

PIXEL_TYPES = {0: "uint", 1: "half", 2: "float"}
COMPRESSIONS = {0: "NONE", 1: "RLE", 2: "ZIPS", 3: "ZIP", 4: "PIZ", 5: "PXR24", 6: "B44", 7: "B44A",
                8: "DWAA", 9: "DWAB", 10: "HTJ2K256", 11: "HTJ2K32"}
LINE_ORDERS = {0: "INCREASING_Y", 1: "DECREASING_Y", 2: "RANDOM_Y"}
#: Largest header we accept (previews can be big; damaged sizes can be absurd).
MAX_HEADER_BYTES = 64 * 1024 * 1024


def merge_part_headers(headers) -> dict:
    """The attributes of a file's parts as one dict; part 0 wins where parts differ."""
    merged = {}
    for header in reversed(list(headers)):
        merged.update(header)
    return merged


@dataclass
class ChannelInfo:
    name: str
    pixel_type: str  # 'half' | 'float' | 'uint'
    x_sampling: int = 1
    y_sampling: int = 1


@dataclass
class PartHeader:
    """One part's header: its attributes as plain Python values, channels in file order."""

    attributes: dict = field(default_factory=dict)
    channels: list = field(default_factory=list)  # ChannelInfo
    #: byte range of this header in the file, its closing null included (core/exr_parts.remux)
    span: tuple = (0, 0)
    #: attribute name -> its type in the file (``box2i``, ``m44f``...: core/exr_safe.py)
    types: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.attributes.get("name", "") or ""

    @property
    def data_window(self):
        return self.attributes.get("dataWindow")

    @property
    def display_window(self):
        return self.attributes.get("displayWindow")

    @property
    def storage(self) -> str:
        return self.attributes.get("type", "")


@dataclass
class ExrHeader:
    path: str
    version: int
    flags: int
    parts: list = field(default_factory=list)  # PartHeader
    #: Byte offset just after the headers: where the chunk offset tables begin.
    header_end: int = 0

    @property
    def multipart(self) -> bool:
        return bool(self.flags & _MULTIPART)

    @property
    def header(self) -> dict:
        """All parts' attributes merged (part 0 wins), like :attr:`core.exr.ExrFile.header`."""
        return merge_part_headers(part.attributes for part in self.parts)


class _Reader:
    def __init__(self, fh, path, size):
        self.fh, self.path, self.size = fh, path, size

    def read(self, n: int) -> bytes:
        if n < 0 or self.fh.tell() + n > self.size:
            raise SourceFileError(self.path, "damaged EXR header: truncated, the file ends inside its header "
                                             "(an attribute runs past the end)")
        data = self.fh.read(n)
        if len(data) != n:
            raise SourceFileError(self.path, "damaged EXR header: truncated, the file ends inside its header")
        return data

    def cstr(self, limit: int = 256) -> str:
        out = bytearray()
        while True:
            b = self.fh.read(1)
            if not b:
                raise SourceFileError(self.path, "damaged EXR header: truncated, the file ends inside its header")
            if b == b"\0":
                return out.decode("utf-8", "replace")
            out += b
            if len(out) > limit:
                raise SourceFileError(self.path, "damaged EXR header (attribute name too long)")


def _chlist(data: bytes, path: str) -> list:
    out, i = [], 0
    while i < len(data) and data[i] != 0:
        end = data.find(b"\0", i)
        if end < 0 or end + 17 > len(data):
            raise SourceFileError(path, "damaged EXR header (channel list)")
        name = data[i:end].decode("utf-8", "replace")
        ptype, _plinear, xs, ys = struct.unpack_from("<iB3xii", data, end + 1)
        out.append(ChannelInfo(name, PIXEL_TYPES.get(ptype, f"unknown({ptype})"), xs, ys))
        i = end + 17
    return out


def _value(type_name: str, data: bytes, path: str):
    """Decode one attribute value; unknown types keep their raw size."""
    try:
        if type_name == "string":
            return data.decode("utf-8", "replace")
        if type_name == "int":
            return struct.unpack("<i", data)[0]
        if type_name == "float":
            return struct.unpack("<f", data)[0]
        if type_name == "double":
            return struct.unpack("<d", data)[0]
        if type_name == "box2i":
            return tuple(struct.unpack("<4i", data))
        if type_name == "box2f":
            return tuple(struct.unpack("<4f", data))
        if type_name in ("v2i", "v3i"):
            return tuple(struct.unpack(f"<{len(data) // 4}i", data))
        if type_name in ("v2f", "v3f", "m33f", "m44f", "chromaticities", "floatvector"):
            return tuple(struct.unpack(f"<{len(data) // 4}f", data))
        if type_name in ("v2d", "v3d", "m33d", "m44d"):
            return tuple(struct.unpack(f"<{len(data) // 8}d", data))
        if type_name == "compression":
            return COMPRESSIONS.get(data[0], f"unknown({data[0]})")
        if type_name == "lineOrder":
            return LINE_ORDERS.get(data[0], f"unknown({data[0]})")
        if type_name == "rational":
            n, d = struct.unpack("<iI", data)
            return n / d if d else float("nan")
        if type_name == "tiledesc":
            x, y, mode = struct.unpack("<IIB", data)
            return {"x": x, "y": y, "mode": mode}
        if type_name == "stringvector":
            items, i = [], 0
            while i + 4 <= len(data):
                (n,) = struct.unpack_from("<i", data, i)
                items.append(data[i + 4:i + 4 + n].decode("utf-8", "replace"))
                i += 4 + n
            return items
    except (struct.error, IndexError) as err:
        raise SourceFileError(path, f"damaged EXR header: damaged header attribute ({type_name} of {len(data)} "
                                    "bytes)") from err
    return f"<{type_name}, {len(data)} bytes>"


def read_exr_header(path) -> ExrHeader:
    """Every part's header of ``path`` (attributes and channels with pixel types)."""
    path = require_file(path)
    size = os.path.getsize(path)
    try:
        fh = open(path, "rb")
    except OSError as err:
        raise SourceFileError(path, f"cannot open ({err.strerror or err})") from err
    with fh:
        head = fh.read(8)
        if not head:
            raise SourceFileError(path, "empty file (0 bytes): not an OpenEXR file")
        if len(head) < 8 or struct.unpack("<i", head[:4])[0] != MAGIC:
            if len(head) < 8 and b"\x76\x2f\x31\x01".startswith(head[:4]):
                raise SourceFileError(path, "damaged EXR header: truncated, the file ends inside its header")
            raise SourceFileError(path, "not an OpenEXR file")
        (word,) = struct.unpack("<I", head[4:])
        version, flags = word & 0xFF, word & ~0xFF
        r = _Reader(fh, path, min(size, MAX_HEADER_BYTES + 8))
        out = ExrHeader(path=path, version=version, flags=flags)
        while True:
            part = PartHeader()
            start = fh.tell()
            while True:
                name = r.cstr()
                if not name:
                    break
                type_name = r.cstr()
                (n,) = struct.unpack("<i", r.read(4))
                data = r.read(n)
                part.types[name] = type_name
                if type_name == "chlist":
                    part.channels = _chlist(data, path)
                    part.attributes[name] = [c.name for c in part.channels]
                else:
                    part.attributes[name] = _value(type_name, data, path)
            if not part.attributes:
                break  # the empty header that ends a multi-part list
            part.span = (start, fh.tell())
            if "type" not in part.attributes:
                part.attributes["type"] = ("deeptile" if flags & _TILED else "deepscanline") if flags & _DEEP \
                    else ("tiledimage" if flags & _TILED else "scanlineimage")
            out.parts.append(part)
            if not flags & _MULTIPART:
                break
        out.header_end = fh.tell()
    if not out.parts:
        raise SourceFileError(path, "EXR file has no parts")
    for i, part in enumerate(out.parts):
        for key in ("channels", "dataWindow", "displayWindow"):
            if key not in part.attributes:
                raise SourceFileError(path, f"damaged EXR header (part {i} has no {key})")
    return out
