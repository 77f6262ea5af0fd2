"""Panoramic lenses: which ray each pixel of a 360° or fisheye render sees, and back.

Follows Cycles' kernel (``intern/cycles/kernel/camera/projection.h`` and the Blender sync in
``intern/cycles/blender/camera.cpp``) exactly, so the points of a Cycles render land where the
Position pass says they are.

How Cycles builds a panoramic ray for pixel ``(column, row)``:

1. Raster → ``(u, v)`` in ``[0, 1]``: ``u = shift_x + x / width`` and ``v = shift_y + 1 - y / height``
   with ``(x, y)`` the continuous pixel position of our convention (row 0 at the *top*; Cycles
   counts raster rows from the bottom, hence ``1 - y / height``). Pixel centres are at ``+0.5``.
2. ``(u, v)`` → a direction in Cycles' *panorama space*: ``+X`` forward (the centre of an
   equirectangular image), ``+Y`` left, ``+Z`` up. The mirror ball looks along ``-Y`` instead,
   with ``+X`` right and ``+Z`` up.
3. Panorama space → Blender camera space (``+X`` right, ``+Y`` up, looking down ``-Z``):
   ``(x, y, z) -> (-y, z, -x)`` (mirror ball: ``(x, y, z) -> (x, z, y)``), then the camera's
   world matrix (scale removed).

Directions outside the lens (fisheye image circle, mirror ball disc) are the zero vector:
Cycles shoots no ray there and writes background.

The Z pass of a panoramic camera holds the *distance from the camera position* (Cycles'
``camera_z_depth``), not planar depth; planar depth is not defined for a 360° image. So for
panoramic cameras the depth of a pixel is always that distance: ``PLANAR`` and
``RAY_DISTANCE`` both mean it, and ``NORMALIZED``/``ZBUFFER``/``INVERSE`` decode to it.

Panorama settings live in ``CameraModel.panorama`` (a plain dict, saved with the camera):
``type`` plus the fields of :data:`DEFAULTS` (the names of Blender's camera properties).
Sensor size, sensor fit, shift and pixel aspect come from the CameraModel itself.
"""
from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from ..errors import CameraError
from .projections import PANORAMIC


class LensCamera(Protocol):
    """What the lens math reads of a camera (:class:`core.camera.model.CameraModel` has it all)."""
    projection: str
    panorama: dict
    width: int
    height: int
    sensor_width: float
    sensor_height: float
    sensor_fit: str
    shift_x: float
    shift_y: float
    pixel_aspect_x: float
    pixel_aspect_y: float
    world_to_cam: np.ndarray


EQUIRECTANGULAR = "EQUIRECTANGULAR"
EQUIANGULAR_CUBEMAP_FACE = "EQUIANGULAR_CUBEMAP_FACE"
MIRRORBALL = "MIRRORBALL"
FISHEYE_EQUIDISTANT = "FISHEYE_EQUIDISTANT"
FISHEYE_EQUISOLID = "FISHEYE_EQUISOLID"
FISHEYE_LENS_POLYNOMIAL = "FISHEYE_LENS_POLYNOMIAL"
CENTRAL_CYLINDRICAL = "CENTRAL_CYLINDRICAL"
TYPES = (EQUIRECTANGULAR, EQUIANGULAR_CUBEMAP_FACE, MIRRORBALL, FISHEYE_EQUIDISTANT, FISHEYE_EQUISOLID,
         FISHEYE_LENS_POLYNOMIAL, CENTRAL_CYLINDRICAL)

#: Blender's defaults for the panorama settings (names of ``bpy.types.Camera`` properties).
DEFAULTS = {
    "fisheye_fov": math.pi,
    "fisheye_lens": 10.5,
    "latitude_min": -0.5 * math.pi,
    "latitude_max": 0.5 * math.pi,
    "longitude_min": -math.pi,
    "longitude_max": math.pi,
    "fisheye_polynomial_k0": -1.1735143743862864e-05,
    "fisheye_polynomial_k1": -0.019988736137747765,
    "fisheye_polynomial_k2": -3.3525323033245513e-06,
    "fisheye_polynomial_k3": 3.0992753181635635e-06,
    "fisheye_polynomial_k4": -2.60646473293491e-08,
    "central_cylindrical_range_u_min": -math.pi,
    "central_cylindrical_range_u_max": math.pi,
    "central_cylindrical_range_v_min": -1.0,
    "central_cylindrical_range_v_max": 1.0,
    "central_cylindrical_radius": 1.0,
}

