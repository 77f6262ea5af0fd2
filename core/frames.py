"""Frame numbers in file paths, and frame ranges.

Patterns: Blender's ``#`` runs (``shot_####.exr`` -> ``shot_0007.exr``), printf style
(``shot_%04d.exr``), and plain paths (no placeholder: the same file for every frame).
Ranges: ``"1-240"``, ``"1-240x3"`` (step 3), ``"5"``, and comma lists ``"1-10,20,30-40x5"``.
"""
from __future__ import annotations

import re

from .errors import FramePatternError

_HASHES = re.compile(r"#+")
_PRINTF = re.compile(r"%(0?)(\d*)d")


def has_frame_placeholder(pattern: str) -> bool:
    return bool(_HASHES.search(pattern) or _PRINTF.search(pattern))


def resolve_frame_path(pattern: str, frame: int) -> str:
    """The path of ``frame`` for ``pattern``. Only the *last* placeholder is replaced, like
    Blender does for output paths, so ``#`` in a folder name of a pattern that also has a
    placeholder in the file name is left alone."""
    pattern = str(pattern)
    frame = int(frame)
    matches = list(_HASHES.finditer(pattern)) + list(_PRINTF.finditer(pattern))
    if not matches:
        return pattern
    last = max(matches, key=lambda m: m.start())
    if last.group(0).startswith("#"):
        width = len(last.group(0))
        text = f"-{abs(frame):0{max(width - 1, 1)}d}" if frame < 0 else f"{frame:0{width}d}"
    else:
        try:
            text = last.group(0) % frame
        except (TypeError, ValueError) as err:
            raise FramePatternError(f"cannot format frame {frame} with {last.group(0)!r} in {pattern!r}") from err
    return pattern[:last.start()] + text + pattern[last.end():]


def parse_frame_range(text: str) -> list:
    """``"1-240x3,300"`` -> ``[1, 4, …, 238, 300]`` (ordered, duplicates removed)."""
    frames = []
    text = str(text).strip()
    if not text:
        raise FramePatternError("empty frame range")
    for chunk in text.split(","):
        chunk = chunk.strip()
        m = re.fullmatch(r"(-?\d+)(?:\s*(?:-|\.\.|:)\s*(-?\d+)(?:\s*[x:]\s*(\d+))?)?", chunk)
        if not m:
            raise FramePatternError(f"bad frame range {chunk!r}: use 'START-END', 'START-ENDxSTEP' or a frame number")
        start = int(m.group(1))
        end = int(m.group(2)) if m.group(2) is not None else start
        step = int(m.group(3)) if m.group(3) else 1
        if step < 1 or end < start:
            raise FramePatternError(f"bad frame range {chunk!r}: end must be >= start and step >= 1")
        frames.extend(range(start, end + 1, step))
    seen = set()
    return [f for f in frames if not (f in seen or seen.add(f))]
