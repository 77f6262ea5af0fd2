"""What a build reads and what it gets: ``SourceSpec`` (where a frame's passes live, how to
read them) and ``FramePasses`` (one frame's passes as aligned arrays), with the option names
both use. Plain data: the readers (``core/points/passes.py``, ``core/points/deep.py``) fill it,
the unprojection and the gathers read it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import numpy as np

from ..diagnostics import Diagnostics
from ..errors import SettingsError, SizeMismatchError
from ..exr import views as views_mod
from ..frames import resolve_frame_path
from ..images import read as depth_images
from . import depth as depth_mod
from .detail import check_detail
from .masks import PixelMask, mask_items

DEPTH = "DEPTH"
POSITION = "POSITION"
AUTO = "AUTO"
KINDS = (AUTO, DEPTH, POSITION)


DISPLAY_REFERRED = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".tga", ".webp")


@dataclass(frozen=True)
class SourceSpec:
    """Where a frame's passes live and how to read them (path patterns may hold ``#``)."""

    path: str
    color_path: str = ""
    kind: str = AUTO
    convention: str = AUTO
    #: NORMALIZED/ZBUFFER: what the depth was mapped with; None: not given (then the file's
    #: header must say, else reading fails: never a silent 0.1/100).
    near: float | None = 0.1
    far: float | None = 100.0
    layer: str = ""
    depth_channel: str = ""
    color_channels: str = ""
    position_channels: str = ""
    #: build every Nth pixel (``core.detail``); 1 = every pixel
    detail: int = 1
    #: Multi-view (stereo) EXRs: the view to read, depth and color alike (empty: the file's default).
    view: str = ""
    # Masks, normals and passes kept as attributes (core/masks.py, core/attributes.py).
    mask: tuple = ()            # Cryptomatte names/wildcards, or indices/values of mask_pass
    mask_pass: str = ""         # "" = the Cryptomatte layer holding the names; CryptoMaterial, Object Index, an AOV…
    mask_threshold: float = 0.5
    normals: bool = True        # the Normal pass (when the file has one) becomes the points' normals
    attributes: tuple = ()      # passes/AOVs that become point attributes of the same name
    #: deep files (core/deep.py): 'ALL' samples or the 'FRONT' one of each pixel, minimum alpha
    deep_samples: str = "ALL"
    deep_min_alpha: float = 0.0
    #: stored value x depth_scale = depth (or position) in scene units (0.001: millimetres);
    #: the depth convention applies after it (core/images/read.py)
    depth_scale: float = 1.0
    #: stored value that means "no depth" (None or "": 0 for integer images, none for float data)
    invalid_value: float | str | None = None

    def __post_init__(self):
        object.__setattr__(self, "mask", mask_items(self.mask))
        object.__setattr__(self, "attributes", mask_items(self.attributes))
        if not str(self.path).strip():
            raise SettingsError("no source file set: choose the EXR that holds the depth or position pass")
        if self.kind not in KINDS:
            raise SettingsError(f"source kind {self.kind!r} is unknown; expected one of {KINDS}")
        if self.convention != AUTO and self.near is not None and self.far is not None:
            depth_mod.check_convention(self.convention, self.near, self.far)
        check_detail(self.detail)
        check_deep_options(self.deep_samples, self.deep_min_alpha)
        object.__setattr__(self, "depth_scale", depth_images.check_scale(self.depth_scale))
        object.__setattr__(self, "invalid_value", depth_images.parse_invalid(self.invalid_value))

    def paths(self, frame: int) -> tuple[str, str | None]:
        """``(depth_or_position_path, color_path_or_None)`` for ``frame``."""
        main = resolve_frame_path(self.path, frame)
        color = resolve_frame_path(self.color_path, frame) if str(self.color_path).strip() else None
        if self.view:  # Stereoscopy "Individual": the view's own file (shot_L.exr) when this one is not there
            main = _eye_file(main, self.view)
            color = _eye_file(color, self.view) if color else color
        return main, color


def _eye_file(path: str, view: str) -> str:
    """``path``, or the file of ``view``'s eye next to it when ``path`` does not exist or is
    the other eye's (``shot_R.exr`` with view 'left' -> ``shot_L.exr``, when that exists)."""
    eye = views_mod.individual_eye_path(path, view)
    if eye and os.path.exists(eye) and (not os.path.exists(path) or views_mod.is_individual_eye_file(
            path, next((v for v in views_mod.EYE_SUFFIXES if v != str(view).lower()), ""))):
        return eye
    return path


