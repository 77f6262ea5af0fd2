"""The Python API's argument boundary: every argument of a public ``api`` function is checked
by its name before any work starts, and a wrong one raises :class:`SettingsError` naming the
function, the argument and what it accepts (never a plain ``TypeError``/``ValueError`` from
deep inside). ``@checked`` applies the table below to a function's bound arguments and to its
``**options`` (the reading and fusion options), so a new argument with a known name is
checked without any new code. Values that are the right type but wrong for the file (a
channel that is not there, a near plane that makes no sense for the convention) are left to
the checks that know the file.
"""
from __future__ import annotations

import functools
import inspect
import math
import os
from collections.abc import Callable, Iterable

import numpy as np

from .core.errors import SettingsError
from .core.points.passes import SourceSpec


def _shown(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + ('…' if len(text) > 60 else '')}"


class _Bad(Exception):
    """What an argument accepts (raised by a check, turned into a SettingsError naming it)."""


# ----------------------------------------------------------------------------- checks by kind
def _is_real(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_)


def _is_int(value) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, int | np.integer):
        return True
    return isinstance(value, float | np.floating) and math.isfinite(value) and value == int(value)


def real(lo=None, hi=None, lo_open=False):
    """A finite number (not a bool) within ``lo``/``hi``."""
    rng = ("" if lo is None else (f" > {lo}" if lo_open else f" >= {lo}")) + ("" if hi is None else f" and <= {hi}")

    def check(value):
        if not _is_real(value) or not math.isfinite(float(value)):
            raise _Bad(f"a finite number{rng}")
        v = float(value)
        if lo is not None and (v <= lo if lo_open else v < lo) or hi is not None and v > hi:
            raise _Bad(f"a finite number{rng}")
    return check


def integer(lo=None, hi=None):
    rng = ("" if lo is None else f" >= {lo}") + ("" if hi is None else f" and <= {hi}")

    def check(value):
        if not _is_int(value):
            raise _Bad(f"a whole number (an int){rng}")
        v = int(value)
        if lo is not None and v < lo or hi is not None and v > hi:
            raise _Bad(f"a whole number (an int){rng}")
    return check


def boolean(value):
    if not isinstance(value, bool | np.bool_) and not (isinstance(value, int) and value in (0, 1)):
        raise _Bad("True or False")


def text(value):
    if not isinstance(value, str):
        raise _Bad("a string")
    if "\0" in value:
        raise _Bad("a string without NUL characters")


def choice(*choices):
    def check(value):
        if not isinstance(value, str) or value not in choices:
            raise _Bad("one of " + ", ".join(repr(c) for c in choices))
    return check


def path(value):
    """A file path: a str or an ``os.PathLike`` (no NUL characters)."""
    if not isinstance(value, str | os.PathLike):
        raise _Bad("a file path (str or os.PathLike)")
    try:
        p = os.fspath(value)
    except TypeError:
        raise _Bad("a file path (str or os.PathLike)") from None
    if not isinstance(p, str) or "\0" in p:
        raise _Bad("a file path (str or os.PathLike, text without NUL characters)")


def source(value):
    if not isinstance(value, SourceSpec):
        try:
            path(value)
        except _Bad:
            raise _Bad("a path pattern (str or os.PathLike) or a SourceSpec") from None


def texts(value):
    """A string (comma separated) or a list/tuple of strings."""
    if isinstance(value, str):
        return text(value)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _Bad("a string or a list of strings")


def mask(value):
    """Cryptomatte names/wildcards or mask pass indices: a string, an int, or a list of them."""
    items = value if isinstance(value, list | tuple) else [value]
    for v in items:
        if isinstance(v, str):
            continue
        if not isinstance(v, int | np.integer) or isinstance(v, bool):
            raise _Bad("names (a string or a list of strings) or indices (an int or a list of ints)")


def callable_(value):
    if not callable(value):
        raise _Bad("a callable")


def _bpy_type(type_name: str, what: str):
    def check(value):
        import bpy
        if not isinstance(value, getattr(bpy.types, type_name)):
            raise _Bad(what)
    return check


def frame(value):
    if not _is_int(value):
        raise _Bad("a whole frame number (an int)")
    if not -2**31 <= int(value) < 2**31:
        raise _Bad("a frame number Blender can store (32-bit)")


def frames(value):
    """Text such as ``"1-240x3,300"``, one frame number or an iterable of them (a list, a range)."""
    if isinstance(value, str):
        return text(value)
    if _is_int(value):
        return frame(value)
    if isinstance(value, bytes | bytearray | dict | set | frozenset) or not isinstance(value, Iterable):
        raise _Bad("frames: text such as '1-240x3,300', a frame number or a list/range of frame numbers")


def objects(value):
    import bpy
    if isinstance(value, bpy.types.Object):
        raise _Bad("a list of objects (not one object)")
    if isinstance(value, str | bytes | dict) or not isinstance(value, Iterable):
        raise _Bad("a list of objects")
    if isinstance(value, list | tuple) and not all(isinstance(v, bpy.types.Object) for v in value):
        raise _Bad("a list of objects (bpy.types.Object)")


