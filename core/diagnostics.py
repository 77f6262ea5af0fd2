"""One channel for what a result wants the user to know: a typed list of diagnostics that
travels with every result (a build's PointSet, a frame's passes, a bake, a fusion, a pick, a
check) and that each surface empties once:

- the operators: ``self.report({'WARNING'}, message)`` (``operators/_report.py``),
- the command line: ``warning: message`` lines on stderr, counted in the closing summary,
- the Python API: ``warnings.warn(message, DepthCloudWarning)``; ``strict=True`` raises
  :class:`~core.errors.StrictWarningError` instead.

``Diagnostics`` is a list of :class:`Diagnostic`; appending a plain string makes a
``'warning'`` diagnostic of it, so producers can stay one line. Pure Python (no bpy).
Model: glTF-Blender-IO's ``io/com/debug.py`` log, emptied by its export operator.
"""
from __future__ import annotations

import os
import sys
import warnings as _warnings

from .errors import StrictWarningError
from .frames import frame_ranges_text

#: Kinds of diagnostics (what the user's world calls the problem).
WARNING = "warning"          # anything not named below
CLIP = "clip"                # points dropped outside the camera's clip range
NONFINITE = "nonfinite"      # NaN/inf depth or position pixels skipped
CAMERA = "camera"            # the camera does not explain the file (or was replaced by the file's)
DAMAGED_PART = "damaged_part"  # a damaged part the build did not need was skipped
STEREO = "stereo"            # a multi-view eye built with the mono camera
COLOR = "color"              # colors missing / outside the data window
MISSING = "missing"          # frames missing (allowed)
OTHER_CAMERA = "other_camera"  # the camera the file names is not in the scene


class DepthCloudWarning(UserWarning):
    """The category of every warning Depth Cloud's Python API gives
    (``warnings.simplefilter("error", DepthCloudWarning)`` makes them errors)."""


