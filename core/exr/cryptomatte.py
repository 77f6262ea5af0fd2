"""Cryptomatte layers of an EXR: their manifests (name -> id) and per-pixel coverage.

As Blender (and the Cryptomatte specification) writes them: a layer ``ViewLayer.CryptoObject``
is stored as channel groups ``ViewLayer.CryptoObject00``, ``…01``, ``…02`` with channels
``r g b a`` = (id, coverage) of two ranks each; the header carries, per layer,
``cryptomatte/<key>/name`` (the layer name), ``/hash`` (``MurmurHash3_32``), ``/conversion``
(``uint32_to_float32``: an id is the float32 whose bit pattern is the uint32 hash) and
``/manifest`` (JSON ``{"Cube": "a8fce865", …}``) or ``/manif_file`` (a JSON sidecar next to the
EXR). Ids are compared as bit patterns (``ids.view(np.uint32)``), never as float values.
"""
from __future__ import annotations

import difflib
import fnmatch
import json
import os
import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import ChannelError, SettingsError, SourceFileError
from .header import read_exr_header

_KEY = re.compile(r"^cryptomatte/([^/]+)/(name|hash|conversion|manifest|manif_file)$")
_RANK_GROUP = re.compile(r"^(.*?)(\d\d)\.([rgbaRGBA])$")
#: Blender's layer kinds, in the order a name is looked up when no layer is chosen.
KIND_ORDER = ("CryptoObject", "CryptoMaterial", "CryptoAsset")


@dataclass
class CryptoLayer:
    """One Cryptomatte layer: ``name`` as in the header (``ViewLayer.CryptoObject``),
    ``manifest`` name -> uint32 id (None when the file carries none) and ``ranks``, the
    ``(id channel, coverage channel)`` pairs in rank order."""

    name: str
    key: str = ""
    hash: str = ""
    conversion: str = ""
    manifest: dict | None = None
    ranks: list = field(default_factory=list)
    manifest_problem: str = ""

    @property
    def short_name(self) -> str:
        """``CryptoObject`` of ``ViewLayer.CryptoObject``."""
        return self.name.rsplit(".", 1)[-1]

    def names(self) -> list:
        return sorted(self.manifest or (), key=str.lower)

    def matches(self, wanted: str) -> bool:
        """Whether ``wanted`` names this layer: its full or short name, case-insensitive, or
        ``object``/``material``/``asset`` for Blender's layers."""
        w = wanted.strip().lower()
        return w in (self.name.lower(), self.short_name.lower()) or \
            (self.short_name.lower().startswith("crypto") and self.short_name.lower()[6:] == w)


def _parse_manifest(text, where: str):
    try:
        raw = json.loads(text)
    except (TypeError, ValueError) as err:
        return None, f"its manifest in {where} is not valid JSON ({err})"
    if not isinstance(raw, dict):
        return None, f"its manifest in {where} is not a JSON object of name -> hex id"
    out = {}
    for name, hexid in raw.items():
        try:
            out[str(name)] = int(str(hexid), 16) & 0xFFFFFFFF
        except ValueError:
            return None, f"its manifest in {where} has a bad id {hexid!r} for {name!r}"
    return out, ""


def layers(header: dict, channel_names, path: str = "") -> list:
    """The Cryptomatte layers of a file, from its (merged) header and channel names, in the
    header's order. Channel groups that look like Cryptomatte (``…00.r``) but have no header
    entry are returned too, with ``manifest`` None."""
    entries = {}
    for k, v in header.items():
        m = _KEY.match(str(k))
        if m:
            entries.setdefault(m.group(1), {})[m.group(2)] = v
    groups = {}
    for ch in channel_names:
        m = _RANK_GROUP.match(ch)
        if m:
            groups.setdefault(m.group(1), {}).setdefault(int(m.group(2)), {})[m.group(3).lower()] = ch
    out = []
    for key, e in entries.items():
        name = str(e.get("name", "")).strip()
        if not name:
            continue
        layer = CryptoLayer(name=name, key=key, hash=str(e.get("hash", "")), conversion=str(e.get("conversion", "")))
        if "manifest" in e:
            layer.manifest, layer.manifest_problem = _parse_manifest(e["manifest"],
                                                                     f"header cryptomatte/{key}/manifest")
        elif "manif_file" in e:
            side = os.path.join(os.path.dirname(path), str(e["manif_file"]))
            try:
                with open(side, encoding="utf-8") as fh:
                    layer.manifest, layer.manifest_problem = _parse_manifest(fh.read(), side)
            except OSError as err:
                layer.manifest_problem = f"its manifest file {side} cannot be read ({err.strerror or err})"
        else:
            layer.manifest_problem = f"the header has no cryptomatte/{key}/manifest"
        layer.ranks = _ranks(groups.pop(name, {}))
        out.append(layer)
    for name, ranks in groups.items():  # Cryptomatte-looking channels the header says nothing of
        if "crypto" in name.lower():
            out.append(CryptoLayer(name=name, ranks=_ranks(ranks),
                                   manifest_problem="the header has no cryptomatte/<key>/name entry for it, "
                                                    "so it has no manifest"))
    return out


