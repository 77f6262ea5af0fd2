"""Edge cleanup: dropping "flying pixels" before they become points.

Anti-aliased renders (and depth sensors) leave pixels on object silhouettes whose depth or
color mixes foreground and background. Seen from another angle they float in the empty gap
between the two surfaces. Two tests find them:

- **depth gradient**: a pixel whose depth jumps (relative to the smaller depth) by more than
  ``max_jump`` against *both* opposite neighbours along a row or a column sits between two
  surfaces: a flying pixel (``'FLYING'``). ``'EDGES'`` is stricter and drops every pixel that
  touches a depth jump, on both sides of it (their colors mix the two surfaces too).
- **alpha coverage**: with a transparent film, silhouette pixels are partly covered
  (alpha < 1); pixels below ``min_alpha`` are dropped.

Everything works on whole images at once (numpy), in the pixel grid of the PointSet.
"""
from __future__ import annotations

import numpy as np

from ..diagnostics import Diagnostics
from ..errors import SettingsError
from .pointset import PointSet

#: Default relative depth jump that separates two surfaces (5 % of the nearer depth).
DEFAULT_MAX_JUMP = 0.05
FLYING = "FLYING"
EDGES = "EDGES"
EDGE_MODES = (FLYING, EDGES)


def depth_jump(za, zb, max_jump: float) -> np.ndarray:
    """True where two depths (arrays, NaN = no surface) belong to different surfaces:
    ``|za - zb| > max_jump * min(za, zb)``. False where either is NaN."""
    with np.errstate(invalid="ignore"):
        return np.abs(za - zb) > np.float32(max_jump) * np.fmin(za, zb)


def depth_grid(point_set: PointSet):
    """``(z, (c0, r0))``: the PointSet's planar depth scattered into the bounding box of its
    pixels (float32, NaN where there is no point) and the frame pixel of ``z[0, 0]``. Deep
    clouds (several points per pixel) hold the nearest depth of each pixel."""
    depth = np.asarray(point_set.depth, dtype=np.float32)
    z, (c0, r0) = point_set.pixel_grid(depth, np.nan)
    if "sample_count" in point_set.attributes:  # core/deep.py: judge each pixel by its front sample
        np.fmin.at(z, (point_set.pixels[:, 1] - r0, point_set.pixels[:, 0] - c0), depth)
    return z, (c0, r0)


def flying_pixel_mask(z: np.ndarray, max_jump: float = DEFAULT_MAX_JUMP, mode: str = FLYING) -> np.ndarray:
    """``(h, w)`` bool: pixels of the depth image ``z`` (NaN = no surface) to drop."""
    if mode not in EDGE_MODES:
        raise SettingsError(f"edge cleanup mode {mode!r} is unknown; expected one of {', '.join(EDGE_MODES)}")
    if not max_jump > 0:
        raise SettingsError(f"edge cleanup depth jump must be positive, got {max_jump}")
    h, w = z.shape
    jx = depth_jump(z[:, :-1], z[:, 1:], max_jump)  # between (r, c) and (r, c+1)
    jy = depth_jump(z[:-1, :], z[1:, :], max_jump)  # between (r, c) and (r+1, c)
    left = np.zeros((h, w), bool)
    right = np.zeros((h, w), bool)
    up = np.zeros((h, w), bool)
    down = np.zeros((h, w), bool)
    right[:, :-1] = jx
    left[:, 1:] = jx
    down[:-1, :] = jy
    up[1:, :] = jy
    if mode == FLYING:
        out = (left & right) | (up & down)
    else:
        out = left | right | up | down
    return out & np.isfinite(z)


def remove_flying_pixels(point_set: PointSet, max_jump: float | None = DEFAULT_MAX_JUMP,
                         mode: str = FLYING, min_alpha: float = 0.0) -> PointSet:
    """The PointSet without its flying pixels.

    ``max_jump`` (None: no depth test) is the relative depth jump between two surfaces;
    ``mode`` is ``'FLYING'`` or ``'EDGES'`` (see the module); ``min_alpha`` > 0 also drops
    pixels whose color alpha is below it. Points without depth (world position passes read
    without a camera) skip the depth test and record a warning in ``meta['warnings']``.
    The number of dropped points is ``meta['flying_pixels']``.
    """
    if not 0.0 <= float(min_alpha) <= 1.0:
        raise SettingsError(f"edge cleanup minimum alpha must be within 0..1, got {min_alpha}")
    if len(point_set) == 0:
        return point_set
    drop = np.zeros(len(point_set), dtype=bool)
    warnings = Diagnostics(point_set.meta.get("warnings", ()))
    if max_jump is not None:
        if point_set.depth is None:
            warnings.append("edge cleanup: these points have no camera depth (world position pass without a "
                            "camera), so the depth-gradient test was skipped; set the camera to use it")
        else:
            z, (c0, r0) = depth_grid(point_set)
            mask = flying_pixel_mask(z, max_jump, mode)
            drop |= mask[point_set.pixels[:, 1] - r0, point_set.pixels[:, 0] - c0]
    if min_alpha > 0:
        drop |= point_set.colors[:, 3] < np.float32(min_alpha)
    out = point_set.subset(~drop)
    out.meta = dict(point_set.meta, warnings=warnings, flying_pixels=int(drop.sum()), points=len(out))
    return out
