"""Settings checked before anything in the scene changes.

Blender's ``min``/``max`` on a FloatProperty clamp what the UI and Python assign, but NaN
passes through them (and a .blend written elsewhere, or a driver, can hold anything). Every
entry point that reads the settings (``glue.source.resolve``: Build, Build Sequence, Bake to
USD, Fuse, Check Camera, Pick, the API and the command line; ``glue.render.render_frames``)
calls :func:`check_scene_settings` first, so a bad value is refused with one
:class:`SettingsError` naming it before an object, a datablock or a file is made.

The check walks the RNA of the settings groups: every float (and float array) must be
finite and within the property's hard ``min``/``max``, every int within its range; groups
nested by pointer or collection are walked too. A property added later is checked without
any new code here.
"""
from __future__ import annotations

import math

from ..core.errors import SettingsError


def _where(path: str, prop) -> str:
    return f"{prop.name or prop.identifier} ({path}.{prop.identifier})"


def _range(prop) -> tuple:
    lo = prop.hard_min if prop.hard_min > -3.0e38 else None
    hi = prop.hard_max if prop.hard_max < 3.0e38 else None
    if prop.type == 'INT':
        lo = None if lo is not None and lo <= -2**31 else lo
        hi = None if hi is not None and hi >= 2**31 - 1 else hi
    return lo, hi


def _accepts(prop, lo, hi) -> str:
    kind = "a finite number" if prop.type == 'FLOAT' else "a whole number"
    if lo is not None and hi is not None:
        return f"{kind} from {lo:g} to {hi:g}"
    if lo is not None:
        return f"{kind} >= {lo:g}"
    if hi is not None:
        return f"{kind} <= {hi:g}"
    return kind


def _check_value(path, prop, value) -> None:
    lo, hi = _range(prop)
    values = list(value) if prop.is_array else [value]
    for v in values:
        bad = prop.type == 'FLOAT' and not math.isfinite(v)
        bad = bad or (lo is not None and v < lo) or (hi is not None and v > hi)
        if bad:
            shown = tuple(values) if prop.is_array else v
            raise SettingsError(f"setting {_where(path, prop)} must be {_accepts(prop, lo, hi)}, got {shown}")


def check_group(group, path: str) -> None:
    """Every number of the PropertyGroup ``group`` (and of the groups nested in it) finite and
    in range; ``path`` names it in messages (e.g. ``"scene.depth_cloud"``)."""
    if group is None:
        return
    for prop in group.bl_rna.properties:
        ident = prop.identifier
        if ident == "rna_type":
            continue
        if prop.type in ('FLOAT', 'INT'):
            _check_value(path, prop, getattr(group, ident))
        elif prop.type == 'POINTER' and _is_group(prop):
            check_group(getattr(group, ident), f"{path}.{ident}")
        elif prop.type == 'COLLECTION' and _is_group(prop):
            for i, item in enumerate(getattr(group, ident)):
                check_group(item, f"{path}.{ident}[{i}]")


def _is_group(prop) -> bool:
    """A pointer/collection to a PropertyGroup (settings), not to an ID (a camera, a collection)."""
    struct = getattr(prop, "fixed_type", None)
    while struct is not None:
        if struct.identifier == "PropertyGroup":
            return True
        struct = struct.base
    return False


def check_scene_settings(scene) -> None:
    """SettingsError naming the first bad number of ``scene.depth_cloud`` (None: no scene)."""
    if scene is None or not hasattr(scene, "depth_cloud"):
        return
    check_group(scene.depth_cloud, "scene.depth_cloud")


def check_object_settings(obj) -> None:
    """The same for what a cloud or sequence object keeps (``object.depth_cloud``)."""
    if obj is None or not hasattr(obj, "depth_cloud"):
        return
    check_group(obj.depth_cloud, f"object {obj.name!r} depth_cloud")
