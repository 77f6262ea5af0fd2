"""Multi-view fusion: many depth maps seen by known cameras -> one clean, oriented cloud.

Pipeline (all numpy, vectorized per view; no per-pixel Python):

1. **Per view** (:func:`prepare_view`): valid depth pixels; *spike removal* (a pixel needs
   support from its 3x3 neighbourhood: neighbours at the same depth, or opposite neighbour
   pairs whose midpoint predicts its depth, so steep but smooth surfaces keep their pixels);
   *normals* from the depth image gradients (cross product of the unprojected neighbours,
   the one-sided difference with the smaller depth jump on each axis, so normals do not
   bend across depth edges), oriented toward the camera.
2. **Multi-view consistency** (:func:`view_consistency`): every point of view *i* is
   projected into every other view *j*. Among the four pixel centres around the projection,
   view *j* **agrees** if one holds the point's depth within ``depth_tolerance * depth``;
   it **contradicts** (free-space violation) if the point lies in front of all four by more
   than the tolerance (or they are background: j saw through the point); otherwise the point
   is hidden from j (behind j's surface, or outside j's image) and j says nothing. The views
   that *should see* the point are those that agree or contradict. A point is kept when at
   least ``min(min_views, should_see)`` other views agree, i.e. with ``min_views`` agreeing
   views when that many should see it, and with no contradiction when fewer should.
   ``check_views`` limits each view to its most similar views (:func:`similar_views`).
3. **Voxel grid** (:func:`voxel_downsample`): points are merged per voxel (and per normal
   direction, so the two sides of a thin wall are not averaged together): position and color
   are averaged, normals summed and renormalized, the number of merged points kept.
4. **Statistical outlier removal** (:func:`statistical_outliers`): mean distance to the k
   nearest neighbours (exact grid k-NN of :mod:`.knn`, no scipy in Blender); points farther
   than ``mean + std_ratio * std`` are dropped. By default only points no other view
   confirmed are judged (plain SOR also eats real surface sampled sparsely at grazing angles).

Per point the result carries ``normals`` and the attributes ``views`` (number of views that
saw it consistently: its own plus the agreeing ones, max over merged points) and
``confidence`` (agreeing / should-see views, including its own, mean over merged points).
"""
from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import depth as depth_mod
from .batch import counted
from .camera import ORTHOGRAPHIC, PANORAMIC, CameraModel
from .diagnostics import CLIP, Diagnostics
from .errors import CameraError, InvalidDepthError, SettingsError, SizeMismatchError
from .footprint import point_radius
from .gather import camera_to_world, clip_dropped, clip_text, frame_camera, planar_depth, valid_depth_mask
from .knn import knn, knn_distances
from .pointset import PointSet

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from .passes import FramePasses

VIEWS_ATTRIBUTE = "views"
CONFIDENCE_ATTRIBUTE = "confidence"
SOURCE_VIEW_ATTRIBUTE = "source_view"


