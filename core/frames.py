"""Frame numbers in file paths, and frame ranges.

Patterns: Blender's ``#`` runs (``shot_####.exr`` -> ``shot_0007.exr``), printf style
(``shot_%04d.exr``), and plain paths (no placeholder: the same file for every frame).
Ranges: ``"1-240"``, ``"1-240x3"`` (step 3), ``"5"``, and comma lists ``"1-10,20,30-40x5"``;
``frame_numbers(start, end, step)``; ``split_existing`` tells which frames have a file and
``format_frames`` lists frame numbers compactly for reports (``"1-3, 7, 10-20x2"``).
"""
from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from .errors import FramePatternError, FrameRangeError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

#: A frame placeholder: a ``#`` run or a printf ``%d`` / ``%04d``.
_PLACEHOLDER = re.compile(r"#+|%0?\d*d")


def has_frame_placeholder(pattern: str) -> bool:
    return bool(_PLACEHOLDER.search(pattern))


def last_placeholder(pattern: str) -> re.Match[str] | None:
    """The ``re.Match`` of the last frame placeholder in ``pattern`` (the one Blender fills
    in), or None."""
    matches = list(_PLACEHOLDER.finditer(pattern))
    return matches[-1] if matches else None


def resolve_frame_path(pattern: str, frame: int) -> str:
    """The path of ``frame`` for ``pattern``. Only the *last* placeholder is replaced, like
    Blender does for output paths, so ``#`` in a folder name of a pattern that also has a
    placeholder in the file name is left alone."""
    pattern = str(pattern)
    frame = int(frame)
    last = last_placeholder(pattern)
    if last is None:
        return pattern
    if last.group(0).startswith("#"):
        width = len(last.group(0))
        text = f"-{abs(frame):0{max(width - 1, 1)}d}" if frame < 0 else f"{frame:0{width}d}"
    else:
        try:
            text = last.group(0) % frame
        except (TypeError, ValueError) as err:
            raise FramePatternError(f"cannot format frame {frame} with {last.group(0)!r} in {pattern!r}") from err
    return pattern[:last.start()] + text + pattern[last.end():]


#: The most frames one range may hold (every range is counted before it is expanded): about
#: eleven hours at 24 fps, over twice the frames a Blender scene can have (1,048,574).
MAX_FRAMES = 2_500_000


def check_frame_count(count: int, what: str, setting: str = "frames") -> None:
    """A :class:`~.errors.FrameRangeError` naming ``setting`` and the limit when ``count``
    frames are more than :data:`MAX_FRAMES`."""
    if count > MAX_FRAMES:
        raise FrameRangeError(f"{setting}: {what} holds {count:,} frames, more than the limit of "
                              f"{MAX_FRAMES:,} frames per range; split it or give a shorter range")


def parse_frame_range(text: str, setting: str = "frames") -> list:
    """``"1-240x3,300"`` -> ``[1, 4, …, 238, 300]`` (ordered, duplicates removed). Every piece
    is counted before any list is made (at most :data:`MAX_FRAMES` in all); ``setting`` names
    the field or argument in the messages."""
    frames = []
    text = str(text).strip()
    if not text:
        raise FramePatternError(f"{setting}: empty frame range")
    if len(text) > 100_000:
        raise FrameRangeError(f"{setting}: a frame range of {len(text):,} characters is too long "
                              "(at most 100,000)")
    pieces = []
    total = 0
    for chunk in text.split(","):
        chunk = chunk.strip()
        # at most 15 digits a number: never a 5,000-digit int() (Python refuses those with ValueError)
        m = re.fullmatch(r"(-?\d{1,15})(?:\s*(?:-|\.\.|:)\s*(-?\d{1,15})(?:\s*[x:]\s*(\d{1,15}))?)?", chunk)
        if not m:
            raise FramePatternError(f"bad frame range {chunk!r}: use 'START-END', 'START-ENDxSTEP' or a frame number")
        start = int(m.group(1))
        end = int(m.group(2)) if m.group(2) is not None else start
        step = int(m.group(3)) if m.group(3) else 1
        if step < 1 or end < start:
            raise FramePatternError(f"bad frame range {chunk!r}: end must be >= start and step >= 1")
        total += (end - start) // step + 1
        check_frame_count(total, f"frame range {text[:60]!r}", setting)
        pieces.append(range(start, end + 1, step))
    for piece in pieces:
        frames.extend(piece)
    seen = set()
    return [f for f in frames if not (f in seen or seen.add(f))]


def frame_numbers(start: int, end: int, step: int = 1, setting: str = "frames") -> list:
    """``start, start+step, …`` up to ``end`` inclusive; a clear error on a bad range (counted
    before it is expanded, at most :data:`MAX_FRAMES`)."""
    start, end, step = int(start), int(end), int(step)
    if step < 1:
        raise FramePatternError(f"frame step must be 1 or more, got {step}")
    if end < start:
        raise FramePatternError(f"frame range end {end} is before its start {start}")
    check_frame_count((end - start) // step + 1, f"frame range {start}-{end}" + (f"x{step}" if step > 1 else ""),
                      setting)
    return list(range(start, end + 1, step))


def split_existing(pattern: str, frames: Iterable[int],
                   exists: Callable[[str], bool] = os.path.isfile) -> tuple[list[int], list[int]]:
    """``(present, missing)``: the frames of ``frames`` whose file (``pattern`` resolved)
    exists, and those whose file does not, both in the given order."""
    present, missing = [], []
    for f in frames:
        (present if exists(resolve_frame_path(pattern, f)) else missing).append(int(f))
    return present, missing


def format_frames(frames: Iterable[int], limit: int = 12) -> str:
    """A short human list of frame numbers: ``[1, 2, 3, 5, 7, 9, 20]`` -> ``"1-3, 5-9x2, 20"``.

    Runs of three or more frames with a constant step become ``START-END`` (step 1) or
    ``START-ENDxSTEP``; at most ``limit`` pieces are shown, then ``… (N frames)``.
    """
    frames = sorted(set(int(f) for f in frames))
    pieces = []
    i = 0
    while i < len(frames):
        j = i
        if i + 2 < len(frames):
            step = frames[i + 1] - frames[i]
            while j + 1 < len(frames) and frames[j + 1] - frames[j] == step:
                j += 1
            if j - i < 2:
                j = i
        if j > i:
            step = frames[i + 1] - frames[i]
            pieces.append(f"{frames[i]}-{frames[j]}" + (f"x{step}" if step != 1 else ""))
        else:
            pieces.append(str(frames[i]))
        i = j + 1
    if len(pieces) > limit:
        return ", ".join(pieces[:limit]) + f", … ({len(frames)} frames)"
    return ", ".join(pieces)


def frame_ranges_text(frames: Iterable[int]) -> str:
    """Compact text of a frame list: ``[1, 2, 3, 7, 9]`` -> ``"1-3,7,9"``."""
    frames = list(frames)
    if not frames:
        return ""
    parts = []
    start = prev = frames[0]
    for f in frames[1:] + [None]:
        if f is not None and f == prev + 1:
            prev = f
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if f is not None:
            start = prev = f
    return ",".join(parts)