#: Which settings each type uses (what is worth saving and showing).
USED = {
    EQUIRECTANGULAR: ("latitude_min", "latitude_max", "longitude_min", "longitude_max"),
    EQUIANGULAR_CUBEMAP_FACE: (),
    MIRRORBALL: (),
    FISHEYE_EQUIDISTANT: ("fisheye_fov",),
    FISHEYE_EQUISOLID: ("fisheye_fov", "fisheye_lens"),
    FISHEYE_LENS_POLYNOMIAL: ("fisheye_fov",) + tuple(f"fisheye_polynomial_k{i}" for i in range(5)),
    CENTRAL_CYLINDRICAL: ("central_cylindrical_range_u_min", "central_cylindrical_range_u_max",
                          "central_cylindrical_range_v_min", "central_cylindrical_range_v_max",
                          "central_cylindrical_radius"),
}

#: Relative slack on the lens edge tests: Cycles decides "inside the lens" in float32, so a
#: pixel on the very edge may hold a surface although float64 puts it a hair outside.
EDGE_SLACK = 1e-5

# Panorama space -> Blender camera space (rows act on column vectors).
_TO_BLENDER = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]])
_MIRRORBALL_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])


# ---------------------------------------------------------------------- settings
def settings(camera: LensCamera) -> dict:
    """The camera's panorama settings, completed with Blender's defaults and checked."""
    if camera.projection != PANORAMIC:
        raise CameraError(f"camera projection is {camera.projection}, not panoramic ({PANORAMIC})")
    given = dict(camera.panorama or {})
    kind = given.pop("type", None)
    if kind not in TYPES:
        raise CameraError(f"panoramic camera type {kind!r} is not supported; expected one of {', '.join(TYPES)}")
    unknown = set(given) - set(DEFAULTS)
    if unknown:
        raise CameraError(f"unknown panorama settings {sorted(unknown)}; expected {', '.join(DEFAULTS)}")
    out = dict(DEFAULTS)
    for key, value in given.items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError) as err:
            raise CameraError(f"panorama setting {key} must be a number, got {value!r}") from err
        if not math.isfinite(out[key]):
            raise CameraError(f"panorama setting {key} must be finite, got {value!r}")
    out["type"] = kind
    _check(out)
    return out


def _check(s: dict) -> None:
    kind = s["type"]
    if kind in (FISHEYE_EQUIDISTANT, FISHEYE_EQUISOLID, FISHEYE_LENS_POLYNOMIAL) and not s["fisheye_fov"] > 0:
        raise CameraError(f"{kind}: fisheye_fov must be positive, got {s['fisheye_fov']}")
    if kind == FISHEYE_EQUISOLID and not s["fisheye_lens"] > 0:
        raise CameraError(f"{kind}: fisheye_lens must be positive, got {s['fisheye_lens']}")
    if kind == EQUIRECTANGULAR and (s["longitude_min"] == s["longitude_max"] or s["latitude_min"] == s["latitude_max"]):
        raise CameraError(f"{kind}: the latitude and longitude ranges must not be empty")
    if kind == CENTRAL_CYLINDRICAL:
        if not s["central_cylindrical_radius"] > 0:
            raise CameraError(f"{kind}: central_cylindrical_radius must be positive")
        if (s["central_cylindrical_range_u_min"] == s["central_cylindrical_range_u_max"]
                or s["central_cylindrical_range_v_min"] == s["central_cylindrical_range_v_max"]):
            raise CameraError(f"{kind}: the cylindrical u and v ranges must not be empty")
    if kind == FISHEYE_LENS_POLYNOMIAL and s["fisheye_polynomial_k1"] == 0:
        raise CameraError(f"{kind}: fisheye_polynomial_k1 must not be zero")


