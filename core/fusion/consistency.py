"""Step 2: multi-view consistency. Every point of a view is projected into the other views,
which agree, contradict (free-space violation) or say nothing (see the package's docstring)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..camera.model import ORTHOGRAPHIC, CameraModel

if TYPE_CHECKING:

    pass


class Projector:
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


def compare_with_view(positions, projector: Projector, lookup: np.ndarray, tolerance: float):
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
        a, c = compare_with_view(src.positions, Projector(other.camera), other.lookup, tolerance)
        agree += a
        contradict += c
    return agree, contradict


def consistency_mask(agree, contradict, min_views: int):
    """Keep a point when at least ``min(min_views, agree + contradict)`` views agree."""
    if min_views <= 0:
        return np.ones(len(agree), dtype=bool)
    should = agree.astype(np.int32) + contradict
    return agree >= np.minimum(min_views, should)
