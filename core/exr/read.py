"""Reading OpenEXR render passes with the OpenEXR bindings (``OpenEXR.File``).

Handles Blender multilayer files (one part per pass in 5.x, one part with
``ViewLayer.Pass.Channel`` names in 4.x), single-layer files, half and float channels,
multi-part files, and data windows smaller than the display window (border renders).
Damaged files are detected by checking that each channel came back with the data window's
shape: the bindings sometimes return an object after only printing a warning.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DepthCloudError, SourceFileError, ViewError
from ..fileio import require_file
from . import damage as exr_damage
from . import deep_read
from . import host as exr_host
from . import noise as exr_noise
from . import parts as exr_parts
from . import safe as exr_safe
from . import views as views_mod
from .file import (  # noqa: F401 (ExrFile, window_size: also read.ExrFile …)
    ExrChannel,
    ExrFile,
    ExrRows,
    Window,
    add_header,
    as_window,
    damaged_part_error,
    plain_value,
    select_view,
    window_size,
)
from .groups import open_channels, part_channels
from .half import to_float32
from .header import read_exr_header

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import ModuleType


def import_openexr() -> ModuleType:
    report = exr_host.host_report()
    if not report.safe:  # importing it here would crash the process (core/exr_host.py)
        raise SourceFileError("OpenEXR", f"the OpenEXR Python module cannot be used in this process: {report.reason}")
    try:
        import OpenEXR  # noqa: WPS433 (bundled wheel; imported lazily so enabling is instant)
    except ImportError as err:  # pragma: no cover - depends on the install
        raise SourceFileError("OpenEXR", f"the OpenEXR Python module is not available ({err})") from err
    return OpenEXR


def _set_decode_threads(OpenEXR, compressed: bool):
    """Decode compressed files on every core (ZIP/PIZ/DWA about halve on two cores) but
    uncompressed ones on one thread (threads only add overhead there: 8 ms -> 17 ms at 1080p).
    ``compressed`` comes from the header read (``core.exr_header``), not another open."""
    threads = min(os.cpu_count() or 1, 8) if compressed else 1
    if OpenEXR.global_thread_count() != threads:
        OpenEXR.set_global_thread_count(threads)


def read_exr(path: str | os.PathLike[str], header_only: bool = False, view: str | None = None,
             channels: Iterable[str] | Callable[[list[str]], Iterable[str]] | None = None,
             reader: str = "auto", bands: Iterable[str] | Callable[[list[str]], Iterable[str]] | None = None
             ) -> ExrFile:
    """Read the channels of ``path`` as float32 (H, W) arrays, checked for damage.

    The header is read once (``core.exr_header``): it gives the typed errors of damaged
    headers, each part's damage (``core.exr_damage``), the views, and the channel list a build
    chooses from before anything is decoded.

    Multi-view files (``core.views``) give the channels of one ``view`` (default: the file's
    default view) under their names without the view, plus the channels of no view.
    A damaged part (truncated, undecodable) is left out with a warning in ``warnings``; its
    channels stay listed in ``names()`` so that using one raises an error naming the part and
    the damage (``get``) instead of quietly building without it.

    ``channels``: None reads every channel (of the view); else the names to read, or
    ``choose(names) -> names`` called with every channel name of the view (damaged parts'
    included). Only those are decoded, from only the parts that hold them (``names()`` still
    lists them all; ``get`` of another says it was not read). Names given as a list must be
    readable: one in a damaged part raises the error naming the part; a ``choose`` callable may
    pick optional channels, so a damaged one is only left in ``damaged`` (``get`` raises).
    ``reader``: see :data:`READERS`.

    ``bands`` (with ``channels``): optional channels (names, or ``choose(names)`` called after
    ``channels``) wanted only in a few row bands spread over their data window
    (``core.exr_parts.read_row_bands``: whole chunks, any scanline codec) into ``bands``
    (``get_rows``). A channel whose part is decoded anyway, or that the band reader cannot
    take (tiled, deep, damage it finds), is read whole into ``channels`` instead; one of a
    damaged part is only left in ``damaged``.
    """
    path = require_file(path)
    if reader not in READERS:
        raise ValueError(f"EXR reader {reader!r} is unknown; expected one of {READERS}")
    eye = None
    if view and views_mod.is_individual_eye_file(path, view):
        layout = read_exr_header(path)
        if not views_mod.file_views(p.attributes for p in layout.parts):
            eye, view = view, None  # Stereoscopy "Individual": this file is that eye's (shot_L.exr)
    known = _checked_header(path, header_only, view)
    if not exr_host.openexr_safe():  # the OpenEXR module would crash this process: own decoders

        return exr_safe.read(path, known, header_only, view, channels, bands)
    if channels is None or header_only:
        out = _read_all(path, header_only, view, known)
    else:
        out = _read_selected(path, known, view, channels, reader, bands)
    if eye:
        out.view = eye
    return out


#: How ``read_exr(channels=...)`` decodes: ``"parts"`` (the chosen parts of a multipart file
#: copied into a smaller file that OpenEXR decodes: any codec), ``"numpy"`` (core.exr_parts'
#: own numpy + zlib decoder: scanline NONE/ZIPS/ZIP), ``"full"`` (OpenEXR reads every part), or
#: ``"auto"`` (what measured fastest, see docs/production.md). Any file the chosen reader cannot
#: take, and every part it finds damaged, goes to the full read.
READERS = ("auto", "parts", "numpy", "full")


def _checked_header(path, header_only: bool, view):
    """``(layout, problems)``: the file's headers (``core.exr_header``) and its damaged flat
    parts; typed errors for files that are no EXR, damaged headers, an unknown ``view``, and
    (unless ``header_only``) files of which no part is readable."""
    try:  # typed errors for files that are no EXR or whose header is damaged
        layout = read_exr_header(path)
        problems = _layout_problems(layout, path, header_only)
    except SourceFileError:
        raise
    except Exception as err:  # a header no reader anticipated: still the file's fault
        raise SourceFileError(path, f"damaged EXR header ({type(err).__name__})") from err
    views = views_mod.file_views(p.attributes for p in layout.parts)
    if view and view not in views:  # before decoding anything
        raise ViewError(path, view, views)
    if problems and len(problems) == len(layout.parts) and not header_only:
        # nothing readable: say why without letting the library print its own diagnostics
        raise damaged_part_error(path, layout, problems)
    return layout, problems


def _compressed(layout, indices=None) -> bool:
    parts = layout.parts if indices is None else [layout.parts[i] for i in indices]
    return any(p.attributes.get("compression") != "NONE" for p in parts)


def _read_all(path, header_only: bool, view: str | None = None, known=None, grouped: bool = True) -> ExrFile:
    """OpenEXR's read of every part (``known``: ``_checked_header``'s result, else read here;
    ``grouped``: RGB(A) passes decoded interleaved when the header allows, :func:`open_channels`)."""
    layout, problems = known if known is not None else _checked_header(path, header_only, view)
    problems = dict(problems)
    OpenEXR = import_openexr()
    noise = []
    try:
        with exr_noise.captured() as noise:  # the library's console lines: quoted in the error, not printed
            if not header_only:
                _set_decode_threads(OpenEXR, _compressed(layout))
            f = None if header_only else deep_read.open_deep_file(OpenEXR, path)  # all-deep files
            if f is None and (header_only or not grouped):
                f, grouped = OpenEXR.File(path, separate_channels=True, header_only=header_only), False
            elif f is None:
                f, grouped = open_channels(OpenEXR, path, _channel_lists(layout.parts))
            else:
                grouped = False
            parts = list(f.parts)
    except DepthCloudError:  # e.g. core.deep_read naming a damaged deep part
        raise
    except Exception as err:  # the bindings raise RuntimeError, ValueError, UnicodeDecodeError, MemoryError
        if problems:
            raise damaged_part_error(path, layout, problems) from err
        said = exr_noise.first_message("".join(noise), path)
        raise SourceFileError(path, exr_damage.describe_decode_error(err, path)
                              + (f" (OpenEXR: {said})" if said else "")) from err
    if not parts:
        if problems:
            raise damaged_part_error(path, layout, problems)
        raise SourceFileError(path, f"damaged EXR: the OpenEXR library could read none of its {len(layout.parts)} "
                                    "part(s) (corrupt pixel data)")
    out = ExrFile(path=path)
    entries = []  # (part index, attributes, channel name, ExrChannel) of every part read
    matched = _match_parts(layout, parts)
    for index, part in matched.items():
        header, dw = add_header(out, path, index, part)
        if header_only:
            continue
        if index in problems:
            continue
        if deep_read.is_deep_storage(header.get("type")):  # deep samples, flattened
            out.deep[index] = deep_read.flatten_part(path, index, part, header, dw)
            continue
        w, h = window_size(dw)
        split = part_channels(part, [c.name for c in layout.parts[index].channels]) if grouped else None
        if grouped and split is None:  # a group that maps onto no header names: channel by channel
            return _read_all(path, header_only, view, known, grouped=False)
        channels = split if split is not None else {n: getattr(c, "pixels", None) for n, c in part.channels.items()}
        for name, pixels in channels.items():
            if pixels is None or getattr(pixels, "shape", None) != (h, w):
                problems[index] = (f"damaged pixel data: channel {name!r} decoded to "
                                   f"{getattr(pixels, 'shape', None)} pixels, its data window needs {(h, w)}")
                break
            if pixels.dtype != np.float32:
                pixels = to_float32(pixels)
            entries.append((index, header, name, ExrChannel(name, pixels, dw, index)))
    for index in range(len(layout.parts)):
        if index not in matched and index not in problems:
            problems[index] = "the OpenEXR library could not read it"
    entries = [e for e in entries if e[0] not in problems]
    select_view(out, layout, entries, problems, view, header_only)
    return out


def _channel_lists(parts) -> list:
    return [[(c.name, c.pixel_type) for c in p.channels] for p in parts]


def _open_openexr(compressed: bool):
    def open_exr(path, channel_lists=None):  # the parts' [(channel, pixel type)]: color groups interleaved
        OpenEXR = import_openexr()
        _set_decode_threads(OpenEXR, compressed)
        with exr_noise.captured():  # a damaged chunk: the typed error says it, not a console flood
            if channel_lists is None:  # channel by channel
                return OpenEXR.File(path, separate_channels=True)
            return open_channels(OpenEXR, path, channel_lists)[0]
    return open_exr


def _read_selected(path, known, view, channels, reader, bands=None) -> ExrFile:
    """``read_exr(channels=...)``: the view's channel list and the damaged parts from the one
    header read, then only the chosen channels of the healthy parts decoded by a part reader
    (``core.exr_parts``), or by OpenEXR's full read where those cannot (codec, layout, damage
    they find); ``bands``: see ``read_exr``."""
    layout, problems = known
    strict = not callable(channels)
    banded = []  # the names of ``bands``, chosen once the channel list is known

    def choose(names):
        chosen = list(dict.fromkeys(channels(list(names)) if not strict else channels))
        banded[:] = [n for n in dict.fromkeys(bands(list(names)) if callable(bands) else bands or ())
                     if n not in chosen]
        return chosen

    if any(exr_damage.is_deep(p) for p in layout.parts):  # deep files are read whole (core/deep_read.py)
        return _read_all(path, False, view, known)
    out = ExrFile(path=path)
    heads = _openexr_headers(path, layout)
    if len(heads) != len(layout.parts):  # the library drops a part: let its full read say which
        return _filtered(_read_all(path, False, view, known), choose, strict, banded)
    for index in sorted(heads):
        add_header(out, path, index, heads[index])
    slots = [(i, p.attributes, c.name, (i, c.name)) for i, p in enumerate(layout.parts) if i not in problems
             for c in p.channels]
    select_view(out, layout, slots, problems, view, False)  # views, damaged, warnings, headers
    slot_of, out.channels = out.channels, {}  # name (view removed) -> (part index, name in the part)
    out.listed = list(slot_of) + [n for n in out.damaged if n not in slot_of]
    chosen = choose(out.listed)
    if strict:
        for name in chosen:
            if name not in slot_of and name in out.damaged:
                raise out.damage_error(name)
    per_part = {}
    for name in chosen:
        if name in slot_of:
            index, raw = slot_of[name]
            per_part.setdefault(index, set()).add(raw)
    by_band_part, whole = {}, []  # part index -> names read in row bands; band names read whole
    for name in banded:
        if name in slot_of:
            index, raw = slot_of[name]
            if index in per_part or reader == "full":  # decoded anyway: read it whole
                per_part.setdefault(index, set()).add(raw)
                whole.append(name)
            else:
                by_band_part.setdefault(index, []).append(name)
    compressed = _compressed(layout, set(per_part) | set(by_band_part))
    for index, names in list(by_band_part.items()):
        try:
            rows, planes = exr_parts.read_row_bands(layout, index, [slot_of[n][1] for n in names],
                                                    _open_openexr(compressed))
        except (exr_parts.Unsupported, exr_parts.Damaged, OSError):  # read it whole (or let the full read decide)
            per_part.setdefault(index, set()).update(slot_of[n][1] for n in names)
            whole.extend(names)
            continue
        for name in names:
            out.bands[name] = ExrRows(name, rows, planes[slot_of[name][1]], tuple(layout.parts[index].data_window),
                                      index)
    if not per_part:
        return out
    try:
        if reader == "full":
            raise exr_parts.Unsupported("full read asked for")
        _, decoded = exr_parts.read_parts(layout, per_part, _open_openexr(compressed), reader)
    except (exr_parts.Unsupported, exr_parts.Damaged, OSError):
        # OpenEXR's full read decides: it repairs some damage and names the rest
        return _filtered(_read_all(path, False, view, known), chosen, strict, banded)
    for name in chosen + whole:
        if name in slot_of:
            index, raw = slot_of[name]
            out.channels[name] = ExrChannel(raw, decoded[index][raw], tuple(layout.parts[index].data_window), index)
    return out


def _filtered(full: ExrFile, chosen, strict: bool, optional=()) -> ExrFile:
    """A full read cut down to the chosen channels and the ``optional`` ones (names that
    ``read_exr(bands=...)`` wanted; a callable ``chosen`` fills them in when it is called)
    (deep files stay whole)."""
    if full.deep:
        return full
    names = full.names()
    if callable(chosen):
        chosen = chosen(list(names))
    keep = set(chosen) | set(optional)
    if strict:
        for name in chosen:
            if name in names and name not in full.channels:
                raise full.damage_error(name) or SourceFileError(
                    full.path, f"damaged EXR: channel {name!r} is in the header but its pixels could not be read")
    full.listed = names
    full.channels = {n: ch for n, ch in full.channels.items() if n in keep}
    return full


def _openexr_headers(path, layout) -> dict:
    """``{part index: OpenEXR part}`` of the file's headers as OpenEXR gives them (no pixels)."""
    OpenEXR = import_openexr()
    try:
        parts = list(OpenEXR.File(path, separate_channels=True, header_only=True).parts)
    except Exception as err:  # the bindings raise RuntimeError, ValueError, UnicodeDecodeError
        raise SourceFileError(path, exr_damage.describe_decode_error(err, path)) from err
    return _match_parts(layout, parts)