class Diagnostic(str):
    """One thing the user must hear about: the whole message (it names the file, part or
    setting; a Diagnostic IS that text, so code that handled plain warning strings keeps
    working), its ``kind`` (see the constants above) and where it came from when known
    (``source`` file, ``part``, ``frame``)."""

    def __new__(cls, kind: str, message: str, source: str = "", part: str = "", frame: int | None = None):
        self = super().__new__(cls, str(message))
        self.kind, self.source, self.part, self.frame = kind, str(source or ""), str(part or ""), frame
        return self

    @property
    def message(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"Diagnostic({self.kind!r}, {self.message!r})"

    def __reduce__(self):
        return (Diagnostic, (self.kind, self.message, self.source, self.part, self.frame))

    def where(self, **where) -> Diagnostic:
        """The same diagnostic with the given ``source``/``part``/``frame`` filled in where unknown."""
        values = {"source": self.source, "part": self.part, "frame": self.frame}
        for key, value in where.items():
            if value is not None and not values[key] and values[key] != 0:
                values[key] = value
        return Diagnostic(self.kind, self.message, **values)

    def text(self) -> str:
        """The message, prefixed by the frame when it is known and not already named."""
        if self.frame is not None and f"frame {self.frame}" not in self.message:
            return f"frame {self.frame}: {self.message}"
        return self.message


def as_diagnostic(item, kind: str = WARNING, **where) -> Diagnostic:
    if isinstance(item, Diagnostic):
        return item.where(**where)
    return Diagnostic(kind, str(item), **{k: v for k, v in where.items() if v is not None})


class Diagnostics(list):
    """A list of :class:`Diagnostic` (strings appended become ``'warning'`` diagnostics);
    duplicates (same kind, message and frame) are kept once."""

    def __init__(self, items=()):
        super().__init__()
        self.extend(items or ())

    def append(self, item, kind: str = WARNING, **where) -> None:
        d = as_diagnostic(item, kind, **where)
        if not any(x.kind == d.kind and x.message == d.message and x.frame == d.frame for x in self):
            super().append(d)

    def add(self, kind: str, message: str, **where) -> Diagnostic:
        d = Diagnostic(kind, message, **where)
        self.append(d)
        return d

    def extend(self, items) -> None:
        for item in items or ():
            self.append(item)

    def __iadd__(self, items):
        self.extend(items)
        return self

    def messages(self) -> list:
        return [d.message for d in self]

    def of_kind(self, kind: str) -> list:
        return [d for d in self if d.kind == kind]

    def in_frame(self, frame: int) -> Diagnostics:
        """The same diagnostics marked as coming from ``frame``."""
        return Diagnostics(as_diagnostic(d, frame=int(frame)) for d in self)


def collect(*sources) -> Diagnostics:
    """The diagnostics of several results (each a Diagnostics/list of strings, an object with
    ``.warnings``/``.diagnostics`` or a PointSet with ``meta['warnings']``), in order, once each."""
    out = Diagnostics()
    for src in sources:
        out.extend(of(src))
    return out


def of(result) -> Diagnostics:
    """The diagnostics a result carries (empty when none)."""
    if result is None:
        return Diagnostics()
    if isinstance(result, list):
        return Diagnostics(result)
    for name in ("diagnostics", "warnings"):
        value = getattr(result, name, None)
        if isinstance(value, list):
            return Diagnostics(value)
    meta = getattr(result, "meta", None)
    if meta is None and getattr(result, "point_set", None) is not None:  # a FusionResult
        meta = getattr(result.point_set, "meta", None)
    if isinstance(meta, dict):
        return Diagnostics(meta.get("warnings", ()))
    stats = getattr(result, "stats", None)
    if isinstance(stats, dict):
        return Diagnostics(stats.get("warnings", ()))
    return Diagnostics()


def grouped_text(diagnostics) -> list:
    """One line per kind of diagnostic over many frames (a sequence reports once, not per
    frame): the first message, and the other frames it happened in."""
    groups: dict = {}
    for d in diagnostics:
        groups.setdefault(d.kind if d.kind != WARNING else d.message, []).append(d)
    out = []
    for items in groups.values():
        first = items[0]
        frames = sorted({d.frame for d in items if d.frame is not None})
        if len(frames) > 1:
            out.append(f"frames {frame_ranges_text(frames)}: {first.message}"
                       + (f" (frame {first.frame}; the others alike)" if first.kind != WARNING else ""))
        else:
            out.append(first.text())
    return out


def strict_error(diagnostics, what: str = "the result"):
    """The typed error ``strict`` raises for ``diagnostics`` (None when there is none)."""
    diagnostics = Diagnostics(diagnostics)
    if not diagnostics:
        return None
    first = diagnostics[0].text()
    more = f" (and {len(diagnostics) - 1} more warning(s))" if len(diagnostics) > 1 else ""
    return StrictWarningError(f"strict: {what} has a warning: {first}{more}", diagnostics)


def _caller_stacklevel() -> int:
    """``warnings.warn``'s stacklevel, from :func:`emit`, of the first frame outside this
    package: the warning points at the user's line, however deep the package's own calls are
    (API wrappers, builds, bakes)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame, level = sys._getframe(1), 1  # emit's frame is level 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def emit(diagnostics, strict: bool = False, what: str = "the result") -> None:
    """The API surface: raise :class:`StrictWarningError` when ``strict`` and there is any
    diagnostic, else one ``warnings.warn(..., DepthCloudWarning)`` per diagnostic."""
    diagnostics = Diagnostics(diagnostics)
    if strict:
        err = strict_error(diagnostics, what)
        if err is not None:
            raise err
        return
    for d in diagnostics:
        _warnings.warn(d.text(), DepthCloudWarning, stacklevel=_caller_stacklevel())


def counted(count: int, noun: str) -> str:
    """``"1 frame"``, ``"3 frames"``, ``"12,000 points"``: a count with its noun, singular
    for one (messages never say "1 frames")."""
    return f"{int(count):,} {noun}" + ("" if int(count) == 1 else "s")
