"""Sub-panels of the Depth Cloud sidebar: Render Passes and Bake to USD."""
from __future__ import annotations

from .panels import sidebar_subpanels


def draw_render(layout, context):
    out = context.scene.depth_cloud.output
    col = layout.column()
    col.use_property_split = True
    col.use_property_decorate = False
    col.prop(out, "cache_dir")
    col.prop(out, "render_frames")
    if out.render_frames == 'CUSTOM':
        col.prop(out, "frames")
    row = layout.row(align=True)
    row.operator("depth_cloud.render_passes", icon='RENDER_STILL')
    row.operator("depth_cloud.render_passes", text="Render & Build", icon='POINTCLOUD_DATA').build = True


def draw_bake(layout, context):
    out = context.scene.depth_cloud.output
    col = layout.column()
    col.use_property_split = True
    col.use_property_decorate = False
    col.prop(out, "usd_path")
    col.prop(out, "bake_frames")
    if out.bake_frames == 'CUSTOM':
        col.prop(out, "frames")
    col.prop(out, "usd_size")
    col.prop(out, "usd_load")
    layout.operator("depth_cloud.bake_usd", icon='EXPORT')


classes = (sidebar_subpanels("render", "Render Passes", draw_render, closed=True)
           + sidebar_subpanels("bake", "Bake to USD", draw_bake, closed=True))