def file_views(path: str | os.PathLike[str]) -> list[str]:
    """The views of a multi-view EXR (default first; ``[]`` for other files), from its header."""
    return views_mod.file_views(p.attributes for p in read_exr_header(path).parts)


def _layout_problems(layout, path, header_only: bool = False) -> dict:
    """Per-part damage of the flat parts found from the layout (deep parts are checked by
    ``core.deep_read`` as it reads their samples)."""
    try:
        problems = exr_damage.part_problems(layout, path)
    except exr_damage.LayoutError as err:
        raise SourceFileError(path, str(err)) from err
    return {i: p for i, p in problems.items() if not exr_damage.is_deep(layout.parts[i])}


def _match_parts(layout, parts) -> dict:
    """``{header part index: part read}``: the bindings leave out parts they cannot read, so the
    parts read are matched to the header's by name, in order."""
    matched, j = {}, 0
    for index, hp in enumerate(layout.parts):
        if j >= len(parts):
            break
        name = parts[j].header.get("name", "") or ""
        if len(parts) == len(layout.parts) or str(name) == hp.name:
            matched[index] = parts[j]
            j += 1
    return matched


# ------------------------------------------------------------------ channel lookup
def split_name(name: str) -> tuple[str, str, str]:
    """``'ViewLayer.Depth.Z'`` -> ``('ViewLayer', 'Depth', 'Z')``; ``'Depth.Z'`` ->
    ``('', 'Depth', 'Z')``; ``'Z'`` -> ``('', '', 'Z')``."""
    bits = name.rsplit(".", 2)
    while len(bits) < 3:
        bits.insert(0, "")
    return tuple(bits)