# --------------------------------------------------------------------------- inputs
@dataclass
class DepthView:
    """One depth map and the camera that rendered it.

    ``depth`` (H, W) float32 planar depth: finite and > 0 where a surface was seen, ``+inf``
    (or >= 1e9, Blender's background) where the camera saw nothing, NaN where unknown.
    ``colors`` (H, W, 4) scene-linear RGBA or None. The camera's frame size must be (W, H).
    """

    depth: np.ndarray
    camera: CameraModel
    colors: np.ndarray | None = None
    name: str = ""
    #: (H, W) bool: the pixels that may become points (a mask, core/masks.py); every pixel's
    #: depth still takes part in the other views' consistency checks. None = all.
    mask: np.ndarray | None = None
    #: (H, W, 3) world-space normals (Blender's Normal pass), used instead of depth gradients
    #: where they have length; None = from the depth gradients.
    normals: np.ndarray | None = None
    #: deep views (core/deep.py): ``(pixels (N, 2), planar depth (N,), colors (N, 4))`` of the
    #: samples behind each pixel's front one, added to the view's points
    behind: tuple | None = None
    #: what reading the view had to say (core/diagnostics.py); the fused result carries them all
    warnings: list = field(default_factory=list)

    def __post_init__(self):
        z = np.asarray(self.depth)
        label = self.name or "depth map"
        if z.ndim != 2:
            raise SizeMismatchError(f"{label}: depth must be a 2D image, got shape {z.shape}")
        h, w = z.shape
        if (self.camera.width, self.camera.height) != (w, h):
            self.camera = self.camera.with_frame_size(w, h)
        if self.camera.projection == PANORAMIC:
            raise CameraError(f"{label}: fusion of panoramic depth maps is not supported yet")
        if self.colors is not None:
            c = np.asarray(self.colors)
            if c.shape[:2] != (h, w) or c.ndim != 3 or c.shape[2] not in (3, 4):
                raise SizeMismatchError(f"{label}: color image is {c.shape}, depth is {w}x{h}")
            if c.shape[2] == 3:
                c = np.concatenate([c, np.ones((h, w, 1), c.dtype)], axis=2)
            self.colors = np.ascontiguousarray(c, dtype=np.float32)
        z = np.array(z, dtype=np.float32)
        with np.errstate(invalid="ignore"):
            z[z >= depth_mod.BACKGROUND_DEPTH] = np.inf
            z[~(z > 0)] = np.nan  # zero/negative: no measurement
        self.depth = z
        for name, shape in (("mask", (h, w)), ("normals", (h, w, 3))):
            a = getattr(self, name)
            if a is not None and np.shape(a) != shape:
                raise SizeMismatchError(f"{label}: {name} is {np.shape(a)}, depth is {w}x{h}")


def view_from_passes(passes: FramePasses, camera: CameraModel, name: str = "", clip: bool = True) -> DepthView:
    """A DepthView from one frame's passes (depth or world position) and its camera; pixels
    outside the data window or the clip range are unknown."""
    if camera is None:
        raise CameraError(f"{passes.path}: fusion needs the camera of every view")
    camera = frame_camera(passes, camera)
    h, w = passes.shape
    warnings = Diagnostics(passes.warnings)
    if passes.position is not None:
        pos = passes.position.reshape(-1, 3)
        _, _, z = camera.project(pos)
        z = z.reshape(h, w).astype(np.float32)
        empty = ~np.isfinite(pos).all(axis=1).reshape(h, w) | (passes.position == 0).all(axis=-1)
        z[empty] = np.inf
    else:
        z = planar_depth(passes, camera).astype(np.float32, copy=True)
        bg = z >= depth_mod.BACKGROUND_DEPTH
        if passes.convention == depth_mod.PLANAR:
            bg |= np.isposinf(z)
        ok = valid_depth_mask(z, camera, clip)
        clipped = clip_dropped(z, camera, clip)
        if clipped:
            warnings.append(f"{passes.path}: " + clip_text(clipped, z.size, camera), CLIP, source=passes.path)
        z = np.where(ok, z, np.where(bg, np.inf, np.nan)).astype(np.float32)
    fw, fh = passes.frame_size
    x0, y0 = passes.window
    full = np.full((fh, fw), np.nan, dtype=np.float32)
    full[y0:y0 + h, x0:x0 + w] = z
    colors = None
    if passes.has_color:
        colors = np.ones((fh, fw, 4), dtype=np.float32)
        colors[y0:y0 + h, x0:x0 + w] = passes.rgba()
    mask = normals = None
    if getattr(passes, "mask", None) is not None:
        mask = np.zeros((fh, fw), bool)
        mask[y0:y0 + h, x0:x0 + w] = passes.mask.selected
    if getattr(passes, "normal", None) is not None:
        normals = np.zeros((fh, fw, 3), np.float32)
        for k, plane in enumerate(passes.normal):
            normals[y0:y0 + h, x0:x0 + w, k] = plane
    behind = None
    if passes.deep is not None:  # deep: the depth map holds the front samples, the rest come along
        from .deep import behind_samples
        behind = behind_samples(passes, camera, clip)
    return DepthView(depth=full, camera=camera, colors=colors, name=name or os.path.basename(passes.path),
                     mask=mask, normals=normals, behind=behind, warnings=warnings)


