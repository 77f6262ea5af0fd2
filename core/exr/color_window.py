"""Depth and color with different data windows: pixels are paired by display-window position,
and a pixel that has depth (or position) but lies outside the color's data window is skipped
with one warning that counts them, never built as an invented black point."""
from __future__ import annotations

import numpy as np

#: Depths at or beyond this are background (Blender writes 1e10) and are not counted as skipped.
BACKGROUND = 1e9


def outside_mask(color_windows, win):
    """(h, w) bool over window ``win`` (xmin, ymin, xmax, ymax): True where a pixel is outside
    any of ``color_windows`` (same coordinates)."""
    w, h = win[2] - win[0] + 1, win[3] - win[1] + 1
    inside = np.ones((h, w), dtype=bool)
    cols = np.arange(win[0], win[2] + 1)
    rows = np.arange(win[1], win[3] + 1)
    for cw in color_windows:
        inside &= ((rows >= cw[1]) & (rows <= cw[3]))[:, None] & ((cols >= cw[0]) & (cols <= cw[2]))[None, :]
    return ~inside


def skip_uncolored(passes, color_windows, win, what: str) -> int:
    """Skip (make NaN) the depth/position pixels of ``passes`` over ``win`` that lie outside the
    color's data windows; warn once with their count. Returns the count."""
    if all(cw[0] <= win[0] and cw[1] <= win[1] and cw[2] >= win[2] and cw[3] >= win[3] for cw in color_windows):
        return 0  # every color window covers the depth's: nothing to skip (no per-pixel mask)
    mask = outside_mask(color_windows, win)
    if not mask.any():
        return 0
    if passes.position is not None:
        values = passes.position[mask]
        finite = np.isfinite(values).all(axis=-1)
        counted = int(finite.sum())
        passes.position = passes.position.copy()
        passes.position[mask] = np.nan
    else:
        values = passes.depth[mask]
        finite = np.isfinite(values)
        counted = int((finite & (np.abs(values) < BACKGROUND)).sum())
        passes.depth = passes.depth.copy()
        passes.depth[mask] = np.nan
    passes.no_color_nan += int(finite.sum())
    made = np.zeros(mask.shape, dtype=bool)
    made[mask] = finite
    passes.uncolored = made if passes.uncolored is None else passes.uncolored | made
    passes.no_color += counted
    if counted:
        passes.warnings.append(f"{passes.path}: {counted} pixels with depth lie outside the data window of the "
                               f"color ({what}) and were skipped: there is no color for them")
    return counted
