"""Freed memory kept for the next build (Linux with glibc; elsewhere nothing to do).

A 1080p cloud is ~66 MB of Blender arrays (position, colour, radius). glibc's ``malloc``, which
the bpy module and Linux distributions' Blender use, hands big freed blocks back to the system
and gets fresh ones for the next cloud; a first touch of fresh memory costs ~100 ms per 100 MB
on the virtual machines of render farms and clouds (``bench/_common.fresh_memory_cost``). So a
build that replaces a cloud, and every frame first shown in playback, paid ~40 ms of page
faults for memory the process had just freed (docs/production.md, "Fresh memory").

:func:`keep_for` raises glibc's ``M_TOP_PAD`` before Blender data of ``points`` points is made:
the heap then keeps that much freed memory at its top instead of trimming it, and grows by it
in one step, so the next cloud's arrays reuse memory already touched. Measured at 1080p on 5.0:
a first build 94 -> 54 ms (NONE file). The pad only ever grows, up to the add-on preference
``keep_memory_mb`` (0 leaves the allocator's defaults: then nothing is changed at all); it is
process-wide, as the allocator is: what it costs is that freed memory, up to that size, stays
with Blender instead of going back to the system.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import math
import os
import re
import sys
import threading

from . import preferences

M_TOP_PAD, M_MMAP_MAX = -2, -4  # glibc's malloc.h
DEFAULT_MMAP_MAX = 65536  # glibc's, unless the process was started with its tunable set
BYTES_PER_POINT = 160  # a build's Blender arrays and their temporaries, rounded up
MIN_PAD = 256 << 20

_state = {"libc": None, "pad": 0, "heap_only": 0}
_lock = threading.Lock()


def _libc():
    """glibc's handle with ``mallopt``, or False (another C library or system)."""
    if _state["libc"] is None:
        _state["libc"] = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                libc.gnu_get_libc_version  # noqa: B018 (glibc only: musl has no such symbol)
                libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
                _state["libc"] = libc
            except (OSError, AttributeError):
                pass
    return _state["libc"]


def limit_bytes() -> int:
    """The preference ``keep_memory_mb`` in bytes (a value that is no size: the default)."""
    mb = float(getattr(preferences.settings(), "keep_memory_mb", preferences.DEFAULT_KEEP_MB))
    if not math.isfinite(mb) or mb < 0:
        mb = preferences.DEFAULT_KEEP_MB
    return int(min(mb, 2047.0) * (1 << 20))  # mallopt takes an int


def keep_for(points: int) -> int:
    """Keep freed memory for clouds of ``points`` points (see the module); returns the pad in
    force (0: the allocator's defaults)."""
    limit = limit_bytes()
    if limit <= 0:
        return _state["pad"]
    want = min(limit, max(MIN_PAD, BYTES_PER_POINT * int(points)))
    if want > _state["pad"]:
        libc = _libc()
        if libc and libc.mallopt(M_TOP_PAD, want) == 1:
            _state["pad"] = want
    return _state["pad"]


def pad_in_force() -> int:
    """The pad this process set (0: none), for tests and the bench."""
    return _state["pad"]


def _mmap_max() -> int:
    """The process's ``M_MMAP_MAX`` at start (``MALLOC_MMAP_MAX_`` or the ``glibc.malloc.mmap_max``
    tunable when set, else glibc's default)."""
    text = os.environ.get("GLIBC_TUNABLES", "")
    found = re.search(r"glibc\.malloc\.mmap_max=(\d+)", text)
    value = found.group(1) if found else os.environ.get("MALLOC_MMAP_MAX_", "")
    return int(value) if str(value).isdigit() else DEFAULT_MMAP_MAX


@contextlib.contextmanager
def heap_only():
    """While a build makes its arrays (numpy's and Blender's), glibc serves every allocation
    from the heap instead of mapping blocks of more than ~32 MB afresh (``M_MMAP_MAX`` 0): a
    1080p cloud's colours (33 MB) and every array of a 4K frame are such blocks, and fresh
    memory costs ~100 ms per 100 MB here. With the pad (:func:`keep_for`) the next build reuses
    them. Restored when the outermost block ends; nothing when ``keep_memory_mb`` is 0 or the
    C library is not glibc. Process-wide while it lasts (the allocator is), so kept short: one
    build, one frame shown."""
    libc = _libc() if limit_bytes() > 0 else None
    if not libc:
        yield
        return
    with _lock:
        if _state["heap_only"] == 0:
            libc.mallopt(M_MMAP_MAX, 0)
        _state["heap_only"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["heap_only"] -= 1
            if _state["heap_only"] == 0:
                libc.mallopt(M_MMAP_MAX, _mmap_max())


def heap_only_depth() -> int:
    """How many :func:`heap_only` blocks are open (for tests)."""
    with _lock:
        return _state["heap_only"]
