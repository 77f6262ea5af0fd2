"""Multi-view (stereo) EXRs: which view each channel belongs to, and one view's channels.

OpenEXR defines two layouts (``ImfMultiView``; "Storing multi-view images in OpenEXR"):

- multi-part: each part may carry a ``view`` attribute; the channel names repeat across the
  views' parts (``rgba_left`` and ``rgba_right`` both hold ``R G B A``). Parts without a
  ``view`` belong to no view and are shared by all (Beachball's ``disparityL``).
- single part with a ``multiView`` attribute (a list; the first is the default view): a
  channel's view is the second-to-last dot-separated component of its name (``left.R``,
  ``ViewLayer.Depth.left.Z``); a name without a dot belongs to the default view (``R``); a
  name whose second-to-last component is no view belongs to none (shared).

Blender writes both: 5.x a part per pass and eye (``ViewLayer.Combined-left`` with
``view = left``), 4.x one part with ``multiView = [left, right]`` and every view's channels
named ``ViewLayer.Combined.left.R``. Channels are returned under their name with the view
removed, so the usual channel lookup (``ViewLayer.Depth.Z``, ``Z``) works in every view and
depth and color always come from the same view.
"""
from __future__ import annotations


def part_view(attributes: dict):
    """The ``view`` attribute of a part, or None."""
    view = attributes.get("view")
    return str(view) if isinstance(view, (str, bytes)) and view else None


def _multi_view(attributes: dict) -> list:
    value = attributes.get("multiView")
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if str(v)]
    return []


def file_views(part_attributes) -> list:
    """The views of a file, the default view first; ``[]`` for a file without views.

    The default view is the first of a ``multiView`` attribute, else the ``view`` of the first
    part that has one.
    """
    parts = list(part_attributes)
    views = []
    for attrs in parts:
        for v in _multi_view(attrs):
            if v not in views:
                views.append(v)
    for attrs in parts:
        v = part_view(attrs)
        if v and v not in views:
            views.append(v)
    return views


def channel_view(name: str, attributes: dict, views: list):
    """``(view or None, name without the view)`` of channel ``name`` in a part with ``attributes``.

    None means the channel belongs to no view (shared by all views)."""
    v = part_view(attributes)
    if v is not None:
        return v, name
    multi = _multi_view(attributes)
    if not multi:
        return None, name
    bits = name.split(".")
    if len(bits) == 1:
        return multi[0], name
    if bits[-2] in multi:
        return bits[-2], ".".join(bits[:-2] + bits[-1:])
    return None, name


def view_channels(entries, views: list, view: str):
    """From ``entries`` = ``[(part_index, attributes, channel_name, item)]`` (file order), the
    ``{name without view: item}`` of ``view`` plus the shared channels (a view's own channel
    wins over a shared one of the same name; within a view the first part wins), and the
    indices of the parts that contributed."""
    own, shared, parts = {}, {}, set()
    for index, attrs, name, item in entries:
        v, base = channel_view(name, attrs, views)
        if v is None:
            target = shared
        elif v == view:
            target = own
        else:
            continue
        if base not in target:
            target[base] = item
            parts.add(index)
    merged = dict(shared)
    merged.update(own)
    return merged, parts


#: Blender's default file suffixes of its stereo views (Stereoscopy > Individual writes each
#: eye to its own file: ``shot_0001_L.exr``, ``shot_0001_R.exr``, with no view in the header).
EYE_SUFFIXES = {"left": "_L", "right": "_R"}


def eye_suffix(view: str) -> str:
    return EYE_SUFFIXES.get(str(view).lower(), f"_{view}")


def is_individual_eye_file(path, view: str) -> bool:
    """Whether ``path``'s name says it is ``view``'s own file (``shot_L.exr`` for 'left')."""
    import os
    stem = os.path.splitext(os.path.basename(str(path)))[0]
    return bool(view) and stem.endswith(eye_suffix(view))


def individual_eye_path(path: str, view: str) -> str | None:
    """The file of ``view``'s eye that Blender's Individual stereo output writes next to
    ``path`` (``shot_0001.exr`` or the other eye's ``shot_0001_R.exr`` -> ``shot_0001_L.exr``
    for 'left'); None when ``path`` already names that eye."""
    import os
    if not view or is_individual_eye_file(path, view):
        return None
    root, ext = os.path.splitext(str(path))
    for other in {*EYE_SUFFIXES.values()}:
        if root.endswith(other):
            root = root[: -len(other)]
            break
    return root + eye_suffix(view) + ext
