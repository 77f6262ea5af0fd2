"""Reading deep OpenEXR parts: per-pixel sample arrays -> sample counts and flat values.

The OpenEXR bindings return each deep channel as an ``(h, w)`` object array of per-pixel
sample arrays (None where a pixel has no sample). :func:`flatten_channel` turns one into a
per-pixel sample count and one flat value array with two C-level passes (``map(len)``,
``np.concatenate``), no per-pixel Python code. All-deep files are opened with R, G, B(, A)
interleaved (:func:`open_deep_file`): one object array for the color instead of four, which
makes the flattening cost about a third of OpenEXR's own read instead of two thirds.
``core.exr`` calls this module for deep parts; what a deep frame becomes is ``core.deep``.
"""
from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass, field

import numpy as np

from ..errors import SourceFileError

DEEP_STORAGE = ("deepscanline", "deeptile")


class DeepSampleError(SourceFileError):
    """A deep part or channel is damaged or inconsistent (the message names file, part, channel)."""


def storage_name(value) -> str:
    """``'deepscanline'`` etc. from an ``OpenEXR.Storage`` value or a header string."""
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else str(value or "")


def is_deep_storage(value) -> bool:
    return storage_name(value) in DEEP_STORAGE


# --------------------------------------------------------------------------- flattening
def flatten_channel(pixels, shape, path="", part="", channel=""):
    """``(counts, values)`` of one deep channel: ``counts`` (h*w,) int32 samples per pixel
    (row-major), ``values`` (S,) the samples of every pixel in pixel order (stored dtype)."""
    where = f"deep part {part}, channel {channel!r}"
    if not isinstance(pixels, np.ndarray) or pixels.shape != tuple(shape):
        raise DeepSampleError(path, f"damaged deep EXR: {where} has {getattr(pixels, 'shape', None)} "
                                    f"pixels, the data window needs {tuple(shape)}")
    flat = pixels.reshape(-1)
    if flat.dtype != object:  # a deep channel of a file whose pixels all hold one sample
        return np.ones(flat.size, np.int32), flat.copy()
    has = np.fromiter(map(operator.is_not, flat, itertools.repeat(None)), bool, count=flat.size)
    filled = flat[has]
    counts = np.zeros(flat.size, np.int32)
    try:
        counts[has] = np.fromiter(map(len, filled), np.int64, count=filled.size)
        values = np.concatenate(filled.tolist()) if filled.size else np.empty(0, np.float32)
    except (TypeError, ValueError) as err:
        raise DeepSampleError(path, f"damaged deep EXR: {where} holds unreadable samples ({err})") from err
    if values.ndim not in (1, 2) or len(values) != int(counts.sum()):
        raise DeepSampleError(path, f"damaged deep EXR: {where}: {len(values)} values for {int(counts.sum())} samples")
    return counts, values


def open_deep_file(OpenEXR, path):
    """``OpenEXR.File`` of ``path`` when all its parts are deep, else None. R, G, B(, A) are
    read interleaved (one object array of (n, 3|4) samples instead of three or four: the
    flattening costs a third of OpenEXR's read instead of half); groups the bindings cannot
    coalesce (mixed half/float) are read channel by channel."""
    head = OpenEXR.File(path, header_only=True)
    if not all(is_deep_storage(p.header.get("type")) for p in head.parts):
        return None
    try:
        f = OpenEXR.File(path, separate_channels=False)
    except ValueError as err:
        if "coalesce" not in str(err):
            raise
        f = OpenEXR.File(path, separate_channels=True)
    got = len(f.parts)
    if got < len(head.parts):  # the library printed corrupt chunks and gave up on the rest
        hdr = head.parts[got].header
        names = ", ".join(getattr(c, "name", str(c)) for c in hdr.get("channels") or ())
        label = f"{got}" + (f" ({hdr['name']!r})" if hdr.get("name") else "")
        raise DeepSampleError(path, f"damaged deep EXR: deep part {label} could not be decoded "
                                    f"(channels {names})")
    return f


def _group_names(group: str, width: int, header: dict, path, label):
    """The channel names of an interleaved R, G, B(, A) group as the bindings name them:
    ``RGB``/``RGBA`` (no prefix) or the prefix (``rgba`` for ``rgba.R`` …)."""
    prefix = "" if group in ("RGB", "RGBA") else f"{group}."
    names = [prefix + c for c in "RGBA"[:width]]
    stored = {getattr(c, "name", c) for c in header.get("channels") or ()}
    if width not in (3, 4) or not set(names) <= stored:
        raise DeepSampleError(path, f"deep part {label}: cannot tell which channels the interleaved group "
                                    f"{group!r} ({width} values per sample) holds; channels: {sorted(stored)}")
    return names


@dataclass
class DeepPart:
    """One deep part of a file: its sample counts and each channel's samples, flattened."""

    index: int
    name: str
    view: str
    data_window: tuple
    counts: np.ndarray  # (h, w) int32
    channels: dict = field(default_factory=dict)  # name -> (S,) values (stored dtype)

    @property
    def samples(self) -> int:
        return int(self.counts.sum())


def flatten_part(path, index: int, part, header: dict, data_window) -> DeepPart:
    """A :class:`DeepPart` from an ``OpenEXR.Part`` (``header``: its attributes as plain
    values; ``data_window``: ``(xmin, ymin, xmax, ymax)``). Every channel must have the same
    sample count in every pixel."""
    dw = tuple(int(v) for v in data_window)
    w, h = dw[2] - dw[0] + 1, dw[3] - dw[1] + 1
    name = str(header.get("name", "") or "")
    label = f"{index}" + (f" ({name!r})" if name else "")
    counts, channels, first = None, {}, None
    for ch_name, channel in part.channels.items():
        c, values = flatten_channel(getattr(channel, "pixels", None), (h, w), path, label, ch_name)
        if counts is None:
            counts, first = c, ch_name
        elif not np.array_equal(c, counts):
            bad = int(np.count_nonzero(c != counts))
            raise DeepSampleError(path, f"damaged deep EXR: deep part {label}, channel {ch_name!r} has other "
                                        f"sample counts than channel {first!r} in {bad} pixel(s)")
        if values.ndim == 2:  # an interleaved R, G, B(, A) group
            for i, name_i in enumerate(_group_names(ch_name, values.shape[1], header, path, label)):
                channels[name_i] = values[:, i]
        else:
            channels[ch_name] = values
    if counts is None:
        counts = np.zeros(h * w, np.int32)
    return DeepPart(index=index, name=name, view=str(header.get("view", "") or ""), data_window=dw,
                    counts=counts.reshape(h, w), channels=channels)
