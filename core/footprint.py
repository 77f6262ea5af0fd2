"""Pixel footprints: how big one source pixel is at the depth of the surface it saw.

A pixel of a perspective camera is a small pyramid: at planar depth ``z`` it covers
``pixel_width * z`` by ``pixel_height * z`` scene units on a plane parallel to the image
plane (``CameraModel.pixel_size`` per unit depth; the two differ for non-square pixels). An
orthographic pixel has the same footprint at every depth. A square of that size, centred on
the point and aligned with the camera's image plane, covers the pixel exactly as seen from
the camera that rendered it; a sphere of radius ``half the larger side`` never reaches the
ray of a neighbouring pixel, so it too reproduces the image from that camera.
"""
from __future__ import annotations

import numpy as np

from .camera import ORTHOGRAPHIC, PANORAMIC, CameraModel


def pixel_footprint(camera: CameraModel, depth) -> np.ndarray:
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


def point_radius(camera: CameraModel, depth) -> np.ndarray:
    """``(N,)`` float32: half the larger side of the pixel footprint (per axis: non-square
    pixels use their longer side, so no pixel is left uncovered along it)."""
    pw, ph = camera.pixel_size()
    half = np.float32(0.5 * max(pw, ph))
    d = np.asarray(depth, dtype=np.float32).reshape(-1)
    if camera.projection == ORTHOGRAPHIC:
        return np.full(len(d), half, dtype=np.float32)
    return (d * half).astype(np.float32)


def radius_from_neighbours(point_set) -> np.ndarray:
    """``(N,)`` float32 radius of points that came without a camera (world position passes):
    half the distance to the nearest valid neighbour pixel (right, left, down or up), or the
    median of those for isolated points."""
    n = len(point_set)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    pix = point_set.pixels
    c0, r0 = pix.min(axis=0)
    w, h = (pix.max(axis=0) - (c0, r0) + 1).tolist()
    index = np.full((h + 2, w + 2), -1, dtype=np.int64)
    cols, rows = pix[:, 0] - c0 + 1, pix[:, 1] - r0 + 1
    index[rows, cols] = np.arange(n)
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
    return (0.5 * best).astype(np.float32)


def has_image_plane(camera: CameraModel | None) -> bool:
    """True when pixels are parallelograms on a flat image plane (not panoramic)."""
    return camera is not None and camera.projection != PANORAMIC
