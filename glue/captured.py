"""Cameras from plain numbers: pinhole intrinsics -> a Blender camera, and captured camera
paths (COLMAP, TUM, transforms.json; ``core/poses.py``) -> a keyed Blender camera plus the
scene's Depth Cloud source, so Build Sequence, playback, USD bake and fusion run on them.

A captured path's files rarely follow a ``#`` pattern (TUM names frames by timestamp,
COLMAP and NeRF by anything): they are linked (symbolic links; copies where links are not
allowed) as ``depth_####.ext`` / ``color_####.ext`` in a folder (default:
``depth_cloud_frames`` beside the pose file), frame ``frame_start + i`` for the i-th frame.
"""
from __future__ import annotations

import os
import shutil

import bpy
import numpy as np
from mathutils import Matrix

from ..core.camera import poses
from ..core.camera.intrinsics import Intrinsics
from ..core.errors import OutputWriteError, SettingsError, SourceFileError
from ..core.exr.header import read_exr_header
from ..core.exr.read import window_size
from ..core.images import read as depth_images
from . import compat
from .images import read_display_image

FORMATS = ("AUTO", "COLMAP", "TUM", "TRANSFORMS")


def apply_intrinsics(scene, cam_data, intr: Intrinsics) -> None:
    """Set a camera datablock (lens, sensor fit Horizontal, shift) and the scene's resolution
    and pixel aspect so that the render has exactly these intrinsics."""
    s = intr.blender_settings(sensor_width=float(cam_data.sensor_width) if cam_data.sensor_width > 0 else 36.0)
    cam_data.type = 'PERSP'
    cam_data.sensor_fit = 'HORIZONTAL'
    cam_data.sensor_width = s["sensor_width"]
    cam_data.lens = s["lens"]
    cam_data.shift_x, cam_data.shift_y = s["shift_x"], s["shift_y"]
    r = scene.render
    r.resolution_x, r.resolution_y, r.resolution_percentage = intr.width, intr.height, 100
    r.pixel_aspect_x, r.pixel_aspect_y = s["pixel_aspect_x"], s["pixel_aspect_y"]


def camera_from_intrinsics(scene, intr: Intrinsics, camera=None, name: str = "Intrinsics Camera"):
    """``camera`` (a camera object, updated) or a new camera object linked to the scene, whose
    lens, sensor fit and shift reproduce ``intr`` (see :func:`apply_intrinsics`)."""
    if camera is None:
        data = bpy.data.cameras.new(name)
        camera = bpy.data.objects.new(name, data)
        scene.collection.objects.link(camera)
    elif camera.type != 'CAMERA':
        raise SettingsError(f"object {camera.name!r} is a {camera.type.lower()}, not a camera")
    apply_intrinsics(scene, camera.data, intr)
    return camera


def depth_size(path: str, key: str = "") -> tuple[int, int]:
    """``(width, height)`` of a depth file (EXR or depth image)."""
    if depth_images.is_depth_image(path):
        arr = depth_images.read_array(path, key, read_display_image)
        return int(arr.shape[1]), int(arr.shape[0])
    head = read_exr_header(path)
    return window_size(head.parts[0].display_window)


def detect_format(path: str) -> str:
    name = os.path.basename(path).lower()
    if name.endswith(".json"):
        return "TRANSFORMS"
    if name == "images.txt":
        return "COLMAP"
    return "TUM"


def read_path(path: str, fmt: str = "AUTO", depth=None, color=None, intrinsics: Intrinsics | None = None,
              tolerance: float = poses.TUM_MAX_DIFFERENCE) -> poses.CapturedPath:
    """Read a pose file into a CapturedPath whose frames name their depth files.

    ``depth``: TUM: the ``depth.txt`` list (required); others: a list of depth files in frame
    order, or None (COLMAP: the image names with their extension swapped is not guessed; give
    them; transforms.json: each frame's ``depth_file_path``). ``color``: TUM ``rgb.txt``;
    COLMAP: the image folder (frames' NAMEs are relative to it); ignored otherwise."""
    fmt = (fmt or "AUTO").upper()
    if fmt not in FORMATS:
        raise SettingsError(f"pose format {fmt!r} is unknown; expected one of {', '.join(FORMATS)}")
    if fmt == "AUTO":
        fmt = detect_format(path)
    if fmt == "TUM":
        if not depth or not isinstance(depth, str):
            raise SettingsError(f"{path}: a TUM trajectory needs its depth list (depth.txt: 'timestamp file' lines)")
        if intrinsics is None:
            raise SettingsError(f"{path}: a TUM trajectory needs the camera intrinsics fx, fy, cx, cy")
        return poses.read_tum(path, depth, intrinsics, color or "", tolerance)
    cap = poses.read_colmap(path) if fmt == "COLMAP" else poses.read_transforms(path)
    if fmt == "COLMAP":
        folder = color or os.path.dirname(os.path.abspath(path))
        for f in cap.frames:
            f.color = os.path.join(folder, f.name)
    if isinstance(depth, str):
        depth = [depth]
    poses.match_depth_files(cap, depth)
    if intrinsics is not None:
        for f in cap.frames:
            f.intrinsics = intrinsics
    return cap


