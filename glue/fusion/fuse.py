"""Multi-view fusion in Blender: gather the depth maps and their cameras, fuse them with the
core, and write one Point Cloud object (plus an optional Geometry Nodes surface).

Sources of views (all read before the scene is touched, so bad input leaves it as it was):

* **sequence**: frames of a path pattern (``#`` = frame), each seen by the scene camera (or a
  given camera object) as animated at that frame;
* **camera objects**: one file per camera object, paired by a pattern with ``{camera}``
  (the object's name) or ``#`` (its 1-based position), or by an explicit list;
* **camera list**: a JSON/CSV file of camera matrices or view directions (see
  :mod:`..core.cameras_io`), naming the depth files or paired with given files;
* **files** alone, when each EXR carries its camera in its header (``depthCloud/camera``).
"""
from __future__ import annotations

import os
import re
from dataclasses import replace

import bpy

from ...core import fusion as core_fusion
from ...core.camera.lists import read_camera_list
from ...core.errors import CameraError, SettingsError
from ...core.frames import has_frame_placeholder, resolve_frame_path
from ...core.points.inputs import SourceSpec
from ...core.points.passes import read_frame_passes
from .. import build, datablock, inputs, objects
from .. import source as source_glue
from ..camera import model as camera_glue
from ..frames import frame_list, scene_frames
from ..images import abspath, read_display_image
from ..progress import Progress

#: Object custom property holding the description of what a fused cloud was made from.
FUSION_KEY = "depth_cloud_fusion"


def _spec(path, color="", base: SourceSpec | None = None, **options) -> SourceSpec:
    """One view's file ``path`` (and ``color``) read with ``base``'s reading options, then ``options``."""
    given = replace(base, path=abspath(str(path)), color_path="") if base is not None else str(path)
    return source_glue.resolve(None, given, color or None, **options).spec


def _progress_read(progress, i, n, path):
    if progress is not None:
        progress(i / max(n, 1), f"reading {os.path.basename(path)} ({i + 1}/{n})")


# --------------------------------------------------------------------------- sources
def views_from_sequence(scene, spec: SourceSpec, frames, camera=None, clip=True, progress=None):
    """One view per frame of ``spec``'s pattern, seen by ``camera`` (default: the scene camera)
    as animated at that frame."""
    frames = list(frames)
    if not frames:
        raise SettingsError("the frame range to fuse is empty")
    if len(frames) > 1 and not has_frame_placeholder(spec.path):
        raise SettingsError(f"{spec.path}: fusing several frames needs '#' (the frame number) in the file path")
    views = []
    for i, frame in enumerate(frames):
        _progress_read(progress, i, len(frames), resolve_frame_path(spec.path, frame))
        passes, model = build.checked_frame_inputs(scene, spec, frame, camera)  # the camera trap closed here too
        if model is None:
            raise CameraError(f"{passes.path}: fusion needs the camera of every view; set the scene camera")
        views.append(core_fusion.view_from_passes(passes, model, name=f"frame {frame}", clip=clip))
    return views


def pair_files(cameras, files):
    """``[(path, camera)]``: ``files`` is a list (same length and order as ``cameras``) or a
    pattern where ``{camera}`` is the camera object's name and ``#`` its 1-based position."""
    cameras = list(cameras)
    if not cameras:
        raise CameraError("no camera objects to fuse: choose a collection that holds cameras")
    if isinstance(files, (list, tuple)):
        if len(files) != len(cameras):
            raise SettingsError(f"{len(files)} files for {len(cameras)} cameras: give one file per camera")
        return [(str(f), c) for f, c in zip(files, cameras)]
    pattern = str(files or "").strip()
    if not pattern:
        raise SettingsError("set the depth files of the cameras: a path with {camera} (the camera's name) "
                            "or # (its number)")
    if "{camera}" not in pattern and not has_frame_placeholder(pattern):
        raise SettingsError(f"{pattern}: the file path must contain {{camera}} or # to pair a file with each camera")
    return [(resolve_frame_path(pattern.replace("{camera}", _safe_name(c.name)), i + 1), c)
            for i, c in enumerate(cameras)]


def _safe_name(name):
    return re.sub(r'[\\/:*?"<>|]', "_", name)


