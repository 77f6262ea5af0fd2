"""What a run writes (pure): the output format, this run's frames and the output paths."""
from __future__ import annotations

import os

from ..core.frames import has_frame_placeholder
from ..core.output.batch import chunk_frames, frame_output_path, range_output_path
from .parser import FORMATS, PER_FRAME_FORMATS, UsageError


def output_format(output: str, fmt: str | None = None) -> str:
    if fmt:
        return fmt
    ext = os.path.splitext(str(output))[1].lower()
    if ext not in FORMATS:
        raise UsageError(f"--output {output!r}: unknown extension {ext or '(none)'!r}; use "
                         f"{', '.join(sorted(FORMATS))} or --format")
    return FORMATS[ext]


def select_frames(frames, chunk=None) -> list:
    """The frames this run builds: all of ``frames`` or chunk ``(k, n)`` of them."""
    return chunk_frames(frames, *chunk) if chunk else list(frames)


def plan_outputs(fmt: str, output: str, frames, chunked: bool = False) -> list:
    """``[(frames, path), ...]``: one item per frame (PLY) or one for the whole range."""
    frames = list(frames)
    if not frames:
        return []
    if fmt in PER_FRAME_FORMATS:
        if len(frames) > 1 and not has_frame_placeholder(output):
            raise UsageError(f"--output {output!r} has no '#' frame placeholder, but {len(frames)} frames are to be "
                             f"written; use e.g. cloud_####.ply")
        return [([f], frame_output_path(output, f)) for f in frames]
    if chunked and not has_frame_placeholder(output):
        raise UsageError(f"--output {output!r} has no '#' placeholder, so every chunk would write the same file; "
                         f"use e.g. {_suggest(output)}")
    return [(frames, range_output_path(output, frames[0], frames[-1]))]


def _suggest(output):
    stem, ext = os.path.splitext(os.path.basename(str(output)))
    return f"{stem}_####{ext}"
