"""The projection model: which 3D ray each pixel of a render sees.

Built from plain numbers (no Blender types) and following Blender's own conventions
(``BKE_camera_params_compute_viewplane``): the camera looks down its local -Z axis with +Y up;
the sensor fit decides which image axis the sensor width (or ortho scale) spans; shift is
measured in units of that fitted axis; non-square pixels scale the vertical axis by
``pixel_aspect_y / pixel_aspect_x``.

Pixel coordinates are those of the stored image's *display window*: column 0 at the left,
row 0 at the **top** (the order of EXR scanlines), pixel ``(c, r)`` covering ``[c, c+1) x [r, r+1)``
so its centre is at ``(c + 0.5, r + 0.5)``.

Everything in this module is the single source of the projection math: unprojection,
projection (for tests, fusion and footprints) and the header round trip.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ..errors import CameraError
from . import lens as panorama
from .projections import ORTHOGRAPHIC, PANORAMIC, PERSPECTIVE, PROJECTIONS  # noqa: F401 (camera.PANORAMIC …)

SENSOR_FITS = ("AUTO", "HORIZONTAL", "VERTICAL")


@dataclass(frozen=True)
class CameraModel:
    """A render camera as plain numbers.

    ``width``/``height`` are the full frame in pixels (the display window of the stored
    image, not ``resolution * percentage`` recomputed), so odd sizes never skew the aspect.
    """

    cam_to_world: np.ndarray
    width: int
    height: int
    projection: str = PERSPECTIVE
    lens: float = 50.0  # mm
    sensor_width: float = 36.0  # mm
    sensor_height: float = 24.0  # mm
    sensor_fit: str = "AUTO"
    shift_x: float = 0.0
    shift_y: float = 0.0
    ortho_scale: float = 6.0
    clip_start: float = 0.1
    clip_end: float = 1000.0
    pixel_aspect_x: float = 1.0
    pixel_aspect_y: float = 1.0
    panorama: dict = field(default_factory=dict)

    def __post_init__(self):
        m = np.asarray(self.cam_to_world, dtype=np.float64)
        if m.shape != (4, 4) or not np.all(np.isfinite(m)):
            raise CameraError(f"camera-to-world matrix must be a finite 4x4 matrix, got shape {m.shape}")
        object.__setattr__(self, "cam_to_world", m)
        if self.projection not in PROJECTIONS:
            raise CameraError(f"unknown camera projection {self.projection!r}; expected one of {PROJECTIONS}")
        if self.sensor_fit not in SENSOR_FITS:
            raise CameraError(f"unknown sensor fit {self.sensor_fit!r}; expected one of {SENSOR_FITS}")
        if int(self.width) < 1 or int(self.height) < 1:
            raise CameraError(f"image size must be positive, got {self.width}x{self.height}")
        if self.projection == PERSPECTIVE and not (self.lens > 0 and self.sensor_width > 0 and self.sensor_height > 0):
            raise CameraError(f"focal length and sensor size must be positive (lens {self.lens} mm, "
                              f"sensor {self.sensor_width}x{self.sensor_height} mm)")
        if self.projection == ORTHOGRAPHIC and not self.ortho_scale > 0:
            raise CameraError(f"orthographic scale must be positive, got {self.ortho_scale}")
        if not (self.pixel_aspect_x > 0 and self.pixel_aspect_y > 0):
            raise CameraError("pixel aspect must be positive")

    # ---------------------------------------------------------------- view plane
    @property
    def ycor(self) -> float:
        """Height of a pixel relative to its width (Blender's ``aspy / aspx``)."""
        return float(self.pixel_aspect_y) / float(self.pixel_aspect_x)

    @property
    def fitted_axis(self) -> str:
        """'HORIZONTAL' or 'VERTICAL': the image axis the sensor (or ortho scale) spans."""
        if self.sensor_fit == "AUTO":
            wide = self.pixel_aspect_x * self.width >= self.pixel_aspect_y * self.height
            return "HORIZONTAL" if wide else "VERTICAL"
        return self.sensor_fit

    def view_plane(self) -> tuple[float, float, float]:
        """``(pixsize, dx, dy)``: size of one pixel width on the view plane (at unit depth
        for perspective, in scene units for orthographic) and the shift in pixel widths."""
        horizontal = self.fitted_axis == "HORIZONTAL"
        viewfac = float(self.width) if horizontal else self.ycor * float(self.height)
        if self.projection == ORTHOGRAPHIC:
            size = float(self.ortho_scale)
        else:
            sensor = float(self.sensor_height) if self.sensor_fit == "VERTICAL" else float(self.sensor_width)
            size = sensor / float(self.lens)
        return size / viewfac, self.shift_x * viewfac, self.shift_y * viewfac

    def plane_x(self, cols: float | np.ndarray) -> np.ndarray:
        """View-plane x of pixel-centre columns (float64). Perspective: x/depth; ortho: x."""
        pix, dx, _ = self.view_plane()
        return (np.asarray(cols, dtype=np.float64) + 0.5 - 0.5 * self.width + dx) * pix

    def plane_y(self, rows: float | np.ndarray) -> np.ndarray:
        """View-plane y of pixel-centre rows counted from the top (float64)."""
        pix, _, dy = self.view_plane()
        ycor = self.ycor
        return (0.5 * ycor * self.height + dy - (np.asarray(rows, dtype=np.float64) + 0.5) * ycor) * pix

    def pixel_size(self) -> tuple[float, float]:
        """``(w, h)`` of one pixel on the view plane: per unit depth (perspective) or in
        scene units (orthographic). Multiply by planar depth for the metric footprint."""
        pix, _, _ = self.view_plane()
        return pix, pix * self.ycor

    # ---------------------------------------------------------------- transforms
    @property
    def world_to_cam(self) -> np.ndarray:
        return np.linalg.inv(self.cam_to_world)

    @property
    def location(self) -> np.ndarray:
        return self.cam_to_world[:3, 3].copy()

    def with_frame_size(self, width: int, height: int) -> CameraModel:
        return replace(self, width=int(width), height=int(height))

    def project(self, points_world: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """World points -> ``(x, y, depth)``: continuous pixel coordinates (pixel ``c``
        spans ``[c, c+1)``, rows from the top) and planar depth in front of the camera
        (panoramic cameras: the distance from the camera, see ``core.panorama.project``)."""
        if self.projection == PANORAMIC:
            return panorama.project(self, points_world)
        p = np.asarray(points_world, dtype=np.float64).reshape(-1, 3)
        m = self.world_to_cam
        pc = p @ m[:3, :3].T + m[:3, 3]
        depth = -pc[:, 2]
        if self.projection == PERSPECTIVE:
            with np.errstate(divide="ignore", invalid="ignore"):
                xn, yn = pc[:, 0] / depth, pc[:, 1] / depth
        else:
            xn, yn = pc[:, 0], pc[:, 1]
        pix, dx, dy = self.view_plane()
        ycor = self.ycor
        x = xn / pix + 0.5 * self.width - dx
        y = (0.5 * ycor * self.height + dy - yn / pix) / ycor
        return x, y, depth

    # ---------------------------------------------------------------- metadata
    def to_dict(self) -> dict:
        d = asdict(self)
        d["cam_to_world"] = [float(v) for v in np.asarray(self.cam_to_world).ravel()]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> CameraModel:
        d = dict(d)
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise CameraError(f"unknown camera fields {sorted(unknown)}")
        d["cam_to_world"] = np.asarray(d["cam_to_world"], dtype=np.float64).reshape(4, 4)
        return cls(**d)
