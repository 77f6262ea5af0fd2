"""What the Blender side of every command uses: the scene to work on, quiet saves, short
paths and sizes on the progress lines."""
from __future__ import annotations

import contextlib
import ctypes
import os
import sys

import bpy

from .parser import UsageError


def _c_flush():
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def blender_quiet(enabled: bool = True):
    """Silence what Blender's C code prints on stdout (``Info: Saved ...``) so the progress
    lines stay readable. Works at file-descriptor level; a no-op when disabled or when fd 1
    cannot be redirected."""
    if not enabled:
        yield
        return
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    _c_flush()
    try:
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        yield
        return
    # Operator reports ("Info: Saved ...") go through Python's sys.stdout, C prints to fd 1.
    py_stdout = sys.stdout
    sink = open(os.devnull, "w", encoding="utf-8")
    try:
        os.dup2(devnull, 1)
        sys.stdout = sink
        yield
    finally:
        with contextlib.suppress(Exception):
            sink.flush()
        sys.stdout = py_stdout
        sink.close()
        _c_flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


# ------------------------------------------------------------------ inputs
def resolve_scene(args):
    if args.scene:
        scene = bpy.data.scenes.get(args.scene)
        if scene is None:
            names = ", ".join(s.name for s in bpy.data.scenes) or "(none)"
            raise UsageError(f"--scene {args.scene!r}: no such scene; scenes in this file: {names}")
        return scene
    scene = bpy.context.scene
    if scene is None:
        scene = bpy.data.scenes[0] if len(bpy.data.scenes) else None
    if scene is None:
        raise UsageError("this Blender session has no scene")
    return scene


# ------------------------------------------------------------------ progress lines
def rel_path(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith(".." + os.sep + "..") else rel


def size_text(nbytes: int) -> str:
    return f"{nbytes / 1e6:.1f} MB" if nbytes >= 1e6 else f"{nbytes / 1e3:.1f} kB"