# --------------------------------------------------------------------------- settings
@dataclass
class FusionSettings:
    """Fusion parameters (see the module docstring)."""

    voxel_size: float = 0.0          # 0: automatic (median pixel footprint of the points)
    min_views: int = 2               # agreeing other views needed (capped by views that should see); 0 = off
    depth_tolerance: float = 0.01    # relative: |depth difference| <= tolerance * depth
    neighbor_support: int = 2        # spike removal: support needed in the 3x3 neighbourhood; 0 = off
    outlier_neighbors: int = 16      # k of the statistical outlier removal; 0 = off
    outlier_std_ratio: float = 2.0   # drop points whose mean k-NN distance > mean + ratio * std
    outliers_unconfirmed_only: bool = True  # points confirmed by another view are never dropped
    max_incidence: float = 90.0      # degrees; drop points seen more grazing than this (90 = off)
    check_views: int = 0             # compare each view with its N most similar views; 0 = all others
    split_normals: bool = True       # keep opposite-facing surfaces in one voxel apart
    workers: int = 1                 # threads for the per-view work (0 = min(2, CPU count))

    def validate(self) -> FusionSettings:
        checks = [
            (self.voxel_size >= 0 and math.isfinite(self.voxel_size), "voxel size must be >= 0 (0 = automatic)"),
            (self.min_views >= 0, "minimum views must be >= 0 (0 = no multi-view filter)"),
            (0 < self.depth_tolerance < 1, "depth tolerance must be between 0 and 1 (a fraction of the depth)"),
            (0 <= self.neighbor_support <= 8, "neighbour support must be between 0 and 8"),
            (self.outlier_neighbors >= 0, "outlier neighbours must be >= 0 (0 = no outlier removal)"),
            (self.outlier_std_ratio > 0, "outlier standard-deviation ratio must be positive"),
            (0 < self.max_incidence <= 90, "maximum incidence angle must be in (0, 90] degrees"),
            (self.workers >= 0, "workers must be >= 0"),
            (self.check_views >= 0, "views to compare with must be >= 0 (0 = all)"),
        ]
        for ok, msg in checks:
            if not ok:
                raise SettingsError(f"fusion setting: {msg}")
        return self


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


@dataclass
class FusionResult:
    point_set: PointSet
    voxel_size: float
    stats: dict


# --------------------------------------------------------------------------- per view
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
        from .deep import sample_positions
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


# --------------------------------------------------------------------------- consistency
class _Projector:
    """Float32 world -> (continuous pixel x, y, planar depth) for one camera; the same
    mapping as :meth:`CameraModel.project` (pixel ``c`` spans ``[c, c+1)``, rows from the top)."""

    def __init__(self, camera: CameraModel):
        w2c = camera.world_to_cam
        self.rot = w2c[:3, :3].astype(np.float32)
        self.trans = w2c[:3, 3].astype(np.float32)
        pw, ph = camera.pixel_size()
        self.x0 = float(camera.plane_x(0.0))
        self.y0 = float(camera.plane_y(0.0))
        self.ipw, self.iph = np.float32(1.0 / pw), np.float32(1.0 / ph)
        self.ortho = camera.projection == ORTHOGRAPHIC
        self.width, self.height = camera.width, camera.height

    def __call__(self, p):
        pc = p @ self.rot.T + self.trans
        d = -pc[:, 2]
        if self.ortho:
            xn, yn = pc[:, 0], pc[:, 1]
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                inv = np.float32(1.0) / d
            xn, yn = pc[:, 0] * inv, pc[:, 1] * inv
        x = (xn - np.float32(self.x0)) * self.ipw + np.float32(0.5)
        y = (np.float32(self.y0) - yn) * self.iph + np.float32(0.5)
        return x, y, d


