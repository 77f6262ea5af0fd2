"""Reading OpenEXR render passes with the OpenEXR bindings (``OpenEXR.File``).

Handles Blender multilayer files (one part per pass in 5.x, one part with
``ViewLayer.Pass.Channel`` names in 4.x), single-layer files, half and float channels,
multi-part files, and data windows smaller than the display window (border renders).
Damaged files are detected by checking that each channel came back with the data window's
shape: the bindings sometimes return an object after only printing a warning.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import deep_read
from .errors import ChannelError, SourceFileError
from .exr_header import merge_part_headers
from .fileio import require_file

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import ModuleType

Window = tuple  # (xmin, ymin, xmax, ymax), inclusive, EXR convention (y down)


def _window(value) -> Window:
    lo, hi = value
    return (int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1]))


def window_size(win: Window) -> tuple[int, int]:
    return win[2] - win[0] + 1, win[3] - win[1] + 1


@dataclass
class ExrChannel:
    name: str
    pixels: np.ndarray  # (h, w) float32, rows top-down over the data window
    data_window: Window
    part: int


@dataclass
class ExrFile:
    """All channels of an EXR file, by full name, plus the headers of its parts."""

    path: str
    channels: dict = field(default_factory=dict)  # name -> ExrChannel
    headers: list = field(default_factory=list)
    display_window: Window = (0, 0, 0, 0)
    #: deep parts by part index (``core.deep_read.DeepPart``: sample counts and flattened samples)
    deep: dict = field(default_factory=dict)

    @property
    def header(self) -> dict:
        """Header attributes of all parts merged (part 0 wins)."""
        return merge_part_headers(self.headers)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the display window: the full frame."""
        return window_size(self.display_window)

    def names(self) -> list[str]:
        return list(self.channels)

    def get(self, name: str, window: Window | None = None, fill: float = np.nan) -> np.ndarray:
        """Pixels of channel ``name`` placed in ``window`` (default: its own data window);
        pixels outside the channel's data window are ``fill``."""
        ch = self.channels.get(name)
        if ch is None:
            raise ChannelError(self.path, repr(name), self.channels)
        if window is None or tuple(window) == ch.data_window:
            return ch.pixels
        w, h = window_size(window)
        out = np.full((h, w), fill, dtype=np.float32)
        x0, y0 = max(window[0], ch.data_window[0]), max(window[1], ch.data_window[1])
        x1, y1 = min(window[2], ch.data_window[2]), min(window[3], ch.data_window[3])
        if x0 <= x1 and y0 <= y1:
            out[y0 - window[1]:y1 - window[1] + 1, x0 - window[0]:x1 - window[0] + 1] = \
                ch.pixels[y0 - ch.data_window[1]:y1 - ch.data_window[1] + 1,
                          x0 - ch.data_window[0]:x1 - ch.data_window[0] + 1]
        return out


def import_openexr() -> ModuleType:
    try:
        import OpenEXR  # noqa: WPS433 (bundled wheel; imported lazily so enabling is instant)
    except ImportError as err:  # pragma: no cover - depends on the install
        raise SourceFileError("OpenEXR", f"the OpenEXR Python module is not available ({err})") from err
    return OpenEXR


def _set_decode_threads(OpenEXR, path):
    """Decode compressed files on every core (ZIP/PIZ/DWA about halve on two cores) but
    uncompressed ones on one thread (threads only add overhead there: 8 ms -> 17 ms at 1080p)."""
    compression = OpenEXR.File(path, header_only=True).parts[0].header.get("compression")
    threads = 1 if compression == OpenEXR.NO_COMPRESSION else min(os.cpu_count() or 1, 8)
    if OpenEXR.global_thread_count() != threads:
        OpenEXR.set_global_thread_count(threads)


def _plain(value):
    """Header values as plain Python/numpy (enums become their names)."""
    if isinstance(value, (str, int, float, bool, bytes, np.ndarray, tuple, list, dict)) or value is None:
        return value
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else value


def read_exr(path: str | os.PathLike[str], header_only: bool = False) -> ExrFile:
    """Read every channel of ``path`` as float32 (H, W) arrays, checked for damage."""
    path = require_file(path)
    OpenEXR = import_openexr()
    try:
        if not OpenEXR.isOpenExrFile(path):
            raise SourceFileError(path, "not an OpenEXR file")
        if not header_only:
            _set_decode_threads(OpenEXR, path)
        f = None if header_only else deep_read.open_deep_file(OpenEXR, path)  # all-deep files
        if f is None:
            f = OpenEXR.File(path, separate_channels=True, header_only=header_only)
        parts = list(f.parts)
    except SourceFileError:
        raise
    except Exception as err:  # the bindings raise RuntimeError, ValueError, UnicodeDecodeError, MemoryError
        raise SourceFileError(path, f"damaged or unreadable EXR ({type(err).__name__}: {err})") from err
    if not parts:
        raise SourceFileError(path, "damaged EXR: no readable part")
    out = ExrFile(path=path)
    for index, part in enumerate(parts):
        try:
            header = {k: _plain(v) for k, v in part.header.items()}
            dw = _window(header["dataWindow"])
            disp = _window(header["displayWindow"])
        except Exception as err:
            raise SourceFileError(path, f"damaged EXR header in part {index} ({err})") from err
        out.headers.append(header)
        if index == 0:
            out.display_window = disp
        if header_only:
            for name in part.channels if hasattr(part, "channels") else ():
                out.channels[name] = ExrChannel(name, np.empty((0, 0), np.float32), dw, index)
            continue
        if deep_read.is_deep_storage(header.get("type")):  # deep samples, flattened
            out.deep[index] = deep_read.flatten_part(path, index, part, header, dw)
            continue
        w, h = window_size(dw)
        for name, channel in part.channels.items():
            pixels = getattr(channel, "pixels", None)
            if pixels is None or getattr(pixels, "shape", None) != (h, w):
                raise SourceFileError(
                    path, f"damaged EXR: channel {name!r} has "
                    f"{getattr(pixels, 'shape', None)} pixels, the data window needs {(h, w)}")
            if pixels.dtype != np.float32:
                pixels = pixels.astype(np.float32)
            out.channels[name] = ExrChannel(name, pixels, dw, index)
    return out


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
