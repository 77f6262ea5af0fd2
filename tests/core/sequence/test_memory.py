"""Memory statements of builds that keep a datablock per frame (core/memory.py)."""
import pytest

from depth_cloud.core.errors import SettingsError
from depth_cloud.core.sequence import memory


def test_machine_memory_is_read():
    total = memory.total_memory()
    assert total is None or total > 64 * memory.MB


def test_estimates_and_refusal():
    assert memory.points_upper_bound(1920 * 1080, 1) == 2_073_600
    assert memory.points_upper_bound(1920 * 1080, 2) == 518_400
    assert memory.points_upper_bound(10, 3) == 2  # ceil(10 / 9)
    assert memory.datablock_estimate(1000, 3) == 96_000
    assert memory.datablock_estimate(1000, 3, pixel_ids=True) == 132_000
    line = memory.check_fits(50 * memory.MB, "Keyed Objects of 2 frames", "use the cache", total=1024 * memory.MB)
    assert "50 MB" in line and "1,024 MB" in line
    with pytest.raises(SettingsError, match="more than this machine's 1,024 MB of memory; use the cache"):
        memory.check_fits(2048 * memory.MB, "Keyed Objects of 2 frames", "use the cache", total=1024 * memory.MB)
    monkey = memory.total_memory
    try:
        memory.total_memory = lambda: None
        assert "not checked" in memory.check_fits(10 ** 15, "x", "y")
    finally:
        memory.total_memory = monkey
