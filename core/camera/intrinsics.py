"""Pinhole intrinsics ``fx, fy, cx, cy`` (pixels, OpenCV meaning) <-> Blender camera settings.

OpenCV meaning: the pixel ``(u, v)`` (column, row from the top) of a camera-space point
``(X, Y, Z)`` with +X right, +Y down, +Z forward is ``u = fx X/Z + cx``, ``v = fy Y/Z + cy``,
pixel *centres* at integer coordinates (the top-left pixel's centre is ``(0, 0)``). Blender
puts pixel ``c``'s centre at ``c + 0.5`` and measures shift in units of the fitted sensor
axis, so the exact Blender camera is (sensor fit Horizontal, any sensor width ``S``)::

    lens    = fx * S / width
    shift_x = (width / 2 - 0.5 - cx) / width
    shift_y = (fx / fy) * (cy + 0.5 - height / 2) / width
    pixel aspect y / x = fx / fy          (1 when fx == fy)

and back ``fx = lens * width / S``, ``cx = width/2 - 0.5 - shift_x * width`` … (see
:func:`from_camera_model`). Skew is not representable in Blender: a non-zero skew is a
:class:`CameraError`, as are a principal point outside the image or a size that disagrees
with the depth image's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import CameraError, SizeMismatchError
from .lists import intrinsics_to_model_fields
from .model import CameraModel

#: skew below this many pixels counts as none (text files round it)
SKEW_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Intrinsics:
    """A pinhole camera in pixels for an image of ``width`` x ``height``."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    skew: float = 0.0
    source: str = field(default="intrinsics", compare=False)  # where it was given, for messages

    def __post_init__(self):
        for name in ("fx", "fy", "cx", "cy", "skew"):
            v = getattr(self, name)
            try:
                ok = math.isfinite(float(v))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise CameraError(f"{self.source}: {name} must be a finite number, got {v!r}")
            object.__setattr__(self, name, float(v))
        for name in ("width", "height"):
            v = getattr(self, name)
            if v is None or float(v) != int(v) or int(v) < 1:
                raise CameraError(f"{self.source}: image {name} must be a positive whole number of pixels, got {v!r}")
            object.__setattr__(self, name, int(v))
        if not (self.fx > 0 and self.fy > 0):
            raise CameraError(f"{self.source}: focal lengths must be positive, got fx={self.fx}, fy={self.fy}")
        if abs(self.skew) > SKEW_TOLERANCE:
            raise CameraError(f"{self.source}: skew {self.skew} cannot be represented by a Blender camera (its pixel "
                              "axes are perpendicular); undistort/rectify the images to zero skew first")
        if not (-0.5 <= self.cx <= self.width - 0.5 and -0.5 <= self.cy <= self.height - 0.5):
            raise CameraError(f"{self.source}: principal point cx={self.cx}, cy={self.cy} lies outside the "
                              f"{self.width}x{self.height} image (OpenCV pixel centres: 0 … {self.width - 1}, "
                              f"0 … {self.height - 1}); are the intrinsics for another image size?")

    def matrix(self) -> np.ndarray:
        """The 3x3 camera matrix K."""
        return np.array([[self.fx, self.skew, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def check_size(self, width: int, height: int, what: str = "the depth image") -> None:
        """A SizeMismatchError naming both sizes when ``what`` is not the intrinsics' size."""
        if (int(width), int(height)) != (self.width, self.height):
            raise SizeMismatchError(f"{self.source}: intrinsics fx={self.fx}, fy={self.fy}, cx={self.cx}, "
                                    f"cy={self.cy} are for a {self.width}x{self.height} image but {what} is "
                                    f"{int(width)}x{int(height)}")

    def blender_settings(self, sensor_width: float = 36.0) -> dict:
        """The Blender camera and render settings that reproduce these intrinsics exactly:
        ``lens, sensor_width, sensor_fit, shift_x, shift_y`` (camera data) and
        ``pixel_aspect_x, pixel_aspect_y`` (render; both >= 1 as Blender wants)."""
        f = intrinsics_to_model_fields(self.width, self.height, self.fx, self.fy, self.cx, self.cy, sensor_width)
        ycor = f.pop("pixel_aspect_y")
        f.pop("pixel_aspect_x")
        f["pixel_aspect_x"], f["pixel_aspect_y"] = (1.0, ycor) if ycor >= 1.0 else (1.0 / ycor, 1.0)
        return f

    def camera_model(self, cam_to_world=None, clip_start: float = 0.1, clip_end: float = 1000.0,
                     sensor_width: float = 36.0) -> CameraModel:
        """The CameraModel (Blender axes ``cam_to_world``, default identity)."""
        m = np.eye(4) if cam_to_world is None else np.asarray(cam_to_world, dtype=np.float64)
        return CameraModel(cam_to_world=m, width=self.width, height=self.height, clip_start=clip_start,
                           clip_end=clip_end, **self.blender_settings(sensor_width))


def from_camera_model(model: CameraModel) -> Intrinsics:
    """The pinhole intrinsics of a perspective CameraModel (any sensor fit, shift, aspect)."""
    if model.projection != "PERSP":
        raise CameraError(f"only perspective cameras have pinhole intrinsics, this one is {model.projection}")
    pix, dx, dy = model.view_plane()
    ycor = model.ycor
    fx = 1.0 / pix
    fy = 1.0 / (pix * ycor)
    cx = 0.5 * model.width - dx - 0.5
    cy = 0.5 * model.height + dy / ycor - 0.5
    return Intrinsics(fx, fy, cx, cy, model.width, model.height, source="camera")


def project_opencv(intr: Intrinsics, world_to_cv: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(u, v)`` OpenCV pixel coordinates of world points seen by a camera whose OpenCV
    world-to-camera matrix is ``world_to_cv`` (the independent path the tests compare with)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    pc = p @ world_to_cv[:3, :3].T + world_to_cv[:3, 3]
    return intr.fx * pc[:, 0] / pc[:, 2] + intr.cx, intr.fy * pc[:, 1] / pc[:, 2] + intr.cy


def parse_intrinsics(text, width=None, height=None, source: str = "intrinsics") -> Intrinsics:
    """``"fx,fy,cx,cy"`` (or ``"fx fy cx cy [skew]"``, or a sequence of those numbers) and
    the image size -> Intrinsics; a CameraError naming the text when it is not that."""
    vals = text
    if isinstance(text, str):
        vals = text.replace(",", " ").split()
    try:
        nums = [float(v) for v in vals]
    except (TypeError, ValueError) as err:
        raise CameraError(f"{source}: intrinsics must be 4 numbers fx, fy, cx, cy, got {text!r}") from err
    if len(nums) not in (4, 5):
        raise CameraError(f"{source}: intrinsics must be 4 numbers fx, fy, cx, cy (optionally a 5th, skew), got "
                          f"{text!r}")
    if width is None or height is None:
        raise CameraError(f"{source}: intrinsics {text!r} need the image size (width and height)")
    return Intrinsics(*nums[:4], width=width, height=height, skew=nums[4] if len(nums) == 5 else 0.0, source=source)