def panorama_dict(kind: str, **values) -> dict:
    """A ``CameraModel.panorama`` dict for ``kind`` holding only the settings it uses."""
    if kind not in TYPES:
        raise CameraError(f"panoramic camera type {kind!r} is not supported; expected one of {', '.join(TYPES)}")
    out = {"type": kind}
    for key in USED[kind]:
        out[key] = float(values.get(key, DEFAULTS[key]))
    return out


def sensor_size(camera: LensCamera):
    """``(width, height)`` in mm of the sensor the fisheye lens models use (Cycles' fit)."""
    xr = camera.width * camera.pixel_aspect_x
    yr = camera.height * camera.pixel_aspect_y
    if camera.sensor_fit == "AUTO":
        horizontal, size = xr > yr, camera.sensor_width
    elif camera.sensor_fit == "HORIZONTAL":
        horizontal, size = True, camera.sensor_width
    else:
        horizontal, size = False, camera.sensor_height
    if not size > 0:
        raise CameraError(f"sensor size must be positive, got {size} mm")
    return (size, size * yr / xr) if horizontal else (size * xr / yr, size)


# ---------------------------------------------------------------------- raster <-> uv
def pixel_uv(camera: LensCamera, x, y):
    """Continuous pixel position (row 0 at the top) -> Cycles' panorama ``(u, v)``."""
    u = camera.shift_x + np.asarray(x, dtype=np.float64) / camera.width
    v = camera.shift_y + 1.0 - np.asarray(y, dtype=np.float64) / camera.height
    return u, v


def uv_pixel(camera: LensCamera, u, v):
    """Inverse of :func:`pixel_uv`."""
    return (np.asarray(u) - camera.shift_x) * camera.width, (1.0 - (np.asarray(v) - camera.shift_y)) * camera.height


