"""``depth_cloud info``: what an EXR (or PLY) file holds (pure core: ``core.info``); with
``--check-camera`` also how well the opened .blend's camera explains it (``cli/camera_check.py``,
Blender side)."""
from __future__ import annotations

import json
import os

from ..core.errors import DepthCloudError
from ..core.frames import has_frame_placeholder, resolve_frame_path
from ..core.output.info import file_info, format_info
from .parser import EXIT_CAMERA_MISMATCH, EXIT_FAILURE, EXIT_OK, UsageError


def run_info(args, console) -> int:
    """Every good file is described; the bad ones (one of several) are listed after them, one
    ``error:`` line each, and the status is 1."""
    results, bad = [], []
    for pattern in args.files:
        path = pattern
        if has_frame_placeholder(pattern) and not os.path.exists(pattern):
            if args.frame is None:
                raise UsageError(f"{pattern!r} is a frame pattern: give --frame N")
            path = resolve_frame_path(pattern, args.frame)
        try:
            results.append(file_info(path, stats=args.stats, view=args.view))
        except DepthCloudError as err:
            if len(args.files) == 1:
                raise
            bad.append((path, err))
    status = _describe(args, console, results)
    if bad:
        for _path, err in bad:
            console.error(err)
        console.error(f"{len(bad)} of {len(args.files)} file(s) could not be read: "
                      + ", ".join(os.path.basename(p) for p, _ in bad))
        return EXIT_FAILURE
    return status


def _describe(args, console, results) -> int:
    if not results:
        return EXIT_OK
    checks = []
    if args.check_camera:  # the Blender side: cli/camera_check.py
        from .camera_check import check_files
        checks = check_files(args, [r["path"] for r in results])
        for info, (frame, report) in zip(results, checks):
            info["camera_check"] = {"frame": frame, **report.to_dict()}
    if args.json:
        console.line(json.dumps(results if len(results) > 1 else results[0], indent=2, default=str))
    else:
        for i, info in enumerate(results):
            if i:
                console.line()
            for text in format_info(info):
                console.line(text)
            if i < len(checks):
                console.line(f"camera check (frame {checks[i][0]}):")
                for text in checks[i][1].lines():
                    console.line(f"  {text}")
    return EXIT_OK if all(report.ok for _, report in checks) else EXIT_CAMERA_MISMATCH
