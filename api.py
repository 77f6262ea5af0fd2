"""Python API for scripts and pipelines.

    from depth_cloud import api
    obj = api.build_point_cloud(bpy.context.scene, frame=12, source="//renders/shot_####.exr")
    points = api.unproject(scene, frame=12, source="//renders/shot_####.exr")  # a PointSet
    xyz = api.pixel_to_world(scene, 640, 360, frame=12, source="//renders/shot_####.exr")
    api.set_display(mode='SURFACE', lit=False)  # every cloud of the scene, live

``source`` is a path pattern (``#`` runs = frame number) of a multilayer EXR or of a
depth/position EXR; ``color=`` names a separate color file. Without ``source`` the scene's
Depth Cloud settings are used. Options: ``kind`` ('AUTO'|'DEPTH'|'POSITION'), ``convention``
('AUTO'|'PLANAR'|'RAY_DISTANCE'|'NORMALIZED'|'ZBUFFER'|'INVERSE'), ``near``, ``far``, ``layer``,
``depth_channel``, ``color_channels``, ``position_channels``, ``clip``.
Bad input raises a subclass of :class:`DepthCloudError` naming the file, channel or setting.
"""
from __future__ import annotations

from dataclasses import replace

import bpy

from .core.camera import CameraModel
from .core.errors import (CameraError, ChannelError, DepthCloudError, FramePatternError, InvalidDepthError,
                          SettingsError, SizeMismatchError, SourceFileError)
from .core.passes import SourceSpec
from .core.pointset import PointSet
from .core.unproject import point_at_pixel
from .glue import build as _build
from .glue import camera as _camera
from .glue.images import abspath

__all__ = ["build_point_cloud", "unproject", "pixel_to_world", "camera_model", "source_spec", "set_display", "PointSet",
           "CameraModel", "SourceSpec", "DepthCloudError", "SourceFileError", "ChannelError",
           "SizeMismatchError", "InvalidDepthError", "CameraError", "SettingsError", "FramePatternError"]

_SPEC_OPTIONS = ("kind", "convention", "near", "far", "layer", "depth_channel", "color_channels", "position_channels")


def source_spec(scene=None, source=None, color=None, **options) -> SourceSpec:
    """A SourceSpec from a path/SourceSpec and options, or from the scene's settings."""
    unknown = set(options) - set(_SPEC_OPTIONS)
    if unknown:
        raise SettingsError(f"unknown option(s) {sorted(unknown)}; expected {', '.join(_SPEC_OPTIONS)}")
    if isinstance(source, SourceSpec):
        spec = source
    elif source is None:
        spec = _build.source_spec_from_settings((scene or bpy.context.scene).depth_cloud)
    else:
        spec = SourceSpec(path=abspath(str(source)))
    if color is not None:
        spec = replace(spec, color_path=abspath(str(color)))
    return replace(spec, **options) if options else spec


def _scene_frame(scene, frame):
    scene = scene if scene is not None else bpy.context.scene
    return scene, scene.frame_current if frame is None else int(frame)


def build_point_cloud(scene=None, frame=None, source=None, camera=None, color=None, clip=True, **options):
    """Build (or rebuild in place) the Point Cloud object of ``frame``; returns the object."""
    scene, frame = _scene_frame(scene, frame)
    if camera is None and source is None:
        camera = scene.depth_cloud.camera
    spec = source_spec(scene, source, color, **options)
    ob, _ = _build.build_cloud_object(scene, spec, frame, camera, clip)
    return ob


def unproject(scene=None, frame=None, source=None, camera=None, color=None, clip=True, **options) -> PointSet:
    """The frame's points as a PointSet (numpy arrays), without touching the scene."""
    scene, frame = _scene_frame(scene, frame)
    spec = source_spec(scene, source, color, **options)
    point_set, _ = _build.point_set_for_frame(scene, spec, frame, camera, clip)
    return point_set


def pixel_to_world(scene=None, column=0, row=0, frame=None, source=None, camera=None, origin='top', **options):
    """World position (numpy (3,)) of the surface seen at pixel ``(column, row)``.

    ``origin='top'`` counts rows from the top (EXR/numpy); ``'bottom'`` from the bottom as
    Blender's Image Editor does.
    """
    scene, frame = _scene_frame(scene, frame)
    spec = source_spec(scene, source, None, **options)
    if origin not in ('top', 'bottom'):
        raise SettingsError(f"origin must be 'top' or 'bottom', got {origin!r}")
    passes, model = _build.frame_inputs(scene, spec, frame, camera)
    if origin == 'bottom':
        row = passes.frame_size[1] - 1 - int(row)
    return point_at_pixel(passes, model, column, row)


