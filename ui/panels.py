"""Panels only draw properties and call operators."""
from __future__ import annotations

import bpy

from . import masks
from .layout import property_column, section


def draw_settings(layout, context):
    settings = context.scene.depth_cloud
    col = property_column(layout)
    col.prop(settings, "source_mode")
    col.prop(settings, "exr_path", text="Depth EXR" if settings.source_mode == 'SEPARATE' else "EXR")
    if settings.source_mode == 'SEPARATE':
        col.prop(settings, "color_path")
    col.prop(settings, "kind")
    if settings.kind != 'POSITION':
        col.prop(settings, "convention")
        if settings.convention in {'NORMALIZED', 'ZBUFFER'}:
            sub = col.column(align=True)
            sub.prop(settings, "near")
            sub.prop(settings, "far")
    col.prop(settings, "depth_scale")  # applies to EXRs too: always shown (docs/depth_from_anywhere.md)
    if settings.exr_path.lower().endswith((".png", ".tif", ".tiff", ".npy", ".npz")):
        col.prop(settings, "invalid_value")
    draw_views(col, context)
    row = col.row(align=True)
    row.prop(settings, "camera")
    row.operator("depth_cloud.camera_from_intrinsics", text="", icon='OUTLINER_DATA_CAMERA')
    col.operator("depth_cloud.import_camera_path", icon='IMPORT')
    col.prop(settings, "clip")
    col.prop(settings, "detail")
    col.prop(settings, "pixel_ids")
    sub = section(layout, "depth_cloud_channels", "Channels")
    if sub is not None:
        sub.prop(settings, "layer")
        sub.prop(settings, "depth_channel")
        sub.prop(settings, "color_channels")
        sub.prop(settings, "position_channels")
        sub.prop(settings, "deep_samples")
        sub.prop(settings, "deep_min_alpha")
    masks.draw(layout, settings)
    layout.operator("depth_cloud.build", icon='POINTCLOUD_DATA')


def draw_views(layout, context):
    """The View choice of a multi-view (stereo) EXR: one button per view in the file."""
    from ..glue.views import source_views
    settings = context.scene.depth_cloud
    views = source_views(context.scene)
    if not views and not settings.view:
        return
    row = layout.row(align=True)
    row.label(text="View")
    for i, name in enumerate(views):
        chosen = settings.view == name or (not settings.view and i == 0)
        row.operator("depth_cloud.set_view", text=name + (" (default)" if i == 0 else ""),
                     depress=chosen).view = "" if i == 0 else name
    if settings.view and settings.view not in views:
        layout.prop(settings, "view", icon='ERROR')


class _SidebarPanel:
    bl_label = "Depth Cloud"
    bl_region_type = 'UI'
    bl_category = "Depth Cloud"

    def draw(self, context):
        draw_settings(self.layout, context)


class DEPTH_CLOUD_PT_view3d(_SidebarPanel, bpy.types.Panel):
    bl_idname = "DEPTH_CLOUD_PT_view3d"
    bl_space_type = 'VIEW_3D'


class DEPTH_CLOUD_PT_compositor(_SidebarPanel, bpy.types.Panel):
    bl_idname = "DEPTH_CLOUD_PT_compositor"
    bl_space_type = 'NODE_EDITOR'

    @classmethod
    def poll(cls, context):
        return getattr(context.space_data, "tree_type", "") == 'CompositorNodeTree'


classes = (DEPTH_CLOUD_PT_view3d, DEPTH_CLOUD_PT_compositor)


def sidebar_subpanels(key: str, label: str, draw, closed: bool = False) -> tuple:
    """The pair of sub-panels, under the Depth Cloud panel of the 3D Viewport sidebar and of
    the Compositor sidebar, that show ``draw(layout, context)``."""
    made = []
    for parent in classes:
        idname = f"{parent.bl_idname}_{key}"
        attrs = {"bl_label": label, "bl_idname": idname, "bl_space_type": parent.bl_space_type,
                 "bl_region_type": 'UI', "bl_category": parent.bl_category, "bl_parent_id": parent.bl_idname,
                 "draw": lambda self, context: draw(self.layout, context)}
        if closed:
            attrs["bl_options"] = {'DEFAULT_CLOSED'}
        made.append(type(idname, (bpy.types.Panel,), attrs))
    return tuple(made)
