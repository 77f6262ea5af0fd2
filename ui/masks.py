"""The Masks and Attributes box of the Depth Cloud panel (draws only)."""
from __future__ import annotations


def draw(layout, settings):
    box = layout.box()
    box.prop(settings, "show_masks", icon='TRIA_DOWN' if settings.show_masks else 'TRIA_RIGHT', emboss=False)
    if not settings.show_masks:
        return
    col = box.column()
    col.use_property_split = True
    col.use_property_decorate = False
    row = col.row(align=True)
    row.prop_search(settings, "mask_pick", settings, "mask_names", text="Add Name", icon='VIEWZOOM')
    row.operator("depth_cloud.find_mask_names", text="", icon='FILE_REFRESH')
    col.prop(settings, "mask")
    col.prop(settings, "mask_pass")
    col.prop(settings, "mask_threshold")
    col.prop(settings, "normals")
    col.prop(settings, "attributes")