# ---------------------------------------------------------------------- uv -> direction
def _fisheye(theta, u, v, r):
    """Cycles' ``fisheye_to_direction``: angle ``theta`` off the axis, azimuth from ``(u, v)``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_phi = np.where(r > 0, u / np.where(r > 0, r, 1.0), 0.0)
        sin_phi = np.where(r > 0, v / np.where(r > 0, r, 1.0), 1.0)
    st = np.sin(theta)
    return np.stack(np.broadcast_arrays(np.cos(theta), -cos_phi * st, sin_phi * st), axis=-1)


def panorama_directions(s: dict, u, v, sensor=(36.0, 24.0)) -> np.ndarray:
    """Directions (…, 3) in Cycles' panorama space for ``(u, v)`` (not normalized; zero
    outside the lens), as ``panorama_to_direction`` computes them."""
    u, v = np.broadcast_arrays(np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64))
    kind = s["type"]
    if kind == EQUIRECTANGULAR:
        phi = (s["longitude_min"] - s["longitude_max"]) * u - s["longitude_min"]
        theta = (s["latitude_min"] - s["latitude_max"]) * v - s["latitude_min"] + 0.5 * math.pi
        st = np.sin(theta)
        return np.stack([st * np.cos(phi), st * np.sin(phi), np.cos(theta)], axis=-1)
    if kind == CENTRAL_CYLINDRICAL:
        radius = s["central_cylindrical_radius"]
        a0, a1 = -s["central_cylindrical_range_u_min"], -s["central_cylindrical_range_u_max"]
        z0, z1 = s["central_cylindrical_range_v_min"] / radius, s["central_cylindrical_range_v_max"] / radius
        theta = a0 + (a1 - a0) * u
        return np.stack([np.cos(theta), np.sin(theta), z0 + (z1 - z0) * v], axis=-1)
    if kind == EQUIANGULAR_CUBEMAP_FACE:
        a = np.tan((0.5 - u) * (0.5 * math.pi))
        b = np.tan((v - 0.5) * (0.5 * math.pi))
        return np.stack([np.ones_like(a), a, b], axis=-1)
    if kind == MIRRORBALL:
        x, z = 2.0 * u - 1.0, 2.0 * v - 1.0
        rr = x * x + z * z
        y = -np.sqrt(np.maximum(1.0 - rr, 0.0))
        out = np.stack([-2.0 * x * y, 1.0 - 2.0 * y * y, -2.0 * y * z], axis=-1)
        out[rr > 1.0 + 2 * EDGE_SLACK] = 0.0
        return out
    if kind == FISHEYE_EQUIDISTANT:
        fu, fv = (u - 0.5) * 2.0, (v - 0.5) * 2.0
        r = np.sqrt(fu * fu + fv * fv)
        out = _fisheye(r * s["fisheye_fov"] * 0.5, fu, fv, r)
        out[r > 1.0 + EDGE_SLACK] = 0.0
        return out
    sw, sh = sensor
    fu, fv = (u - 0.5) * sw, (v - 0.5) * sh
    r = np.sqrt(fu * fu + fv * fv)
    if kind == FISHEYE_EQUISOLID:
        lens = s["fisheye_lens"]
        rmax = 2.0 * lens * math.sin(s["fisheye_fov"] * 0.25)
        with np.errstate(invalid="ignore"):
            theta = 2.0 * np.arcsin(np.minimum(r / (2.0 * lens), 1.0))
        out = _fisheye(theta, fu, fv, r)
        out[r > rmax * (1.0 + EDGE_SLACK)] = 0.0
        return out
    # FISHEYE_LENS_POLYNOMIAL
    k = [s[f"fisheye_polynomial_k{i}"] for i in range(5)]
    theta = -(k[0] + r * (k[1] + r * (k[2] + r * (k[3] + r * k[4]))))
    out = _fisheye(theta, fu, fv, r)
    out[np.abs(theta) > 0.5 * s["fisheye_fov"] * (1.0 + EDGE_SLACK)] = 0.0
    return out


def _to_blender(s: dict) -> np.ndarray:
    return _MIRRORBALL_TO_BLENDER if s["type"] == MIRRORBALL else _TO_BLENDER


def directions(camera: LensCamera, x, y) -> np.ndarray:
    """Unit view directions (…, 3) in Blender camera space (float64) of continuous pixel
    positions ``(x, y)`` (row 0 at the top; pixel centres at ``+0.5``). Zero outside the lens."""
    s = settings(camera)
    u, v = pixel_uv(camera, x, y)
    d = panorama_directions(s, u, v, sensor_size(camera)) @ _to_blender(s).T
    n = np.linalg.norm(d, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, d / np.where(n > 0, n, 1.0), 0.0)


SEPARABLE = (EQUIRECTANGULAR, CENTRAL_CYLINDRICAL, EQUIANGULAR_CUBEMAP_FACE)


def grid_directions(camera: LensCamera, xs, ys, ci, ri) -> np.ndarray:
    """Unit directions (N, 3) (Blender camera space, float64) of the points
    ``(xs[ci], ys[ri])`` of a pixel grid: ``xs``/``ys`` are the grid's continuous column and
    row positions, ``ci``/``ri`` each point's indices into them. Types whose direction splits
    into a column part and a row part (equirectangular, cylindrical, cubemap face) compute
    their trigonometry once per column and per row."""
    s = settings(camera)
    kind = s["type"]
    if kind not in SEPARABLE:
        return directions(camera, np.asarray(xs, dtype=np.float64)[ci], np.asarray(ys, dtype=np.float64)[ri])
    u, _ = pixel_uv(camera, xs, 0.0)
    _, v = pixel_uv(camera, 0.0, ys)
    out = np.empty((len(ci), 3), dtype=np.float64)
    # panorama (x, y, z) -> Blender camera (-y, z, -x)
    if kind == EQUIRECTANGULAR:
        phi = (s["longitude_min"] - s["longitude_max"]) * u - s["longitude_min"]
        theta = (s["latitude_min"] - s["latitude_max"]) * v - s["latitude_min"] + 0.5 * math.pi
        st, ct = np.sin(theta), np.cos(theta)
        np.multiply(st[ri], -np.sin(phi)[ci], out=out[:, 0])
        out[:, 1] = ct[ri]
        np.multiply(st[ri], -np.cos(phi)[ci], out=out[:, 2])
        return out
    if kind == CENTRAL_CYLINDRICAL:
        radius = s["central_cylindrical_radius"]
        a0, a1 = -s["central_cylindrical_range_u_min"], -s["central_cylindrical_range_u_max"]
        z0, z1 = s["central_cylindrical_range_v_min"] / radius, s["central_cylindrical_range_v_max"] / radius
        theta = a0 + (a1 - a0) * u
        z = z0 + (z1 - z0) * v
        inv = 1.0 / np.sqrt(1.0 + z * z)
        np.multiply(-np.sin(theta)[ci], inv[ri], out=out[:, 0])
        out[:, 1] = (z * inv)[ri]
        np.multiply(-np.cos(theta)[ci], inv[ri], out=out[:, 2])
        return out
    a = np.tan((0.5 - u) * (0.5 * math.pi))  # EQUIANGULAR_CUBEMAP_FACE: (1, a, b) normalized
    b = np.tan((v - 0.5) * (0.5 * math.pi))
    inv = 1.0 / np.sqrt(1.0 + a[ci] ** 2 + b[ri] ** 2)
    np.multiply(-a[ci], inv, out=out[:, 0])
    np.multiply(b[ri], inv, out=out[:, 1])
    np.negative(inv, out=out[:, 2])
    return out


def pixel_directions(camera: LensCamera, cols, rows) -> np.ndarray:
    """Unit directions (camera space) through the centres of pixels ``(cols, rows)``."""
    return directions(camera, np.asarray(cols, dtype=np.float64) + 0.5, np.asarray(rows, dtype=np.float64) + 0.5)


# ---------------------------------------------------------------------- direction -> uv
def _wrap(angle, start, span):
    """``(angle - start)`` wrapped into ``[0, 2π)`` in the direction of ``span``'s sign, / |span|."""
    two_pi = 2.0 * math.pi
    if span < 0:
        return np.mod(start - angle, two_pi) / -span
    return np.mod(angle - start, two_pi) / span


