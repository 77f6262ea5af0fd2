"""Building cloud objects: the pipeline shared by operators, the API, the CLI and handlers.

settings -> SourceSpec (``glue.source``) -> core reads the passes -> Blender camera -> core unprojects ->
PointSet -> datablock. Everything that can fail on bad input happens before the scene is
touched, so a failed build leaves the scene as it was.
"""
from __future__ import annotations

import os
import re

import bpy

from ..core.diagnostics import strict_error
from ..core.passes import SourceSpec, read_frame_passes
from ..core.unproject import unproject
from . import datablock, display
from .images import read_display_image
from .source import frame_camera

COLLECTION_NAME = "Depth Clouds"


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


def checked_frame_inputs(scene, spec: SourceSpec, frame: int, camera=None, depsgraph=None, passes=None):
    """:func:`frame_inputs` and the build's camera check (``glue.camera_check.check_for_build``:
    a camera named by the file that does not explain its Position pass fails; any other
    camera that does not gets a warning in ``passes.warnings``)."""
    passes, model = frame_inputs(scene, spec, frame, camera, depsgraph, passes)
    from .camera_check import check_for_build
    return check_for_build(scene, spec, frame, camera, passes, model)


def point_set_for_frame(scene, spec: SourceSpec, frame: int, camera=None, clip: bool = True, depsgraph=None,
                        passes=None, check: bool = True):
    """``(PointSet, CameraModel or None)`` of ``frame``; its warnings are
    ``point_set.meta["warnings"]`` (a ``core.diagnostics.Diagnostics``). ``check``: run the
    build's camera check (playback leaves it to the sequence's build)."""
    inputs = checked_frame_inputs if check else frame_inputs
    passes, model = inputs(scene, spec, frame, camera, depsgraph, passes)
    return unproject(passes, model, clip=clip, detail=spec.detail), model


def cloud_collection(scene):
    coll = bpy.data.collections.get(COLLECTION_NAME)
    if coll is None:
        coll = bpy.data.collections.new(COLLECTION_NAME)
    if coll.name not in scene.collection.children:
        scene.collection.children.link(coll)
    return coll


def put_cloud_data(scene, ob, name: str, data):
    """``(object, new)``: ``ob`` showing ``data`` instead of its old datablock (freed), or, when
    ``ob`` is None, a new object ``name`` holding ``data`` in the "Depth Clouds" collection."""
    if ob is not None:
        datablock.replace_data(ob, data)
        return ob, False
    ob = bpy.data.objects.new(name, data)
    cloud_collection(scene).objects.link(ob)
    return ob, True


def find_cloud_object(scene, spec: SourceSpec, frame: int, view: str = ""):
    """The cloud object already built from the same source, frame (and view) in this scene."""
    for ob in scene.objects:
        s = ob.depth_cloud
        if s.is_cloud and s.source == spec.path and s.color_source == spec.color_path and s.frame == frame \
                and s.view == (view or ""):
            return ob
    return None


def build_cloud_object(scene, spec: SourceSpec, frame: int | None = None, camera=None, clip: bool = True,
                       pixel_ids: bool | None = None, strict: bool = False, on_warnings=None):
    """Build (or rebuild in place) the cloud object of ``frame``; returns ``(object, PointSet)``,
    the warnings in ``point_set.meta["warnings"]``. ``pixel_ids``: also store the ``pixel``
    and ``depth`` attributes (None: the scene's setting); without them a point takes 32 bytes
    (position, color, radius). ``strict``: a warning raises ``StrictWarningError`` before the
    scene is touched; ``on_warnings(diagnostics)`` is called there too (the API's
    ``warnings.warn``: a script's "error" filter stops the build with the scene untouched)."""
    frame = scene.frame_current if frame is None else int(frame)
    if pixel_ids is None:
        pixel_ids = scene.depth_cloud.pixel_ids
    passes, model = checked_frame_inputs(scene, spec, frame, camera)
    point_set = unproject(passes, model, clip=clip, detail=spec.detail)
    display_settings = scene.depth_cloud.display
    point_set = display.prepare_point_set(point_set, model, display_settings)
    if strict:
        err = strict_error(point_set.meta.get("warnings", ()), f"frame {frame}")
        if err is not None:
            raise err
    if on_warnings is not None:
        on_warnings(point_set.meta.get("warnings", ()))
    # Nothing has been changed in the scene up to here.
    path, _ = spec.paths(frame)
    view = point_set.meta.get("view") or ""  # multi-view files: one cloud per eye
    name = (os.path.splitext(os.path.basename(path))[0] or "DepthCloud") + (f"_{view}" if view else "")
    ob = find_cloud_object(scene, spec, frame, view)
    if ob is not None and datablock.refill_pointcloud(ob.data, point_set, pixel_ids=bool(pixel_ids)):
        new = False  # a rebuild of the same frame: written into its datablock in place
    else:
        pc = datablock.pointcloud_from_point_set(point_set, name, scene, pixel_ids=bool(pixel_ids))
        ob, new = put_cloud_data(scene, ob, name, pc)
    if new:
        s = ob.depth_cloud
        s.is_cloud, s.source, s.color_source, s.frame, s.view = True, spec.path, spec.color_path, frame, view
    ob.depth_cloud.points = len(point_set)
    display.setup_cloud(ob, point_set, model, display_settings)
    return ob, point_set
