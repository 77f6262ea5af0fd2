"""``depth_cloud info --check-camera`` (Blender side): each file checked with the camera of the
opened .blend (``glue/camera_check.py``)."""
from __future__ import annotations

from ..core.checks.picking import stamped_frame
from ..core.points.inputs import SourceSpec
from ..glue.checks.camera_check import check_frame
from ..glue.images import abspath
from .build import camera_option
from .common import resolve_scene


def check_files(args, paths) -> list:
    """``[(frame, CameraCheckReport)]``: ``--camera`` (else the camera a build would use) at
    ``--frame`` (else the frame Blender stamped in the file, else the scene's)."""
    scene = resolve_scene(args)
    camera = camera_option(args)
    out = []
    for path in paths:
        frame = int(args.frame) if args.frame is not None else stamped_frame(path, scene.frame_current)
        out.append((frame, check_frame(scene, SourceSpec(path=abspath(path), kind='DEPTH'), frame, camera,
                                       frames_around=args.check_frames)))
    return out
