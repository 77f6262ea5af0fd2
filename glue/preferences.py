"""What belongs to the machine, not to a scene: the add-on's preferences (``preferences.py`` at
the package's top registers them), read here by name so the glue imports nothing above it.

A script that calls the package's ``register()`` without enabling the extension
(``addon_utils.enable``) has no preferences entry: it gets :data:`FALLBACK`, the same fields at
their defaults, which such a script may set.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import bpy

#: The extension's package (``depth_cloud`` or ``bl_ext.<repository>.depth_cloud``).
PACKAGE = __package__.rpartition(".")[0]
DEFAULT_CACHE_MB = 2048.0
MAX_CACHE_MB = 2.0 ** 40
DEFAULT_KEEP_MB = 1024.0
FALLBACK = SimpleNamespace(cache_mb=DEFAULT_CACHE_MB, keep_memory_mb=DEFAULT_KEEP_MB)


def settings():
    """The add-on's preferences (``cache_mb`` …), or :data:`FALLBACK` when it is not enabled."""
    addon = bpy.context.preferences.addons.get(PACKAGE)
    prefs = getattr(addon, "preferences", None)
    return prefs if prefs is not None else FALLBACK


def cache_budget_mb() -> float:
    """The process-wide memory budget of sequence playback (MB), shared by every scene. A value
    that is no size (NaN, inf, negative, set by a script: the property's min does not stop NaN)
    gives the default, so a frame-change handler never fails on it."""
    mb = float(settings().cache_mb)
    return mb if math.isfinite(mb) and 0.0 <= mb <= MAX_CACHE_MB else DEFAULT_CACHE_MB
