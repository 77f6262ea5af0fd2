"""Farm batches: splitting a frame list into chunks and naming outputs.

``--chunk K/N`` takes the K-th (1-based) of N contiguous, nearly equal slices of the frame
list (sizes differ by at most one frame). The split depends only on the frame list and N, so
any machine can run any chunk independently, and the N chunks together are exactly the full
list, each frame once.

Per-frame outputs (PLY) replace the last ``#`` run (or ``%04d``) with the frame number, as
Blender names render outputs. Per-range outputs (``.blend``, USD) replace it with
``START-END`` of the chunk, as Blender names movie files (``clouds_####.blend`` ->
``clouds_0001-0080.blend``).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..errors import FramePatternError
from ..frames import last_placeholder, resolve_frame_path

if TYPE_CHECKING:
    from collections.abc import Sequence

_CHUNK = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_chunk(text: str) -> tuple[int, int]:
    """``"2/5"`` -> ``(2, 5)``; K counts from 1."""
    m = _CHUNK.fullmatch(str(text))
    if not m:
        raise FramePatternError(f"bad chunk {text!r}: use K/N, e.g. 2/5 for the second of five chunks")
    k, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 1 <= k <= n:
        raise FramePatternError(f"bad chunk {text!r}: K/N needs 1 <= K <= N")
    return k, n


def chunk_bounds(count: int, k: int, n: int) -> tuple[int, int]:
    """``(start, stop)`` indices of chunk ``k`` of ``n`` over ``count`` items."""
    if n < 1 or not 1 <= k <= n:
        raise FramePatternError(f"bad chunk {k}/{n}: K/N needs 1 <= K <= N")
    return ((k - 1) * count) // n, (k * count) // n


def chunk_frames(frames: Sequence[int], k: int, n: int) -> list:
    """Frames of chunk ``k`` of ``n`` (contiguous slice of ``frames`` in their given order)."""
    frames = list(frames)
    start, stop = chunk_bounds(len(frames), k, n)
    return frames[start:stop]


def chunk_count(frame_count: int, chunk_size: int) -> int:
    """How many chunks give at most ``chunk_size`` frames each."""
    if chunk_size < 1:
        raise FramePatternError(f"chunk size must be >= 1, got {chunk_size}")
    return max(1, -(-int(frame_count) // int(chunk_size)))


def frame_output_path(pattern: str, frame: int) -> str:
    """Per-frame output path (``out/cloud_####.ply`` -> ``out/cloud_0012.ply``)."""
    return resolve_frame_path(pattern, frame)


def range_output_path(pattern: str, first: int, last: int) -> str:
    """Per-range output path: the last ``#`` run (or ``%0Nd``) becomes ``FIRST-LAST``, each
    padded to its width (``clouds_####.usdc`` -> ``clouds_0001-0080.usdc``)."""
    match = last_placeholder(pattern)
    if match is None:
        return pattern
    start, stop = match.span()
    token = match.group(0)
    return (pattern[:start] + resolve_frame_path(token, first) + "-" + resolve_frame_path(token, last)
            + pattern[stop:])
