"""The read-ahead with several workers (core/sequence/framecache.Prefetcher): every wanted frame
read once, in the order asked, taken once; ``take`` waits for a frame in flight; errors handed
over; ``stop`` joins every thread; no read runs while the main thread holds the readers
(core/sequence/reader_hold.py); each read's own decode threads share the cores
(core/exr/threads.py) without changing a pixel."""
import collections
import os
import threading
import time

import numpy as np
import pytest
from test_exr_parts import many_pass_file, position_file

from depth_cloud.core.errors import SourceFileError
from depth_cloud.core.exr import parts as exr_parts
from depth_cloud.core.exr import threads as exr_threads
from depth_cloud.core.exr.header import read_exr_header
from depth_cloud.core.exr.read import _open_openexr, read_exr
from depth_cloud.core.sequence import reader_hold
from depth_cloud.core.sequence.framecache import Prefetcher

WAIT = 10.0


def wait_until(check, timeout=WAIT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.002)
    return False


class Reader:
    """A read that records who read what and when; frames in ``gates`` wait for their event."""

    def __init__(self, delay=0.0, fail=()):
        self.lock = threading.Lock()
        self.reads = collections.Counter()
        self.order = []
        self.threads = set()
        self.running = 0
        self.most_running = 0
        self.delay = delay
        self.fail = set(fail)
        self.gates = {}

    def __call__(self, frame):
        with self.lock:
            self.reads[frame] += 1
            self.order.append(frame)
            self.threads.add(threading.current_thread().name)
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            gate = self.gates.get(frame)
            if gate is not None:
                assert gate.wait(WAIT)
            if self.delay:
                time.sleep(self.delay)
            if frame in self.fail:
                raise SourceFileError(f"f{frame}.exr", "file not found")
            return f"passes {frame}"
        finally:
            with self.lock:
                self.running -= 1


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_every_wanted_frame_is_read_once_by_the_workers(workers):
    read = Reader(delay=0.02, fail={7})
    pre = Prefetcher(read, workers=workers)
    frames = list(range(1, 13))
    try:
        pre.want(frames)
        assert wait_until(lambda: all(pre.ready(f) for f in frames))
        for f in frames:
            passes, err = pre.take(f)
            if f == 7:
                assert passes is None and isinstance(err, SourceFileError) and "f7.exr" in str(err)
            else:
                assert (passes, err) == (f"passes {f}", None)
            assert pre.take(f) is None  # taken once
        assert read.reads == collections.Counter(frames)  # each exactly once
        assert len(read.threads) == workers and read.most_running <= workers
        assert all(name.startswith("depth_cloud_prefetch") for name in read.threads)
        if workers == 1:
            assert read.order == frames
    finally:
        pre.stop()


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_read_side_by_side_in_the_order_asked(workers):
    read = Reader()
    frames = [9, 3, 5, 1, 8, 2, 7, 4]
    read.gates = {f: threading.Event() for f in frames}
    pre = Prefetcher(read, workers=workers)
    try:
        pre.want(frames)
        # the first ``workers`` frames asked for are read at the same time, the others wait
        assert wait_until(lambda: pre.in_flight() == set(frames[:workers]))
        time.sleep(0.05)
        assert pre.in_flight() == set(frames[:workers]) and read.running == workers
        assert sorted(read.order) == sorted(frames[:workers])
        read.gates[frames[0]].set()  # one worker is free: it takes the next frame asked for
        assert wait_until(lambda: frames[workers] in pre.in_flight())
        for gate in read.gates.values():
            gate.set()
        assert wait_until(lambda: all(pre.ready(f) for f in frames))
        assert read.reads == collections.Counter(frames)
        # reads start in the order asked (a worker takes the next pending frame)
        assert sorted(read.order[:workers]) == sorted(frames[:workers])
        assert set(read.order[workers:workers + 1]) == {frames[workers]}
    finally:
        pre.stop()


def test_take_waits_for_a_frame_in_flight_and_skips_a_pending_one():
    read = Reader()
    read.gates = {1: threading.Event(), 2: threading.Event()}
    pre = Prefetcher(read, workers=2)
    try:
        pre.want([1, 2, 3])
        assert wait_until(lambda: pre.in_flight() == {1, 2})
        got = []
        taker = threading.Thread(target=lambda: got.append(pre.take(2)))
        taker.start()
        taker.join(0.2)
        assert taker.is_alive() and not got  # waits: frame 2 is being read
        assert pre.take(3) is None  # pending, not started: the caller reads it itself, never read here
        read.gates[2].set()
        taker.join(WAIT)
        assert got == [("passes 2", None)]
        read.gates[1].set()
        assert wait_until(lambda: pre.ready(1))
        time.sleep(0.05)
        assert read.reads == collections.Counter([1, 2])  # frame 3 was taken away before a read
    finally:
        pre.stop()


def test_results_are_kept_only_for_wanted_frames():
    read = Reader()
    read.gates = {1: threading.Event(), 2: threading.Event()}
    pre = Prefetcher(read, workers=2)
    try:
        pre.want([1, 2, 3, 4])
        assert wait_until(lambda: pre.in_flight() == {1, 2})
        pre.want([2, 5])  # 1 (in flight) and 3, 4 (pending) no longer wanted
        for gate in read.gates.values():
            gate.set()
        assert wait_until(lambda: pre.ready(2) and pre.ready(5))
        time.sleep(0.05)
        assert not pre.ready(1) and not pre.ready(3) and not pre.ready(4)
        assert read.reads == collections.Counter([1, 2, 5])  # in-flight 2 not read again
        pre.want([6])
        assert not pre.ready(2) and not pre.ready(5)  # read but no longer wanted: dropped
    finally:
        pre.stop()


