"""Panoramic unprojection: one frame's depth through a 360° or fisheye camera -> points.

The lens math (pixel -> ray direction, world point -> pixel) is ``core/camera/lens.py``; this
module puts the frame's pixels on those rays. The Z pass of a panoramic camera holds the
*distance from the camera position* (Cycles' ``camera_z_depth``), not planar depth: ``PLANAR``
and ``RAY_DISTANCE`` both mean it, and ``NORMALIZED``/``ZBUFFER``/``INVERSE`` decode to it.
Footprints are the angular size of a pixel (chords to the half-pixel neighbours) times the
distance.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..camera.lens import CENTRAL_CYLINDRICAL, EQUIRECTANGULAR, SEPARABLE, directions, grid_directions, settings
from ..errors import CameraError, InvalidDepthError
from . import depth as depth_mod
from .gather import camera_to_world, gather_colors, pixel_ids, point_meta, require_valid, valid_depth_mask, within_clip
from .pointset import PointSet

if TYPE_CHECKING:
    from ..camera.model import CameraModel


def distance_from_depth(values, convention: str, near: float = 0.0, far: float = 0.0) -> np.ndarray:
    """Stored depth values -> distance from the camera (float32), for panoramic cameras."""
    if convention in (depth_mod.PLANAR, depth_mod.RAY_DISTANCE):
        depth_mod.check_convention(convention)
        return np.asarray(values, dtype=np.float32)
    v = np.asarray(values, dtype=np.float32)
    flat = v.reshape(1, -1) if v.ndim < 2 else v
    return depth_mod.to_planar(flat, convention, None, near, far).reshape(v.shape)


def footprint(camera: CameraModel, x, y, centre=None) -> np.ndarray:
    """Half the angular size of a pixel (radians, approximately) at continuous positions
    ``(x, y)``: the larger of the horizontal and vertical half-pixel steps."""
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    y = np.atleast_1d(np.asarray(y, dtype=np.float64))
    index = np.arange(x.size)
    return grid_footprint(camera, x, y, index, index, centre)


def grid_footprint(camera: CameraModel, xs, ys, ci, ri, centre=None) -> np.ndarray:
    """:func:`footprint` of the grid points ``(xs[ci], ys[ri])`` (see :func:`grid_directions`)."""
    xs = np.asarray(xs, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    ci = np.asarray(ci)
    ri = np.asarray(ri)
    kind = settings(camera)["type"]
    if kind in (EQUIRECTANGULAR, CENTRAL_CYLINDRICAL) and len(ci):
        # turning about the vertical axis changes nothing: one value per row
        rows = np.arange(len(ys))
        return _steps(camera, kind, xs[:1], ys, np.zeros(len(ys), dtype=np.intp), rows, None)[ri]
    return _steps(camera, kind, xs, ys, ci, ri, centre)


def _steps(camera, kind, xs, ys, ci, ri, centre):
    """Larger of the chords to the half-pixel neighbours on the right and below."""
    masked = kind not in SEPARABLE  # only lens types have directions with no ray (zero)
    c = grid_directions(camera, xs, ys, ci, ri) if centre is None else centre
    out = np.zeros(len(ci), dtype=np.float64)
    for dx, dy in ((0.5, 0.0), (0.0, 0.5)):
        n = grid_directions(camera, xs + dx, ys + dy, ci, ri)
        if masked:
            bad = (n[:, 0] == 0) & (n[:, 1] == 0) & (n[:, 2] == 0)
            if bad.any():  # the neighbour is off the lens: look the other way
                n[bad] = directions(camera, xs[ci[bad]] - dx, ys[ri[bad]] - dy)
                bad = (n[:, 0] == 0) & (n[:, 1] == 0) & (n[:, 2] == 0)
        n -= c
        step = np.sqrt(np.einsum("ij,ij->i", n, n))
        if masked:
            step[bad] = 0.0
        np.maximum(out, step, out=out)
    return out


def pixel_centres(passes):
    """``(xs, ys)`` float64: continuous frame positions of the centres of the stored columns
    and rows (the data window starts at ``passes.window``)."""
    return passes.frame_columns() + 0.5, passes.frame_rows() + 0.5


def point_radius(camera: CameraModel, xs, ys, cols, rows, distance, centre=None) -> np.ndarray:
    """``(N,)`` float32 sphere radius of the points seen at grid pixels ``(xs[cols], ys[rows])``
    at ``distance``: half the pixel's angular size x sqrt(2), the half diagonal, as
    :func:`core.footprint.point_radius` for flat image planes. ``centre``: the points' unit
    directions when already known (see :func:`grid_footprint`)."""
    radius = (grid_footprint(camera, xs, ys, cols, rows, centre) * np.sqrt(2.0)).astype(np.float32)
    radius *= np.asarray(distance, dtype=np.float32)
    return radius


def unproject(passes, camera: CameraModel, clip: bool = True):
    """One frame's depth pass through a panoramic camera -> PointSet. ``PointSet.depth``
    holds the distance from the camera."""
    if passes.depth is None:
        raise InvalidDepthError(f"{passes.path}: no depth pass was read")
    dist = distance_from_depth(passes.depth, passes.convention, passes.near, passes.far)
    valid = valid_depth_mask(dist, None)
    if clip:
        valid &= within_clip(dist, camera)
    w = valid.shape[1]
    xs, ys = pixel_centres(passes)
    rows, cols = np.nonzero(valid)
    d = grid_directions(camera, xs, ys, cols, rows)
    seen = (d[:, 0] != 0) | (d[:, 1] != 0) | (d[:, 2] != 0)  # outside the lens there is no ray
    if not seen.all():
        valid[rows[~seen], cols[~seen]] = False
        rows, cols, d = rows[seen], cols[seen], d[seen]
    require_valid(valid, passes, passes.depth_channel, passes.depth)
    dv = dist[rows, cols]
    df = d.astype(np.float32)
    positions = camera_to_world(camera, df[:, 0] * dv, df[:, 1] * dv, df[:, 2] * dv)
    radius = point_radius(camera, xs, ys, cols, rows, dv, d) * np.float32(passes.step)
    return PointSet(positions=positions, colors=gather_colors(passes, rows * w + cols),
                    pixels=pixel_ids(cols, rows, passes),
                    depth=np.ascontiguousarray(dv, dtype=np.float32), radius=radius,
                    image_size=tuple(passes.frame_size), meta=point_meta(passes, valid))


def pixel_to_world(camera: CameraModel, column, row, depth, convention: str = depth_mod.PLANAR,
                   near: float = 0.0, far: float = 0.0) -> np.ndarray:
    """World position of pixel(s) ``(column, row)`` (row 0 at the top, integers address pixel
    centres) at the given depth value(s) (distance from the camera for panoramic cameras)."""
    col = np.atleast_1d(np.asarray(column, dtype=np.float64))
    row_ = np.atleast_1d(np.asarray(row, dtype=np.float64))
    dist = np.atleast_1d(distance_from_depth(np.asarray(depth, dtype=np.float64), convention, near, far))
    dist = dist.astype(np.float64)
    d = directions(camera, col + 0.5, row_ + 0.5)
    if not np.all(np.abs(d).sum(axis=-1) > 0):
        raise CameraError("pixel lies outside the panoramic camera's image (no ray is cast there)")
    p = np.concatenate([d * dist[..., None], np.ones(d.shape[:-1] + (1,))], axis=-1) @ camera.cam_to_world.T
    out = p[..., :3]
    return out[0] if np.ndim(column) == 0 and np.ndim(row) == 0 and np.ndim(depth) == 0 else out
