"""Detail: building every Nth pixel (Nuke's *detail*, Open3D's *stride*).

At detail ``N`` one pixel of each ``N x N`` block of the data window becomes a point (the one
nearest the block's centre) and every footprint (point radius, pixel squares) is ``N`` times
a pixel's, so the points still tile the frame through the source camera; the cost of what
follows (unprojection, datablock, memory) falls with ``N²``. The pixel ids stay the real
source pixels.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import SettingsError

MAX_DETAIL = 64


def check_detail(detail) -> int:
    """``detail`` as an int >= 1, or a SettingsError naming the setting."""
    try:
        n = int(detail)
    except (TypeError, ValueError):
        raise SettingsError(f"detail must be a whole number >= 1 (every Nth pixel), got {detail!r}") from None
    if n != detail or not 1 <= n <= MAX_DETAIL:
        raise SettingsError(f"detail must be a whole number from 1 to {MAX_DETAIL} (every Nth pixel), got {detail!r}")
    return n


def at_detail(passes, detail: int):
    """The FramePasses keeping every ``detail``-th pixel in both directions (the same object
    at detail 1)."""
    n = check_detail(detail)
    if n == 1:
        return passes
    if passes.deep is not None:
        raise SettingsError(f"{passes.path}: detail {n} is not available for deep files (every sample is a "
                            "point); build them at detail 1")
    if passes.mask is not None:
        raise SettingsError(f"{passes.path}: detail {n} cannot be combined with a mask yet; build masked "
                            "clouds at detail 1")
    o = (n - 1) // 2

    def sub(arr):
        return None if arr is None else np.ascontiguousarray(arr[o::n, o::n])

    planes = None if passes.color_planes is None else tuple(sub(p) for p in passes.color_planes)
    xyz = passes.position_planes
    banded = passes.position_rows
    if banded is not None:  # the rows of the kept pixels, renumbered like the kept rows
        rows, row_planes = banded
        keep = (rows - o) % n == 0
        banded = ((rows[keep] - o) // n, tuple(np.ascontiguousarray(p[keep][:, o::n]) for p in row_planes))
    normal = passes.normal
    extra = {name: sub(arr) for name, arr in passes.extra.items()}
    # pixels skipped for lack of color (core/color_window.py), counted again among the kept ones
    uncolored = sub(passes.uncolored)
    recount = {} if uncolored is None else {"uncolored": uncolored, "no_color_nan": int(uncolored.sum())}
    return replace(passes, depth=sub(passes.depth), position=sub(passes.position), color=sub(passes.color),
                   color_planes=planes, position_planes=None if xyz is None else tuple(sub(p) for p in xyz),
                   position_rows=banded,
                   normal=None if normal is None else tuple(sub(p) for p in normal), extra=extra,
                   step=passes.step * n, offset=passes.offset + passes.step * o, **recount)