def test_stop_joins_every_worker():
    read = Reader(delay=0.05)
    pre = Prefetcher(read, workers=3)
    pre.want(range(10))
    assert wait_until(lambda: read.running == 3)
    threads = list(pre._threads)
    assert len(threads) == 3
    pre.stop()
    assert not any(t.is_alive() for t in threads)
    assert not pre.ready(0)
    pre.want([20])  # stopped: nothing more is read
    time.sleep(0.05)
    assert 20 not in read.reads


def test_workers_start_only_when_there_is_work_for_them():
    read = Reader()
    pre = Prefetcher(read, workers=4)
    try:
        pre.want([1])
        assert wait_until(lambda: pre.ready(1))
        assert len(pre._threads) == 1
        pre.want([2, 3])
        assert wait_until(lambda: pre.ready(2) and pre.ready(3))
        assert 1 <= len(pre._threads) <= 3
    finally:
        pre.stop()


def test_no_read_runs_while_the_readers_are_held():
    """Several readers: every read in flight ends before a hold starts, none starts during it."""
    read = Reader(delay=0.003)
    inside = threading.Event()
    broken = []
    real = read.__call__

    def checked(frame):
        if inside.is_set():
            broken.append(frame)
        try:
            return real(frame)
        finally:
            if inside.is_set():
                broken.append(frame)

    pre = Prefetcher(checked, workers=4)
    try:
        frames = list(range(200))
        pre.want(frames)
        holds = 0
        while not all(pre.ready(f) for f in frames) and holds < 60:
            time.sleep(0.004)
            with reader_hold.readers_held():
                inside.set()
                assert read.running == 0 and reader_hold.state() == (1, 0)
                time.sleep(0.004)
                assert read.running == 0
                inside.clear()
            holds += 1
        assert holds > 3 and not broken
        assert wait_until(lambda: all(pre.ready(f) for f in frames), timeout=30)
        assert read.reads == collections.Counter(frames)
        assert reader_hold.state() == (0, 0)
    finally:
        pre.stop()


def test_reads_in_flight_share_the_cores_for_their_decode_threads():
    cores = min(os.cpu_count() or 1, exr_threads.MAX_THREADS)
    seen = {}
    barrier = threading.Barrier(2, timeout=WAIT)

    def read(frame):
        if frame < 2:
            barrier.wait()  # both in flight
        seen[frame] = exr_threads.decode_threads(True), exr_threads.decode_threads(False)
        if frame < 2:
            barrier.wait()
        return frame

    pre = Prefetcher(read, workers=2)
    try:
        pre.want([0, 1])
        assert wait_until(lambda: pre.ready(0) and pre.ready(1))
        share = max(1, (os.cpu_count() or 1) // 2)
        assert seen[0] == seen[1] == (min(cores, share), 1)
        pre.want([5])  # alone in flight: every core
        assert wait_until(lambda: pre.ready(5))
        assert seen[5] == (cores, 1)
    finally:
        pre.stop()
    assert exr_threads.decode_threads(True) == cores  # this thread's reads are not limited


def test_limited_nests_and_is_per_thread():
    cores = min(os.cpu_count() or 1, exr_threads.MAX_THREADS)
    with exr_threads.limited(3):
        assert exr_threads.decode_threads() == min(cores, 3)
        with exr_threads.limited(8):
            assert exr_threads.decode_threads() == min(cores, 3)  # never more than the outer limit
        with exr_threads.limited(0):
            assert exr_threads.decode_threads() == 1
        other = []
        t = threading.Thread(target=lambda: other.append(exr_threads.decode_threads()))
        t.start()
        t.join()
        assert other == [cores]
    assert exr_threads.decode_threads() == cores


@pytest.mark.parametrize("reader", ["numpy", "parts", "auto", "safe"])
def test_fewer_decode_threads_give_the_same_pixels(tmp_path, reader, monkeypatch):
    """Chosen parts and row bands read on one thread equal the same reads on every core."""
    pools = []
    real_pool = exr_parts.ThreadPoolExecutor

    def pool(n, *args, **kwargs):
        pools.append(n)
        return real_pool(n, *args, **kwargs)

    monkeypatch.setattr(exr_parts, "ThreadPoolExecutor", pool)
    if reader == "safe":
        monkeypatch.setenv("DEPTH_CLOUD_EXR_READER", "safe")
    path = many_pass_file(tmp_path, "ZIP", w=61, h=120)
    names = ["ViewLayer.Combined.R", "ViewLayer.Combined.A", "ViewLayer.Depth.Z", "ViewLayer.Normal.Y"]
    kind = "auto" if reader == "safe" else reader
    every = read_exr(path, channels=names, reader=kind)
    with exr_threads.limited(1):
        one = read_exr(path, channels=names, reader=kind)
    for n in names:
        np.testing.assert_array_equal(one.get(n), every.get(n), err_msg=n)
    if reader in ("numpy", "parts") and exr_threads.decode_threads() > 1:
        banded = position_file(tmp_path, "ZIP", "multipart")
        opener = _open_openexr(True)
        bands = exr_parts.read_row_bands(read_exr_header(banded), 1, ["ViewLayer.Position.X"], opener, reader=reader)
        del pools[:]
        with exr_threads.limited(1):
            rows, planes = exr_parts.read_row_bands(read_exr_header(banded), 1, ["ViewLayer.Position.X"], opener,
                                                    reader=reader)
        assert not pools  # one thread: no pool at all
        np.testing.assert_array_equal(rows, bands[0])
        np.testing.assert_array_equal(planes["ViewLayer.Position.X"], bands[1]["ViewLayer.Position.X"])
