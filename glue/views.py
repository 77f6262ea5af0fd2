"""The views of the scene's source file, for the panel's View choice (cached by file and
modification time: panels redraw often and must not read headers each time)."""
from __future__ import annotations

import os

from ..core.errors import DepthCloudError
from ..core.exr.read import file_views
from ..core.frames import resolve_frame_path
from .images import abspath

_cache = {}


def source_views(scene) -> list:
    """The views of the current frame's source EXR (default first), ``[]`` when it has none or
    cannot be read (the build then says why)."""
    settings = scene.depth_cloud
    if not settings.exr_path.strip():
        return []
    try:
        path = resolve_frame_path(abspath(settings.exr_path), scene.frame_current)
        stat = os.stat(path)
    except (DepthCloudError, OSError, ValueError):
        return []
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _cache:
        if len(_cache) > 32:
            _cache.clear()
        try:
            _cache[key] = file_views(path)
        except DepthCloudError:
            _cache[key] = []
    return _cache[key]
