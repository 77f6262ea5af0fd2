"""Reading display-referred images (PNG/JPG…) through Blender's own image loader."""
from __future__ import annotations

import os

import bpy
import numpy as np

from ..core.errors import SourceFileError


def read_display_image(path: str) -> np.ndarray:
    """``(h, w, 4)`` float32, rows top-down, values as stored (no color management), so
    the core can linearize them with the sRGB transfer function."""
    try:
        img = bpy.data.images.load(path, check_existing=False)
    except RuntimeError as err:
        raise SourceFileError(path, f"cannot read image ({err})") from err
    try:
        img.colorspace_settings.name = 'Non-Color'
        w, h = img.size
        if w == 0 or h == 0:
            raise SourceFileError(path, "image has no pixels (damaged or unsupported file)")
        buf = np.empty(w * h * 4, dtype=np.float32)
        img.pixels.foreach_get(buf)
    finally:
        bpy.data.images.remove(img)
    return buf.reshape(h, w, 4)[::-1].copy()


def abspath(path: str) -> str:
    """Blender-relative ('//') paths made absolute and normalized; '#' runs are kept."""
    return os.path.normpath(bpy.path.abspath(path)) if path else ""
