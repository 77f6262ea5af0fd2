"""OpenEXR's grouped read: every ``<prefix>.R/G/B`` (+ ``A``) of a part decoded into one
interleaved (h, w, 3|4) array (``OpenEXR.File(separate_channels=False)``), and those groups
split back into channel views. A color pass read this way needs no interleaving before it
is written as point colors (``core.gather.gather_colors`` takes it whole)."""
from __future__ import annotations

import numpy as np

from .half import to_float32


def color_groups(names) -> list[list[str]]:
    """The ``<prefix>.R/G/B`` (+ ``A``) groups among channel ``names`` (bare ``R/G/B/A`` too),
    each as its member names in R, G, B, A order: what OpenEXR's grouped read joins."""
    have = set(names)
    groups = []
    for name in names:
        if name == "R" or name.endswith(".R"):
            stem = name[:-1]
            members = [stem + c for c in "RGBA" if stem + c in have]
            if members[:3] == [stem + c for c in "RGB"]:
                groups.append(members)
    return groups


def _groups_coalesce(channel_lists) -> bool:
    """Whether OpenEXR's ``separate_channels=False`` read can take parts with these channels
    (one ``[(name, pixel type)]`` per part): it joins every group of :func:`color_groups` into
    one (h, w, 3|4) array and refuses a group of mixed pixel types (a ValueError naming it)."""
    for channels in channel_lists:
        kinds = dict(channels)
        if any(len({kinds[m] for m in group}) > 1 for group in color_groups(list(kinds))):
            return False
    return True


def open_channels(OpenEXR, path, channel_lists):
    """``OpenEXR.File`` of ``path`` with each part's color groups read interleaved (one
    (h, w, 4) array per RGBA pass, decoded straight into that layout: no interleaving later,
    ``core.gather.gather_colors`` takes colors from it whole) when the header allows it;
    ``(file, grouped)``."""
    if _groups_coalesce(channel_lists):
        try:
            return OpenEXR.File(path, separate_channels=False), True
        except ValueError:  # a group the header check did not foresee: read channel by channel
            pass
    return OpenEXR.File(path, separate_channels=True), False


def part_channels(part, header_names) -> dict | None:
    """``{channel name: (h, w) array}`` of an OpenEXR part read with
    ``separate_channels=False``: each joined RGB(A) group split back into its channels as views
    of the group (float32: half groups converted whole). None when a group does not map onto
    the header's channel names (the caller reads the part channel by channel)."""
    header_names = list(header_names)
    names = set(header_names)
    out = {}
    for key, channel in part.channels.items():
        pixels = getattr(channel, "pixels", None)
        if pixels is None or pixels.ndim != 3:
            if key not in names or key in out:
                return None
            out[key] = pixels
            continue
        count = pixels.shape[2]
        bare = key in ("RGB", "RGBA") and "R" in names
        members = [(c if bare else f"{key}.{c}") for c in "RGBA"[:count]]
        if count not in (3, 4) or any(m not in names or m in out for m in members):
            return None
        if pixels.dtype != np.float32:
            pixels = to_float32(pixels)
        for k, member in enumerate(members):
            out[member] = pixels[..., k]
    if len(out) != len(names):
        return None
    return {name: out[name] for name in header_names}  # the header's order, as a channel-by-channel read gives