def compare_with_view(positions, projector: _Projector, lookup: np.ndarray, tolerance: float):
    """``(agree, contradict)`` boolean arrays: does the view whose depth map is ``lookup``
    hold each point's depth (within ``tolerance * depth``) at one of the four pixel centres
    around its projection, or see through it (the point is in front of all four)?"""
    x, y, d = projector(positions)
    h, w = lookup.shape
    with np.errstate(invalid="ignore"):
        inside = (d > 0) & (x >= 0) & (x < w) & (y >= 0) & (y < h)
    agree = np.zeros(len(d), dtype=bool)
    contradict = np.zeros(len(d), dtype=bool)
    idx = np.flatnonzero(inside)
    if len(idx) == 0:
        return agree, contradict
    xs, ys, ds = x[idx] - np.float32(0.5), y[idx] - np.float32(0.5), d[idx]
    c0 = np.floor(xs).astype(np.int32)
    r0 = np.floor(ys).astype(np.int32)
    c1 = np.minimum(c0 + 1, w - 1)
    r1 = np.minimum(r0 + 1, h - 1)
    np.maximum(c0, 0, out=c0)
    np.maximum(r0, 0, out=r0)
    flat = lookup.reshape(-1)
    tol = np.float32(tolerance) * ds
    ag = np.zeros(len(idx), dtype=bool)
    nearest = np.full(len(idx), np.inf, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        for r in (r0, r1):
            base = r * w
            for c in (c0, c1):
                dk = flat[base + c]
                ag |= np.abs(dk - ds) <= tol
                np.fmin(nearest, np.where(np.isnan(dk), -np.inf, dk), out=nearest)
        contradict[idx] = ~ag & (ds < nearest - tol)
    agree[idx] = ag
    return agree, contradict


def similar_views(prepared: list, count: int) -> list:
    """For each view, the indices of the ``count`` other views most likely to see the same
    surfaces: smallest angle between the optical axes plus baseline / median depth (both in
    radians of parallax)."""
    axes = np.array([-p.camera.cam_to_world[:3, 2] for p in prepared])
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    centres = np.array([p.camera.cam_to_world[:3, 3] for p in prepared])
    depth = np.array([float(np.median(p.depth)) if len(p.depth) else 1.0 for p in prepared])
    angle = np.arccos(np.clip(axes @ axes.T, -1.0, 1.0))
    baseline = np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=-1) / np.maximum(depth, 1e-9)[:, None]
    score = angle + baseline
    np.fill_diagonal(score, np.inf)
    return [list(np.argsort(row, kind="stable")[:count]) for row in score]


def view_consistency(prepared: list, i: int, tolerance: float, others=None):
    """Agreeing and contradicting views (all others, or the indices ``others``) of every point
    of view ``i``: two int16 arrays."""
    src = prepared[i]
    n = len(src.positions)
    agree = np.zeros(n, dtype=np.int16)
    contradict = np.zeros(n, dtype=np.int16)
    for j, other in enumerate(prepared):
        if j == i or n == 0 or (others is not None and j not in others):
            continue
        a, c = compare_with_view(src.positions, _Projector(other.camera), other.lookup, tolerance)
        agree += a
        contradict += c
    return agree, contradict


def consistency_mask(agree, contradict, min_views: int):
    """Keep a point when at least ``min(min_views, agree + contradict)`` views agree."""
    if min_views <= 0:
        return np.ones(len(agree), dtype=bool)
    should = agree.astype(np.int32) + contradict
    return agree >= np.minimum(min_views, should)


# --------------------------------------------------------------------------- voxel grid
def normal_bucket(normals) -> np.ndarray:
    """Index 0..5 of the major axis direction (+X, -X, +Y, -Y, +Z, -Z) of each normal."""
    n = np.asarray(normals)
    axis = np.abs(n).argmax(axis=1)
    neg = n[np.arange(len(n)), axis] < 0
    return (axis * 2 + neg).astype(np.int64)


