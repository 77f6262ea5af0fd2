"""Step 1, per view: valid depth pixels, spike removal, normals from the depth gradients (or
the Normal pass), oriented toward the camera."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..camera.model import ORTHOGRAPHIC, CameraModel
from ..points.deep import sample_positions
from ..points.footprint import point_radius
from ..points.gather import camera_to_world

if TYPE_CHECKING:

    pass
from .settings import FusionSettings
from .views import DepthView


@dataclass
class PreparedView:
    """A view's surviving pixels as world points, plus the depth map other views test against."""

    index: int
    name: str
    camera: CameraModel
    lookup: np.ndarray          # (H, W) float32: depth, +inf background, NaN unknown (incl. spikes)
    positions: np.ndarray       # (N, 3) float32 world
    normals: np.ndarray         # (N, 3) float32 world, unit, toward the camera
    colors: np.ndarray          # (N, 4) float32
    pixels: np.ndarray          # (N, 2) int32 (column, row)
    depth: np.ndarray           # (N,) float32 planar
    radius: np.ndarray          # (N,) float32 footprint radius (core.footprint.point_radius)
    stats: dict = field(default_factory=dict)


def _shift(a, dr, dc, fill=np.nan):
    """``out[r, c] = a[r + dr, c + dc]`` (``fill`` outside)."""
    h, w = a.shape[:2]
    out = np.full(a.shape, fill, dtype=a.dtype)
    rs, re = max(0, -dr), min(h, h - dr)
    cs, ce = max(0, -dc), min(w, w - dc)
    out[rs:re, cs:ce] = a[rs + dr:re + dr, cs + dc:ce + dc]
    return out


def neighbor_support(z: np.ndarray, tolerance: float) -> np.ndarray:
    """Support of each pixel from its 3x3 neighbourhood: 1 per neighbour within
    ``tolerance * z`` of its depth, plus 2 per opposite pair (left/right, up/down, the two
    diagonals) whose midpoint is within the tolerance (a smooth, possibly steep surface).
    Isolated spikes get 0. NaN/inf pixels never support."""
    tol = np.float32(tolerance) * z
    support = np.zeros(z.shape, dtype=np.int8)
    shifted = {}
    with np.errstate(invalid="ignore"):
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if dr == 0 and dc == 0:
                    continue
                s = _shift(z, dr, dc)
                shifted[dr, dc] = s
                support += np.abs(s - z) <= tol
        for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
            mid = 0.5 * (shifted[dr, dc] + shifted[-dr, -dc])
            support += 2 * (np.abs(mid - z) <= tol)
    return support


def camera_space_grid(camera: CameraModel, z: np.ndarray):
    """Camera-space coordinates (X, Y, Z) float32 grids of depth image ``z`` (planar)."""
    h, w = z.shape
    px = camera.plane_x(np.arange(w)).astype(np.float32)[None, :]
    py = camera.plane_y(np.arange(h)).astype(np.float32)[:, None]
    if camera.projection == ORTHOGRAPHIC:
        x = np.broadcast_to(px, z.shape) + np.zeros_like(z)
        y = np.broadcast_to(py, z.shape) + np.zeros_like(z)
    else:
        x, y = px * z, py * z
    return x, y, -z


def depth_normals(camera: CameraModel, z: np.ndarray):
    """Camera-space unit normals (H, W, 3) from the depth image's gradients, oriented toward
    the camera, and a mask of the pixels where both axes had a usable neighbour (elsewhere
    the normal faces the camera)."""
    x, y, zz = camera_space_grid(camera, z)
    p = np.stack([x, y, zz], axis=-1)
    with np.errstate(invalid="ignore"):
        def pick(fwd, bwd):
            fz, bz = np.abs(fwd[..., 2]), np.abs(bwd[..., 2])
            use_f = np.isfinite(fz) & ~(bz < fz)
            return np.where(use_f[..., None], fwd, bwd)

        dx = pick(_shift(p, 0, 1) - p, p - _shift(p, 0, -1))
        dy = pick(_shift(p, 1, 0) - p, p - _shift(p, -1, 0))
        n = np.cross(dx, dy)
        if camera.projection == ORTHOGRAPHIC:
            toward = np.zeros_like(p)
            toward[..., 2] = 1.0
        else:
            toward = -p
        flip = (n * toward).sum(-1) < 0
        n[flip] *= -1
        norm = np.sqrt((n * n).sum(-1))
        ok = np.isfinite(norm) & (norm > 0)
        tn = np.sqrt((toward * toward).sum(-1))
        fallback = toward / np.where(tn > 0, tn, 1)[..., None]
        n = np.where(ok[..., None], n / np.where(ok, norm, 1)[..., None], fallback)
    return n.astype(np.float32), ok


