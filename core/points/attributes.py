"""Per-pixel passes that become per-point data: the Normal pass and any pass the user names.

* The **Normal** pass (Blender writes world-space shading normals, ``Layer.Normal.X/Y/Z``)
  becomes ``PointSet.normals`` (unit length; pixels without a usable normal, e.g. the
  background, get none: such points keep a zero normal and ``meta['normals_missing']`` counts them).
* **Named passes** (``SourceSpec.attributes``, e.g. ``["rough", "tint", "Object Index"]``): each
  becomes a point attribute of the same name: one channel -> float, two -> 2D vector, three
  XYZ -> vector, RGB / four channels -> color (RGBA, alpha 1 when the pass has none). A full
  channel name (``ViewLayer.rough.X``) picks that channel alone, named by its pass.
"""
from __future__ import annotations

import numpy as np

from ..errors import ChannelError, SettingsError
from . import gather, masks

NORMAL_PASSES = ("Normal", "N", "normal", "Nworld", "N_world")
#: Names a point already carries (``glue/datablock.py`` writes them).
RESERVED = ("position", "Col", "radius", "pixel", "depth", "normal", masks.COVERAGE_ATTRIBUTE)


def attribute_names(value) -> tuple:
    """Pass names of an attributes setting: a list, or one string split at commas."""
    return masks.mask_items(value)


def find_normal_channels(names, layer: str):
    """``[X, Y, Z]`` of the Normal pass, or None."""
    have = set(names)
    for prefix in ([f"{layer}."] if layer else []) + [""]:
        for pass_name in NORMAL_PASSES:
            for leaves in ("XYZ", "RGB", "xyz"):
                chans = [f"{prefix}{pass_name}.{c}" for c in leaves]
                if all(c in have for c in chans):
                    return chans
    return None


def read_normals(f, layer: str, window):
    """The Normal pass over ``window`` as ``(X, Y, Z)`` (h, w) float32 planes (gathered per
    point without interleaving the image), or None when the file has none."""
    chans = find_normal_channels(f.names(), layer)
    if chans is None or any(f.damage_error(c) for c in chans):  # a damaged Normal part: only warned about
        return None
    return tuple(f.get(c, window, fill=0.0) for c in chans)


def extra_bytes_per_point(spec, names, layer: str) -> int:
    """Bytes each point of ``spec``'s build of a file with channels ``names`` carries beyond
    position, color and radius: its normal (12, when it reads a Normal pass), each named pass
    (4 per channel; an RGB pass is stored with alpha), a mask's coverage (4). Used for memory
    statements before a build; passes not found count nothing (the build reports them)."""
    extra = 12 if getattr(spec, "normals", False) and find_normal_channels(names, layer) else 0
    for wanted in attribute_names(getattr(spec, "attributes", ())):
        chans = named_channels(names, layer, wanted)
        if chans:
            rgb = len(chans) == 3 and chans[0].rsplit(".", 1)[-1] in "Rr"  # RGB: stored with alpha 1
            extra += 4 * (4 if rgb else min(len(chans), 4))
    if masks.is_active(spec):
        extra += 4  # coverage (Cryptomatte masks)
    return extra


def named_channels(names, layer: str, wanted: str):
    """The channels of pass ``wanted`` (an index pass by its short name too) among ``names``,
    or None."""
    for candidate in masks.INDEX_PASSES.get(wanted.lower(), (wanted,)):
        chans = masks.pass_channels(names, layer, candidate)
        if chans:
            return chans
    return None


def _attribute_name(wanted: str, channels) -> str:
    if len(channels) == 1 and channels[0] == wanted and "." in wanted:
        bits = wanted.rsplit(".", 2)
        return bits[-2] if len(bits) >= 2 else wanted
    return wanted


