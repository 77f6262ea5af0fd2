"""Compact per-frame point data for sequence playback, a memory-bounded LRU cache of it,
and a background reader that decodes upcoming frames' EXRs ahead of the playhead.

A cached frame costs **16 bytes per point** for positions and colors: float32 positions
(12 B) and RGBA as 8-bit (4 B). Each channel is stored as ``round(255 * sqrt(value))`` (a gamma-2 code: finer than
sRGB in the darks, decoded with a multiplication and a square over contiguous memory instead
of a lookup); values are clipped to 0..1. The point radius is not stored: for perspective and orthographic
cameras it is an affine function of the position (half the pixel footprint at the point's
planar depth), kept as four numbers per frame. Other cameras store it as float16 (+2 B).

Frames read with a Normal pass keep each point's ``normal`` as three int16 codes (+6 B,
``round(32767 * component)``: within :data:`NORMAL_TOLERANCE_DEG` of the float normal, decoded
with one multiplication); named passes and a mask's ``coverage`` are kept as the float32 (or
integer) arrays the build made (+4 B per channel), so they equal the EXR's pixels exactly.

Pure numpy + threading: no Blender types.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from ..camera.model import ORTHOGRAPHIC, PERSPECTIVE, CameraModel
from ..diagnostics import Diagnostics
from ..exr import threads as exr_threads
from ..points import gather
from ..points.footprint import radius_scale
from .reader_hold import reader_turn

#: Radius of points whose footprint is unknown (a position pass read without a camera).
DEFAULT_RADIUS = 0.005


def _encode_blocks(values, dtype, low: float, high: float, scale: float, gamma: bool = False,
                   half_up: bool = False) -> np.ndarray:
    """``values`` (float, (N, k)) clipped to ``low..high`` (NaN -> ``low``), square-rooted when
    ``gamma``, times ``scale``, rounded (``half_up``, else to nearest even) and cast to
    ``dtype``: worked out ``gather.BLOCK`` points at a time through one small float32 buffer,
    so the only new memory is the result (a whole-size float temporary costs its page faults
    on every frame)."""
    flat = np.asarray(values, dtype=np.float32).reshape(-1)
    out = np.empty(flat.shape, dtype)
    step = gather.BLOCK * (np.shape(values)[-1] if np.ndim(values) > 1 else 1)
    tmp = np.empty(min(step, flat.size), np.float32)
    for start in range(0, flat.size, step):
        stop = min(flat.size, start + step)
        t = tmp[:stop - start]
        np.fmax(flat[start:stop], np.float32(low), out=t)  # fmax: NaN gives the other operand
        np.fmin(t, np.float32(high), out=t)
        if gamma:
            np.sqrt(t, out=t)
        t *= np.float32(scale)
        if half_up:
            t += np.float32(0.5)  # then truncated by the cast
        else:
            np.rint(t, out=t)
        np.copyto(out[start:stop], t, casting="unsafe")
    return out.reshape(np.shape(values))


def encode_colors(colors: np.ndarray) -> np.ndarray:
    """Scene-linear RGBA float (N, 4) -> (N, 4) uint8 gamma-2 codes (NaN -> 0)."""
    return _encode_blocks(colors, np.uint8, 0.0, 1.0, 255.0, gamma=True, half_up=True)


def decode_colors(codes: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(N, 4) uint8 codes -> (N, 4) float32 scene-linear RGBA (the inverse of encode)."""
    if out is None:
        out = np.empty(codes.shape, dtype=np.float32)
    np.multiply(codes, np.float32(1.0 / 255.0), out=out, dtype=np.float32)
    np.multiply(out, out, out=out)
    return out


#: Largest error of a decoded channel in 0..1 (half a code step at the top of the range).
COLOR_TOLERANCE = 1.0 / 255.0 + 0.25 / 255.0 ** 2


_NORMAL_SCALE = 32767.0
#: Largest angle (degrees) between a decoded normal and the unit normal it encodes: each
#: component is off by at most half a code step, 0.5/32767, so the vector by sqrt(3) times that.
NORMAL_TOLERANCE_DEG = float(np.degrees(np.sqrt(3.0) * 0.5 / _NORMAL_SCALE))


