"""Frame patterns and ranges (pure core, no Blender)."""
import pytest

from depth_cloud.core.errors import FramePatternError
from depth_cloud.core.frames import format_frames, frame_numbers, parse_frame_range, resolve_frame_path, split_existing


@pytest.mark.parametrize("pattern, frame, expected", [
    ("/r/shot_####.exr", 7, "/r/shot_0007.exr"),
    ("/r/shot_#.exr", 12, "/r/shot_12.exr"),
    ("/r/shot_%04d.exr", 7, "/r/shot_0007.exr"),
    ("/r/shot_%d.exr", 123, "/r/shot_123.exr"),
    ("/r/shot_####.exr", -3, "/r/shot_-003.exr"),
    ("/r/v#2/shot_###.exr", 5, "/r/v#2/shot_005.exr"),  # only the last placeholder is the frame
    ("/r/still.exr", 5, "/r/still.exr"),
])
def test_resolve_frame_path(pattern, frame, expected):
    assert resolve_frame_path(pattern, frame) == expected


def test_frame_numbers_with_step():
    assert frame_numbers(1, 10, 3) == [1, 4, 7, 10]
    assert frame_numbers(5, 5) == [5]
    with pytest.raises(FramePatternError, match="step"):
        frame_numbers(1, 10, 0)
    with pytest.raises(FramePatternError, match="before its start"):
        frame_numbers(10, 1)


def test_parse_frame_range():
    assert parse_frame_range("1-10x4, 20") == [1, 5, 9, 20]


def test_split_existing(tmp_path):
    for f in (1, 2, 4):
        (tmp_path / f"s_{f:03d}.exr").write_bytes(b"x")
    present, missing = split_existing(str(tmp_path / "s_###.exr"), [1, 2, 3, 4, 5])
    assert present == [1, 2, 4] and missing == [3, 5]
    present, missing = split_existing(str(tmp_path / "s_%03d.exr"), [2, 3])
    assert present == [2] and missing == [3]


def test_format_frames():
    assert format_frames([1, 2, 3, 5, 7, 9, 20]) == "1-3, 5-9x2, 20"
    assert format_frames([5, 6]) == "5, 6"
    assert format_frames([]) == ""
    long = format_frames(list(range(0, 200, 7)) + [1000, 2000, 3000], limit=1)
    assert long.endswith("(32 frames)")
