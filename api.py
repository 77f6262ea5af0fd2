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
