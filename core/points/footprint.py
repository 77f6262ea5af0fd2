"""Pixel footprints: how big one source pixel is at the depth of the surface it saw.

A pixel of a perspective camera is a small pyramid: at planar depth ``z`` it covers
``pixel_width * z`` by ``pixel_height * z`` scene units on a plane parallel to the image
plane (``CameraModel.pixel_size`` per unit depth; the two differ for non-square pixels). An
orthographic pixel has the same footprint at every depth. A square of that size, centred on
the point and aligned with the camera's image plane, covers the pixel exactly as seen from
the camera that rendered it.

Points are spheres, so one radius has to serve both axes. ``sqrt(1/2) x`` the shorter side
is the half diagonal of a square pixel: the sphere covers the whole pixel (every sample a
renderer takes inside it hits the point) yet never reaches the centre ray of a neighbouring
pixel, up to 45 degrees off the view axis. For non-square pixels the shorter side keeps that
guarantee, and the longer axis is covered up to ``0.71 x`` the shorter side.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..camera.model import ORTHOGRAPHIC, PANORAMIC, CameraModel

if TYPE_CHECKING:
    from .pointset import PointSet


def pixel_footprint(camera: CameraModel, depth: np.ndarray) -> np.ndarray:
    """``(N, 2)`` float32: width and height in scene units of one pixel at planar ``depth``."""
    pw, ph = camera.pixel_size()
    d = np.asarray(depth, dtype=np.float32).reshape(-1)
    out = np.empty((len(d), 2), dtype=np.float32)
    if camera.projection == ORTHOGRAPHIC:
        out[:, 0] = pw
        out[:, 1] = ph
    else:
        np.multiply(d, np.float32(pw), out=out[:, 0])
        np.multiply(d, np.float32(ph), out=out[:, 1])
    return out


def radius_scale(camera: CameraModel) -> float:
    """The point radius per unit of planar depth (perspective) or in scene units
    (orthographic): ``sqrt(1/2)`` x the shorter side of the pixel footprint."""
    pw, ph = camera.pixel_size()
    return float(np.sqrt(0.5) * min(pw, ph))


def point_radius(camera: CameraModel, depth: np.ndarray) -> np.ndarray:
    """``(N,)`` float32 sphere radius: ``sqrt(1/2)`` x the shorter side of the pixel
    footprint (the half diagonal of a square pixel; see the module docstring)."""
    half = np.float32(radius_scale(camera))
    d = np.asarray(depth, dtype=np.float32).reshape(-1)
    if camera.projection == ORTHOGRAPHIC:
        return np.full(len(d), half, dtype=np.float32)
    return np.multiply(d, half, dtype=np.float32)


def radius_from_neighbours(point_set: PointSet) -> np.ndarray:
    """``(N,)`` float32 radius of points that came without a camera (world position passes):
    the half diagonal of a square as wide as the distance to the nearest valid neighbour
    pixel (right, left, down or up); isolated points take the median spacing."""
    n = len(point_set)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    index, (c0, r0) = point_set.pixel_grid(np.arange(n, dtype=np.int64), -1, pad=1)
    cols, rows = point_set.pixels[:, 0] - c0, point_set.pixels[:, 1] - r0
    pos = point_set.positions
    best = np.full(n, np.inf, dtype=np.float32)
    for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        other = index[rows + dr, cols + dc]
        has = other >= 0
        d = np.linalg.norm(pos[has] - pos[other[has]], axis=1).astype(np.float32)
        best[has] = np.minimum(best[has], d)
    finite = np.isfinite(best)
    fallback = np.float32(np.median(best[finite])) if finite.any() else np.float32(0.01)
    best[~finite] = fallback
    return (np.float32(np.sqrt(0.5)) * best).astype(np.float32)


def has_image_plane(camera: CameraModel | None) -> bool:
    """True when pixels are parallelograms on a flat image plane (not panoramic)."""
    return camera is not None and camera.projection != PANORAMIC
