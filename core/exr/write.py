"""Adding attributes to the header of an existing EXR (all parts), pixels unchanged.

Blender can add text to its EXR headers only through the stamp note (``Note``), which it
cuts at 511 bytes: too short for a camera model. So rendered files are rewritten once with
the OpenEXR bindings: every part keeps its channels, pixel type and compression (Blender
writes ZIP; never ZSTD, which Blender itself cannot read back) and gains the attributes.
"""
from __future__ import annotations

import os

from ..errors import SourceFileError
from .read import import_openexr


def add_header_attributes(src: str, dst: str, attributes: dict, pixel_aspect: float | None = None,
                          edit=None) -> str:
    """Write ``src`` to ``dst`` with string ``attributes`` added to every part's header and,
    if given, ``pixelAspectRatio`` (pixel width / height) set on every part.

    ``edit(pixels)``, if given, may change pixel values in place; ``pixels`` maps each
    channel name to its (h, w) array."""
    OpenEXR = import_openexr()
    src, dst = os.fspath(src), os.fspath(dst)
    try:
        f = OpenEXR.File(src, separate_channels=True)
        parts = list(f.parts)
    except Exception as err:  # the bindings raise RuntimeError, ValueError…
        raise SourceFileError(src, f"cannot read the EXR to add its header ({type(err).__name__}: {err})") from err
    if edit is not None:
        edit({name: channel.pixels for part in parts for name, channel in part.channels.items()})
    for part in parts:
        header = part.header
        if str(header.get("compression", "")).endswith("ZSTD_COMPRESSION"):
            header["compression"] = OpenEXR.ZIP_COMPRESSION  # readable by Blender
        for name, value in attributes.items():
            header[name] = str(value)
        if pixel_aspect is not None:
            header["pixelAspectRatio"] = float(pixel_aspect)
    try:
        f.write(dst)
    except Exception as err:
        raise SourceFileError(dst, f"cannot write the EXR ({type(err).__name__}: {err})") from err
    return dst
