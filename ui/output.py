"""Sub-panels of the Depth Cloud sidebar: Render Passes and Bake to USD."""
from __future__ import annotations

import bpy


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


class _RenderPanel:
    bl_label = "Render Passes"
    bl_region_type = 'UI'
    bl_category = "Depth Cloud"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        draw_render(self.layout, context)


class _BakePanel:
    bl_label = "Bake to USD"
    bl_region_type = 'UI'
    bl_category = "Depth Cloud"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        draw_bake(self.layout, context)


class DEPTH_CLOUD_PT_view3d_render(_RenderPanel, bpy.types.Panel):
    bl_space_type = 'VIEW_3D'
    bl_parent_id = "DEPTH_CLOUD_PT_view3d"


class DEPTH_CLOUD_PT_view3d_bake(_BakePanel, bpy.types.Panel):
    bl_space_type = 'VIEW_3D'
    bl_parent_id = "DEPTH_CLOUD_PT_view3d"


class DEPTH_CLOUD_PT_compositor_render(_RenderPanel, bpy.types.Panel):
    bl_space_type = 'NODE_EDITOR'
    bl_parent_id = "DEPTH_CLOUD_PT_compositor"


class DEPTH_CLOUD_PT_compositor_bake(_BakePanel, bpy.types.Panel):
    bl_space_type = 'NODE_EDITOR'
    bl_parent_id = "DEPTH_CLOUD_PT_compositor"


classes = (DEPTH_CLOUD_PT_view3d_render, DEPTH_CLOUD_PT_view3d_bake, DEPTH_CLOUD_PT_compositor_render,
           DEPTH_CLOUD_PT_compositor_bake)
