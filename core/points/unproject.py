"""Pixels -> world points for every camera (panoramic ones through ``core.panorama``).
Vectorized numpy, float32 on the per-pixel path; what is gathered per point is ``core.gather``."""
from __future__ import annotations

import numpy as np

from ..camera.model import ORTHOGRAPHIC, PANORAMIC, CameraModel
from ..errors import CameraError, InvalidDepthError
from . import attributes, deep, masks, panorama
from . import depth as depth_mod
from .detail import at_detail
from .footprint import point_radius
from .gather import (
    BLOCK,
    clip_dropped,
    frame_camera,
    gather_colors,
    note_clipped,
    pixel_ids,
    planar_depth,
    point_meta,
    require_valid,
    valid_depth_mask,
)
from .inputs import FramePasses
from .pointset import PixelIndex, PointSet


def unproject(passes: FramePasses, camera: CameraModel | None = None, clip: bool = True,
              detail: int = 1) -> PointSet:
    """Turn one frame's passes into a PointSet.

    With a depth pass a camera is required. With a world position pass no camera is needed;
    a camera, when given, adds per-point planar depth and footprint radius. ``detail`` N
    keeps every Nth pixel with N times the footprint (``core.detail``). The frame's mask,
    Normal pass and named passes (``passes.mask/normal/extra``) select and annotate the points.
    """
    if detail != 1:
        passes = at_detail(passes, detail)
    if passes.mask is None and passes.normal is None and not passes.extra:
        return _unproject(passes, camera, clip)
    if passes.mask is not None:
        passes = masks.crop_to_mask(passes)  # unproject only the rows/columns the mask touches
    try:
        point_set = _unproject(passes, camera, clip)
    except InvalidDepthError as err:
        if passes.mask is None:
            raise
        raise masks.no_surface(passes) from err
    return attributes.attach(masks.apply(point_set, passes), passes)


def _unproject(passes: FramePasses, camera: CameraModel | None, clip: bool) -> PointSet:
    if passes.position is not None:
        return _from_position(passes, camera, clip)
    if camera is None:
        raise CameraError(f"{passes.path}: a depth pass needs the camera that rendered it; "
                          "set a camera (or use a world Position pass, which needs none)")
    if passes.deep is not None:  # deep files: one point per sample
        return deep.unproject(passes, camera, clip)
    camera = frame_camera(passes, camera)
    if camera.projection == PANORAMIC:
        return panorama.unproject(passes, camera, clip)

    z = planar_depth(passes, camera)
    valid = valid_depth_mask(z, camera, clip)
    count = int(np.count_nonzero(valid))
    # what the frame's notes count (clipped, NaN/inf) lies only among the pixels that are no
    # points: counted there (nothing to count when every pixel is a point)
    outside = None if count == valid.size else ~valid
    clipped = 0 if outside is None else clip_dropped(z[outside], camera, clip)
    if count == 0:
        require_valid(valid, passes, passes.depth_channel, passes.depth, clipped, camera)
    h, w = passes.shape
    index = None if count == valid.size else np.flatnonzero(valid)  # None: every pixel, no gathers
    zv = z.reshape(-1) if index is None else z.reshape(-1).take(index)
    positions = _world_at(camera, z, (passes.frame_columns(), passes.frame_rows()), index)

    radius = point_radius(camera, zv)
    if passes.step != 1:  # every Nth pixel: each point covers N x N source pixels
        radius *= np.float32(passes.step)
    x0, y0 = passes.window
    pixels = PixelIndex(index, w, h, x0, y0, passes.step, passes.offset)
    meta = point_meta(passes, valid, count, outside)
    note_clipped(meta, passes, clipped, valid.size, camera)
    return PointSet(positions=positions, colors=gather_colors(passes, index), pixels=pixels,
                    depth=zv, radius=radius, image_size=tuple(passes.frame_size), meta=meta)