def cameras_in(collection_or_list):
    """Camera objects of a collection (recursively, sorted by name) or of a list."""
    if collection_or_list is None:
        return []
    if isinstance(collection_or_list, bpy.types.Collection):
        obs = [o for o in collection_or_list.all_objects if o.type == 'CAMERA']
        return sorted(obs, key=lambda o: o.name)
    out = list(collection_or_list)
    for o in out:
        if not isinstance(o, bpy.types.Object) or o.type != 'CAMERA':
            raise CameraError(f"{getattr(o, 'name', o)!r} is not a camera object")
    return out


def views_from_cameras(scene, pairs, base: SourceSpec | None = None, color_files=None, frame=None, clip=True,
                       progress=None, **options):
    """One view per ``(file, camera object)`` pair, the camera taken at ``frame`` (default:
    the current frame)."""
    frame = scene.frame_current if frame is None else int(frame)
    colors = [""] * len(pairs)
    if color_files:
        colors = [p for p, _ in pair_files([c for _, c in pairs], color_files)]
    views = []
    for i, ((path, cam), color) in enumerate(zip(pairs, colors)):
        _progress_read(progress, i, len(pairs), path)
        spec = _spec(path, color, base, **options)
        passes, model = inputs.frame_inputs(scene, spec, frame, cam)
        views.append(core_fusion.view_from_passes(passes, model, name=cam.name, clip=clip))
    return views


def views_from_camera_list(path, files=None, base: SourceSpec | None = None, color_files=None, clip=True,
                           progress=None, defaults=None, **options):
    """One view per camera of a camera list file; depth files from the list or from
    ``files`` (a list, or a pattern with ``{camera}`` = entry name and ``#`` = position)."""
    entries = read_camera_list(abspath(str(path)), defaults=defaults)
    if files is not None and (not isinstance(files, str) or files.strip()):
        if isinstance(files, (list, tuple)):
            if len(files) != len(entries):
                raise SettingsError(f"{len(files)} files for the {len(entries)} cameras of {path}")
            paths = [str(f) for f in files]
        else:
            paths = [resolve_frame_path(str(files).replace("{camera}", _safe_name(e.name)), i + 1)
                     for i, e in enumerate(entries)]
    else:
        missing = [e.source for e in entries if not e.depth]
        if missing:
            raise SettingsError(f"{missing[0]}: no depth file; name one per camera in the list or give the files")
        paths = [e.depth for e in entries]
    colors = [e.color for e in entries]
    if color_files:
        colors = [resolve_frame_path(str(color_files).replace("{camera}", _safe_name(e.name)), i + 1)
                  for i, e in enumerate(entries)]
    views = []
    for i, (entry, depth_path, color) in enumerate(zip(entries, paths, colors)):
        _progress_read(progress, i, len(entries), depth_path)
        spec = _spec(depth_path, color, base, **options)
        frame = entry.frame if entry.frame is not None else 0
        passes = read_frame_passes(spec, frame, image_reader=read_display_image)
        model = entry.model(passes.frame_size)
        views.append(core_fusion.view_from_passes(passes, model, name=entry.name, clip=clip))
    return views


def views_from_self_describing(scene, files, base: SourceSpec | None = None, clip=True, progress=None, **options):
    """One view per EXR file whose header describes its camera (Depth Cloud's own camera,
    ``worldToCamera``/``worldToNDC``, Nuke's keys) or names a camera object of this scene
    (Blender's ``Camera`` header, taken at the header's ``Frame``)."""
    views = []
    for i, path in enumerate(files):
        _progress_read(progress, i, len(files), path)
        spec = _spec(path, "", base, **options)
        passes = inputs.read_passes(spec, 0)
        model, cam_obj = source_glue.camera_from_file(scene, passes)
        if model is None and cam_obj is not None:
            # the named camera as it was on the frame Blender rendered (header "Frame")
            frame = str(passes.header.get("Frame", "")).strip()
            frame = int(frame) if frame.lstrip("-").isdigit() else scene.frame_current
            model = camera_glue.camera_model(cam_obj, scene, frame=frame, size=passes.frame_size,
                                             view=source_glue.camera_view(scene, passes))  # a stereo eye
        if model is None:
            raise CameraError(f"{passes.path}: no camera for this file: give camera objects or a camera list "
                              "(its header neither describes nor names a camera of this scene)")
        views.append(core_fusion.view_from_passes(passes, model, name=os.path.basename(passes.path), clip=clip))
    return views