def direction_uv(s: dict, d, sensor=(36.0, 24.0)):
    """Inverse of :func:`panorama_directions`: ``(u, v)`` of panorama-space directions
    (NaN where the camera does not see that direction)."""
    d = np.asarray(d, dtype=np.float64)
    n = np.linalg.norm(d, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = d / n[..., None]
    x, y, z = d[..., 0], d[..., 1], d[..., 2]
    kind = s["type"]
    nan = np.full(x.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == EQUIRECTANGULAR:
            phi = np.arctan2(y, x)
            theta = np.arccos(np.clip(z, -1.0, 1.0))
            u = _wrap(phi, -s["longitude_min"], s["longitude_min"] - s["longitude_max"])
            v = (theta + s["latitude_min"] - 0.5 * math.pi) / (s["latitude_min"] - s["latitude_max"])
            return u, v
        if kind == CENTRAL_CYLINDRICAL:
            a0, a1 = -s["central_cylindrical_range_u_min"], -s["central_cylindrical_range_u_max"]
            z0 = s["central_cylindrical_range_v_min"] / s["central_cylindrical_radius"]
            z1 = s["central_cylindrical_range_v_max"] / s["central_cylindrical_radius"]
            h = np.hypot(x, y)
            u = _wrap(np.arctan2(y, x), a0, a1 - a0)
            v = (z / h - z0) / (z1 - z0)
            return np.where(h > 0, u, nan), np.where(h > 0, v, nan)
        if kind == EQUIANGULAR_CUBEMAP_FACE:
            u = 0.5 - np.arctan2(y, x) * 2.0 / math.pi
            v = np.arctan2(z, x) * 2.0 / math.pi + 0.5
            ok = x > 0
            return np.where(ok, u, nan), np.where(ok, v, nan)
        if kind == MIRRORBALL:
            yy = y - 1.0
            div = 2.0 * np.sqrt(np.maximum(-0.5 * yy, 0.0))
            ok = div > 0
            div = np.where(ok, div, 1.0)
            return np.where(ok, 0.5 * (x / div + 1.0), nan), np.where(ok, 0.5 * (z / div + 1.0), nan)
        # fisheyes: angle off +X, azimuth in the (-Y, Z) plane
        theta = np.arccos(np.clip(x, -1.0, 1.0))
        side = np.hypot(y, z)
        safe = np.where(side > 0, side, 1.0)
        cos_phi, sin_phi = np.where(side > 0, -y / safe, 1.0), np.where(side > 0, z / safe, 0.0)
        if kind == FISHEYE_EQUIDISTANT:
            r = theta / (0.5 * s["fisheye_fov"])
            u, v = 0.5 * r * cos_phi + 0.5, 0.5 * r * sin_phi + 0.5
            ok = r <= 1.0 + EDGE_SLACK
            return np.where(ok, u, nan), np.where(ok, v, nan)
        sw, sh = sensor
        if kind == FISHEYE_EQUISOLID:
            lens = s["fisheye_lens"]
            r = 2.0 * lens * np.sin(0.5 * theta)
            ok = r <= 2.0 * lens * math.sin(s["fisheye_fov"] * 0.25) * (1.0 + EDGE_SLACK)
        else:
            r = _polynomial_radius(s, theta)
            ok = (theta <= 0.5 * s["fisheye_fov"] * (1.0 + EDGE_SLACK)) & np.isfinite(r)
        u, v = r * cos_phi / sw + 0.5, r * sin_phi / sh + 0.5
        return np.where(ok, u, nan), np.where(ok, v, nan)


def _polynomial_radius(s: dict, theta):
    """Sensor radius (mm) where the lens polynomial gives angle ``theta`` (Newton's method)."""
    k = [s[f"fisheye_polynomial_k{i}"] for i in range(5)]
    target = -theta
    r = (target - k[0]) / k[1]
    for _ in range(30):
        f = k[0] + r * (k[1] + r * (k[2] + r * (k[3] + r * k[4]))) - target
        df = k[1] + r * (2 * k[2] + r * (3 * k[3] + r * 4 * k[4]))
        step = f / df
        r = r - step
        if np.all(np.abs(step[np.isfinite(step)]) < 1e-12):
            break
    return r


def _u_period(s: dict):
    """Period in ``u`` of the types whose ``u`` is an angle around the vertical axis."""
    if s["type"] == EQUIRECTANGULAR:
        return 2.0 * math.pi / abs(s["longitude_max"] - s["longitude_min"])
    if s["type"] == CENTRAL_CYLINDRICAL:
        return 2.0 * math.pi / abs(s["central_cylindrical_range_u_max"] - s["central_cylindrical_range_u_min"])
    return None


def project(camera: LensCamera, points_world):
    """World points -> ``(x, y, distance)``: continuous pixel coordinates (row 0 at the top)
    and the distance from the camera. ``x``/``y`` are NaN where the camera does not see the
    point's direction (behind a fisheye, off a cubemap face)."""
    s = settings(camera)
    p = np.asarray(points_world, dtype=np.float64).reshape(-1, 3)
    m = camera.world_to_cam
    pc = p @ m[:3, :3].T + m[:3, 3]
    distance = np.linalg.norm(pc, axis=1)
    d = pc @ _to_blender(s)  # Blender camera space -> panorama space (inverse of an orthonormal map)
    u, v = direction_uv(s, d, sensor_size(camera))
    period = _u_period(s)
    if period:  # all-round longitudes: choose the turn that starts at the image's left edge
        u = camera.shift_x + np.mod(u - camera.shift_x, period)
    x, y = uv_pixel(camera, u, v)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), distance
