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


def _from_heap(memory, size=3 << 30) -> bool:
    """Whether glibc serves a ``size`` block from the heap (below the program break) rather
    than mapping it afresh. Larger than any pad (the heap's free top could serve a smaller one
    either way); never touched, so it costs address space only."""
    import ctypes
    libc = memory._libc()
    libc.malloc.restype = libc.sbrk.restype = ctypes.c_void_p
    libc.malloc.argtypes, libc.sbrk.argtypes, libc.free.argtypes = (ctypes.c_size_t,), (ctypes.c_ssize_t,), \
        (ctypes.c_void_p,)
    block = libc.malloc(size)
    try:
        return block is not None and block < libc.sbrk(0)
    finally:
        libc.free(block)


def test_heap_only_serves_big_blocks_from_the_heap_and_restores(memory, monkeypatch):
    from depth_cloud.glue import preferences
    assert not _from_heap(memory)  # glibc maps a 64 MB block afresh
    with memory.heap_only():
        with memory.heap_only():  # nested: the outermost block restores
            assert memory.heap_only_depth() == 2
        assert memory.heap_only_depth() == 1 and _from_heap(memory)
    assert memory.heap_only_depth() == 0 and not _from_heap(memory)
    with pytest.raises(RuntimeError), memory.heap_only():
        raise RuntimeError("a build that fails")
    assert memory.heap_only_depth() == 0 and not _from_heap(memory)
    monkeypatch.setattr(preferences.FALLBACK, "keep_memory_mb", 0.0)
    with memory.heap_only():  # the preference at 0: the allocator is left alone
        assert memory.heap_only_depth() == 0 and not _from_heap(memory)


def test_builds_and_first_visits_run_heap_only(memory, scene, tmp_path, monkeypatch):
    """A build (every surface goes through glue/build) and a playback frame's first visit make
    their arrays inside ``heap_only``."""
    import bpy
    import numpy as np
    import OpenEXR

    from depth_cloud.glue import datablock
    from depth_cloud.glue.sequence import playback
    seen = []
    real = datablock.pointcloud_from_point_set

    def spy(*args, **kw):
        seen.append(memory.heap_only_depth())
        return real(*args, **kw)
    monkeypatch.setattr(datablock, "pointcloud_from_point_set", spy)
    test_a_build_keeps_memory_for_the_next(memory, scene, tmp_path)
    assert seen == [1] and memory.heap_only_depth() == 0

    h, w = 12, 16
    for f in (1, 2, 3):
        chans = {"Z": np.full((h, w), 3.0 + f, np.float32), **{c: np.full((h, w), 0.5, np.float32) for c in "RGB"}}
        OpenEXR.File([OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage},
                                   chans)]).write(str(tmp_path / f"seq_{f:04d}.exr"))
    scene.render.resolution_x, scene.render.resolution_y = w, h
    scene.frame_start, scene.frame_end = 1, 3
    scene.depth_cloud.exr_path = str(tmp_path / "seq_####.exr")
    scene.depth_cloud.sequence.mode = 'LAZY'
    scene.frame_set(1)
    assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
    visits = []
    real_visit = playback._visit

    def visit(*args):
        visits.append(memory.heap_only_depth())
        return real_visit(*args)
    monkeypatch.setattr(playback, "_visit", visit)
    scene.frame_set(2)
    scene.frame_set(3)
    assert visits and set(visits) == {1} and memory.heap_only_depth() == 0
    obj = next(o for o in scene.objects if o.depth_cloud.sequence.is_sequence)
    assert obj.data.name.endswith("frame 3") and len(obj.data.vertices) == w * h  # the frame was shown
