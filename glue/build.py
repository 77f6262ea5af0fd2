"""Building cloud objects: the pipeline shared by operators, the API, the CLI and handlers.

settings -> SourceSpec (``glue.source``) -> the frame's passes and camera (``glue.inputs``) ->
core unprojects -> PointSet -> the camera checked (``glue.checks.camera_check``) -> datablock
in the frame's object (``glue.objects``). Everything that can fail on bad input happens before the scene is
touched, so a failed build leaves the scene as it was.
"""
from __future__ import annotations

from ..core.diagnostics import strict_error
from ..core.points.inputs import SourceSpec
from . import datablock, display, inputs, memory, objects
from .checks.camera_check import check_for_build


def checked_frame_inputs(scene, spec: SourceSpec, frame: int, camera=None, depsgraph=None, passes=None):
    """``glue.inputs.frame_inputs`` and the build's camera check (``glue.checks.camera_check.
    check_for_build``: a camera named by the file that does not explain its Position pass fails;
    any other camera that does not gets a warning in ``passes.warnings``)."""
    passes, model = inputs.frame_inputs(scene, spec, frame, camera, depsgraph, passes)
    return check_for_build(scene, spec, frame, camera, passes, model)


def checked_point_set(scene, spec: SourceSpec, frame: int, camera=None, clip: bool = True, depsgraph=None,
                      passes=None):
    """``(PointSet, CameraModel or None)`` of ``frame`` after the build's camera check; its
    warnings are ``point_set.meta["warnings"]`` (a ``core.diagnostics.Diagnostics``). Playback
    uses ``glue.inputs.point_set_for_frame`` instead: the sequence's build checked the camera."""
    passes, model = checked_frame_inputs(scene, spec, frame, camera, depsgraph, passes)
    return inputs.unproject_frame(spec, passes, model, clip), model


def build_cloud_object(scene, spec: SourceSpec, frame: int | None = None, camera=None, clip: bool = True,
                       pixel_ids: bool | None = None, strict: bool = False, on_warnings=None):
    """Build (or rebuild in place) the cloud object of ``frame``; returns ``(object, PointSet)``,
    the warnings in ``point_set.meta["warnings"]``. ``pixel_ids``: also store the ``pixel``
    and ``depth`` attributes (None: the scene's setting); without them a point takes 32 bytes
    (position, color, radius). ``strict``: a warning raises ``StrictWarningError`` before the
    scene is touched; ``on_warnings(diagnostics)`` is called there too (the API's
    ``warnings.warn``: a script's "error" filter stops the build with the scene untouched)."""
    with memory.heap_only():  # the build's arrays reuse what earlier builds freed (glue/memory.py)
        return _build_cloud_object(scene, spec, frame, camera, clip, pixel_ids, strict, on_warnings)


def _build_cloud_object(scene, spec, frame, camera, clip, pixel_ids, strict, on_warnings):
    frame = scene.frame_current if frame is None else int(frame)
    if pixel_ids is None:
        pixel_ids = scene.depth_cloud.pixel_ids
    point_set, model = checked_point_set(scene, spec, frame, camera, clip)
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
    name = inputs.source_stem(path) + (f"_{view}" if view else "")
    ob = objects.find_cloud_object(scene, spec, frame, view)
    if ob is not None and datablock.refill_pointcloud(ob.data, point_set, pixel_ids=bool(pixel_ids)):
        new = False  # a rebuild of the same frame: written into its datablock in place
    else:
        pc = datablock.pointcloud_from_point_set(point_set, name, scene, pixel_ids=bool(pixel_ids))
        ob, new = objects.put_cloud_data(scene, ob, name, pc)
    if new:
        s = ob.depth_cloud
        s.is_cloud, s.source, s.color_source, s.frame, s.view = True, spec.path, spec.color_path, frame, view
    ob.depth_cloud.points = len(point_set)
    display.setup_cloud(ob, point_set, model, display_settings)
    return ob, point_set
