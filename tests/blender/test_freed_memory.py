"""Freed memory kept for the next cloud (glue/memory.py): glibc's M_TOP_PAD raised before
Blender data is made, growing with the clouds built, capped by the add-on preference, and
left alone when the preference is 0. (What it buys is measured by bench/bench_floor.py.)"""
import math
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")


@pytest.fixture
def memory(dc, monkeypatch):
    from depth_cloud.glue import memory, preferences
    if not memory._libc():
        pytest.skip("not glibc")
    monkeypatch.setitem(memory._state, "pad", 0)  # as in a fresh process
    monkeypatch.setattr(preferences.FALLBACK, "keep_memory_mb", preferences.DEFAULT_KEEP_MB)
    return memory


def test_pad_grows_with_the_clouds_up_to_the_preference(memory):
    from depth_cloud.glue import preferences
    assert memory.keep_for(1000) == memory.MIN_PAD  # small clouds: the minimum pad
    assert memory.keep_for(3_000_000) == memory.BYTES_PER_POINT * 3_000_000  # grows with the cloud
    assert memory.keep_for(1000) == memory.BYTES_PER_POINT * 3_000_000  # never shrinks
    limit = int(preferences.DEFAULT_KEEP_MB * (1 << 20))
    assert memory.keep_for(100_000_000) == limit  # capped by the preference
    assert memory.pad_in_force() == limit


def test_zero_leaves_the_allocator_alone_and_nan_is_the_default(memory, monkeypatch):
    from depth_cloud.glue import preferences
    monkeypatch.setattr(preferences.FALLBACK, "keep_memory_mb", 0.0)
    assert memory.keep_for(2_000_000) == 0
    assert memory.pad_in_force() == 0
    monkeypatch.setattr(preferences.FALLBACK, "keep_memory_mb", math.nan)
    assert memory.limit_bytes() == int(preferences.DEFAULT_KEEP_MB * (1 << 20))
    monkeypatch.setattr(preferences.FALLBACK, "keep_memory_mb", 1e12)
    assert memory.limit_bytes() == 2047 << 20  # mallopt takes an int


def test_a_build_keeps_memory_for_the_next(memory, scene, tmp_path):
    """A build raises the pad before its datablock is made (the points are what they were:
    every other test checks them against Cycles)."""
    import numpy as np
    import OpenEXR

    from depth_cloud import api
    h, w = 24, 32
    z = np.full((h, w), 4.0, np.float32)
    path = str(tmp_path / "flat.exr")
    chans = {"Z": z, **{c: np.full((h, w), 0.25, np.float32) for c in "RGB"}}
    OpenEXR.File([OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage},
                               chans)]).write(path)
    import bpy
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    scene.collection.objects.link(cam)
    scene.camera = cam
    scene.render.resolution_x, scene.render.resolution_y = w, h
    assert memory.pad_in_force() == 0
    ob = api.build_point_cloud(scene, source=path)
    assert len(ob.data.points) == w * h
    assert memory.pad_in_force() == memory.MIN_PAD