def voxel_groups(positions, voxel_size: float, normals=None, origin=None):
    """Group points by voxel (and by normal direction when ``normals`` are given).

    Returns ``(group, order, starts, counts)``: the group index of every point (groups are
    numbered in sorted key order), the points sorted by group, and each group's first
    position in ``order`` and size.
    """
    p = np.asarray(positions, dtype=np.float64)
    if len(p) == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e, e
    if not voxel_size > 0:
        raise SettingsError(f"voxel size must be positive, got {voxel_size}")
    origin = p.min(axis=0) if origin is None else np.asarray(origin, dtype=np.float64)
    q = np.floor((p - origin) / voxel_size).astype(np.int64)
    q -= q.min(axis=0)
    dims = q.max(axis=0) + 1
    buckets = 6 if normals is not None else 1
    if float(np.prod(dims.astype(np.float64))) * buckets >= 2 ** 62:
        raise SettingsError(f"voxel size {voxel_size} is too small for the extent of the cloud")
    key = (q[:, 0] * dims[1] + q[:, 1]) * dims[2] + q[:, 2]
    if normals is not None:
        key = key * 6 + normal_bucket(normals)
    order = np.argsort(key, kind="stable")
    sk = key[order]
    starts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
    counts = np.diff(np.r_[starts, len(sk)])
    group = np.empty(len(p), dtype=np.int64)
    group[order] = np.repeat(np.arange(len(starts)), counts)
    return group, order, starts, counts


def voxel_downsample(positions, voxel_size: float, colors=None, normals=None, split_normals: bool = True):
    """Merge points per voxel: mean position and color, summed-and-normalized normal, count.

    Returns a dict with ``positions`` (G, 3) float32, ``colors`` (G, 4) or None, ``normals``
    (G, 3) or None, ``counts`` (G,) int32, ``group`` (N,) (the voxel of every input point) and
    ``first`` (G,) (index of a representative input point), and ``order``/``starts`` (the
    points sorted by voxel and each voxel's first position there, for ``np.*.reduceat``).
    """
    group, order, starts, counts = voxel_groups(positions, voxel_size, normals if split_normals else None)
    out = {"group": group, "order": order, "starts": starts, "counts": counts.astype(np.int32),
           "first": order[starts] if len(order) else order}
    if len(group) == 0:
        out.update(positions=np.zeros((0, 3), np.float32),
                   colors=None if colors is None else np.zeros((0, 4), np.float32),
                   normals=None if normals is None else np.zeros((0, 3), np.float32))
        return out
    out["positions"] = group_mean(positions, order, starts, counts)
    out["colors"] = None if colors is None else group_mean(colors, order, starts, counts)
    if normals is not None:
        s = np.add.reduceat(np.asarray(normals, dtype=np.float64)[order], starts, axis=0)
        norm = np.linalg.norm(s, axis=1, keepdims=True)
        first = np.asarray(normals, dtype=np.float64)[order[starts]]
        out["normals"] = np.where(norm > 1e-9, s / np.where(norm > 0, norm, 1), first).astype(np.float32)
    else:
        out["normals"] = None
    return out


def group_mean(values, order, starts, counts) -> np.ndarray:
    """Per-group mean of ``values`` (float64 sums, float32 result)."""
    v = np.asarray(values, dtype=np.float64)[order]
    s = np.add.reduceat(v, starts, axis=0)
    return (s / counts.reshape((-1,) + (1,) * (s.ndim - 1))).astype(np.float32)