def camera_model(camera=None, scene=None, frame=None, size=None) -> CameraModel:
    """The core CameraModel of a Blender camera object at ``frame``."""
    scene, frame = _scene_frame(scene, frame)
    return _camera.camera_model(_camera.resolve_camera(scene, camera), scene, frame=frame, size=size)


def run_cli(argv, stdout=None, stderr=None) -> int:
    """Run a Depth Cloud command line inside this session and return its exit status, exactly
    as ``blender -b shot.blend -c depth_cloud ...`` would (for ``--python-expr`` users)::

        blender -b shot.blend --python-expr "import sys, depth_cloud.api as a; \
            sys.exit(a.run_cli(['build', '--frames', '1-240', '--output', 'out/cloud_####.ply']))"

    ``argv`` is a list of arguments (or one string, split like a shell). Errors print one line
    on ``stderr`` and give a non-zero status; nothing is raised.
    """
    from .cli import main
    return main(argv, stdout=stdout, stderr=stderr)


__all__.append("run_cli")
# ----------------------------------------------------------------------------- outputs
# Render Passes and Bake to USD (appended; see docs/render_and_usd.md).
from .core.errors import ExportError  # noqa: E402

__all__ += ["render_passes", "bake_usd", "load_usd", "ExportError"]


def _frame_list(scene, frames):
    from .core.frames import parse_frame_range
    if frames is None:
        return [scene.frame_current]
    if isinstance(frames, str):
        return parse_frame_range(frames)
    if isinstance(frames, int):
        return [frames]
    return [int(f) for f in frames]


def render_passes(scene=None, frames=None, folder=None, view_layer=None, progress=None) -> list:
    """Render Combined, Z and Position of ``frames`` (default: the current frame; a list,
    a range such as ``range(1, 49)`` or text ``"1-48x2"``) into one self-describing
    multilayer EXR per frame, ``<folder>/<scene>_####.exr`` (default folder: the scene's
    Cache Folder). Returns the paths. Every render setting is restored afterwards."""
    from .glue import render as _render
    scene = scene if scene is not None else bpy.context.scene
    folder = folder if folder is not None else scene.depth_cloud.output.cache_dir
    return _render.render_frames(scene, _frame_list(scene, frames), str(folder), view_layer, progress)


def bake_usd(scene=None, frames=None, path=None, source=None, camera=None, color=None, clip=True, size=1.0,
             load=False, progress=None, **options):
    """Bake ``frames`` (default: the scene's frame range) of ``source`` (default: the scene's
    Depth Cloud settings) to one time-sampled UsdGeom.Points ``.usdc`` at ``path`` (default:
    the scene's USD File setting, else ``<cache folder>/<scene>.usdc``). ``size`` multiplies
    the point widths. Returns the BakeResult (``path``, ``frames``, ``empty``, ``points``,
    ``warnings``); with ``load=True`` also loads it (see :func:`load_usd`)."""
    from .glue import render as _render
    from .glue import usd_bake
    scene = scene if scene is not None else bpy.context.scene
    out = scene.depth_cloud.output
    if camera is None and source is None:
        camera = scene.depth_cloud.camera
    spec = source_spec(scene, source, color, **options)
    if frames is None:
        frames = _render.frames_for(scene, 'RANGE')
    target = usd_bake.usd_path(scene, str(path) if path is not None else out.usd_path, out.cache_dir)
    result = usd_bake.bake(scene, spec, _frame_list(scene, frames), target, camera, clip, float(size), progress)
    if load:
        load_usd(target)
    return result


def load_usd(path):
    """The object streaming the USD point cache ``path`` in the current scene (made by
    Blender's USD importer, or the existing one, reloaded)."""
    from .glue import usd_bake
    return usd_bake.load(bpy.context, abspath(str(path)))


def set_display(objects=None, scene=None, mode=None, size=None, lit=None, max_jump=None):
    """Change how clouds are drawn, live (no source file is read again).

    ``objects``: cloud objects (default: every cloud of ``scene``). ``mode``: 'POINTS',
    'SQUARES' (pixel squares) or 'SURFACE'; ``size``: footprint multiplier; ``lit``: diffuse
    instead of unlit colors; ``max_jump``: relative depth jump at which the surface opens.
    Arguments left None keep their value. Every object is checked before any changes: a
    cloud without a camera cannot show squares or a surface (CameraError). Returns the objects.
    """
    from .glue import display
    if objects is None:
        objects = display.cloud_objects(scene if scene is not None else bpy.context.scene)
    return display.apply_to_objects(objects, mode=mode, size=size, lit=lit, max_jump=max_jump)
