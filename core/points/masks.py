"""Masks: which pixels of a frame become points.

A mask comes from one pass of the file, chosen by ``SourceSpec.mask_pass`` and
``SourceSpec.mask`` (names or values) and ``SourceSpec.mask_threshold``:

* a **Cryptomatte** layer (``CryptoObject``, ``CryptoMaterial``, ``CryptoAsset``, or any layer the
  header describes): ``mask`` holds manifest names or ``fnmatch`` wildcards (``"Suzanne*"``); a
  pixel belongs when its summed coverage of the chosen names reaches the threshold (default 0.5),
  and the coverage is kept per point (attribute ``coverage``). Without ``mask_pass`` the names
  are looked up in the object, then material, then asset layer;
* an **index pass** (``Object Index`` / ``Material Index``; Blender 4.x names them ``IndexOB`` /
  ``IndexMA``): ``mask`` holds the indices (``"3"``, ``"1-4"``); a pixel belongs when its index
  is one of them;
* **any other channel or pass** (an AOV): with ``mask`` values, pixels equal to one of them
  (integer ids); without, pixels whose value reaches the threshold.

Bad input raises a typed error naming the file and the pass; a mask that selects no pixel is an
error, never an empty cloud.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from ..errors import ChannelError, InvalidDepthError, SettingsError
from ..exr import cryptomatte

#: Index passes by the names Blender 5.x and 4.x write them.
INDEX_PASSES = {"object index": ("Object Index", "IndexOB"), "indexob": ("Object Index", "IndexOB"),
                "material index": ("Material Index", "IndexMA"), "indexma": ("Material Index", "IndexMA")}
COVERAGE_ATTRIBUTE = "coverage"


@dataclass
class PixelMask:
    """A frame's mask over the data window: ``selected`` (h, w) bool, ``coverage`` (h, w)
    float32 or None, and what it is (``description``, for messages and metadata)."""

    selected: np.ndarray
    coverage: np.ndarray | None
    description: str


def mask_items(mask) -> tuple:
    """Names/values of a mask setting: a list or a string, each split at commas (``"Cube, Sphere"``)."""
    if mask is None:
        return ()
    if isinstance(mask, str):
        items = [mask]
    elif isinstance(mask, int | np.integer) and not isinstance(mask, bool):  # one index of the mask pass
        items = [str(int(mask))]
    else:
        items = [str(int(m)) if isinstance(m, int | np.integer) and not isinstance(m, bool) else str(m)
                 for m in mask]
    return tuple(i.strip() for item in items for i in item.split(",") if i.strip())


def is_active(spec) -> bool:
    return bool(mask_items(spec.mask)) or bool(str(spec.mask_pass).strip())


def pass_channels(names, layer: str, wanted: str):
    """Channel names of pass ``wanted`` (a full channel name, ``Layer.Pass``, or a pass name
    looked up in ``layer``), in R G B A / X Y Z W order, or None."""
    have = list(names)
    if wanted in have:
        return [wanted]
    order = "RGBAXYZWUV"
    for base in ([f"{layer}.{wanted}."] if layer else []) + [f"{wanted}."]:
        found = [n for n in have if n.startswith(base) and "." not in n[len(base):]]
        if found:
            return sorted(found, key=lambda n: (order.find(n[len(base):]) % 100 if n[len(base):] in order
                                                 else 100, n))
    return None


def _index_values(items, what: str, path: str):
    values = []
    for item in items:
        m = re.fullmatch(r"\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?", item)
        if not m:
            raise SettingsError(f"{path}: mask {item!r} is not an index for {what}: give whole numbers "
                                f"or ranges (e.g. 3 or 1-4)")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise SettingsError(f"{path}: mask range {item!r} for {what} runs backwards")
        values.append((item, lo, hi))
    return values


def _value_mask(plane, items, what: str, path: str) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        rounded = np.rint(plane)
    present = np.unique(rounded[np.isfinite(rounded)])
    selected = np.zeros(plane.shape, bool)
    for item, lo, hi in _index_values(items, what, path):
        hit = (rounded >= lo) & (rounded <= hi)
        if not hit.any():
            shown = ", ".join(str(int(v)) for v in present[:30]) + (" …" if len(present) > 30 else "")
            raise SettingsError(f"{path}: no pixel of {what} has index {item}; indices present: {shown or 'none'}")
        selected |= hit
    return selected


def compute(f, spec, layer: str, window, path: str) -> PixelMask | None:
    """The mask ``spec`` asks for, over ``window`` of the ExrFile ``f``, or None when the spec
    asks for no mask."""
    items = mask_items(spec.mask)
    wanted = str(spec.mask_pass).strip()
    if not items and not wanted:
        return None
    threshold = float(spec.mask_threshold)
    if not np.isfinite(threshold):
        raise SettingsError(f"mask threshold must be a finite number, got {threshold!r}")
    names = f.names()

    def get(name):
        return f.get(name, window, fill=0.0)

    crypto = cryptomatte.layers(f.header, names, path)
    chosen_layer = None
    if wanted:
        chosen_layer = next((lay for lay in crypto if lay.matches(wanted)), None)
    elif items:
        if not crypto:
            raise ChannelError(path, f"Cryptomatte layer to find mask names {', '.join(items)} in "
                               "(or set the mask pass, e.g. Object Index)", names)
        chosen_layer = cryptomatte.layer_for_patterns(crypto, items, path)
    if chosen_layer is not None:
        if not items:
            raise SettingsError(f"{path}: choose the names to mask in Cryptomatte layer {chosen_layer.name!r} "
                                f"(e.g. {', '.join(chosen_layer.names()[:3]) or 'an object name'})")
        ids = cryptomatte.select_names(chosen_layer, items, path)
        cov = cryptomatte.coverage(chosen_layer, ids.values(), get)
        selected = cov >= np.float32(threshold)
        what = f"Cryptomatte {chosen_layer.name} {', '.join(sorted(ids))}"
        _require_any(selected, path, f"{what} (coverage >= {threshold:g})", cov)
        return PixelMask(selected, cov, what)

    index_names = INDEX_PASSES.get(wanted.lower())
    channels = None
    for candidate in (index_names or (wanted,)):
        channels = pass_channels(names, layer, candidate)
        if channels:
            break
    if not channels:
        hint = " (Blender 4.x: IndexOB/IndexMA; enable the pass in View Layer Properties)" if index_names else ""
        raise ChannelError(path, f"mask pass {wanted!r}{hint}", names)
    plane = get(channels[0])
    what = f"{channels[0]}"
    if index_names and not items:
        raise SettingsError(f"{path}: choose the indices to mask in {what} (e.g. 1 or 1-3)")
    if items:
        selected = _value_mask(plane, items, what, path)
    else:
        with np.errstate(invalid="ignore"):
            selected = plane >= np.float32(threshold)
        _require_any(selected, path, f"{what} >= {threshold:g}", plane)
    return PixelMask(selected, None, f"{what} {' '.join(items)}".strip())


def _require_any(selected, path, what, values):
    if selected.any():
        return
    finite = values[np.isfinite(values)]
    rng = f"{float(finite.min()):.4g}..{float(finite.max()):.4g}" if finite.size else "no finite value"
    raise InvalidDepthError(f"{path}: the mask {what} selects no pixel (values {rng})")


def crop_to_mask(passes):
    """The passes cropped to the bounding box of the mask's pixels (array views, no copies), so
    a masked build only unprojects the rows and columns the mask touches."""
    mask = passes.mask
    if passes.deep is not None:  # deep samples index the whole data window
        return passes
    rows = np.flatnonzero(mask.selected.any(axis=1))
    cols = np.flatnonzero(mask.selected.any(axis=0))
    h, w = passes.shape
    if not len(rows) or (len(rows) == h and len(cols) == w):
        return passes
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1

    def cut(a):
        return None if a is None else a[r0:r1, c0:c1]

    x0, y0 = passes.window
    return replace(passes, depth=cut(passes.depth), position=cut(passes.position), color=cut(passes.color),
                   color_planes=None if passes.color_planes is None else tuple(cut(p) for p in passes.color_planes),
                   normal=None if passes.normal is None else tuple(cut(p) for p in passes.normal),
                   position_planes=None if passes.position_planes is None else
                   tuple(cut(p) for p in passes.position_planes),
                   position_rows=None,  # row bands of the uncropped frame (the build's camera check uses those)
                   extra={k: cut(v) for k, v in passes.extra.items()},
                   mask=PixelMask(cut(mask.selected), cut(mask.coverage), mask.description),
                   window=(x0 + c0, y0 + r0))


def apply(point_set, passes):
    """The points of ``point_set`` whose pixels the frame's mask selects, with ``coverage``
    as an attribute (Cryptomatte). An empty selection raises :class:`InvalidDepthError`."""
    mask = passes.mask
    if mask is None:
        return point_set
    idx = pixel_offsets(point_set, passes)
    keep = mask.selected.reshape(-1).take(idx)
    if not keep.any():
        raise no_surface(passes)
    out = point_set.subset(keep)
    if mask.coverage is not None:
        out.attributes[COVERAGE_ATTRIBUTE] = mask.coverage.reshape(-1).take(idx[keep])
    out.meta = dict(out.meta, mask=mask.description, points_unmasked=len(point_set))
    return out


def no_surface(passes) -> InvalidDepthError:
    mask = passes.mask
    return InvalidDepthError(f"{passes.path}: the mask {mask.description} selects {int(mask.selected.sum())} "
                             "pixels but none of them holds a surface (all background, NaN/inf or outside the "
                             "clip range)")


def pixel_offsets(point_set, passes) -> np.ndarray:
    """Flat offsets of the points' pixels in the passes' (data window) arrays (at a detail N,
    the arrays hold every Nth pixel: ``core.detail``)."""
    h, w = passes.shape
    x0, y0 = passes.window
    step, offset = passes.step, passes.offset
    known = point_set.flat_index((h, w), (x0, y0), step, offset)
    if known is not None:  # the index the points were gathered with (no pixels made)
        return known
    cols, rows = point_set.pixels[:, 0].astype(np.int64) - x0, point_set.pixels[:, 1].astype(np.int64) - y0
    if step != 1:
        cols, rows = (cols - offset) // step, (rows - offset) // step
    return rows * w + cols
