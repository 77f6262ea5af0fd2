"""Compact cached frames, the LRU byte budget and the read-ahead thread (pure core)."""
import threading
import time

import numpy as np
import pytest

from depth_cloud.core.camera.model import CameraModel
from depth_cloud.core.errors import SourceFileError
from depth_cloud.core.points.inputs import FramePasses
from depth_cloud.core.points.unproject import unproject
from depth_cloud.core.sequence.framecache import (
    COLOR_TOLERANCE,
    NORMAL_TOLERANCE_DEG,
    CachedFrame,
    FrameCache,
    Prefetcher,
    decode_colors,
    decode_normals,
    encode_colors,
    encode_normals,
)


def _look(location, yaw):
    c, s = np.cos(yaw), np.sin(yaw)
    m = np.eye(4)
    m[:3, :3] = [[c, 0, s], [0, 1, 0], [-s, 0, c]]  # turned about +Y
    m[:3, 3] = location
    return m


def _point_set(projection="PERSP"):
    h, w = 30, 40
    cam = CameraModel(cam_to_world=_look((1.0, 2.0, 3.0), 0.3), width=w, height=h, projection=projection,
                      lens=30.0, ortho_scale=5.0, shift_x=0.05)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    depth = 4.0 + 0.02 * xx + 0.05 * yy
    depth[0, :5] = 1e10  # background
    rng = np.random.default_rng(1)
    color = rng.uniform(-0.2, 1.4, (h, w, 4)).astype(np.float32)
    passes = FramePasses(path="mem.exr", frame_size=(w, h), depth=depth, depth_channel="Z", color=color)
    return unproject(passes, cam), cam


def test_colors_round_trip_within_tolerance():
    rng = np.random.default_rng(0)
    c = rng.uniform(-0.5, 1.5, (10000, 4)).astype(np.float32)
    c[:4] = [[0, 0, 0, 0], [1, 1, 1, 1], [1e-4, 1e-3, 0.01, 0.5], [0.9999, 0.5, 0.25, 0.125]]
    codes = encode_colors(c)
    assert codes.dtype == np.uint8 and codes.shape == c.shape
    back = decode_colors(codes)
    want = np.clip(c, 0, 1)
    assert np.abs(back - want).max() <= COLOR_TOLERANCE
    # darks are finer than 8-bit linear
    assert np.abs(back[2, :3] - want[2, :3]).max() < 0.5 / 255


def test_codes_of_frames_larger_than_one_block_and_of_nan_and_inf():
    """The encoders work in blocks: a frame of several blocks (not a whole number of them)
    gives the codes of the whole-array formula; NaN colors give code 0, infinities 255 / 0."""
    from depth_cloud.core.points import gather
    rng = np.random.default_rng(4)
    n = gather.BLOCK * 3 + 777
    c = rng.uniform(-0.5, 1.5, (n, 4)).astype(np.float32)
    c[11] = [np.nan, np.inf, -np.inf, 0.25]
    want = np.sqrt(np.clip(np.nan_to_num(c, nan=0.0), 0, 1)) * np.float32(255) + np.float32(0.5)
    codes = encode_colors(c)
    np.testing.assert_array_equal(codes, want.astype(np.uint8))
    assert list(codes[11]) == [0, 255, 0, int(np.sqrt(np.float32(0.25)) * 255 + 0.5)]
    v = rng.normal(size=(n, 3)).astype(np.float32) * 0.7
    want_n = np.rint(np.clip(v, -1, 1) * np.float32(32767)).astype(np.int16)
    np.testing.assert_array_equal(encode_normals(v), want_n)
    assert encode_colors(np.zeros((0, 4), np.float32)).shape == (0, 4)


@pytest.mark.parametrize("projection", ["PERSP", "ORTHO"])
def test_cached_frame_radius_and_size(projection):
    ps, cam = _point_set(projection)
    entry = CachedFrame.from_point_set(7, ps, cam)
    assert entry.nbytes == 16 * len(ps)  # float32 positions + 4 bytes of color
    np.testing.assert_allclose(entry.radius(), ps.radius, rtol=2e-5)
    np.testing.assert_array_equal(entry.positions, ps.positions)


