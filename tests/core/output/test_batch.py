"""Farm batches (pure core): chunk splitting, output names, build planning."""
import pytest

from depth_cloud import cli
from depth_cloud.core.errors import FramePatternError
from depth_cloud.core.frames import frame_ranges_text, parse_frame_range
from depth_cloud.core.output import batch


@pytest.mark.parametrize("frames_text", ["1-6", "1-240x3", "7", "1-10,20,30-40x5", "-5-5", "100-101"])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 50])
def test_chunks_partition_the_frame_list(frames_text, n):
    frames = parse_frame_range(frames_text)
    chunks = [batch.chunk_frames(frames, k, n) for k in range(1, n + 1)]
    # together exactly the full list, in order, each frame once
    assert [f for c in chunks for f in c] == frames
    # contiguous slices of nearly equal size
    sizes = [len(c) for c in chunks]
    assert max(sizes) - min(sizes) <= 1
    # deterministic: the same split every time, on any machine
    assert chunks == [batch.chunk_frames(list(frames), k, n) for k in range(1, n + 1)]


def test_chunk_count_bounds_task_size():
    for count in (1, 5, 6, 80, 81):
        for size in (1, 2, 10):
            n = batch.chunk_count(count, size)
            assert all(len(batch.chunk_frames(range(count), k, n)) <= size for k in range(1, n + 1))
            assert n == 1 or (n - 1) * size < count  # and no more chunks than needed


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "-1/2", "1/2/3"])
def test_bad_chunk_is_refused_with_its_text(text):
    with pytest.raises(FramePatternError, match="bad chunk"):
        batch.parse_chunk(text)


def test_chunk_parsing():
    assert batch.parse_chunk("2/5") == (2, 5)
    assert batch.parse_chunk(" 1 / 1 ") == (1, 1)


def test_output_names():
    assert batch.frame_output_path("out/cloud_####.ply", 12) == "out/cloud_0012.ply"
    assert batch.frame_output_path("out/cloud_%05d.ply", 7) == "out/cloud_00007.ply"
    assert batch.range_output_path("clouds_####.blend", 1, 80) == "clouds_0001-0080.blend"
    assert batch.range_output_path("v#/c_%03d.usdc", 5, 9) == "v#/c_005-009.usdc"
    assert batch.range_output_path("clouds.blend", 1, 80) == "clouds.blend"
    assert frame_ranges_text([1, 2, 3, 7, 9, 10]) == "1-3,7,9-10"


def test_build_plan():
    assert cli.plan_outputs("ply", "o/c_##.ply", [1, 2]) == [([1], "o/c_01.ply"), ([2], "o/c_02.ply")]
    assert cli.plan_outputs("ply", "o/c.ply", [4]) == [([4], "o/c.ply")]
    assert cli.plan_outputs("blend", "c_####.blend", [3, 6, 9], chunked=True) == [([3, 6, 9], "c_0003-0009.blend")]
    assert cli.plan_outputs("blend", "c.blend", [3, 6]) == [([3, 6], "c.blend")]
    with pytest.raises(cli.UsageError, match="placeholder"):
        cli.plan_outputs("ply", "o/c.ply", [1, 2])
    with pytest.raises(cli.UsageError, match="every chunk would write the same file"):
        cli.plan_outputs("blend", "c.blend", [1, 2], chunked=True)
    assert cli.output_format("x.USDC") == "usd" and cli.output_format("x.ply") == "ply"
    with pytest.raises(cli.UsageError, match="unknown extension"):
        cli.output_format("x.obj")
