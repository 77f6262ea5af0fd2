"""Frame lists as operators, the API and the command line take them; frames stepped through
to evaluate something (not to be shown)."""
from __future__ import annotations

import contextlib
import math
from collections.abc import Sized

from ..core.errors import SettingsError
from ..core.frames import check_frame_count, parse_frame_range


def scene_frames(scene) -> list:
    """The scene's frame range with its step (empty when the end is before the start)."""
    return list(range(scene.frame_start, scene.frame_end + 1, max(1, scene.frame_step)))


def frame_list(frames, default, setting: str = "frames") -> list:
    """Frame numbers from text such as ``"1-240x3,300"``, one frame number or an iterable of
    them; ``default`` (a list) when ``frames`` is None. Anything else, a non-integral frame or
    a range longer than ``core.frames.MAX_FRAMES`` raises SettingsError naming ``setting``."""
    if frames is None:
        return list(default)
    if isinstance(frames, str):
        return parse_frame_range(frames, setting)
    if isinstance(frames, bytes | bytearray | dict | set | frozenset) or not hasattr(frames, "__iter__"):
        return [frame_number(frames, setting)]
    if isinstance(frames, Sized):
        check_frame_count(len(frames), f"a list of {len(frames):,} frames", setting)
    out = []
    for f in frames:
        out.append(frame_number(f, setting))
        check_frame_count(len(out), "the frames given", setting)
    return out


def frame_number(value, setting: str = "frame") -> int:
    """``value`` as a frame number: an int, or a float with an integral value; else SettingsError."""
    if isinstance(value, bool) or not isinstance(value, int | float) and not hasattr(value, "__index__"):
        raise SettingsError(f"{setting} must be a whole frame number (an int) or frames, got {_shown(value)}")
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise SettingsError(f"{setting} must be a whole frame number, got {value!r}")
    value = int(value)
    if not -2**31 <= value < 2**31:
        raise SettingsError(f"{setting} {value} is outside the frame numbers Blender can store (32-bit)")
    return value


def _shown(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + ('…' if len(text) > 60 else '')}"


class _Stepping:
    """How many ``stepping()`` blocks are open (process-wide; each block closes its own)."""
    depth = 0


@contextlib.contextmanager
def stepping():
    """Frame changes inside the block are steps to evaluate something at another frame (a
    camera, a frame being built), not frames to show: sequence playback leaves its objects
    alone (``glue/sequence/playback.on_frame_change``)."""
    _Stepping.depth += 1
    try:
        yield
    finally:
        _Stepping.depth -= 1


def is_stepping() -> bool:
    return _Stepping.depth > 0