def _angle_deg(a, b):
    """Angle between rows of ``a`` and ``b`` (atan2: exact near 0, unlike arccos)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=1), (a * b).sum(1)))


def test_normals_round_trip_within_tolerance():
    rng = np.random.default_rng(2)
    n = rng.normal(size=(200000, 3)).astype(np.float32)
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    n[:7] = [[1, 0, 0], [0, -1, 0], [0, 0, 1], [0, 0, 0], [0.57735, 0.57735, 0.57735], [-1, 0, 0], [0, 0, -1]]
    codes = encode_normals(n)
    assert codes.dtype == np.int16 and codes.shape == n.shape
    back = decode_normals(codes)
    assert back.dtype == np.float32
    assert np.abs(back - n).max() <= 0.5 / 32767 + 1e-7
    ok = np.linalg.norm(n, axis=1) > 0
    angle = _angle_deg(back[ok], n[ok])
    print(f"int16 normals: max {angle.max():.5f} deg, p99 {np.percentile(angle, 99):.5f} deg "
          f"(bound {NORMAL_TOLERANCE_DEG:.5f})")
    assert angle.max() <= NORMAL_TOLERANCE_DEG < 0.01
    assert not back[3].any()  # a missing normal stays zero


def test_cached_frame_keeps_normals_and_attributes_and_counts_them():
    ps, cam = _point_set()
    n = len(ps)
    rng = np.random.default_rng(3)
    nrm = rng.normal(size=(n, 3)).astype(np.float32)
    ps.normals = nrm / np.linalg.norm(nrm, axis=1, keepdims=True)
    ps.attributes["rough"] = rng.uniform(0, 1, n).astype(np.float32)
    big = rng.uniform(0, 1, (n, 8)).astype(np.float32)
    ps.attributes["tint"] = big[:, :4]  # a view of a larger array: the cache keeps a copy of its own
    ps.attributes["coverage"] = rng.uniform(0.5, 1, n).astype(np.float32)
    entry = CachedFrame.from_point_set(3, ps, cam)
    assert entry.nbytes == (16 + 6 + 4 + 16 + 4) * n
    assert entry.attributes["tint"].base is None and entry.attributes["tint"].flags.c_contiguous
    for name, values in ps.attributes.items():
        np.testing.assert_array_equal(entry.attributes[name], values)  # exactly the pass values
    assert _angle_deg(entry.normals(), ps.normals).max() <= NORMAL_TOLERANCE_DEG
    cache = FrameCache(entry.nbytes)
    assert cache.put(("a", 3), entry) and cache.nbytes == entry.nbytes
    plain = CachedFrame.from_point_set(3, _point_set()[0], cam)
    assert plain.normals() is None and plain.attributes == {} and plain.nbytes == 16 * n


def test_cache_respects_budget_and_lru_order():
    ps, cam = _point_set()
    entry = CachedFrame.from_point_set(1, ps, cam)
    cache = FrameCache(int(2.5 * entry.nbytes))
    for f in (1, 2, 3):
        assert cache.put(("a", f), CachedFrame.from_point_set(f, ps, cam))
        assert cache.nbytes <= cache.budget
    assert cache.keys() == [("a", 2), ("a", 3)] and cache.evictions == 1
    assert cache.get(("a", 2)) is not None  # 2 becomes the most recently used
    cache.put(("a", 4), entry)
    assert cache.keys() == [("a", 2), ("a", 4)]
    assert cache.peak_bytes <= cache.budget
    small = FrameCache(entry.nbytes - 1)
    assert not small.put(("a", 1), entry) and len(small) == 0  # larger than the whole budget
    cache.set_budget(entry.nbytes)
    assert len(cache) == 1 and cache.nbytes <= entry.nbytes
    cache.discard_where(lambda k: k[0] == "a")
    assert len(cache) == 0 and cache.nbytes == 0


def test_prefetcher_reads_ahead_on_a_thread_and_hands_errors_over():
    seen = []

    def read(frame):
        seen.append((frame, threading.current_thread().name))
        if frame == 3:
            raise SourceFileError(f"f{frame}.exr", "file not found")
        return f"passes {frame}"

    pre = Prefetcher(read)
    try:
        pre.want([2, 3])
        for _ in range(500):
            if pre.ready(2) and pre.ready(3):
                break
            time.sleep(0.01)
        assert pre.take(2) == ("passes 2", None)
        passes, err = pre.take(3)
        assert passes is None and isinstance(err, SourceFileError)
        assert sorted(seen) == [(2, "depth_cloud_prefetch"), (3, "depth_cloud_prefetch")]
        assert pre.take(2) is None and pre.take(9) is None  # taken once; never asked for
        pre.want([5])
        pre.want([6])  # 5 no longer wanted: its result is dropped
        for _ in range(500):
            if pre.ready(6):
                break
            time.sleep(0.01)
        assert not pre.ready(5) and pre.take(6) == ("passes 6", None)
    finally:
        pre.stop()


def test_extras_share_the_budget_and_give_way_to_frames():
    class Sized:
        def __init__(self, n):
            self.nbytes = n
    released = []
    cache = FrameCache(100)
    assert cache.put("a", Sized(30)) and cache.put("b", Sized(30))
    assert cache.put_extra("a", 20, released.append) and cache.put_extra("b", 20, released.append)
    assert cache.nbytes == 100 and cache.extra_bytes == 40 and cache.keys() == ["a", "b"]
    cache.get("a")  # a use: "b"'s extra is now the least recently used
    assert cache.put_extra("c", 15, released.append)  # an extra makes room by dropping extras only
    assert released == ["b"] and sorted(cache.keys()) == ["a", "b"] and cache.nbytes == 95
    assert not cache.put_extra("d", 41, released.append)  # more than the frames leave
    assert cache.put("e", Sized(30))  # a frame drops extras first ...
    assert released == ["b", "a", "c"] and cache.keys() == ["b", "a", "e"] and cache.extra_bytes == 0
    assert cache.put("f", Sized(30))  # ... then frames, least recently used first
    assert cache.keys() == ["a", "e", "f"] and cache.nbytes == 90 <= cache.budget
    assert cache.put_extra("f", 10, released.append)
    cache.put("f", Sized(30))  # replacing a frame keeps its extra
    assert cache.has_extra("f")
    cache.discard("f")  # discarding a frame releases its extra
    assert released[-1] == "f" and cache.nbytes == 60 and cache.peak_bytes <= cache.budget