def view_layers(names: Iterable[str]) -> list[str]:
    """View layer names found in Blender-style ``Layer.Pass.Channel`` names, in file order."""
    seen = []
    for n in names:
        layer = split_name(n)[0]
        if layer and layer not in seen:
            seen.append(layer)
    return seen


def _prefixes(layer: str):
    return [f"{layer}." if layer else ""] + ([""] if layer else [])


DEPTH_PASSES = ("Depth", "depth", "Z", "")
DEPTH_LEAVES = ("Z", "V", "Y", "R")
COLOR_PASSES = ("Combined", "Image", "rgba", "RGBA", "Beauty", "beauty", "")
POSITION_PASSES = ("Position", "P", "position", "Pworld", "WorldPosition", "P_world")


def find_depth_channel(names: Iterable[str], layer: str = "") -> str | None:
    """Best depth channel: ``Layer.Depth.Z``, ``Depth.Z``, ``Z``, ``Depth``, ``depth``, ``V``…"""
    names = list(names)
    have = set(names)
    for prefix in _prefixes(layer):
        for pass_name in DEPTH_PASSES:
            for leaf in DEPTH_LEAVES:
                if not pass_name and leaf not in ("Z", "V"):
                    continue
                cand = f"{prefix}{pass_name}.{leaf}" if pass_name else f"{prefix}{leaf}"
                if cand in have:
                    return cand
        for bare in ("Depth", "depth", "distance", "Distance"):
            if f"{prefix}{bare}" in have:
                return f"{prefix}{bare}"
    return None


