"""``depth_cloud info``: what an EXR (or PLY) file holds (pure core: ``core.info``)."""
from __future__ import annotations

import json
import os

from ..core.frames import has_frame_placeholder, resolve_frame_path
from ..core.info import file_info, format_info
from .parser import EXIT_OK, UsageError


def run_info(args, console) -> int:
    results = []
    for pattern in args.files:
        path = pattern
        if has_frame_placeholder(pattern) and not os.path.exists(pattern):
            if args.frame is None:
                raise UsageError(f"{pattern!r} is a frame pattern: give --frame N")
            path = resolve_frame_path(pattern, args.frame)
        results.append(file_info(path, stats=args.stats, view=args.view))
    if args.json:
        console.line(json.dumps(results if len(results) > 1 else results[0], indent=2, default=str))
    else:
        for i, info in enumerate(results):
            if i:
                console.line()
            for text in format_info(info):
                console.line(text)
    return EXIT_OK
