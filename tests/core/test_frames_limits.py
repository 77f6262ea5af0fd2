"""Frame ranges are counted before they are expanded (issue 24): a clear FrameRangeError
(a SettingsError and a FramePatternError) naming the setting and the limit."""
import pytest

from depth_cloud.core.errors import FramePatternError, FrameRangeError, SettingsError
from depth_cloud.core.frames import MAX_FRAMES, frame_numbers, parse_frame_range


def test_limit_names_the_setting():
    with pytest.raises(FrameRangeError, match=r"--frames: .*3,000,000 frames.*2,500,000") as info:
        parse_frame_range("1-3000000", "--frames")
    assert isinstance(info.value, SettingsError) and isinstance(info.value, FramePatternError)
    assert len(parse_frame_range(f"1-{MAX_FRAMES}")) == MAX_FRAMES


def test_pieces_add_up():
    with pytest.raises(FrameRangeError):
        parse_frame_range("1-2000000,3000001-4000000")


def test_frame_numbers_counts_first():
    with pytest.raises(FrameRangeError, match="Start/End"):
        frame_numbers(-2**31, -1, setting="Start/End")
    assert frame_numbers(1, 10, 3) == [1, 4, 7, 10]


@pytest.mark.parametrize("text", ["9" * 5000, "1-" + "9" * 5000, "1," * 60000])
def test_absurd_text_is_a_typed_error(text):
    with pytest.raises(FramePatternError):
        parse_frame_range(text)
