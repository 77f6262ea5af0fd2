"""The fusion's inputs: a depth map seen by a known camera (``DepthView``), made from a frame's
passes, and the names of the attributes a fused point carries."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..camera.model import PANORAMIC, CameraModel
from ..diagnostics import CLIP, Diagnostics
from ..errors import CameraError, SizeMismatchError
from ..points import depth as depth_mod
from ..points.deep import behind_samples
from ..points.gather import clip_dropped, clip_text, frame_camera, planar_depth, valid_depth_mask

if TYPE_CHECKING:

    from ..points.inputs import FramePasses


VIEWS_ATTRIBUTE = "views"


CONFIDENCE_ATTRIBUTE = "confidence"


SOURCE_VIEW_ATTRIBUTE = "source_view"


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
    if passes.mask is not None:
        mask = np.zeros((fh, fw), bool)
        mask[y0:y0 + h, x0:x0 + w] = passes.mask.selected
    if passes.normal is not None:
        normals = np.zeros((fh, fw, 3), np.float32)
        for k, plane in enumerate(passes.normal):
            normals[y0:y0 + h, x0:x0 + w, k] = plane
    behind = None
    if passes.deep is not None:  # deep: the depth map holds the front samples, the rest come along
        behind = behind_samples(passes, camera, clip)
    return DepthView(depth=full, camera=camera, colors=colors, name=name or os.path.basename(passes.path),
                     mask=mask, normals=normals, behind=behind, warnings=warnings)