def _pass_normals(world, cam: CameraModel, fallback, x, y, zc):
    """World-space pass normals (H, W, 3) in camera space, unit, facing the camera; pixels
    whose pass normal has no length keep ``fallback`` (the depth-gradient normals)."""
    rot = cam.cam_to_world[:3, :3].astype(np.float32)
    n = world.astype(np.float32) @ rot  # world -> camera: R^T n, row-wise
    length = np.sqrt((n * n).sum(-1))
    ok = np.isfinite(length) & (length > 1e-6)
    n = np.where(ok[..., None], n / np.where(ok, length, 1)[..., None], fallback)
    if cam.projection == ORTHOGRAPHIC:
        facing = n[..., 2]
    else:
        with np.errstate(invalid="ignore"):
            facing = -(n[..., 0] * x + n[..., 1] * y + n[..., 2] * zc)
    with np.errstate(invalid="ignore"):
        n[facing < 0] *= -1
    return n.astype(np.float32)


def prepare_view(view: DepthView, index: int, settings: FusionSettings) -> PreparedView:
    """Spike removal, normals and world points of one view."""
    z = view.depth
    cam = view.camera
    surface = np.isfinite(z)
    if settings.neighbor_support > 0:
        keep = surface & (neighbor_support(z, settings.depth_tolerance) >= settings.neighbor_support)
    else:
        keep = surface
    lookup = np.where(surface & ~keep, np.float32(np.nan), z)  # removed spikes are unknown
    spikes = int((surface & ~keep).sum())
    masked = 0
    if view.mask is not None:
        masked = int((keep & ~view.mask).sum())
        keep &= view.mask
    zk = np.where(keep, z, np.float32(np.nan))
    normals_cam, _ = depth_normals(cam, zk)
    x, y, zc = camera_space_grid(cam, zk)
    if view.normals is not None:
        normals_cam = _pass_normals(view.normals, cam, normals_cam, x, y, zc)
    if settings.max_incidence < 90:
        if cam.projection == ORTHOGRAPHIC:
            cosine = np.abs(normals_cam[..., 2])
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                r = np.sqrt(x * x + y * y + zc * zc)
                cosine = np.abs(normals_cam[..., 0] * x + normals_cam[..., 1] * y + normals_cam[..., 2] * zc) / r
        with np.errstate(invalid="ignore"):
            keep &= cosine >= np.float32(math.cos(math.radians(settings.max_incidence)))
    rows, cols = np.nonzero(keep)
    positions = camera_to_world(cam, x[keep], y[keep], zc[keep])
    normals = normals_cam[keep] @ cam.cam_to_world[:3, :3].astype(np.float32).T
    zv = z[keep]
    radius = point_radius(cam, zv)
    colors = view.colors[keep] if view.colors is not None else np.ones((len(zv), 4), np.float32)
    pixels = np.stack([cols, rows], axis=-1).astype(np.int32)
    stats = {"pixels": int(surface.sum()), "spikes": spikes,
             "grazing": int(surface.sum()) - spikes - masked - len(zv), "points": int(len(zv))}
    if view.mask is not None:
        stats["masked"] = masked
    if view.behind is not None and len(view.behind[1]):  # deep views: the samples behind the front
        bpix, bz, bcol = view.behind
        bpos = sample_positions(cam, bpix, bz)
        toward = (cam.location.astype(np.float32) - bpos) if cam.projection != ORTHOGRAPHIC else \
            np.broadcast_to(cam.cam_to_world[:3, 2].astype(np.float32), bpos.shape)
        bnor = toward / np.maximum(np.linalg.norm(toward, axis=1, keepdims=True), np.float32(1e-12))
        positions, normals = np.concatenate([positions, bpos]), np.concatenate([normals, bnor])
        colors, pixels = np.concatenate([colors, bcol]), np.concatenate([pixels, bpix.astype(np.int32)])
        zv, radius = np.concatenate([zv, bz]), np.concatenate([radius, point_radius(cam, bz)])
        stats["pixels"] += len(bz)
        stats["points"] += len(bz)
        stats["behind"] = int(len(bz))
    return PreparedView(index=index, name=view.name, camera=cam, lookup=lookup,
                        positions=np.ascontiguousarray(positions, dtype=np.float32),
                        normals=np.ascontiguousarray(normals, dtype=np.float32), colors=colors, pixels=pixels,
                        depth=zv.astype(np.float32), radius=radius.astype(np.float32), stats=stats)