def collect_views(scene, source=None, frames=None, cameras=None, camera_list=None, files=None, color=None,
                  camera=None, clip=True, progress=None, base: SourceSpec | None = None, **options):
    """The views of whichever source is given (plain arguments; see the module docstring):

    * ``camera_list`` (path) [+ ``files``]: a camera list file;
    * ``cameras`` (collection or list of camera objects) + ``files``;
    * ``files`` (list of paths) alone: self-describing EXRs;
    * otherwise a sequence: ``source`` pattern (default: the scene's Depth Cloud settings),
      ``frames`` (default: the scene's range), ``camera`` (default: settings, then scene).

    ``color`` is the color file pattern (same tokens as ``files``). ``base`` is a SourceSpec
    whose reading options apply to every file; ``options`` override SourceSpec fields (kind,
    convention, near, far, layer, depth_channel, color_channels, position_channels).
    """
    if camera_list:
        return views_from_camera_list(camera_list, files, base, color, clip, progress, **options)
    if cameras is not None:
        cams = cameras_in(cameras)
        return views_from_cameras(scene, pair_files(cams, files), base, color, None, clip, progress, **options)
    if files is not None and not isinstance(files, str):
        return views_from_self_describing(scene, list(files), base, clip, progress, **options)
    if isinstance(files, str) and files.strip():
        raise SettingsError(f"{files}: a file pattern pairs files with cameras: also give the camera objects or a "
                            "camera list (for the frames of one sequence, give it as the source)")
    if isinstance(source, (str, os.PathLike)) and base is not None:
        source = replace(base, path=abspath(str(source)), color_path="")
    src = source_glue.resolve(scene, source, color, camera, clip, **options)
    if isinstance(frames, str) and not frames.strip():
        frames = None  # the panel's empty Frames: the scene's range
    return views_from_sequence(scene, src.spec, frame_list(frames, scene_frames(scene), "fusion frames"),
                               src.camera, src.clip, progress)


# --------------------------------------------------------------------------- output
def _find_fused(scene, key):
    for ob in scene.objects:
        if ob.get(FUSION_KEY) == key and ob.type == 'POINTCLOUD':
            return ob
    return None


def fused_object(scene, result, name="Fused Cloud", key=None):
    """Write the fused PointSet into a Point Cloud object: the object previously fused under
    the same name from the same source (``key``) is updated in place, else a new one is
    linked into the "Depth Clouds" collection. Returns the object."""
    point_set = result.point_set
    key = f"{name}|{key or ''}"
    pc = datablock.pointcloud_from_point_set(point_set, name, scene)
    ob, new = objects.put_cloud_data(scene, _find_fused(scene, key), name, pc)
    if new:
        ob[FUSION_KEY] = key
    ob["depth_cloud_voxel_size"] = float(result.voxel_size)
    ob["depth_cloud_views"] = int(point_set.meta.get("views", 0))
    return ob


def fuse_to_object(scene, views, settings=None, name="Fused Cloud", key=None, surface=False,
                   surface_voxel_size=0.0, surface_radius=0.0, progress=None):
    """Fuse ``views`` and write the result (see :func:`fused_object`); with ``surface`` also
    make (or update) the Geometry Nodes surface object. Returns ``(object, FusionResult,
    surface object or None)``."""
    result = core_fusion.fuse(views, settings, progress)
    if len(result.point_set) == 0:
        raise SettingsError("fusion kept no point: lower the minimum views or raise the depth tolerance")
    ob = fused_object(scene, result, name, key)
    surf = None
    if surface:
        from . import surface as fusion_surface
        surf = fusion_surface.surface_object(scene, ob, surface_voxel_size or 0.0, result.voxel_size,
                                           surface_radius or 0.0)
    return ob, result, surf


def describe_source(source=None, frames=None, cameras=None, camera_list=None, files=None, scene=None) -> str:
    """A stable key naming what a fused cloud was made from (to update it in place)."""
    if camera_list:
        return f"list:{abspath(str(camera_list))}|{files if isinstance(files, str) else ''}"
    if cameras is not None:
        names = cameras.name if isinstance(cameras, bpy.types.Collection) else ",".join(c.name for c in cameras)
        return f"cameras:{names}|{files if isinstance(files, str) else ''}"
    if files is not None and not isinstance(files, str):
        return "files:" + ",".join(os.path.basename(str(f)) for f in files)[:200]
    src = source.path if isinstance(source, SourceSpec) else (abspath(str(source)) if source else
                                                              abspath(scene.depth_cloud.exr_path) if scene else "")
    return f"sequence:{src}|{frames if isinstance(frames, str) else ''}"