def _ranks(groups: dict) -> list:
    pairs = []
    for index in sorted(groups):
        g = groups[index]
        if "r" in g and "g" in g:
            pairs.append((g["r"], g["g"]))
        if "b" in g and "a" in g:
            pairs.append((g["b"], g["a"]))
    return pairs


def find_layer(all_layers, wanted: str, path: str) -> CryptoLayer:
    for layer in all_layers:
        if layer.matches(wanted):
            return layer
    raise ChannelError(path, f"Cryptomatte layer {wanted!r}", [lay.name for lay in all_layers])


def _require_manifest(layer: CryptoLayer, path: str) -> dict:
    if layer.manifest is None:
        raise SourceFileError(path, f"Cryptomatte layer {layer.name!r} cannot be masked by name: "
                                    f"{layer.manifest_problem or 'it has no manifest'}")
    if not layer.ranks:
        raise ChannelError(path, f"{layer.name}00.r/g/b/a (Cryptomatte ranks of {layer.name!r})", [])
    return layer.manifest


def select_names(layer: CryptoLayer, patterns, path: str) -> dict:
    """``{name: uint32 id}`` of the manifest names matching ``patterns`` (exact names or
    ``fnmatch`` wildcards, case-sensitive). A pattern that matches nothing raises a
    :class:`SettingsError` listing the closest names."""
    manifest = _require_manifest(layer, path)
    chosen = {}
    for pattern in patterns:
        hits = [n for n in manifest if n == pattern or fnmatch.fnmatchcase(n, pattern)]
        if not hits:
            raise SettingsError(no_match_message(layer, pattern, path))
        chosen.update((n, manifest[n]) for n in hits)
    return chosen


def no_match_message(layer: CryptoLayer, pattern: str, path: str) -> str:
    names = list(layer.manifest or ())
    close = difflib.get_close_matches(pattern, names, n=5, cutoff=0.4)
    lower = {n.lower(): n for n in names}
    if pattern.lower() in lower and lower[pattern.lower()] not in close:
        close.insert(0, lower[pattern.lower()])
    hint = f"closest: {', '.join(close)}" if close else \
        f"names: {', '.join(sorted(names, key=str.lower)[:20])}{' …' if len(names) > 20 else ''}"
    return f"{path}: mask {pattern!r} is not in the manifest of Cryptomatte layer {layer.name!r} ({hint})"


def layer_for_patterns(all_layers, patterns, path: str) -> CryptoLayer:
    """The first layer (object, material, asset, then others) whose manifest matches every
    pattern; a :class:`SettingsError` naming the closest names when none does."""
    ordered = sorted(all_layers, key=lambda lay: KIND_ORDER.index(lay.short_name)
                     if lay.short_name in KIND_ORDER else len(KIND_ORDER))
    with_manifest = [lay for lay in ordered if lay.manifest is not None]
    for layer in with_manifest:
        if all(any(n == p or fnmatch.fnmatchcase(n, p) for n in layer.manifest) for p in patterns):
            return layer
    if not with_manifest:
        problems = "; ".join(f"{lay.name!r}: {lay.manifest_problem}" for lay in ordered)
        raise SourceFileError(path, f"no Cryptomatte layer with a manifest to find {', '.join(map(repr, patterns))} "
                                    f"in ({problems or 'the file has no Cryptomatte layer'})")
    for layer in with_manifest:  # name the first pattern that fails, against the first layer
        for p in patterns:
            if not any(n == p or fnmatch.fnmatchcase(n, p) for n in layer.manifest):
                raise SettingsError(no_match_message(layer, p, path)
                                    + f"; layers searched: {', '.join(lay.name for lay in with_manifest)}")
    raise AssertionError("unreachable")


def coverage(layer: CryptoLayer, ids, get) -> np.ndarray:
    """Summed coverage (h, w) float32 of ``ids`` (uint32) over all ranks; ``get(channel)``
    returns a channel's (h, w) float32 pixels."""
    ids = np.asarray(sorted(set(int(i) for i in ids)), dtype=np.uint32)
    total = None
    for id_ch, cov_ch in layer.ranks:
        bits = np.ascontiguousarray(get(id_ch), dtype=np.float32).view(np.uint32)
        hit = np.isin(bits, ids)
        if not hit.any():
            continue
        part = np.where(hit, get(cov_ch), np.float32(0))
        total = part if total is None else total + part
    if total is None:
        shape = get(layer.ranks[0][0]).shape
        total = np.zeros(shape, np.float32)
    return total.astype(np.float32, copy=False)


def read_layers(path) -> list:
    """The Cryptomatte layers of an EXR file, from its header alone (no pixels decoded)."""
    hdr = read_exr_header(path)
    return layers(hdr.header, [c.name for part in hdr.parts for c in part.channels], hdr.path)


def describe(all_layers) -> list:
    """``[{'name', 'names': [...], 'ranks': n, 'problem'}]`` for ``info``."""
    return [{"name": lay.name, "names": lay.names(), "ranks": len(lay.ranks),
             **({"problem": lay.manifest_problem} if lay.manifest is None else {})} for lay in all_layers]
