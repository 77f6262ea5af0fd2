"""Depth conventions: what the number stored in a depth pixel means.

All conventions are converted to *planar* depth (distance from the camera plane along the
view axis), which is what Blender's Z pass stores for perspective and orthographic cameras.

======================  ===================================================================
``PLANAR``              Blender/Cycles/EEVEE Z pass. Background is 1e10.
``RAY_DISTANCE``        Euclidean distance from the camera centre along the pixel's ray
                        (a "distance map"; treating it as planar curves flat walls).
``NORMALIZED``          ``(z - near) / (far - near)``, e.g. a Map Range'd Z pass; swap
                        near and far for a map where white is near.
``ZBUFFER``             OpenGL window depth in [0, 1] with given near/far (non-linear for
                        perspective, linear for orthographic cameras).
``INVERSE``             ``1 / z`` (inverse depth / "disparity" with unit baseline).
======================  ===================================================================
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..camera.projections import ORTHOGRAPHIC, PANORAMIC
from ..errors import SettingsError

if TYPE_CHECKING:
    from ..camera.model import CameraModel

PLANAR = "PLANAR"
RAY_DISTANCE = "RAY_DISTANCE"
NORMALIZED = "NORMALIZED"
ZBUFFER = "ZBUFFER"
INVERSE = "INVERSE"
CONVENTIONS = (PLANAR, RAY_DISTANCE, NORMALIZED, ZBUFFER, INVERSE)
NEEDS_NEAR_FAR = (NORMALIZED, ZBUFFER)

#: Depth at or above this is background (Blender writes 1e10 where no surface was hit).
BACKGROUND_DEPTH = 1e9


def check_convention(convention: str, near: float = 0.0, far: float = 0.0) -> None:
    if convention not in CONVENTIONS:
        raise SettingsError(f"depth convention {convention!r} is unknown; expected one of {', '.join(CONVENTIONS)}")
    if convention in NEEDS_NEAR_FAR:
        if not (np.isfinite(near) and np.isfinite(far)) or near == far:
            raise SettingsError(f"depth convention {convention} needs distinct finite near/far, "
                                f"got near={near}, far={far}")
        if convention == ZBUFFER and not (0 < near < far):
            raise SettingsError(f"depth convention ZBUFFER needs 0 < near < far, got near={near}, far={far}")


def ray_length_factor(camera: CameraModel, cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``|ray| / planar depth`` per pixel (1 for orthographic). Shape (len(rows), len(cols))
    when given 1-D column and row index arrays meant to be broadcast as a grid."""
    if camera.projection == ORTHOGRAPHIC:
        return np.ones((len(rows), len(cols)), dtype=np.float32)
    x = camera.plane_x(cols).astype(np.float32)
    y = camera.plane_y(rows).astype(np.float32)
    return np.sqrt(1.0 + x[None, :] ** 2 + y[:, None] ** 2, dtype=np.float32)


def to_planar(values: np.ndarray, convention: str, camera: CameraModel | None = None,
              near: float = 0.0, far: float = 0.0, cols: np.ndarray | None = None,
              rows: np.ndarray | None = None) -> np.ndarray:
    """Convert a depth image (H, W) stored in ``convention`` to planar depth (float32).

    ``cols``/``rows`` are the frame coordinates of the array's columns and rows (needed by
    ``RAY_DISTANCE`` for the per-pixel ray length); they default to ``arange``.
    Background (>= 1e9), NaN and inf pass through unchanged so validity can be tested after.
    """
    check_convention(convention, near, far)
    v = np.asarray(values, dtype=np.float32)
    if convention == PLANAR:
        return v
    if convention == RAY_DISTANCE:
        if camera is None:
            raise SettingsError("depth convention RAY_DISTANCE needs a camera to convert distance to depth")
        if camera.projection == PANORAMIC:
            return v  # handled by the panoramic unprojection, which works on distances
        h, w = v.shape
        cols = np.arange(w) if cols is None else cols
        rows = np.arange(h) if rows is None else rows
        return v / ray_length_factor(camera, cols, rows)
    if convention == NORMALIZED:
        return np.float32(near) + v * np.float32(far - near)
    if convention == ZBUFFER:
        if camera is not None and camera.projection == ORTHOGRAPHIC:
            return np.float32(near) + v * np.float32(far - near)
        ndc = 2.0 * v.astype(np.float64) - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (2.0 * near * far) / (far + near - ndc * (far - near))
        return z.astype(np.float32)
    # INVERSE
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.float32(1.0) / v
    z[~(v > 0)] = np.nan
    return z


def from_planar(z: np.ndarray, convention: str, camera: CameraModel | None = None,
                near: float = 0.0, far: float = 0.0) -> np.ndarray:
    """Inverse of :func:`to_planar` (used to write depth in other conventions)."""
    check_convention(convention, near, far)
    z = np.asarray(z, dtype=np.float64)
    if convention == PLANAR:
        out = z
    elif convention == RAY_DISTANCE:
        if camera is None:
            raise SettingsError("depth convention RAY_DISTANCE needs a camera to convert depth to distance")
        if camera.projection == PANORAMIC:
            out = z  # panoramic depth already is the distance (see to_planar)
        else:
            h, w = z.shape
            out = z * ray_length_factor(camera, np.arange(w), np.arange(h))
    elif convention == NORMALIZED or (convention == ZBUFFER and camera is not None
                                       and camera.projection == ORTHOGRAPHIC):
        out = (z - near) / (far - near)
    elif convention == ZBUFFER:
        ndc = (far + near - 2.0 * near * far / z) / (far - near)
        out = (ndc + 1.0) / 2.0
    else:
        out = 1.0 / z
    return out.astype(np.float32)