# --------------------------------------------------------------------------- outliers
def statistical_outliers(positions, k: int = 16, std_ratio: float = 2.0, max_distance: float | None = None,
                         judge=None, reference: int = 50_000, seed: int = 0):
    """Boolean mask of the points to keep: a point is dropped when its mean distance to its k
    nearest neighbours exceeds ``mean + std_ratio * std`` of that distance over the cloud.

    With ``max_distance`` neighbours beyond it are not searched: they count as
    ``max_distance`` in the statistics, and a point with fewer than k neighbours within it is
    dropped. ``judge`` (boolean mask) limits the test to some points (the others are kept);
    the mean and std then come from those points plus a random sample of ``reference``
    points of the cloud, so only they need a k-NN search.
    """
    p = np.asarray(positions)
    n = len(p)
    keep = np.ones(n, dtype=bool)
    if k <= 0 or n <= k:
        return keep
    if judge is None or n <= reference:
        test = np.arange(n) if judge is None else np.flatnonzero(judge)
        dist = knn_distances(p, k, max_distance=max_distance)
        stats_idx = np.arange(n)
        md_all, found_all = _mean_found(dist, max_distance)
        md, found = md_all[test], found_all[test]
    else:
        test = np.flatnonzero(judge)
        if len(test) == 0:
            return keep
        rng = np.random.default_rng(seed)
        sample = rng.choice(n, size=reference, replace=False)
        queries = np.union1d(test, sample)
        d, _ = knn(p, k + 1, queries=p[queries], exclude_self=False, max_distance=max_distance)
        md_q, found_q = _mean_found(d[:, 1:], max_distance)  # column 0 is the point itself
        md_all = md_q
        stats_idx = np.arange(len(queries))
        pos = np.searchsorted(queries, test)
        md, found = md_q[pos], found_q[pos]
    ref = md_all[stats_idx]
    ref = ref[np.isfinite(ref)]
    limit = float(ref.mean() + std_ratio * ref.std()) if len(ref) else np.inf
    keep[test] = found & (md <= limit)
    return keep


def _mean_found(dist, max_distance):
    found = np.isfinite(dist).all(axis=1)
    cap = max_distance if max_distance is not None else np.inf
    return np.where(np.isfinite(dist), dist, cap).mean(axis=1), found


# --------------------------------------------------------------------------- pipeline
def _workers(settings: FusionSettings) -> int:
    return settings.workers or max(1, min(2, os.cpu_count() or 1))


