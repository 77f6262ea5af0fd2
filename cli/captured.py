"""``--intrinsics`` and ``--poses``: cameras from numbers on the command line (glue/captured.py)."""
from __future__ import annotations

import glob
import re

from ..glue import captured
from ..glue.images import abspath


def poses_from_args(args, scene) -> list:
    """``--poses FILE``: key a camera along the path and make its frames the scene's source
    (then ``--source`` must not be given). Returns the warnings noticed while reading it
    (non-unit quaternions, unused poses), for the command to print."""
    if not getattr(args, "poses", None):
        return []
    from ..core.camera.intrinsics import parse_intrinsics
    from ..core.camera.poses import read_tum_list
    from ..core.errors import SettingsError
    if args.source:
        raise SettingsError("--poses gives the frames' depth files itself: leave out --source")
    path = abspath(args.poses)
    fmt = args.pose_format or "AUTO"
    fmt = captured.detect_format(path) if fmt == "AUTO" else fmt
    depth = abspath(args.pose_depth) if args.pose_depth else None
    if depth and fmt != "TUM":
        depth = sorted(glob.glob(re.sub(r"#+", lambda m: "[0-9]" * len(m.group(0)), depth))) if "#" in depth \
            else [depth]
    intr = None
    if args.intrinsics:
        first = read_tum_list(depth)[1][0] if fmt == "TUM" and depth else (depth[0] if depth else None)
        size = captured.depth_size(first) if first else (None, None)
        intr = parse_intrinsics(args.intrinsics, *size, source="--intrinsics")
    _cam, cap = captured.import_camera_path(scene, path, fmt, depth,
                                            abspath(args.pose_color) if args.pose_color else None, intr,
                                            args.pose_tolerance, scene.frame_start, depth_scale=args.depth_scale,
                                            invalid_value=args.invalid_value)
    return list(cap.warnings)


def camera_from_args(args, scene):
    """``--intrinsics FX,FY,CX,CY`` (without --poses): a camera for the first frame's depth
    file size, or None."""
    if not getattr(args, "intrinsics", None) or getattr(args, "poses", None):
        return None
    from ..core.camera.intrinsics import parse_intrinsics
    from ..core.errors import SettingsError
    from ..glue import source as source_glue
    spec = source_glue.resolve(scene, args.source or None, source_name="--source").spec
    frames = getattr(args, "frames", None)
    frame = frames[0] if frames else scene.frame_current
    if args.camera:
        raise SettingsError("give --intrinsics or --camera, not both")
    size = captured.depth_size(spec.paths(frame)[0], args.depth_channel or "")
    intr = parse_intrinsics(args.intrinsics, *size, source="--intrinsics")
    return captured.camera_from_intrinsics(scene, intr)