def _find_group(names, passes, leaves, layer: str):
    have = set(names)
    for prefix in _prefixes(layer):
        for pass_name in passes:
            base = f"{prefix}{pass_name}." if pass_name else prefix
            if all(f"{base}{leaf}" in have for leaf in leaves[:3]):
                return base
    return None


def find_color_channels(names: Iterable[str], layer: str = "", prefix: str | None = None) -> list[str | None] | None:
    """``[R, G, B, A-or-None]`` channel names of the colour pass, or None."""
    have = set(names)
    base = None
    if prefix:
        base = prefix if prefix.endswith(".") else prefix + "."
        if not all(f"{base}{c}" in have for c in "RGB"):
            return None
    else:
        base = _find_group(names, COLOR_PASSES, ("R", "G", "B"), layer)
        if base is None:
            return None
    alpha = f"{base}A" if f"{base}A" in have else None
    return [f"{base}R", f"{base}G", f"{base}B", alpha]


def find_position_channels(names: Iterable[str], layer: str = "", prefix: str | None = None) -> list[str] | None:
    """``[X, Y, Z]`` channel names of a world position pass (``Position.X`` or ``P.R`` style)."""
    have = set(names)
    candidates = [prefix if prefix.endswith(".") else prefix + "."] if prefix else None
    for leaves in (("X", "Y", "Z"), ("R", "G", "B"), ("x", "y", "z")):
        if candidates:
            if all(f"{candidates[0]}{c}" in have for c in leaves):
                return [f"{candidates[0]}{c}" for c in leaves]
            continue
        base = _find_group(names, POSITION_PASSES, leaves, layer)
        if base is not None:
            return [f"{base}{c}" for c in leaves]
    return None
