"""Import (File > Import, drag and drop): EXR files -> the plan of what to build.

Dropped files are checked first, every one of them, before the scene is touched: a file that is
no usable EXR (missing, no EXR, damaged header, neither a depth nor a position pass) stops the
import with a message naming it. Then the files are grouped: the numbered frames of one
pattern (``shot_0001.exr``, ``shot_0002.exr``…) make one sequence (``shot_####.exr``), every
other file one cloud. The operator builds each through the panel's own Build Point Cloud /
Build Sequence, with the scene's Depth Cloud settings pointed at it.
"""
from __future__ import annotations

import math
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass

from ..core.errors import DepthCloudError, SourceFileError
from ..core.exr import read as exr
from ..core.exr.header import read_exr_header
from ..core.fileio import require_file

#: The last run of digits in a file name: ``shot_0007.exr`` -> ``shot_``, ``0007``, ``.exr``.
_NUMBERED = re.compile(r"^(.*?)(\d+)(\D*)$")


@dataclass(frozen=True)
class ImportItem:
    """One build: a single file (``frames`` empty) or a sequence ``pattern`` over ``frames``."""

    path: str
    frames: tuple = ()

    @property
    def is_sequence(self) -> bool:
        return len(self.frames) > 1

    @property
    def step(self) -> int:
        gaps = [b - a for a, b in zip(self.frames, self.frames[1:])]
        return max(math.gcd(*gaps), 1) if gaps else 1


def file_paths(directory: str, names, filepath: str = "") -> list[str]:
    """The absolute paths an import got: ``directory`` + ``files`` (drag and drop, the file
    browser), else ``filepath``; order kept, duplicates dropped."""
    paths = [os.path.join(directory, n) for n in names if n] if directory else []
    if not paths and filepath:
        paths = [filepath]
    seen, out = set(), []
    for p in paths:
        p = os.path.abspath(p)
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def check_usable(path: str) -> None:
    """Raise :class:`SourceFileError` (naming ``path``) unless it is an EXR whose header has
    a depth or a world position pass."""
    require_file(path)
    try:  # the header only (core.exr_header: no pixels decoded)
        parts = read_exr_header(path).parts
    except DepthCloudError as err:
        raise err if isinstance(err, SourceFileError) else SourceFileError(path, str(err)) from err
    except Exception as err:  # a header no reader anticipated: still the file's fault
        raise SourceFileError(path, f"damaged EXR header ({type(err).__name__})") from err
    names = [c.name for p in parts for c in p.channels]
    names += [f"{p.name}.{c.name}" for p in parts if p.name for c in p.channels]
    layers = exr.view_layers(names) or [""]
    if not any(exr.find_depth_channel(names, layer) or exr.find_position_channels(names, layer) for layer in layers):
        shown = ", ".join(names[:12]) + (" …" if len(names) > 12 else "")
        raise SourceFileError(path, f"no depth or position pass in the file (channels: {shown or 'none'})")


def plan(paths) -> list[ImportItem]:
    """Check every file (:func:`check_usable`), then group them: the numbered files of one
    pattern (same folder, prefix, digit count and suffix) with two or more frames become one
    sequence item (``#`` pattern, sorted frames), every other file a single item. Raises
    :class:`SourceFileError` for the first unusable file, or when there is no file."""
    paths = list(paths)
    if not paths:
        raise SourceFileError("(no file)", "nothing to import: choose or drop .exr files")
    for path in paths:
        check_usable(path)
    groups: dict = {}
    for path in paths:
        folder, name = os.path.split(path)
        stem, ext = os.path.splitext(name)
        m = _NUMBERED.match(stem)
        key = (folder, m.group(1), len(m.group(2)), m.group(3) + ext) if m else (path,)
        groups.setdefault(key, []).append(path)
    items = []
    for key, members in groups.items():
        if len(key) == 1 or len(members) == 1:
            items.extend(ImportItem(p) for p in members)
            continue
        folder, prefix, width, suffix = key
        frames = sorted(int(_NUMBERED.match(os.path.splitext(os.path.basename(p))[0]).group(2)) for p in members)
        items.append(ImportItem(os.path.join(folder, f"{prefix}{'#' * width}{suffix}"), tuple(frames)))
    return items


#: The scene settings an import points at its files (put back when a build fails).
_SETTINGS = ("exr_path", "source_mode", "color_path")
_SEQUENCE_SETTINGS = ("use_scene_range", "frame_start", "frame_end", "frame_step")


@contextmanager
def settings_for(scene, item: ImportItem):
    """The scene's Depth Cloud settings pointed at ``item`` (its path as the single multilayer
    EXR; a sequence's frames as the Build Sequence range) for the body; they stay so when the
    body succeeds (the panel then shows what was imported) and are put back when it raises."""
    s = scene.depth_cloud
    seq = s.sequence
    saved = {k: getattr(s, k) for k in _SETTINGS}
    saved_seq = {k: getattr(seq, k) for k in _SEQUENCE_SETTINGS}
    try:
        s.source_mode = 'MULTILAYER'
        s.exr_path = item.path
        if item.is_sequence:
            seq.use_scene_range = False
            seq.frame_start, seq.frame_end = item.frames[0], item.frames[-1]  # min and max keep start <= end
            seq.frame_step = item.step
        yield s
    except BaseException:
        for k, v in saved.items():
            setattr(s, k, v)
        for k, v in saved_seq.items():
            setattr(seq, k, v)
        raise
