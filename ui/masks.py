"""The Masks and Attributes box of the Depth Cloud panel (draws only)."""
from __future__ import annotations

from .layout import section


def draw(layout, settings):
    col = section(layout, "depth_cloud_masks", "Masks and Attributes")
    if col is None:
        return
    row = col.row(align=True)
    row.prop_search(settings, "mask_pick", settings, "mask_names", text="Add Name", icon='VIEWZOOM')
    row.operator("depth_cloud.find_mask_names", text="", icon='FILE_REFRESH')
    col.prop(settings, "mask")
    col.prop(settings, "mask_pass")
    col.prop(settings, "mask_threshold")
    col.prop(settings, "normals")
    col.prop(settings, "attributes")
