"""One frame's inputs in Blender: the passes read from disk and the camera that rendered them.

settings -> SourceSpec (``glue.source``) -> core reads the passes -> the Blender camera at that
frame (``glue.source.frame_camera``) -> ``CameraModel``. The build (``glue/build.py``), the camera
check and picking (``glue/checks/``), sequences, bakes and fusion all start here; nothing here
changes the scene.
"""
from __future__ import annotations

import os
import re

from ..core.points.inputs import SourceSpec
from ..core.points.passes import read_frame_passes
from ..core.points.unproject import unproject
from .images import read_display_image
from .source import frame_camera


def source_stem(path_pattern: str) -> str:
    """The name of what is built from a path pattern: its file name without the extension and
    the frame placeholders ('#' runs, ``%04d``); "DepthCloud" when nothing is left."""
    stem = os.path.splitext(os.path.basename(path_pattern))[0]
    return re.sub(r"%0?\d*d|#+", "", stem).strip("._- ") or "DepthCloud"


def read_passes(spec: SourceSpec, frame: int, full_position: bool = False):
    """``frame``'s passes (``full_position``: a Position pass next to the depth read whole,
    not only the row bands a build's camera check uses)."""
    return read_frame_passes(spec, frame, image_reader=read_display_image, full_position=full_position)


def frame_inputs(scene, spec: SourceSpec, frame: int, camera=None, depsgraph=None, passes=None):
    """``(FramePasses, CameraModel or None)`` of ``frame``: the passes read and placed in the
    render frame, and the camera that rendered them (chosen by ``glue.source.frame_camera``).
    ``passes`` skips reading when already read (e.g. decoded ahead on a background thread);
    ``depsgraph`` evaluates the camera in that depsgraph (frame-change handlers during renders)."""
    passes = read_passes(spec, frame) if passes is None else passes
    return frame_camera(scene, passes, frame, camera, depsgraph)


def unproject_frame(spec: SourceSpec, passes, model, clip: bool = True):
    """The ``PointSet`` of a frame's passes seen by ``model`` (at the source's detail)."""
    return unproject(passes, model, clip=clip, detail=spec.detail)


def point_set_for_frame(scene, spec: SourceSpec, frame: int, camera=None, clip: bool = True, depsgraph=None,
                        passes=None):
    """``(PointSet, CameraModel or None)`` of ``frame``."""
    passes, model = frame_inputs(scene, spec, frame, camera, depsgraph, passes)
    return unproject_frame(spec, passes, model, clip), model