def encode_normals(normals: np.ndarray) -> np.ndarray:
    """Unit (or zero) float normals (N, 3) -> (N, 3) int16 codes ``round(32767 * n)`` (a NaN gives -32767;
    core.attributes.unit_vectors makes none)."""
    return _encode_blocks(normals, np.int16, -1.0, 1.0, _NORMAL_SCALE)


def decode_normals(codes: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(N, 3) int16 codes -> (N, 3) float32 normals (zero codes stay zero normals)."""
    if out is None:
        out = np.empty(codes.shape, dtype=np.float32)
    np.multiply(codes, np.float32(1.0 / _NORMAL_SCALE), out=out, dtype=np.float32)
    return out


def _owned(values) -> np.ndarray:
    """``values`` as a contiguous array of its own (a view would keep its whole base alive
    while the cache counted only the view)."""
    a = np.ascontiguousarray(values)
    return a if a.base is None else a.copy()


def radius_plane(camera: CameraModel | None):
    """``(a, c)`` with ``radius = position @ a + c`` (footprint.point_radius), or None."""
    if camera is None or camera.projection not in (PERSPECTIVE, ORTHOGRAPHIC):
        return None
    half = radius_scale(camera)
    if camera.projection == ORTHOGRAPHIC:
        return np.zeros(3, np.float32), float(half)
    m = camera.cam_to_world
    forward = -m[:3, 2] / np.linalg.norm(m[:3, 2])
    return (forward * half).astype(np.float32), float(-half * forward @ m[:3, 3])


@dataclass
class CachedFrame:
    """One frame's points as the player keeps them (see the module doc for the layout)."""

    frame: int
    positions: np.ndarray  # (N, 3) float32
    colors: np.ndarray  # (N, 4) uint8 codes
    plane: tuple | None = None  # (a (3,) float32, c) -> radius = positions @ a + c
    radius16: np.ndarray | None = None  # (N,) float16 when no plane describes the radius
    normal_codes: np.ndarray | None = None  # (N, 3) int16 (encode_normals) when the frame has normals
    attributes: dict = field(default_factory=dict)  # name -> (N,) or (N, k) array (named passes, coverage)
    path: str = ""
    warnings: list = field(default_factory=Diagnostics)  # core/diagnostics.py

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def nbytes(self) -> int:
        extra = self.radius16.nbytes if self.radius16 is not None else 0
        if self.normal_codes is not None:
            extra += self.normal_codes.nbytes
        extra += sum(a.nbytes for a in self.attributes.values())
        return int(self.positions.nbytes + self.colors.nbytes + extra)

    @classmethod
    def from_point_set(cls, frame: int, point_set, camera: CameraModel | None = None) -> CachedFrame:
        plane = radius_plane(camera) if point_set.radius is not None else None
        radius16 = None
        if plane is None and point_set.radius is not None:
            radius16 = point_set.radius.astype(np.float16)
        normals = getattr(point_set, "normals", None)
        return cls(frame=int(frame), positions=np.ascontiguousarray(point_set.positions, dtype=np.float32),
                   colors=encode_colors(point_set.colors), plane=plane, radius16=radius16,
                   normal_codes=encode_normals(normals) if normals is not None else None,
                   attributes={name: _owned(a) for name, a in getattr(point_set, "attributes", {}).items()},
                   path=str(point_set.meta.get("path", "")), warnings=Diagnostics(point_set.meta.get("warnings", ())))

    def radius(self) -> np.ndarray:
        """(N,) float32 point radii."""
        if self.plane is not None:
            a, c = self.plane
            if not a.any():
                return np.full(len(self), c, dtype=np.float32)
            r = self.positions @ a
            r += np.float32(c)
            return r
        if self.radius16 is not None:
            return self.radius16.astype(np.float32)
        return np.full(len(self), DEFAULT_RADIUS, dtype=np.float32)

    def rgba(self) -> np.ndarray:
        return decode_colors(self.colors)

    def normals(self) -> np.ndarray | None:
        """(N, 3) float32 normals, or None when the frame has none."""
        return decode_normals(self.normal_codes) if self.normal_codes is not None else None


class FrameCache:
    """Least-recently-used cache of :class:`CachedFrame` bounded by a byte budget.

    ``put`` evicts the least recently used frames until the new one fits; a frame larger
    than the whole budget is not stored. ``nbytes`` never exceeds ``budget``.

    *Extras* share the budget: something the caller keeps beside a cached frame (the player's
    ready Blender meshes), under the frame's key, as its byte count and a ``release(key)``
    called when it is dropped. Extras give way first: room for a frame or another extra is
    made by dropping the least recently used extras, and only then frames; an extra never
    evicts a frame, and ``keys()``/``len()`` list frames only.
    """

    def __init__(self, budget_bytes: int):
        self._frames: OrderedDict = OrderedDict()
        self._extras: OrderedDict = OrderedDict()  # key -> (nbytes, release)
        self.extra_bytes = 0
        self.budget = max(0, int(budget_bytes))
        self.nbytes = 0
        self.peak_bytes = 0
        self.evictions = 0
        self.hits = 0
        self.misses = 0

    def __len__(self):
        return len(self._frames)

    def __contains__(self, key):
        return key in self._frames

    def keys(self):
        return list(self._frames)

    def get(self, key):
        entry = self._frames.get(key)
        if entry is None:
            self.misses += 1
            return None
        self._frames.move_to_end(key)
        if key in self._extras:
            self._extras.move_to_end(key)
        self.hits += 1
        return entry

    def peek(self, key):
        """The entry without counting a use."""
        return self._frames.get(key)

    def reset_stats(self):
        self.peak_bytes = self.nbytes
        self.evictions = self.hits = self.misses = 0

    def set_budget(self, budget_bytes: int):
        self.budget = max(0, int(budget_bytes))
        self._evict_to(self.budget)

    def put(self, key, entry: CachedFrame) -> bool:
        """Store ``entry`` (an extra already kept under ``key`` stays); returns False when it
        is larger than the whole budget."""
        old = self._frames.pop(key, None)
        if old is not None:
            self.nbytes -= old.nbytes
        size = entry.nbytes
        if size > self.budget:
            return False
        self._evict_to(self.budget - size)
        self._frames[key] = entry
        self.nbytes += size
        self.peak_bytes = max(self.peak_bytes, self.nbytes)
        return True

    def has_extra(self, key) -> bool:
        return key in self._extras

    def extra_keys(self):
        return list(self._extras)

    def put_extra(self, key, nbytes: int, release) -> bool:
        """Keep an extra of ``nbytes`` under ``key`` (usually beside its cached frame),
        dropping older extras (never frames) for room; False (and nothing kept) when there is
        no room. ``release(key)`` is called when the extra is dropped later."""
        self.discard_extra(key)
        size = int(nbytes)
        if size > self.budget - (self.nbytes - self.extra_bytes):
            return False
        while self._extras and self.nbytes + size > self.budget:
            self._drop_extra(next(iter(self._extras)))
        self._extras[key] = (size, release)
        self.extra_bytes += size
        self.nbytes += size
        self.peak_bytes = max(self.peak_bytes, self.nbytes)
        return True

    def discard_extra(self, key):
        """Forget the extra of ``key`` without calling its ``release``."""
        item = self._extras.pop(key, None)
        if item is not None:
            self.extra_bytes -= item[0]
            self.nbytes -= item[0]

    def _drop_extra(self, key):
        item = self._extras.get(key)
        self.discard_extra(key)
        if item is not None:
            item[1](key)

    def discard(self, key):
        self._drop_extra(key)
        entry = self._frames.pop(key, None)
        if entry is not None:
            self.nbytes -= entry.nbytes

    def discard_where(self, predicate):
        for key in [k for k in self._frames if predicate(k)]:
            self.discard(key)
        for key in [k for k in self._extras if predicate(k)]:
            self._drop_extra(key)

    def clear(self):
        for key in list(self._extras):
            self._drop_extra(key)
        self._frames.clear()
        self.nbytes = 0

    def _evict_to(self, limit: int):
        while self._extras and self.nbytes > limit:
            self._drop_extra(next(iter(self._extras)))
        while self._frames and self.nbytes > limit:
            key = next(iter(self._frames))
            self.discard(key)
            self.evictions += 1


class Prefetcher:
    """Reads upcoming frames on background threads (EXR decoding releases the GIL).

    ``read(frame)`` is a pure-core reader (no Blender calls). ``workers`` threads (started
    when there is work for them) each take the next pending frame, in the order of the last
    ``want``. ``want(frames)`` replaces the list of frames to read ahead; ``take(frame)``
    returns ``(passes, error)`` for a frame that was read (waiting if it is being read right
    now) or None. Only results of wanted frames are kept (at most ``len(frames)``). Every read
    takes its turn (``core.sequence.reader_hold.reader_turn``): none runs while the main
    thread holds the readers. A read's own decode threads (``core.exr.threads``) are the
    cores divided by the reads in flight (and about to start) when it starts.
    """

    def __init__(self, read, workers: int = 1):
        self._read = read
        self.workers = max(1, int(workers))
        self._cond = threading.Condition()
        self._pending: list = []
        self._wanted: set = set()
        self._results: dict = {}
        self._busy: set = set()
        self._stop = False
        self._threads: list = []

    def want(self, frames):
        frames = [int(f) for f in frames]
        with self._cond:
            if self._stop:
                return
            self._wanted = set(frames)
            for f in list(self._results):
                if f not in self._wanted:
                    del self._results[f]
            self._pending = [f for f in dict.fromkeys(frames) if f not in self._results and f not in self._busy]
            # one more thread while the work outnumbers them (each thread takes one frame at a time)
            while len(self._threads) < min(self.workers, len(self._pending) + len(self._busy)):
                name = "depth_cloud_prefetch" + (f"_{len(self._threads) + 1}" if self._threads else "")
                thread = threading.Thread(target=self._run, name=name, daemon=True)
                self._threads.append(thread)
                thread.start()
            self._cond.notify_all()

    def ready(self, frame: int) -> bool:
        """True when ``frame`` has been read (or failed) and waits to be taken."""
        with self._cond:
            return int(frame) in self._results

    def in_flight(self) -> set:
        """The frames being read right now."""
        with self._cond:
            return set(self._busy)

    def take(self, frame: int):
        frame = int(frame)
        with self._cond:
            if frame in self._pending:
                self._pending.remove(frame)
            while frame in self._busy:
                self._cond.wait()
            return self._results.pop(frame, None)

    def stop(self):
        """Stop reading ahead: forget the pending frames and results, and join every thread
        (each finishes the read it is in; up to 5 s each)."""
        with self._cond:
            self._stop = True
            self._pending = []
            self._results.clear()
            self._cond.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5.0)

    def _run(self):
        while True:
            with self._cond:
                while not self._stop and not self._pending:
                    self._cond.wait()
                if self._stop:
                    return
            with reader_turn():  # never while Blender changes its data (core/reader_hold.py)
                with self._cond:
                    if self._stop or not self._pending:
                        continue
                    frame = self._pending.pop(0)
                    self._busy.add(frame)
                    # the cores shared by the reads in flight and those the idle workers take
                    # next (core/exr/threads.py; OpenEXR's process-wide pool serves them all)
                    reads = min(self.workers, len(self._busy) + len(self._pending))
                    share = max(1, (os.cpu_count() or 1) // reads)
                try:
                    with exr_threads.limited(share):
                        result = (self._read(frame), None)
                except Exception as err:  # handed to the main thread, which reports it once
                    result = (None, err)
                with self._cond:
                    self._busy.discard(frame)
                    if frame in self._wanted and not self._stop:
                        self._results[frame] = result
                    self._cond.notify_all()