def read_named(f, layer: str, window, wanted_list, path: str) -> dict:
    """``{attribute name: (h, w) or (h, w, k) float32}`` for the named passes."""
    out = {}
    names = f.names()
    for wanted in wanted_list:
        chans = named_channels(names, layer, wanted)
        if not chans:
            raise ChannelError(path, f"pass {wanted!r} to keep as an attribute", names)
        name = _attribute_name(wanted, chans)
        if name in RESERVED:
            raise SettingsError(f"{path}: pass {wanted!r} cannot become attribute {name!r}: points already carry "
                                f"{', '.join(RESERVED)}")
        if len(chans) > 4:
            raise SettingsError(f"{path}: pass {wanted!r} has {len(chans)} channels ({', '.join(chans)}); "
                                "an attribute holds 1 to 4: name one channel")
        planes = [f.get(c, window, fill=0.0) for c in chans]
        leaves = [c.rsplit(".", 1)[-1] for c in chans]
        if len(planes) == 1:
            out[name] = planes[0]
        else:
            if len(planes) == 3 and leaves[0] in "Rr":  # RGB: a color with alpha 1
                planes.append(np.ones_like(planes[0]))
            out[name] = np.stack(planes, axis=-1)
    return out


def attach(point_set, passes):
    """``point_set`` with the frame's normals and named passes gathered per point."""
    normal = passes.normal
    named = passes.extra or {}
    if normal is None and not named:
        return point_set
    # None: the points are every pixel in order (no gather)
    idx = None if point_set.gathered_every_pixel(passes.shape, passes.window, passes.step, passes.offset) \
        else masks.pixel_offsets(point_set, passes)
    if normal is not None:
        n, missing = unit_vectors([plane.reshape(-1) for plane in normal], idx)
        point_set.normals = n
        if missing:
            point_set.meta["normals_missing"] = missing
    for name, plane in named.items():
        k = plane.shape[2] if plane.ndim == 3 else 1
        values = plane.reshape(-1, k) if k > 1 else plane.reshape(-1)
        if idx is not None:
            values = values.take(idx, axis=0)
        point_set.attributes[name] = np.ascontiguousarray(values, dtype=np.float32)
    return point_set


def unit_vectors(planes, index) -> tuple[np.ndarray, int]:
    """``((N, 3) float32, count)``: the vectors of the flat X, Y, Z ``planes`` at ``index``
    (None: every element, no gather), normalised; zero (and counted) where one is not finite
    or of length <= 1e-6. Worked out in cache-sized blocks (no full-size temporaries)."""
    count = planes[0].size if index is None else len(index)
    out = np.empty((count, 3), np.float32)
    missing = 0
    for start in range(0, count, gather.BLOCK):
        stop = min(count, start + gather.BLOCK)
        comps = [p[start:stop] if index is None else p.take(index[start:stop]) for p in planes]
        scale = comps[0] * comps[0]
        scale += comps[1] * comps[1]
        scale += comps[2] * comps[2]
        np.sqrt(scale, out=scale)
        ok = np.isfinite(scale) & (scale > 1e-6)
        np.divide(np.float32(1), scale, out=scale, where=ok)
        scale[~ok] = 0.0
        block = out[start:stop]
        with np.errstate(invalid="ignore"):  # inf x 0 where a normal is missing: zeroed below
            for k, comp in enumerate(comps):
                np.multiply(comp, scale, out=block[:, k])
        bad = len(ok) - int(np.count_nonzero(ok))
        if bad:
            block[~ok] = 0.0
            missing += bad
    return out, missing


def refuse_deep(spec, path: str):
    """Masks and named passes are read from flat passes only: a deep file asked for them is an
    error, never a silently unmasked cloud."""
    wanted = [name for name, on in (("a mask", masks.is_active(spec)),
                                    ("attributes", bool(attribute_names(getattr(spec, "attributes", ()))))) if on]
    if wanted:
        raise SettingsError(f"{path}: {' and '.join(wanted)} cannot be read from a deep EXR (its samples carry no "
                            "Cryptomatte, index or AOV passes here); clear the mask/attributes settings")


def read_into(passes, f, spec, layer: str, window, path: str):
    """Fill ``passes.mask``, ``passes.normal`` and ``passes.extra`` as ``spec`` asks (the hook
    of :func:`core.passes.read_frame_passes`)."""
    passes.mask = masks.compute(f, spec, layer, window, path)
    if getattr(spec, "normals", True):
        passes.normal = read_normals(f, layer, window)
    wanted = attribute_names(getattr(spec, "attributes", ()))
    if wanted:
        passes.extra = read_named(f, layer, window, wanted, path)
    return passes
