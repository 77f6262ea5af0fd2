"""Picking a pixel of a render: image coordinates -> frame pixel, which frame a file path
shows, and what the pixel saw (plain numbers; the Image Editor side is ``glue/picking.py``)."""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

import numpy as np

from ..camera.model import CameraModel
from ..camera.projections import PANORAMIC
from ..errors import SizeMismatchError
from ..exr.header import read_exr_header
from ..frames import last_placeholder
from ..points.inputs import FramePasses
from ..points.unproject import point_at_pixel

#: Relative aspect difference above which a shown image is not the same render as the EXR.
ASPECT_TOLERANCE = 0.01


def pixel_from_uv(u: float, v: float, frame_size, shown_size=None, path=""):
    """The frame pixel ``(column, row)`` (row 0 at the top) under image coordinates ``(u, v)``
    (0..1 over the shown image, v = 0 at the bottom: the Image Editor's view space), or None
    when outside the image. ``shown_size`` is the shown image's own size, which may differ
    from the EXR's (a proxy); a different aspect raises SizeMismatchError."""
    width, height = int(frame_size[0]), int(frame_size[1])
    if shown_size and shown_size[0] > 0 and shown_size[1] > 0:
        shown, frame = shown_size[0] / shown_size[1], width / height
        if abs(shown / frame - 1) > ASPECT_TOLERANCE:
            raise SizeMismatchError(f"the shown image is {shown_size[0]}x{shown_size[1]} but {path or 'the EXR'} "
                                    f"is {width}x{height}: they are not the same render")
    if not (math.isfinite(u) and math.isfinite(v)) or not (0.0 <= u < 1.0 and 0.0 <= v < 1.0):
        return None
    return int(u * width), height - 1 - int(v * height)


def frame_from_path(pattern: str, path: str):
    """The frame number ``pattern`` (``#`` runs or ``%04d``; only the last placeholder, as
    ``resolve_frame_path`` fills it) gives for ``path``, or None when ``path`` is not one of
    its files. A pattern without placeholder gives 0 when it is ``path`` itself."""
    pattern, path = os.path.normpath(str(pattern)), os.path.normpath(str(path))
    last = last_placeholder(pattern)
    if last is None:
        return 0 if pattern == path else None
    regex = re.escape(pattern[:last.start()]) + r"(-?\d+)" + re.escape(pattern[last.end():])
    m = re.fullmatch(regex, path)
    return int(m.group(1)) if m else None


def blender_view_names(part_attributes) -> list:
    """The views of a multi-view EXR in the order Blender lists them for an Image (what
    ``ImageUser.multilayer_view`` indexes): a single part's ``multiView`` attribute as written
    (default view first), else each part's ``view`` in order of first appearance. ``[]`` for a
    file without views. ``part_attributes``: one dict per part."""
    parts = list(part_attributes)
    if len(parts) == 1:
        value = parts[0].get("multiView")
        return [str(v) for v in value] if isinstance(value, (list, tuple)) else []
    names = []
    for attrs in parts:
        view = attrs.get("view")
        view = view.decode() if isinstance(view, bytes) else (view if isinstance(view, str) else "")
        if view not in names:
            names.append(view)
    return names if any(names) else []


def stamped_frame(path: str, default: int) -> int:
    """The frame Blender stamped into an EXR's header (``Frame``), else ``default``."""
    try:
        return int(str(read_exr_header(path).header.get("Frame")).strip())
    except (TypeError, ValueError):
        return int(default)


@dataclass(frozen=True)
class PickResult:
    """What a pixel saw."""

    column: int
    row: int  # from the top
    world: np.ndarray  # (3,) float64
    depth: float | None  # planar camera depth (distance for panoramic cameras), None without a camera
    path: str
    frame: int
    cloud: str = ""  # name of the cloud object built from this source and frame

    def text(self) -> str:
        depth = f"depth {self.depth:.4g}" if self.depth is not None else "no camera depth"
        where = ", ".join(f"{v:.4f}" for v in self.world)
        cloud = f", cloud {self.cloud!r}" if self.cloud else ""
        return (f"pixel ({self.column}, {self.row}) of {os.path.basename(self.path)} (frame {self.frame}): "
                f"{depth}, world ({where}){cloud}")


def pick(passes: FramePasses, camera: CameraModel | None, column: int, row: int, frame: int = 0,
         cloud: str = "") -> PickResult:
    """The world point pixel ``(column, row)`` (row 0 at the top) of the frame saw."""
    world = point_at_pixel(passes, camera, column, row)
    depth = None
    if camera is not None:
        if camera.projection == PANORAMIC:
            depth = float(np.linalg.norm(world - camera.location))
        else:
            depth = float(camera.project(world)[2][0])
    return PickResult(int(column), int(row), np.asarray(world, dtype=np.float64), depth, passes.path, int(frame), cloud)