def _world_at(camera: CameraModel, z: np.ndarray, frame_cols_rows, index) -> np.ndarray:
    """World positions (N, 3) float32 of the pixels at flat ``index`` (None: all, in order)
    of the planar depth ``z`` (``frame_cols_rows``: the frame column and row of each array
    column and row).

    Separable: with R, t the camera rotation and location, a pixel's point is
    ``z * (px[col] R0 + py[row] R1 - R2) + t`` (perspective) or
    ``px[col] R0 + py[row] R1 - z R2 + t`` (orthographic). Each world axis is computed for a
    block of rows at a time with row/column broadcasting into a cache-sized plane
    (contiguous inner loops), then that block's valid pixels are written into the output:
    ~10 ms for a 1080p frame where whole-image planes cost ~35 ms.
    """
    h, w = z.shape
    m = camera.cam_to_world
    px = camera.plane_x(frame_cols_rows[0])
    py = camera.plane_y(frame_cols_rows[1])
    ortho = camera.projection == ORTHOGRAPHIC
    cols = [(px * m[k, 0]).astype(np.float32) for k in range(3)]
    rows = [(py * m[k, 1] - (0.0 if ortho else m[k, 2])).astype(np.float32) for k in range(3)]
    shift = [np.float32(m[k, 3]) for k in range(3)]
    depth_axis = [np.float32(m[k, 2]) for k in range(3)]
    out = np.empty((h * w if index is None else len(index), 3), dtype=np.float32)
    step = max(1, BLOCK // max(w, 1))  # rows per block
    starts = np.arange(0, h + step, step)
    bounds = None if index is None else np.searchsorted(index, np.minimum(starts, h) * w)
    plane = np.empty((step, w), dtype=np.float32)
    scratch = np.empty((step, w), dtype=np.float32) if ortho else None
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf only at pixels that are no points
        for b, r0 in enumerate(starts[:-1]):
            r1 = min(h, r0 + step)
            if r0 >= h:
                break
            if index is None:
                dst, sel = out[r0 * w:r1 * w], None
            else:
                lo, hi = bounds[b], bounds[b + 1]
                if lo == hi:
                    continue
                # a block whose every pixel is a point is written straight through, like a full frame
                dst, sel = out[lo:hi], (None if hi - lo == (r1 - r0) * w else index[lo:hi] - r0 * w)
            tile = plane[:r1 - r0]
            zb = z[r0:r1]
            for k in range(3):
                np.add(rows[k][r0:r1, None], cols[k][None, :], out=tile)
                if ortho:
                    tmp = scratch[:r1 - r0]
                    np.multiply(zb, depth_axis[k], out=tmp)
                    tile -= tmp
                else:
                    tile *= zb
                tile += shift[k]
                flat = tile.reshape(-1)
                dst[:, k] = flat if sel is None else flat.take(sel)
    return out


def _from_position(passes: FramePasses, camera: CameraModel | None, clip: bool) -> PointSet:
    pos = passes.position
    valid = np.isfinite(pos).all(axis=-1)
    if passes.depth is not None:
        cam = frame_camera(passes, camera) if camera is not None else None
        z = planar_depth(passes, cam) if (cam is not None or passes.convention == depth_mod.PLANAR) else passes.depth
        valid &= valid_depth_mask(z, cam, clip and cam is not None)
    else:
        # Blender writes (0, 0, 0) where no surface was hit; with no depth pass that is
        # the only background marker available.
        valid &= (pos != 0).any(axis=-1)
    require_valid(valid, passes, "position")
    index = np.flatnonzero(valid)
    rows, cols = np.divmod(index, pos.shape[1])
    positions = pos.reshape(-1, 3).take(index, axis=0).astype(np.float32, copy=False)
    depth = radius = None
    if camera is not None:
        camera = frame_camera(passes, camera)
        if camera.projection != PANORAMIC:
            _, _, d = camera.project(positions)
            depth = d.astype(np.float32)
            radius = point_radius(camera, depth) * np.float32(passes.step)
        else:  # panoramic: distance from the camera and the pixel's angular footprint
            depth = np.linalg.norm(positions - camera.location.astype(np.float32), axis=1).astype(np.float32)
            xs, ys = panorama.pixel_centres(passes)
            radius = panorama.point_radius(camera, xs, ys, cols, rows, depth) * np.float32(passes.step)
    return PointSet(positions=positions, colors=gather_colors(passes, index), pixels=pixel_ids(cols, rows, passes),
                    depth=depth, radius=radius, image_size=tuple(passes.frame_size), meta=point_meta(passes, valid))


def pixel_to_world(camera: CameraModel, column: float | np.ndarray, row: float | np.ndarray,
                   depth: float | np.ndarray, convention: str = depth_mod.PLANAR,
                   near: float = 0.0, far: float = 0.0) -> np.ndarray:
    """World position of pixel(s) ``(column, row)`` (row 0 at the top, integers address
    pixel centres, fractions sub-pixel positions) at the given depth value(s)."""
    if camera.projection == PANORAMIC:
        return panorama.pixel_to_world(camera, column, row, depth, convention, near, far)
    col = np.atleast_1d(np.asarray(column, dtype=np.float64))
    rws = np.atleast_1d(np.asarray(row, dtype=np.float64))  # not ``row``: its ndim decides the result's shape
    d = np.atleast_1d(np.asarray(depth, dtype=np.float64))
    x = camera.plane_x(col)
    y = camera.plane_y(rws)
    z = d
    if convention == depth_mod.RAY_DISTANCE:
        if camera.projection != ORTHOGRAPHIC:
            z = z / np.sqrt(1 + x * x + y * y)
    elif convention != depth_mod.PLANAR:
        z = depth_mod.to_planar(z.reshape(1, -1).astype(np.float32), convention, camera, near, far)
        z = z.ravel().astype(np.float64)
    if camera.projection != ORTHOGRAPHIC:
        x, y = x * z, y * z
    p = np.stack([x, y, -z, np.ones_like(z)], axis=-1) @ camera.cam_to_world.T
    out = p[:, :3]
    return out[0] if np.ndim(column) == 0 and np.ndim(row) == 0 and np.ndim(depth) == 0 else out


def point_at_pixel(passes: FramePasses, camera: CameraModel | None, column: int, row: int) -> np.ndarray:
    """World position seen at pixel ``(column, row)`` of the frame (row 0 at the top)."""
    x0, y0 = passes.window
    h, w = passes.shape
    c, r = int(column) - x0, int(row) - y0
    if not (0 <= c < w and 0 <= r < h):
        raise InvalidDepthError(f"{passes.path}: pixel ({column}, {row}) is outside the stored image "
                                f"(columns {x0}..{x0 + w - 1}, rows {y0}..{y0 + h - 1})")
    if passes.position is not None:
        p = passes.position[r, c].astype(np.float64)
        if not np.all(np.isfinite(p)):
            raise InvalidDepthError(f"{passes.path}: position at pixel ({column}, {row}) is not finite")
        return p
    if camera is None:
        raise CameraError(f"{passes.path}: a depth pass needs the camera that rendered it")
    camera = frame_camera(passes, camera)
    raw = passes.depth[r:r + 1, c:c + 1]
    z = depth_mod.to_planar(raw, passes.convention, camera, passes.near, passes.far,
                            cols=np.array([column]), rows=np.array([row]))
    if not valid_depth_mask(z, camera).all():
        raise InvalidDepthError(f"{passes.path}: pixel ({column}, {row}) of channel {passes.depth_channel} "
                                f"has no surface (depth {float(raw[0, 0])!r})")
    return pixel_to_world(camera, column, row, float(z[0, 0]))