def _map(fn, items, workers):
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def fuse(views: Iterable[DepthView], settings: FusionSettings | None = None,
         progress: Callable[[float, str], object] | None = None) -> FusionResult:
    """Fuse DepthViews into one cleaned PointSet with normals, ``views`` and ``confidence``.

    ``progress(fraction, message)`` is called between stages.
    """
    settings = (settings or FusionSettings()).validate()
    views = list(views)
    if not views:
        raise SettingsError("fusion needs at least one depth map")
    report = progress or (lambda f, m: None)
    workers = _workers(settings)
    stats = {"views": len(views)}
    t0 = time.perf_counter()

    report(0.0, f"preparing {len(views)} depth maps")
    prepared = _map(lambda iv: prepare_view(iv[1], iv[0], settings), list(enumerate(views)), workers)
    stats["points_in"] = sum(p.stats["pixels"] for p in prepared)
    stats["spikes_removed"] = sum(p.stats["spikes"] for p in prepared)
    if sum(len(p.positions) for p in prepared) == 0:
        names = ", ".join(v.name or f"view {i + 1}" for i, v in enumerate(views[:5]))
        raise InvalidDepthError(f"no usable depth pixel in the {len(views)} depth map(s) ({names}…)")
    t1 = time.perf_counter()
    stats["time_prepare"] = t1 - t0

    report(0.25, "checking multi-view consistency")
    if len(prepared) > 1:
        others = [None] * len(prepared)
        if 0 < settings.check_views < len(prepared) - 1:
            others = [set(o) for o in similar_views(prepared, settings.check_views)]
        stats["compared_pairs"] = sum(len(prepared) - 1 if o is None else len(o) for o in others)
        counts = _map(lambda i: view_consistency(prepared, i, settings.depth_tolerance, others[i]),
                      list(range(len(prepared))), workers)
    else:
        counts = [(np.zeros(len(prepared[0].positions), np.int16),) * 2]
        stats["compared_pairs"] = 0
    t2 = time.perf_counter()
    stats["time_consistency"] = t2 - t1

    parts = {k: [] for k in ("positions", "normals", "colors", "pixels", "radius", "views", "confidence", "view")}
    for p, (agree, contra) in zip(prepared, counts):
        keep = consistency_mask(agree, contra, settings.min_views)
        parts["positions"].append(p.positions[keep])
        parts["normals"].append(p.normals[keep])
        parts["colors"].append(p.colors[keep])
        parts["pixels"].append(p.pixels[keep])
        parts["radius"].append(p.radius[keep])
        a = agree[keep].astype(np.int32)
        parts["views"].append(a + 1)
        parts["confidence"].append(((a + 1) / (a + 1 + contra[keep])).astype(np.float32))
        parts["view"].append(np.full(int(keep.sum()), p.index, np.int32))
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    stats["points_consistent"] = len(cat["positions"])
    stats["inconsistent_removed"] = sum(len(p.positions) for p in prepared) - len(cat["positions"])
    if len(cat["positions"]) == 0:
        raise InvalidDepthError(f"no point of the {len(views)} depth maps is confirmed by {settings.min_views} "
                                "other view(s): check the cameras (pose, lens, size) or raise the depth tolerance")

    # automatic: the median pixel footprint (the radius is the half diagonal of the pixel)
    voxel = float(settings.voxel_size) or float(np.median(cat["radius"]) * math.sqrt(2.0))
    report(0.6, f"merging points on a {voxel:.4g} voxel grid")
    ds = voxel_downsample(cat["positions"], voxel, cat["colors"], cat["normals"], settings.split_normals)
    group, first = ds["group"], ds["first"]
    g = len(ds["counts"])
    views_attr = np.maximum.reduceat(cat["views"][ds["order"]], ds["starts"]).astype(np.int32)
    confidence = (np.bincount(group, weights=cat["confidence"], minlength=g) / ds["counts"]).astype(np.float32)
    radius = np.maximum((np.bincount(group, weights=cat["radius"], minlength=g) / ds["counts"]),
                        math.sqrt(0.5) * voxel).astype(np.float32)
    t3 = time.perf_counter()
    stats["time_voxel"] = t3 - t2
    stats["points_merged"] = g

    keep = np.ones(g, dtype=bool)
    if settings.outlier_neighbors > 0:
        report(0.75, f"removing statistical outliers ({settings.outlier_neighbors} neighbours)")
        spacing = max(voxel, float(np.median(radius)) * 2.0)
        judge = views_attr < 2 if settings.outliers_unconfirmed_only and len(views) > 1 else None
        keep = statistical_outliers(ds["positions"], settings.outlier_neighbors, settings.outlier_std_ratio,
                                    max_distance=12.0 * spacing * math.sqrt(settings.outlier_neighbors / 16.0),
                                    judge=judge)
    t4 = time.perf_counter()
    stats["time_outliers"] = t4 - t3
    stats["outliers_removed"] = int((~keep).sum())

    first_k = first[keep]
    point_set = PointSet(
        positions=np.ascontiguousarray(ds["positions"][keep]), colors=np.ascontiguousarray(ds["colors"][keep]),
        pixels=np.ascontiguousarray(cat["pixels"][first_k]), depth=None, radius=radius[keep],
        image_size=(views[0].camera.width, views[0].camera.height),
        meta={"views": len(views), "names": [v.name for v in views], "voxel_size": voxel, "stats": stats,
              "warnings": Diagnostics(w for v in views for w in getattr(v, "warnings", ()))},
        normals=np.ascontiguousarray(ds["normals"][keep]),
        attributes={VIEWS_ATTRIBUTE: views_attr[keep], CONFIDENCE_ATTRIBUTE: confidence[keep],
                    SOURCE_VIEW_ATTRIBUTE: cat["view"][first_k]})
    stats["points_out"] = len(point_set)
    stats["time_total"] = time.perf_counter() - t0
    report(1.0, f"fused {counted(len(views), 'view')} into {counted(len(point_set), 'point')}")
    return FusionResult(point_set=point_set, voxel_size=voxel, stats=stats)
