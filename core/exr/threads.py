"""How many threads one read decodes a compressed file's chunks on.

The readers of this package (``core.exr.parts``: chosen parts and row bands; ``core.exr.safe``:
every read without the OpenEXR module) start a thread pool per read, one thread per core
(up to 8), for compressed chunks (``zlib.decompress`` releases the GIL); uncompressed chunks
are copies, decoded on the reading thread. Several reads at once (the read-ahead's workers,
``core.sequence.framecache.Prefetcher``) would each start such a pool: ``limited(n)`` caps
the pools the *calling thread's* reads start, leaving every other thread's (the main thread's
builds) as they are.

OpenEXR's own thread count (``OpenEXR.set_global_thread_count``, set by ``core.exr.read``) is
not touched here: it is one pool for the whole process, which concurrent reads share (they
queue their chunks on it), so several reads do not multiply its threads.

Pure ``threading``; no Blender types.
"""
from __future__ import annotations

import contextlib
import os
import threading

#: The most threads one read decodes on (beyond it the chunks are too few to share).
MAX_THREADS = 8

_local = threading.local()


def decode_threads(compressed: bool = True) -> int:
    """Threads for one read's compressed chunks on this thread: every core (up to
    :data:`MAX_THREADS`), at most this thread's :func:`limited` count; 1 for uncompressed ones."""
    if not compressed:
        return 1
    threads = min(os.cpu_count() or 1, MAX_THREADS)
    limit = getattr(_local, "limit", None)
    return threads if limit is None else max(1, min(threads, limit))


@contextlib.contextmanager
def limited(threads: int):
    """Reads on this thread decode on at most ``threads`` threads inside the block (nests)."""
    before = getattr(_local, "limit", None)
    _local.limit = max(1, int(threads)) if before is None else max(1, min(before, int(threads)))
    try:
        yield
    finally:
        _local.limit = before