def cameras(value):
    import bpy
    if isinstance(value, str | bpy.types.Collection):
        return
    if not isinstance(value, list | tuple) or not all(isinstance(v, bpy.types.Object) for v in value):
        raise _Bad("a Collection, its name, or a list of camera objects")


def files(value):
    if isinstance(value, str | os.PathLike):
        return path(value)
    if not isinstance(value, list | tuple) or not value:
        raise _Bad("a path pattern or a non-empty list of paths")
    for v in value:
        path(v)


def image_size(value):
    if not isinstance(value, list | tuple) or len(value) != 2 or not all(_is_int(v) and 0 < int(v) < 2**20
                                                                         for v in value):
        raise _Bad("(width, height): two whole numbers > 0")


def mapping(value):
    if not isinstance(value, dict):
        raise _Bad("a dict")


def argv(value):
    if isinstance(value, str):
        return text(value)
    if isinstance(value, bytes | bytearray | dict) or not isinstance(value, Iterable):
        raise _Bad("a list of argument strings or one string")


#: The check of each argument name, shared by every public function (None values mean "the
#: default" everywhere and are not checked). ``@checked(name=check)`` overrides one for a
#: function whose argument means something else.
CHECKS: dict[str, Callable] = {
    "scene": _bpy_type("Scene", "a bpy.types.Scene"),
    "frame": frame,
    "frames": frames,
    "source": source,
    "color": path,
    "camera": _bpy_type("Object", "a camera object (bpy.types.Object)"),
    "clip": boolean,
    "pixel_ids": boolean,
    "column": integer(),
    "row": integer(),
    "origin": choice("top", "bottom"),
    "frames_around": integer(0, 1000),
    "path": path,
    "folder": path,
    "view_layer": _bpy_type("ViewLayer", "a bpy.types.ViewLayer"),
    "progress": callable_,
    "load": boolean,
    "objects": objects,
    "mode": choice("POINTS", "SQUARES", "SURFACE"),
    "lit": boolean,
    "max_jump": real(0.0),
    "cameras": cameras,
    "camera_list": path,
    "files": files,
    "name": text,
    "surface": boolean,
    "surface_voxel_size": real(0.0),
    "surface_radius": real(0.0),
    "settings": lambda v: None,  # FusionSettings: checked by glue.fusion
    "defaults": mapping,
    # reading options (glue.source.READING_OPTIONS)
    "kind": text,
    "convention": text,
    "near": real(),
    "far": real(),
    "layer": text,
    "depth_channel": text,
    "color_channels": text,
    "position_channels": text,
    "detail": integer(1),
    "view": text,
    "deep_samples": text,
    "deep_min_alpha": real(0.0, 1.0),
    "mask": mask,
    "mask_pass": text,
    "mask_threshold": real(),
    "normals": boolean,
    "attributes": texts,
    # fusion options (core.fusion.FusionSettings)
    "voxel_size": real(0.0),
    "min_views": integer(0),
    "depth_tolerance": real(0.0),
    "neighbor_support": integer(0),
    "outlier_neighbors": integer(0),
    "outlier_std_ratio": real(0.0),
    "outliers_unconfirmed_only": boolean,
    "max_incidence": real(0.0),
    "check_views": integer(0),
    "split_normals": boolean,
    "workers": integer(0),
}


def check_argument(function: str, name: str, value, check: Callable | None = None, none_ok: bool = True) -> None:
    """SettingsError naming ``function``'s argument ``name`` when ``value`` is not what it
    accepts (None is accepted where it means "the default": ``none_ok``)."""
    check = check if check is not None else CHECKS.get(name)
    if check is None or value is None and none_ok:
        return
    if value is None:
        try:
            check(value)
        except _Bad as bad:
            raise SettingsError(f"api.{function}: argument {name!r} must be {bad}, got None") from None
        return
    try:
        check(value)
    except _Bad as bad:
        raise SettingsError(f"api.{function}: argument {name!r} must be {bad}, got {_shown(value)}") from None


def checked(func=None, **overrides):
    """Decorator: check every argument of ``func`` (and its ``**options``) by name before it runs."""
    if func is None:
        return functools.partial(checked, **overrides)
    sig = inspect.signature(func)
    var_kw = next((p.name for p in sig.parameters.values() if p.kind is p.VAR_KEYWORD), None)

    @functools.wraps(func)
    def boundary(*args, **kwargs):
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as err:
            raise SettingsError(f"api.{func.__name__}: {err}") from None
        for name, value in bound.arguments.items():
            if name == var_kw:
                for key, option in value.items():
                    check_argument(func.__name__, key, option, overrides.get(key))
            else:
                check_argument(func.__name__, name, value, overrides.get(name),
                               none_ok=sig.parameters[name].default is None)
        return func(*args, **kwargs)

    return boundary
