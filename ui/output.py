"""Sub-panels of the Depth Cloud sidebar: Render Passes and Bake to USD."""
from __future__ import annotations

from .layout import property_column
from .panels import sidebar_subpanels


def _path_and_frames(layout, out, path, frames):
    """The output path, the frame choice, and the Frames field when the choice is Custom."""
    col = property_column(layout)
    col.prop(out, path)
    col.prop(out, frames)
    if getattr(out, frames) == 'CUSTOM':
        col.prop(out, "frames")
    return col


def draw_render(layout, context):
    _path_and_frames(layout, context.scene.depth_cloud.output, "cache_dir", "render_frames")
    row = layout.row(align=True)
    row.operator("depth_cloud.render_passes", icon='RENDER_STILL')
    row.operator("depth_cloud.render_passes", text="Render & Build", icon='POINTCLOUD_DATA').build = True


def draw_bake(layout, context):
    out = context.scene.depth_cloud.output
    col = _path_and_frames(layout, out, "usd_path", "bake_frames")
    col.prop(out, "usd_size")
    col.prop(out, "usd_load")
    layout.operator("depth_cloud.bake_usd", icon='EXPORT')


classes = (sidebar_subpanels("render", "Render Passes", draw_render, closed=True)
           + sidebar_subpanels("bake", "Bake to USD", draw_bake, closed=True))
