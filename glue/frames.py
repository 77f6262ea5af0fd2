"""Frame lists as operators, the API and the command line take them."""
from __future__ import annotations

from ..core.frames import parse_frame_range


def scene_frames(scene) -> list:
    """The scene's frame range with its step (empty when the end is before the start)."""
    return list(range(scene.frame_start, scene.frame_end + 1, max(1, scene.frame_step)))


def frame_list(frames, default) -> list:
    """Frame numbers from text such as ``"1-240x3,300"``, one frame number or an iterable of
    them; ``default`` (a list) when ``frames`` is None."""
    if frames is None:
        return list(default)
    if isinstance(frames, str):
        return parse_frame_range(frames)
    if isinstance(frames, int):
        return [frames]
    return [int(f) for f in frames]