@dataclass
class FramePasses:
    """One frame's passes, cropped to the data window of the depth/position channels.

    ``window`` is ``(x0, y0)``: the column and row (from the top) of the arrays' first pixel
    inside the full frame of ``frame_size = (width, height)``.
    """

    path: str
    frame_size: tuple
    window: tuple = (0, 0)
    depth: np.ndarray | None = None  # raw stored values (h, w)
    depth_channel: str | None = None
    convention: str = depth_mod.PLANAR
    near: float = 0.1
    far: float = 100.0
    position: np.ndarray | None = None  # (h, w, 3)
    color: np.ndarray | None = None  # (h, w, 4) scene linear (see rgba(): EXR colors stay planes)
    color_path: str | None = None
    #: EXR colors as read: ``(R, G, B, A or None)`` planes (h, w), gathered per point without
    #: interleaving the whole image (10 ms at 1080p); ``rgba()`` stacks them when asked.
    color_planes: tuple | None = None
    #: A world Position pass found alongside the depth pass, read whole
    #: (``read_frame_passes(full_position=True)``, or when its part is decoded anyway): its
    #: ``(X, Y, Z)`` planes (h, w) over the same window, kept as read (no copy) so the camera
    #: can be checked against it (``core/camera_check.py``). None when the file has none, when
    #: only its row bands were read, or when the build reads positions.
    position_planes: tuple | None = None
    #: The same pass read only in row bands spread over the window (a build's camera check):
    #: ``(rows, (X, Y, Z))``, the rows (ascending, from the window's top) and their (n, w)
    #: planes; None when the pass was read whole or not at all.
    position_rows: tuple | None = None
    header: dict = field(default_factory=dict)
    channels: list = field(default_factory=list)
    warnings: Diagnostics = field(default_factory=Diagnostics)  # core/diagnostics.py
    #: Multi-view files: the view read and the file's views (default first); None / [] otherwise.
    view: str | None = None
    views: list = field(default_factory=list)
    #: Pixels with depth/position but outside the color's data window: skipped (see color_window).
    no_color: int = 0
    no_color_nan: int = 0  # finite pixels made NaN by that (not counted again as NaN/inf)
    uncolored: np.ndarray | None = None  # (h, w) bool: those pixels (core.detail subsamples it to recount)
    #: every ``step``-th pixel kept (``core.detail.at_detail``): array column ``i`` is frame
    #: column ``window[0] + offset + step * i`` (rows likewise)
    step: int = 1
    offset: int = 0
    #: values holding the invalid value (depth images): made NaN, no point, no NaN warning
    invalid_pixels: int = 0

    mask: PixelMask | None = None  # the mask over the data window (core/points/masks.py)
    normal: tuple | None = None    # world-space Normal pass: (X, Y, Z) (h, w) planes
    extra: dict = field(default_factory=dict)  # attribute name -> (h, w) / (h, w, k) pass pixels
    #: deep files: every sample; ``depth`` is then the front sample's
    deep: DeepSamples | None = None

    def frame_columns(self) -> np.ndarray:
        """Frame column of each array column (int64)."""
        return self.window[0] + self.offset + self.step * np.arange(self.shape[1])

    def frame_rows(self) -> np.ndarray:
        """Frame row (from the top) of each array row (int64)."""
        return self.window[1] + self.offset + self.step * np.arange(self.shape[0])

    @property
    def has_color(self) -> bool:
        return self.color is not None or self.color_planes is not None

    def rgba(self) -> np.ndarray | None:
        """The colors as one (h, w, 4) array (stacked once from EXR planes), or None."""
        if self.color is None and self.color_planes is not None:
            r = self.color_planes[0]
            self.color = np.stack([p if p is not None else np.ones_like(r) for p in self.color_planes], axis=-1)
        return self.color

    @property
    def shape(self) -> tuple[int, int]:
        arr = self.depth if self.depth is not None else self.position
        return arr.shape[:2]

    def placed_in_frame(self, width: int, height: int, x0: int, y0: int) -> FramePasses:
        """The same pixels placed at ``(x0, y0)`` inside a larger frame (crop renders)."""
        h, w = self.shape
        if x0 < 0 or y0 < 0 or x0 + w > width or y0 + h > height:
            raise SizeMismatchError(f"{self.path}: a {w}x{h} image cannot sit at ({x0}, {y0}) in a {width}x{height} "
                                    "frame")
        return replace(self, frame_size=(int(width), int(height)), window=(int(x0), int(y0)))


#: deep files (core/points/deep.py): every sample of a pixel, or only its front one
ALL = "ALL"
FRONT = "FRONT"
SAMPLE_CHOICES = (ALL, FRONT)


def check_deep_options(samples: str, min_alpha: float) -> None:
    if samples not in SAMPLE_CHOICES:
        raise SettingsError(f"deep samples {samples!r} is unknown; expected one of {', '.join(SAMPLE_CHOICES)}")
    if not 0.0 <= float(min_alpha) <= 1.0:
        raise SettingsError(f"deep minimum alpha must be within 0..1, got {min_alpha}")


@dataclass
class DeepSamples:
    """A frame's deep samples in pixel order (row-major over the data window)."""

    counts: np.ndarray  # (h, w) int32 samples per pixel
    pixel: np.ndarray  # (S,) int64 flat pixel index in the data window
    sample: np.ndarray  # (S,) int32 index of the sample inside its pixel
    depth: np.ndarray  # (S,) float32 raw Z as stored
    depth_back: np.ndarray | None  # (S,) float32 raw ZBack, or None
    colors: np.ndarray | None  # (S, 4) float32 straight RGBA, or None (white)
    depth_channel: str = "Z"
    parts: tuple = ()  # names (or indices) of the deep parts used
    samples_mode: str = ALL
    min_alpha: float = 0.0
    front: np.ndarray | None = None  # indices of the samples ``FramePasses.depth`` holds

    def __len__(self) -> int:
        return len(self.depth)
