"""What belongs to the machine, not to a scene: the add-on's preferences (``preferences.py`` at
the package's top registers them), read here by name so the glue imports nothing above it.

A script that calls the package's ``register()`` without enabling the extension
(``addon_utils.enable``) has no preferences entry: it gets :data:`FALLBACK`, the same fields at
their defaults, which such a script may set.
"""
from __future__ import annotations

import math
import os
from types import SimpleNamespace

import bpy

#: The extension's package (``depth_cloud`` or ``bl_ext.<repository>.depth_cloud``).
PACKAGE = __package__.rpartition(".")[0]
DEFAULT_CACHE_MB = 2048.0
MAX_CACHE_MB = 2.0 ** 40
DEFAULT_KEEP_MB = 1024.0
#: Read-ahead workers: 0 = automatic (:func:`automatic_workers`), else that many threads.
DEFAULT_READ_AHEAD_WORKERS = 0
#: The most workers *Automatic* picks (more cores than this rarely pay: each worker holds a
#: decoded frame, and the main thread still builds every frame's points).
AUTOMATIC_MAX_WORKERS = 16
#: The most workers the setting takes (the property's hard maximum).
MAX_READ_AHEAD_WORKERS = 64
FALLBACK = SimpleNamespace(cache_mb=DEFAULT_CACHE_MB, keep_memory_mb=DEFAULT_KEEP_MB,
                           read_ahead_workers=DEFAULT_READ_AHEAD_WORKERS)


def settings():
    """The add-on's preferences (``cache_mb``, ``read_ahead_workers``), or :data:`FALLBACK` when it is not enabled."""
    addon = bpy.context.preferences.addons.get(PACKAGE)
    prefs = getattr(addon, "preferences", None)
    return prefs if prefs is not None else FALLBACK


def cache_budget_mb() -> float:
    """The process-wide memory budget of sequence playback (MB), shared by every scene. A value
    that is no size (NaN, inf, negative, set by a script: the property's min does not stop NaN)
    gives the default, so a frame-change handler never fails on it."""
    mb = float(settings().cache_mb)
    return mb if math.isfinite(mb) and 0.0 <= mb <= MAX_CACHE_MB else DEFAULT_CACHE_MB


def automatic_workers() -> int:
    """*Automatic* read-ahead workers: one per core, at most :data:`AUTOMATIC_MAX_WORKERS`."""
    return max(1, min(os.cpu_count() or 1, AUTOMATIC_MAX_WORKERS))


def read_ahead_workers() -> tuple[int, bool]:
    """``(workers, as set)``: the threads the read-ahead decodes upcoming frames on (the
    preferences' Read-Ahead Workers; 0 = automatic). A value that is no count (negative,
    above :data:`MAX_READ_AHEAD_WORKERS`, not a whole number: set by a script on
    :data:`FALLBACK`; the property itself clamps) gives the nearest count (automatic for
    what is not a number) and ``as set`` False, so a frame-change handler never fails on it."""
    raw = getattr(settings(), "read_ahead_workers", DEFAULT_READ_AHEAD_WORKERS)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return automatic_workers(), False
    if not math.isfinite(value) or value != int(value):
        return automatic_workers(), False
    value = int(value)
    if value < 0:
        return automatic_workers(), False
    if value == 0:
        return automatic_workers(), True
    return min(value, MAX_READ_AHEAD_WORKERS), value <= MAX_READ_AHEAD_WORKERS
