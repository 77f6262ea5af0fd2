"""Finding, before decoding, what is wrong with a damaged EXR, in the user's terms.

The OpenEXR bindings either raise with a message about the library's internals ("Unable to
open '<path>' for read") or drop an unreadable part after printing a warning. This module
reads what the file layout promises (the headers, parsed by ``core.exr_header``, and each
part's chunk offset table) and says per part what is missing: a truncated file, pixel blocks
past the end, a data window no file of this size can hold. Numpy only; a few small reads
per part.
"""
from __future__ import annotations

import math
import os
import struct

import numpy as np

from .deep_read import is_deep_storage

#: Scan lines per chunk for each compression (OpenEXR "File Layout").
LINES_PER_CHUNK = {"NONE": 1, "RLE": 1, "ZIPS": 1, "ZIP": 16, "PXR24": 16, "PIZ": 32, "B44": 32, "B44A": 32,
                   "DWAA": 32, "DWAB": 256, "HTJ2K256": 256, "HTJ2K32": 32}


def part_label(index: int, part) -> str:
    """``part 3 ('ViewLayer.Combined')`` or ``part 0``."""
    return f"part {index} ({part.name!r})" if part.name else f"part {index}"


def is_deep(part) -> bool:
    return is_deep_storage(part.storage)


def _size(win):
    return win[2] - win[0] + 1, win[3] - win[1] + 1


def chunk_count(part):
    """Chunks the part's offset table holds, or None when it cannot be told from the header."""
    count = part.attributes.get("chunkCount")
    if isinstance(count, int):
        return count
    w, h = _size(part.data_window)
    if part.storage == "scanlineimage":
        lines = LINES_PER_CHUNK.get(part.attributes.get("compression", ""), None)
        return math.ceil(h / lines) if lines else None
    tiles = part.attributes.get("tiles")
    if part.storage == "tiledimage" and isinstance(tiles, dict) and tiles.get("mode", 0) & 0x0F == 0 \
            and tiles.get("x") and tiles.get("y"):
        return math.ceil(w / tiles["x"]) * math.ceil(h / tiles["y"])
    return None


class LayoutError(Exception):
    """The whole file is unusable; the message says why (the caller adds the path)."""


def part_problems(header, path) -> dict:
    """``{part index: problem}`` for the parts whose pixel data the file cannot hold.

    Raises LayoutError for an impossible data window (it makes every later offset table
    unreadable, so nothing in the file can be trusted).
    """
    size = os.path.getsize(path)
    multipart = header.multipart
    problems = {}
    pos = header.header_end
    with open(path, "rb") as fh:
        for i, part in enumerate(header.parts):
            label = part_label(i, part)
            win = part.data_window
            if not (isinstance(win, tuple) and len(win) == 4):
                raise LayoutError(f"damaged header attribute: {label} has no valid data window")
            w, h = _size(win)
            if w <= 0 or h <= 0:
                raise LayoutError(f"impossible data window in {label}: {win} (max below min)")
            n = chunk_count(part)
            if n is None:
                # the table's length is unknown: nothing after it can be located
                return problems
            if n < 0 or pos + 8 * n > size:
                if 8 * n > size:
                    raise LayoutError(
                        f"impossible data window in {label}: {w}x{h} pixels need {n:,} pixel blocks, more than "
                        f"a file of {size:,} bytes can hold")
                for j in range(i, len(header.parts)):
                    problems[j] = (f"truncated: the file ends ({size:,} bytes) inside the block table of "
                                   f"{part_label(j, header.parts[j])}" if j == i
                                   else "truncated: the file ends before it")
                return problems
            fh.seek(pos)
            offsets = np.frombuffer(fh.read(8 * n), dtype="<u8")
            pos += 8 * n
            if n == 0:
                continue
            past = int((offsets >= size).sum())
            unwritten = int((offsets == 0).sum())
            if past or unwritten:
                bits = []
                if past:
                    bits.append(f"{past} of {n} pixel blocks lie past the end of the file ({size:,} bytes)")
                if unwritten:
                    bits.append(f"{unwritten} of {n} pixel blocks were never written")
                problems[i] = "truncated: " + "; ".join(bits)
                continue
            if is_deep(part):
                continue
            last = int(offsets.max())
            head = (4 if multipart else 0) + (16 if part.storage == "tiledimage" else 4)
            fh.seek(last + head)
            raw = fh.read(4)
            if len(raw) < 4:
                problems[i] = f"truncated: the file ({size:,} bytes) ends inside its last pixel block"
                continue
            (data_size,) = struct.unpack("<i", raw)
            if data_size < 0 or last + head + 4 + data_size > size:
                problems[i] = f"truncated: the file ({size:,} bytes) ends inside its last pixel block" \
                    if data_size >= 0 else "damaged pixel block (negative size)"
    return problems


def describe_decode_error(err: BaseException, path: str) -> str:
    """What a bindings exception means for the user, without repeating the path."""
    text = str(err).replace(f"'{path}'", "the file").replace(path, "the file")
    if isinstance(err, UnicodeDecodeError):
        return "damaged header attribute: a text attribute is not valid UTF-8"
    if isinstance(err, MemoryError):
        return "damaged EXR: its header asks for impossible amounts of memory"
    if "Unable to open" in text or not text:
        return "damaged EXR: the OpenEXR library cannot open it (its header or block tables are corrupt)"
    return f"damaged EXR: {text}"
