"""What reading an EXR gives: ``ExrFile`` (channels by full name, the parts' headers, views,
damage), its channels and row bands, and the steps every reader shares (a part's header stored,
one view chosen). The OpenEXR reader (``read.py``) and the safe reader (``safe.py``) both fill it."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..diagnostics import DAMAGED_PART, Diagnostics
from ..errors import ChannelError, SourceFileError
from . import damage as exr_damage
from . import views as views_mod
from .header import merge_part_headers

Window = tuple  # (xmin, ymin, xmax, ymax), inclusive, EXR convention (y down)


def as_window(value) -> Window:
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
class ExrRows:
    """Some rows of a channel (``read_exr(bands=...)``): ``rows`` (ascending, within the data
    window) and their ``(len(rows), w)`` float32 pixels."""

    name: str
    rows: np.ndarray
    pixels: np.ndarray
    data_window: Window
    part: int


@dataclass
class ExrFile:
    """All channels of an EXR file, by full name, plus the headers of its parts."""

    path: str
    channels: dict = field(default_factory=dict)  # name -> ExrChannel
    headers: list = field(default_factory=list)
    display_window: Window = (0, 0, 0, 0)
    #: Multi-view files: the file's views (default first) and the one read (core/views.py).
    views: list = field(default_factory=list)
    view: str | None = None
    #: Channels of damaged parts: name -> (part label, what is wrong); ``warnings`` names them.
    damaged: dict = field(default_factory=dict)
    warnings: list = field(default_factory=Diagnostics)  # core/diagnostics.py
    part_headers: dict = field(default_factory=dict)  # header part index -> attributes
    #: deep parts by part index (``core.deep_read.DeepPart``: sample counts and flattened samples)
    deep: dict = field(default_factory=dict)
    #: every channel name of the view when only some were read (``read_exr(channels=...)``)
    listed: list = field(default_factory=list)
    #: channels read only in row bands (``read_exr(bands=...)``): name -> ExrRows
    bands: dict = field(default_factory=dict)

    @property
    def header(self) -> dict:
        """Header attributes of all parts merged (part 0 wins)."""
        return merge_part_headers(self.headers)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the display window: the full frame."""
        return window_size(self.display_window)

    def names(self) -> list[str]:
        """Channel names (a damaged part's too: ``get`` then says what is wrong with it; and
        the ones not read by ``read_exr(channels=...)``)."""
        if self.listed:
            return list(self.listed)
        return list(self.channels) + [n for n in self.damaged if n not in self.channels]

    def damage_error(self, name: str) -> SourceFileError | None:
        """The error for using channel ``name`` of a damaged part (None if it is not damaged)."""
        if name in self.channels or name not in self.damaged:
            return None
        label, problem = self.damaged[name]
        return SourceFileError(self.path, f"damaged EXR: channel {name!r} is in {label}, which is damaged: {problem}")

    def get(self, name: str, window: Window | None = None, fill: float = np.nan) -> np.ndarray:
        """Pixels of channel ``name`` placed in ``window`` (default: its own data window);
        pixels outside the channel's data window are ``fill``."""
        ch = self.channels.get(name)
        if ch is None:
            damage = self.damage_error(name)
            if damage is not None:
                raise damage
            raise ChannelError(self.path, repr(name) + (" (not read)" if name in self.listed else ""), self.names())
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

    def get_rows(self, name: str, window: Window) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, pixels)`` of a channel read in row bands (``bands``), placed in ``window``:
        the rows (ascending, from ``window``'s top) that lie in it, and their
        ``(len(rows), window width)`` pixels (NaN outside the channel's data window)."""
        band = self.bands[name]
        dw = band.data_window
        rows = band.rows + dw[1] - window[1]
        keep = (rows >= 0) & (rows <= window[3] - window[1])
        if dw[0] == window[0] and dw[2] == window[2]:
            return rows[keep], band.pixels[keep]
        out = np.full((int(keep.sum()), window_size(window)[0]), np.nan, dtype=np.float32)
        x0, x1 = max(window[0], dw[0]), min(window[2], dw[2])
        if x0 <= x1:
            out[:, x0 - window[0]:x1 - window[0] + 1] = band.pixels[keep][:, x0 - dw[0]:x1 - dw[0] + 1]
        return rows[keep], out


def plain_value(value):
    """Header values as plain Python/numpy (enums become their names)."""
    if isinstance(value, (str, int, float, bool, bytes, np.ndarray, tuple, list, dict)) or value is None:
        return value
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else value


def add_header(out: ExrFile, path, index, part):
    """Store part ``index``'s header (as OpenEXR gives it); returns ``(header, data window)``."""
    try:
        header = {k: plain_value(v) for k, v in part.header.items()}
        dw = as_window(header["dataWindow"])
        disp = as_window(header["displayWindow"])
    except Exception as err:
        raise SourceFileError(path, f"damaged header attribute in part {index} ({err})") from err
    out.headers.append(header)
    if not out.part_headers:
        out.display_window = disp
    out.part_headers[index] = header
    return header, dw


def damaged_part_error(path, layout, problems) -> SourceFileError:
    """The error for the first damaged part (when nothing else of the file can be read)."""
    index, problem = next(iter(problems.items()))
    return SourceFileError(path, f"{exr_damage.part_label(index, layout.parts[index])} is damaged: {problem}")


def select_view(out: ExrFile, layout, entries, problems, view, header_only):
    """Fill ``out.channels`` (one view of a multi-view file), ``damaged`` and ``warnings``."""
    out.views = views_mod.file_views(p.attributes for p in layout.parts)  # ``view`` was checked in read_exr
    out.view = (view or out.views[0]) if out.views else None
    # every channel the header promises, with the part it is in (also the damaged parts')
    promised = [(i, p.attributes, c.name, i) for i, p in enumerate(layout.parts) for c in p.channels]
    if out.views:
        chosen, _ = views_mod.view_channels(entries, out.views, out.view)
        by_name, _ = views_mod.view_channels(promised, out.views, out.view)
        view_parts = {i for i, _ in enumerate(layout.parts)
                      if views_mod.part_view(layout.parts[i].attributes) in (None, out.view)}
        out.headers = [out.part_headers[i] for i in sorted(out.part_headers) if i in view_parts] or out.headers
    else:
        chosen = {}
        for _index, _attrs, name, ch in entries:
            chosen[name] = ch  # later parts win (as before)
        by_name = {name: i for i, _a, name, _ in promised}
    if not header_only:
        out.channels = chosen
    for name, index in by_name.items():
        if index in problems and name not in out.channels:
            out.damaged[name] = (exr_damage.part_label(index, layout.parts[index]), problems[index])
    for index, problem in problems.items():  # one warning per damaged part (a build needing it fails)
        out.warnings.append(f"{out.path}: {exr_damage.part_label(index, layout.parts[index])} was skipped: {problem}",
                             DAMAGED_PART, source=out.path, part=exr_damage.part_label(index, layout.parts[index]))
