"""Building cloud objects: the pipeline shared by operators, the API, the CLI and handlers.

settings -> SourceSpec (``glue.source``) -> the frame's passes and camera (``glue.inputs``) ->
core unprojects -> PointSet -> the camera checked (``glue.checks.camera_check``) -> datablock
in the frame's object (``glue.objects``). Everything that can fail on bad input happens before the scene is
touched, so a failed build leaves the scene as it was.
"""
from __future__ import annotations

from ..core.points.inputs import SourceSpec
from . import datablock, display, inputs, objects
from .checks.camera_check import warning_for_build


def build_cloud_object(scene, spec: SourceSpec, frame: int | None = None, camera=None, clip: bool = True,
                       pixel_ids: bool | None = None):
    """Build (or rebuild in place) the cloud object of ``frame``; returns ``(object, PointSet)``.
    ``pixel_ids``: also store the ``pixel`` and ``depth`` attributes (None: the scene's
    setting); without them a point takes 32 bytes (position, color, radius)."""
    frame = scene.frame_current if frame is None else int(frame)
    if pixel_ids is None:
        pixel_ids = scene.depth_cloud.pixel_ids
    passes, model = inputs.frame_inputs(scene, spec, frame, camera)
    point_set = inputs.unproject_frame(spec, passes, model, clip)
    mismatch = warning_for_build(scene, spec, frame, camera, passes, model)  # the camera vs a Position pass
    if mismatch:
        point_set.meta.setdefault("warnings", []).append(mismatch)
    display_settings = scene.depth_cloud.display
    point_set = display.prepare_point_set(point_set, model, display_settings)
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
