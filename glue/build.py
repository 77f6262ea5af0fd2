"""Building cloud objects: the pipeline shared by operators, the API, the CLI and handlers.

settings -> SourceSpec -> core reads the passes -> Blender camera -> core unprojects ->
PointSet -> datablock. Everything that can fail on bad input happens before the scene is
touched, so a failed build leaves the scene as it was.
"""
from __future__ import annotations

import os
import re

import bpy

from ..core.errors import CameraError
from ..core.passes import SourceSpec, read_frame_passes
from ..core.unproject import unproject
from . import camera as camera_glue
from . import datablock, display
from .images import abspath, read_display_image

COLLECTION_NAME = "Depth Clouds"
#: How the passes are read: the SourceSpec fields besides the paths, with the same names in the
#: settings (scene and sequence object), the API's keyword options and the command line.
READING_OPTIONS = ("kind", "convention", "near", "far", "layer", "depth_channel", "color_channels",
                   "position_channels", "view")


def source_stem(path_pattern: str) -> str:
    """The name of what is built from a path pattern: its file name without the extension and
    the frame placeholders ('#' runs, ``%04d``); "DepthCloud" when nothing is left."""
    stem = os.path.splitext(os.path.basename(path_pattern))[0]
    return re.sub(r"%0?\d*d|#+", "", stem).strip("._- ") or "DepthCloud"


def reading_options(props) -> dict:
    """The reading options of a settings group (``scene.depth_cloud``, ``object.depth_cloud.sequence``)."""
    return {name: getattr(props, name) for name in READING_OPTIONS}


def source_spec_from_settings(settings) -> SourceSpec:
    """The scene's Depth Cloud settings as a core SourceSpec."""
    separate = settings.source_mode == 'SEPARATE'
    return SourceSpec(path=abspath(settings.exr_path), color_path=abspath(settings.color_path) if separate else "",
                      **reading_options(settings))


def read_passes(spec: SourceSpec, frame: int):
    return read_frame_passes(spec, frame, image_reader=read_display_image)


def frame_inputs(scene, spec: SourceSpec, frame: int, camera=None, depsgraph=None, passes=None):
    """``(FramePasses, CameraModel or None)`` of ``frame``: the passes placed in the render
    frame and the camera that rendered them. The camera is required for depth passes and
    optional for world position passes. Without an explicit ``camera``, the camera the file
    describes or names is used before the scene camera (order: glue/file_camera.py).
    ``passes`` skips reading when already read (e.g. decoded ahead on a background thread);
    ``depsgraph`` evaluates the camera in that depsgraph (frame-change handlers during renders)."""
    passes = read_passes(spec, frame) if passes is None else passes
    if camera is None:  # cameras the file describes or names (glue/file_camera.py)
        from .file_camera import camera_from_file
        header_model, camera = camera_from_file(scene, passes)
        if header_model is not None:
            return _placed_for(scene, passes, header_model), header_model
    try:
        cam_obj = camera_glue.resolve_camera(scene, camera)
    except CameraError:
        if passes.position is None:
            raise
        return passes, None
    fw, fh, x0, y0 = camera_glue.crop_placement(scene, passes.frame_size)
    if (fw, fh) != tuple(passes.frame_size):
        passes = passes.placed_in_frame(fw, fh, x0, y0)
    return passes, camera_glue.camera_model(cam_obj, scene, frame=frame, depsgraph=depsgraph, size=passes.frame_size,
                                            view=_camera_view(scene, passes))


def _camera_view(scene, passes):
    """The render view whose camera made ``passes`` (multi-view files), else None. A multi-view
    file built in a scene without Stereoscopy uses the camera itself, with one warning."""
    if not passes.view:
        return _view_from_file_name(scene, passes.path)
    if not scene.render.use_multiview:
        passes.warnings.append(
            f"{passes.path}: view {passes.view!r} of a multi-view file is built with the scene's mono camera "
            f"(Stereoscopy is off in scene {scene.name!r}); turn it on with the settings that rendered the file "
            "for each eye's own camera")
        return None
    return passes.view


def _view_from_file_name(scene, path):
    """Stereoscopy with *Individual* files: Blender 5.x writes each eye to its own file
    (``shot_0001_L.exr``) with no view in the header; the render view whose file suffix ends
    the name is the one that rendered it."""
    if not scene.render.use_multiview:
        return None
    stem = os.path.splitext(os.path.basename(path))[0]
    for rv in scene.render.views:
        if rv.use and rv.file_suffix and stem.endswith(rv.file_suffix):
            return rv.name
    return None


def _placed_for(scene, passes, model):
    """The passes placed in the frame of a header camera (a cropped border render sits at
    the scene's border offset)."""
    full = (model.width, model.height)
    if tuple(passes.frame_size) == full:
        return passes
    fw, fh, x0, y0 = camera_glue.crop_placement(scene, passes.frame_size)
    if (fw, fh) != full:
        raise CameraError(f"{passes.path}: the camera in the header renders a {full[0]}x{full[1]} frame but the "
                          f"image is {passes.frame_size[0]}x{passes.frame_size[1]}")
    return passes.placed_in_frame(fw, fh, x0, y0)


def point_set_for_frame(scene, spec: SourceSpec, frame: int, camera=None, clip: bool = True, depsgraph=None,
                        passes=None):
    """``(PointSet, CameraModel or None)`` of ``frame``."""
    passes, model = frame_inputs(scene, spec, frame, camera, depsgraph, passes)
    return unproject(passes, model, clip=clip), model


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


def build_cloud_object(scene, spec: SourceSpec, frame: int | None = None, camera=None, clip: bool = True):
    """Build (or rebuild in place) the cloud object of ``frame``; returns ``(object, PointSet)``."""
    frame = scene.frame_current if frame is None else int(frame)
    point_set, model = point_set_for_frame(scene, spec, frame, camera, clip)
    display_settings = scene.depth_cloud.display
    point_set = display.prepare_point_set(point_set, model, display_settings)
    # Nothing has been changed in the scene up to here.
    path, _ = spec.paths(frame)
    view = point_set.meta.get("view") or ""  # multi-view files: one cloud per eye
    name = (os.path.splitext(os.path.basename(path))[0] or "DepthCloud") + (f"_{view}" if view else "")
    pc = datablock.pointcloud_from_point_set(point_set, name, scene)
    ob, new = put_cloud_data(scene, find_cloud_object(scene, spec, frame, view), name, pc)
    if new:
        s = ob.depth_cloud
        s.is_cloud, s.source, s.color_source, s.frame, s.view = True, spec.path, spec.color_path, frame, view
    ob.depth_cloud.points = len(point_set)
    display.setup_cloud(ob, point_set, model, display_settings)
    return ob, point_set
