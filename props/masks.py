"""The panel's list of mask names: the names found in the current file's Cryptomatte manifests
(filled by *Find Mask Names*) and a searchable field that adds the picked name to the mask."""
from __future__ import annotations

import bpy
from bpy.props import StringProperty


class DepthCloudMaskName(bpy.types.PropertyGroup):
    """One name of a Cryptomatte manifest (``name``), and the layer holding it."""

    layer: StringProperty(name="Layer")


def _add_pick(self, _context):
    pick = self.mask_pick.strip()
    if not pick:
        return
    current = [m.strip() for m in self.mask.split(",") if m.strip()]
    if pick not in current:
        current.append(pick)
        self.mask = ", ".join(current)
    self.mask_pick = ""  # re-enters once with an empty value


def mask_pick():
    return StringProperty(name="Add Name", update=_add_pick,
                          description="Search the names found in the file's Cryptomatte manifests; the pick is "
                                      "added to the mask")


classes = (DepthCloudMaskName,)