def link_frames(cap: poses.CapturedPath, folder: str, frame_start: int = 1) -> tuple[str, str]:
    """Link the frames' depth (and color) files as ``depth_####.ext`` in ``folder``:
    ``(depth pattern, color pattern or "")``."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise OutputWriteError(f"{folder}: cannot make the frame folder ({err})") from err
    patterns = {}
    for role in ("depth", "color"):
        files = [getattr(f, role) for f in cap.frames]
        if not any(files):
            patterns[role] = ""
            continue
        missing = [p for p in files if not p or not os.path.isfile(p)]
        if missing:
            if role == "color":
                cap.warnings.append(f"{cap.source}: {len(missing)} color file(s) not found (first {missing[0]!r}); "
                                    "points are white")
                patterns[role] = ""
                continue
            raise SourceFileError(missing[0] or cap.source, f"depth file of a captured frame not found "
                                                            f"({len(missing)} missing)")
        ext = os.path.splitext(files[0])[1].lower()
        digits = max(4, len(str(frame_start + len(files))))
        for i, src in enumerate(files):
            dst = os.path.join(folder, f"{role}_{frame_start + i:0{digits}d}{ext}")
            if os.path.islink(dst):
                os.remove(dst)  # a link of an earlier import: replaced
            elif os.path.exists(dst):
                if os.path.samefile(dst, src):
                    continue  # the file itself already has the frame name
                raise OutputWriteError(f"{dst}: a file of that name is already in the frame folder and is not a "
                                       f"link; choose another folder for the linked frames")
            try:
                os.symlink(os.path.abspath(src), dst)
            except OSError:
                shutil.copyfile(src, dst)
        patterns[role] = os.path.join(folder, f"{role}_{'#' * digits}{ext}")
    return patterns["depth"], patterns["color"]


def keyed_camera(scene, cap: poses.CapturedPath, frame_start: int = 1, camera=None, name: str = "Captured Camera"):
    """A camera object keyed at ``frame_start + i`` with frame i's pose (constant
    interpolation) and the first frame's intrinsics (they must not change along the path)."""
    intr = cap.intrinsics
    if any(f.intrinsics != intr for f in cap.frames):
        raise SettingsError(f"{cap.source}: the intrinsics change between frames; one Blender camera cannot key them")
    camera = camera_from_intrinsics(scene, intr, camera, name)
    camera.rotation_mode = 'QUATERNION'
    if camera.animation_data and camera.animation_data.action:
        camera.animation_data.action = None
    camera.parent = None
    for i, f in enumerate(cap.frames):
        camera.matrix_world = Matrix(np.asarray(f.cam_to_world).tolist())
        fr = frame_start + i
        camera.keyframe_insert("location", frame=fr)
        camera.keyframe_insert("rotation_quaternion", frame=fr)
    _constant_interpolation(camera)
    return camera


def _constant_interpolation(obj) -> None:
    for fc in compat.object_fcurves(obj):
        for kp in fc.keyframe_points:
            kp.interpolation = 'CONSTANT'


def import_camera_path(scene, path: str, fmt: str = "AUTO", depth=None, color=None,
                       intrinsics: Intrinsics | None = None, tolerance: float = poses.TUM_MAX_DIFFERENCE,
                       frame_start: int = 1, folder: str = "", depth_scale: float | None = None,
                       invalid_value=None, camera=None, set_source: bool = True):
    """Read a pose file, key a camera along it and (``set_source``) make it the scene's Depth
    Cloud source: depth/color patterns, camera, frame range, depth scale. Returns
    ``(camera object, CapturedPath)``; the scene is untouched when reading fails."""
    cap = read_path(path, fmt, depth, color, intrinsics, tolerance)
    w, h = depth_size(cap.frames[0].depth)
    poses.intrinsics_for_size(cap, w, h)
    folder = folder or os.path.join(os.path.dirname(os.path.abspath(path)), "depth_cloud_frames")
    depth_pattern, color_pattern = link_frames(cap, folder, frame_start)
    cam = keyed_camera(scene, cap, frame_start, camera)
    if set_source:
        s = scene.depth_cloud
        s.source_mode = 'SEPARATE'
        s.exr_path, s.color_path = depth_pattern, color_pattern
        s.camera = cam
        if depth_scale is not None:
            s.depth_scale = float(depth_scale)
        if invalid_value is not None:
            s.invalid_value = str(invalid_value)
        scene.frame_start, scene.frame_end = frame_start, frame_start + len(cap.frames) - 1
    return cam, cap
