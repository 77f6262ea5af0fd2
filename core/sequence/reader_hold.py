"""Background readers stand still while Blender changes its data.

``bpy.ops`` releases Python's GIL while an operator runs (Blender's ``bpy_operator.cc``
defines ``BPY_RELEASE_GIL`` "so operators called can spawn threads which acquire the GIL").
A read-ahead thread (``core.framecache.Prefetcher``) then runs Python *at the same time as*
the operator. Its own work touches no Blender data (pure numpy + OpenEXR into its own
buffers), but any Python allocation may start the cyclic garbage collector in that thread,
and the garbage it frees can hold ``bpy`` objects the main thread dropped: freeing those
writes to Blender's ID data (its Python instance pointer) while the operator frees or
rebuilds it. Blender does not guard against that; we keep out of its way instead:

- :func:`readers_held` (main thread, around an operator that creates or frees datablocks:
  ``glue.datablock.new_pointcloud``'s ``modifier_apply``, the USD import, a render) waits
  for the reads in flight to finish and keeps new ones from starting until it ends;
- :func:`reader_turn` (reader threads, around each read) waits while a hold is on.

Pure ``threading``; no Blender types.
"""
from __future__ import annotations

import contextlib
import threading

_cond = threading.Condition()
_holds = 0     # main-thread holds in force
_reading = 0   # reads in flight


@contextlib.contextmanager
def readers_held(timeout: float = 30.0):
    """No background read runs inside this block (waits up to ``timeout`` s for one in flight)."""
    global _holds
    with _cond:
        _holds += 1
        _cond.wait_for(lambda: _reading == 0, timeout=timeout)
    try:
        yield
    finally:
        with _cond:
            _holds -= 1
            _cond.notify_all()


@contextlib.contextmanager
def reader_turn():
    """A reader thread's turn: waits while the main thread holds the readers."""
    global _reading
    with _cond:
        _cond.wait_for(lambda: _holds == 0)
        _reading += 1
    try:
        yield
    finally:
        with _cond:
            _reading -= 1
            _cond.notify_all()


def state() -> tuple[int, int]:
    """``(holds, reads in flight)``, for tests."""
    with _cond:
        return _holds, _reading
