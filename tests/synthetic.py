"""Analytic depth maps for fusion tests and benchmarks (no Blender needed).

A union of spheres is ray traced in numpy through core CameraModels: with ray directions
whose camera-space z is -1 the ray parameter of the hit *is* the planar depth.
"""
from __future__ import annotations

import numpy as np

from depth_cloud.core.camera.lists import camera_from_direction, dodecahedron_directions
from depth_cloud.core.camera.model import CameraModel

#: Three overlapping spheres (centres, radii) around the origin: a lumpy closed shape with
#: concave creases and self-occlusion.
CENTRES = np.array([[0.0, 0.0, 0.0], [0.42, 0.18, 0.25], [-0.3, -0.32, -0.18]])
RADII = np.array([0.45, 0.25, 0.22])


def dodecahedron_cameras(width=128, height=128, distance=1.5, lens=30.0, centroid=(0, 0, 0)):
    return [CameraModel(cam_to_world=camera_from_direction(d, distance, centroid), width=width, height=height,
                        lens=lens) for d in dodecahedron_directions()]


def rays(camera: CameraModel):
    """Per-pixel ray origins and directions (H, W, 3) float64, direction camera-z = -1
    (so the ray parameter of a hit is its planar depth)."""
    w, h = camera.width, camera.height
    px = camera.plane_x(np.arange(w))[None, :]
    py = camera.plane_y(np.arange(h))[:, None]
    m = camera.cam_to_world
    if camera.projection == "ORTHO":
        o_cam = np.stack(np.broadcast_arrays(px, py, np.zeros((h, w))), axis=-1)
        o = o_cam @ m[:3, :3].T + m[:3, 3]
        d = np.broadcast_to(-m[:3, 2], o.shape)
        return o, d
    d_cam = np.stack(np.broadcast_arrays(px, py, -np.ones((h, w))), axis=-1)
    d = d_cam @ m[:3, :3].T
    o = np.broadcast_to(m[:3, 3], d.shape)
    return o, d


def render_depth(camera: CameraModel, centres=CENTRES, radii=RADII) -> np.ndarray:
    """Planar depth (H, W) float32 of the union of spheres, +inf where nothing is hit."""
    o, d = rays(camera)
    best = np.full(d.shape[:2], np.inf)
    a = (d * d).sum(-1)
    for c, r in zip(centres, radii):
        oc = o - c
        b = 2 * (oc * d).sum(-1)
        cc = (oc * oc).sum(-1) - r * r
        disc = b * b - 4 * a * cc
        with np.errstate(invalid="ignore"):
            t = (-b - np.sqrt(disc)) / (2 * a)
        hit = (disc >= 0) & (t > 0)
        best = np.where(hit & (t < best), t, best)
    return best.astype(np.float32)


def shade(camera: CameraModel, depth: np.ndarray) -> np.ndarray:
    """A smooth color per pixel (a function of the world position), RGBA float32."""
    o, d = rays(camera)
    p = o + d * np.where(np.isfinite(depth), depth, 0)[..., None]
    rgb = 0.5 + 0.5 * np.sin(3.0 * p)
    return np.concatenate([rgb, np.ones(depth.shape + (1,))], axis=-1).astype(np.float32)


def surface_distance(points, centres=CENTRES, radii=RADII) -> np.ndarray:
    """Distance of points to the union's surface (exact outside and on it, a close bound
    inside)."""
    p = np.asarray(points, dtype=np.float64)
    sd = np.min([np.linalg.norm(p - c, axis=1) - r for c, r in zip(centres, radii)], axis=0)
    return np.abs(sd)


def surface_samples(n, centres=CENTRES, radii=RADII, seed=0):
    """Random points on the union's surface (on each sphere, minus parts inside another)."""
    rng = np.random.default_rng(seed)
    area = 4 * np.pi * np.asarray(radii) ** 2
    out = []
    for c, r, a in zip(centres, radii, area):
        m = int(n * a / area.sum() * 1.6) + 10
        v = rng.normal(size=(m, 3))
        p = c + r * v / np.linalg.norm(v, axis=1, keepdims=True)
        inside = np.zeros(m, bool)
        for c2, r2 in zip(centres, radii):
            if c2 is c:
                continue
            inside |= np.linalg.norm(p - c2, axis=1) < r2 - 1e-9
        out.append(p[~inside])
    return np.concatenate(out)[:n]


def inject_outliers(depth: np.ndarray, fraction: float, seed=0, reference=1.5):
    """Replace ``fraction`` of all pixels by random depths (0.4..1.6 x the true depth, or x
    ``reference`` on background). Returns (new depth, mask of the changed pixels)."""
    rng = np.random.default_rng(seed)
    z = depth.copy()
    mask = rng.random(z.shape) < fraction
    base = np.where(np.isfinite(z), z, reference)
    factor = rng.uniform(0.4, 1.6, z.shape)
    # keep them real outliers: at least 3% away from the true depth
    factor = np.where(np.abs(factor - 1) < 0.03, 1 + np.sign(factor - 1 + 1e-9) * 0.03, factor)
    z[mask] = (base * factor)[mask]
    return z.astype(np.float32), mask
