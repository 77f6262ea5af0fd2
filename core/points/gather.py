"""What every unprojection gathers from one frame's passes, for flat and panoramic cameras
alike (``core.unproject``, ``core.panorama``, ``core.fusion``): the frame's camera, its planar
depth, which pixels hold a surface, and per point its color, pixel id and the frame's notes.

Below the camera model in the import order (it needs only depth conventions), so the
panoramic lens math can use it without an import circle."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..camera.projections import PANORAMIC
from ..diagnostics import CLIP, NONFINITE, Diagnostics
from ..errors import InvalidDepthError
from . import depth as depth_mod
from .pointset import frame_pixels

if TYPE_CHECKING:
    from ..camera.model import CameraModel
    from .inputs import FramePasses

#: Relative tolerance on the clip range (renders never hold surfaces outside it).
CLIP_TOLERANCE = 1e-4
#: EEVEE 4.2 - 5.0 stores about the far clip distance (measured 1000.07 for a far clip of
#: 1000; up to ~1 % off) as the depth of pixels that saw nothing, where Cycles (and EEVEE
#: from 5.2) store 1e10.
#: Nothing is visible at the far clip itself, so depths within this fraction of it are
#: background, not a wall of points at the far plane.
FAR_PLANE_BAND = 0.01


def frame_camera(passes: FramePasses, camera: CameraModel) -> CameraModel:
    """The stored pixels decide the frame size (resolution % and odd sizes can't skew it)."""
    w, h = passes.frame_size
    if (camera.width, camera.height) != (w, h):
        camera = camera.with_frame_size(w, h)
    return camera


def planar_depth(passes: FramePasses, camera: CameraModel | None) -> np.ndarray:
    """The frame's depth as planar camera depth (float32, data window)."""
    if passes.depth is None:
        raise InvalidDepthError(f"{passes.path}: no depth pass was read")
    return depth_mod.to_planar(passes.depth, passes.convention, camera, passes.near, passes.far,
                               cols=passes.frame_columns(), rows=passes.frame_rows())


def valid_depth_mask(z: np.ndarray, camera: CameraModel | None, clip: bool = True) -> np.ndarray:
    """Pixels holding a surface: finite, positive, not background, inside the clip range and
    not at the far clip plane (:data:`FAR_PLANE_BAND`: EEVEE's background).

    Two comparisons against the tightest bounds (NaN fails both, infinities one of them), so
    a 1080p frame costs ~1 ms."""
    high = depth_mod.BACKGROUND_DEPTH
    low = 0.0
    if clip and camera is not None and camera.projection != PANORAMIC:
        low = camera.clip_start * (1 - CLIP_TOLERANCE)
        # z <= clip_end * (1 + tolerance) is implied by the stricter far-plane band
        high = min(high, camera.clip_end * (1 - FAR_PLANE_BAND))
    with np.errstate(invalid="ignore"):
        valid = (z >= low) if low > 0 else (z > 0)
        valid &= z < high
    return valid


def within_clip(z: np.ndarray, camera: CameraModel) -> np.ndarray:
    """Depths (panoramic cameras: distances) inside the camera's clip range, with
    :data:`CLIP_TOLERANCE`."""
    with np.errstate(invalid="ignore"):
        return (z >= camera.clip_start * (1 - CLIP_TOLERANCE)) & (z <= camera.clip_end * (1 + CLIP_TOLERANCE))


#: How to keep what the clip range drops, on every surface.
CLIP_REMEDY = "--no-clip on the command line, clip=False in the API, or Clip off in the Depth Cloud settings"


def clip_dropped(z: np.ndarray, camera: CameraModel | None, clip: bool = True, samples: bool = False) -> int:
    """How many surface depths (finite, positive, not background) the clip range drops: below
    the clip start, or beyond the clip end by more than EEVEE's far-plane background band
    (``samples``: deep samples, all surfaces: every one beyond the far cut counts)."""
    if not clip or camera is None or camera.projection == PANORAMIC:
        return 0
    low = camera.clip_start * (1 - CLIP_TOLERANCE)
    high = camera.clip_end * ((1 - FAR_PLANE_BAND) if samples else (1 + 2 * FAR_PLANE_BAND))
    with np.errstate(invalid="ignore"):
        near = np.count_nonzero((z > 0) & (z < low))
        far = np.count_nonzero((z >= high) & (z < depth_mod.BACKGROUND_DEPTH)) if samples else \
            np.count_nonzero((z > high) & (z < depth_mod.BACKGROUND_DEPTH))
    return int(near + far)


def clip_text(dropped: int, total: int, camera: CameraModel, what: str = "pixels") -> str:
    return (f"{dropped:,} of {total:,} {what} with a surface lie outside the camera's clip range "
            f"{camera.clip_start:g}..{camera.clip_end:g} and were dropped (keep them: {CLIP_REMEDY})")


def require_valid(valid: np.ndarray, passes: FramePasses, what: str, z: np.ndarray | None = None,
                  clipped: int = 0, camera: CameraModel | None = None) -> None:
    if valid.any():
        return
    total = valid.size
    extra = ""
    if z is not None:
        nonfinite = int((~np.isfinite(z)).sum())
        extra = f" ({nonfinite:,} of {total:,} pixels are NaN/inf)" if nonfinite else ""
    if clipped and camera is not None:
        raise InvalidDepthError(f"{passes.path}: channel {what} holds no usable pixel: "
                                + clip_text(clipped, total, camera) + extra)
    raise InvalidDepthError(f"{passes.path}: channel {what} holds no usable pixel: all {total:,} pixels are "
                            f"background, NaN/inf or outside the camera clip range{extra}")


def note_clipped(meta: dict, passes: FramePasses, dropped: int, total: int, camera: CameraModel,
                 what: str = "pixels") -> None:
    """Add the clip diagnostic to a PointSet's ``meta`` (nothing when nothing was dropped)."""
    meta["clipped"] = int(dropped)
    if dropped:
        meta["warnings"].append(f"{passes.path}: " + clip_text(dropped, total, camera, what), CLIP,
                                source=passes.path)


def gather_colors(passes: FramePasses, index: np.ndarray | None) -> np.ndarray:
    """Colors (N, 4) float32 of the pixels at flat ``index`` (row-major over the data window;
    None: every pixel in order). Color planes that are views of one interleaved RGBA array (as
    ``core.exr`` reads a color pass) are gathered from it whole; other planes are
    interleaved in cache-sized blocks."""
    planes = passes.color_planes if passes.color is None else None
    rgba = passes.color if passes.color is not None else interleaved_base(planes)
    if rgba is not None:
        flat = rgba.reshape(-1, 4)
        if index is None:
            return flat
        return flat.view(np.complex128).reshape(-1).take(index).view(np.float32).reshape(-1, 4) \
            if flat.flags.c_contiguous else flat.take(index, axis=0)
    if planes is None:
        n = passes.depth.size if index is None else len(index)
        return np.ones((n, 4), dtype=np.float32)
    flat_planes = [None if p is None else p.reshape(-1) for p in planes]
    n = flat_planes[0].size if index is None else len(index)
    return interleave(flat_planes, index, n, 4, fill=1.0)


#: Elements per block of :func:`interleave` (planes of this many float32 stay in L2 cache).
BLOCK = 1 << 16


def interleave(planes, index: np.ndarray | None, n: int, width: int, fill: float = 0.0) -> np.ndarray:
    """(n, width) float32 of the flat ``planes`` (None: ``fill``) at ``index`` (None: all),
    written block by block: one strided pass over a 1080p frame costs ~2 ms instead of ~4
    for whole-plane column writes."""
    out = np.empty((n, width), dtype=np.float32)
    for start in range(0, n, BLOCK):
        stop = min(n, start + BLOCK)
        sel = None if index is None else index[start:stop]
        for k, plane in enumerate(planes):
            if plane is None:
                out[start:stop, k] = fill
            else:
                out[start:stop, k] = plane[start:stop] if sel is None else plane.take(sel)
    return out


def interleaved_base(planes) -> np.ndarray | None:
    """The (h, w, 4) float32 RGBA array that four color ``planes`` are views of, else None."""
    if planes is None or len(planes) != 4 or any(p is None for p in planes):
        return None
    base = planes[0].base
    if not isinstance(base, np.ndarray) or base.dtype != np.float32 or base.ndim != 3 or base.shape[2] != 4 \
            or base.shape[:2] != planes[0].shape or not base.flags.c_contiguous:
        return None
    for k, p in enumerate(planes):
        if p.base is not base or p.__array_interface__["data"][0] != base.__array_interface__["data"][0] + 4 * k \
                or p.strides != base.strides[:2]:
            return None
    return base


def pixel_ids(cols: np.ndarray, rows: np.ndarray, passes: FramePasses) -> np.ndarray:
    """(N, 2) int32 frame pixels of the passes' array columns and rows."""
    return frame_pixels(cols, rows, *passes.window, passes.step, passes.offset)


def point_meta(passes: FramePasses, valid: np.ndarray, count: int | None = None,
               outside: np.ndarray | None = None) -> dict:
    """The frame's notes for a PointSet (``count``: ``valid``'s true pixels, when known).
    ``outside``: ``~valid`` of a depth pass, or None when every pixel is a point: NaN/inf
    depths are then counted only there (a point's depth is a finite planar depth, and no
    depth convention maps a NaN/inf value to one)."""
    meta = {"path": passes.path, "color_path": passes.color_path, "channel": passes.depth_channel,
            "convention": passes.convention, "pixels": int(valid.size),
            "points": int(np.count_nonzero(valid)) if count is None else int(count),
            "warnings": Diagnostics(passes.warnings), "detail": int(passes.step), "view": passes.view}
    raw = passes.depth if passes.depth is not None else passes.position
    if raw is None:
        nonfinite = 0
    elif raw is passes.depth and count is not None and raw.shape == valid.shape:
        rest = raw[outside] if outside is not None else raw[:0]
        nonfinite = rest.size - int(np.count_nonzero(np.isfinite(rest)))
    else:
        nonfinite = raw.size - int(np.count_nonzero(np.isfinite(raw)))
    nonfinite -= passes.no_color_nan  # skipped for lack of color (core/color_window.py)
    nonfinite -= passes.invalid_pixels  # the depth image's invalid value (core/images/read.py)
    if nonfinite:
        meta["warnings"].append(f"{passes.path}: {nonfinite:,} NaN/inf pixels in {passes.depth_channel or 'position'} "
                                "were skipped", NONFINITE, source=passes.path)
    meta["nonfinite"] = nonfinite
    return meta


def camera_to_world(camera: CameraModel, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Camera-space coordinates (float32 arrays) to world positions (N, 3) float32."""
    m = camera.cam_to_world.astype(np.float32)
    out = np.empty((len(x), 3), dtype=np.float32)
    for k in range(3):
        col = out[:, k]
        np.multiply(x, m[k, 0], out=col)
        col += y * m[k, 1]
        col += z * m[k, 2]
        col += m[k, 3]
    return out