#: Every field of ``core.fusion.FusionSettings``: the fusion keyword options of the API.
FUSION_FIELDS = tuple(core_fusion.FusionSettings.__dataclass_fields__)


def fusion_settings(settings=None, **options) -> core_fusion.FusionSettings:
    """FusionSettings from keyword options (validated; unknown names raise SettingsError)."""
    unknown = set(options) - set(FUSION_FIELDS)
    if unknown:
        raise SettingsError(f"unknown fusion option(s) {sorted(unknown)}; expected {', '.join(FUSION_FIELDS)}")
    return replace(settings or core_fusion.FusionSettings(), **options).validate()


def split_options(options: dict):
    """``(FusionSettings, reading options)`` from one dict of plain keyword options."""
    fusion = {k: v for k, v in options.items() if k in FUSION_FIELDS and v is not None}
    spec = {k: v for k, v in options.items() if k not in FUSION_FIELDS and v is not None}
    base = spec.pop("settings", None)
    unknown = set(spec) - set(source_glue.READING_OPTIONS)
    if unknown:
        raise SettingsError(f"unknown option(s) {sorted(unknown)}; expected fusion options "
                            f"{', '.join(FUSION_FIELDS)} or reading options {', '.join(source_glue.READING_OPTIONS)}")
    return fusion_settings(base, **fusion), spec


def _object_named(name, what):
    ob = bpy.data.objects.get(name)
    if ob is None:
        raise CameraError(f"no object named {name!r} ({what})")
    return ob


def resolve_cameras(cameras):
    """A Collection, a list of camera objects, or names (a collection's name, or object
    names) -> what :func:`collect_views` takes."""
    if isinstance(cameras, str):
        coll = bpy.data.collections.get(cameras)
        if coll is None:
            raise CameraError(f"no collection named {cameras!r} (the cameras to fuse)")
        return coll
    if cameras is None or isinstance(cameras, bpy.types.Collection):
        return cameras
    return [_object_named(c, "a camera to fuse") if isinstance(c, str) else c for c in cameras]


def run_fusion(scene, source=None, frames=None, cameras=None, camera_list=None, files=None, color=None,
               camera=None, clip=True, make_object=True, name="Fused Cloud", surface=False,
               surface_voxel_size=0.0, surface_radius=0.0, progress=None, base=None, **options):
    """Fusion from plain arguments (what the API and the command line call).

    Sources as :func:`collect_views` (``cameras`` may also be a collection name or object
    names, ``camera`` an object name); ``options`` are fusion settings (``voxel_size``,
    ``min_views``, ``depth_tolerance``, ``neighbor_support``, ``outlier_neighbors``,
    ``outlier_std_ratio``, ``outliers_unconfirmed_only``, ``max_incidence``, ``check_views``,
    ``split_normals``, ``workers``) and reading options (``kind``, ``convention``, ``near``, ``far``, ``layer``,
    channel names); ``settings`` a FusionSettings they start from; ``base`` a SourceSpec whose
    reading options apply to every file. Everything is read and checked before the scene changes. With
    ``make_object`` the result is written into the fused Point Cloud object (and the surface
    object with ``surface``). ``progress(fraction, message)`` defaults to lines on stdout in
    background mode. Returns ``(object or None, FusionResult, surface object or None)``.
    """
    settings, spec_options = split_options(options)
    cameras = resolve_cameras(cameras)
    if isinstance(camera, str):
        camera = _object_named(camera, "the camera of the sequence")
    report = progress if progress is not None else Progress(None, "Fusing")
    try:
        views = collect_views(scene, source=source, frames=frames, cameras=cameras, camera_list=camera_list,
                              files=files, color=color, camera=camera, clip=clip,
                              progress=lambda f, m: report(0.3 * f, m), base=base, **spec_options)
        rest = lambda f, m: report(0.3 + 0.7 * f, m)  # noqa: E731
        if not make_object:
            return None, core_fusion.fuse(views, settings, rest), None
        key = describe_source(source, frames, cameras, camera_list, files, scene)
        return fuse_to_object(scene, views, settings, name=name, key=key, surface=surface,
                              surface_voxel_size=surface_voxel_size, surface_radius=surface_radius, progress=rest)
    finally:
        if hasattr(report, "end"):
            report.end()
