"""Pick 3D Point (Image Editor sidebar) and Check Camera (Depth Cloud sidebar): they only draw."""
from __future__ import annotations

import textwrap

import bpy

from .layout import property_column
from .panels import sidebar_subpanels


def _wrapped(layout, text, width=42, icon='NONE'):
    col = layout.column(align=True)
    for i, line in enumerate(textwrap.wrap(text, width) or [""]):
        col.label(text=line, icon=icon if i == 0 else 'BLANK1' if icon != 'NONE' else 'NONE')


def draw_pick(layout, context, in_image_editor: bool):
    pick = context.scene.depth_cloud.pick
    col = property_column(layout)
    col.prop(pick, "target")
    if in_image_editor:
        op = layout.operator("depth_cloud.pick_point", text="Pick in Image", icon='EYEDROPPER')
        op.target = 'SETTINGS'
    sub = property_column(layout, align=True)
    sub.prop(pick, "column")
    sub.prop(pick, "row")
    row = layout.row()
    row.operator_context = 'EXEC_DEFAULT'
    row.operator("depth_cloud.pick_point", text="Pick Pixel", icon='PIVOT_CURSOR')
    if pick.result:
        _wrapped(layout.box(), pick.result)


def draw_check(layout, context):
    settings = context.scene.depth_cloud
    check = settings.camera_check
    col = property_column(layout)
    col.prop(check, "frames_around")
    layout.operator("depth_cloud.check_camera", icon='CAMERA_DATA')
    if check.result:
        _wrapped(layout.box(), check.result, icon='ERROR' if "does not match" in check.result or
                 check.result.startswith("Error") else 'CHECKMARK')
    layout.separator()
    layout.label(text="Pick 3D Point (render pixel)")
    draw_pick(layout, context, in_image_editor=False)


class DEPTH_CLOUD_PT_image_pick(bpy.types.Panel):
    bl_idname = "DEPTH_CLOUD_PT_image_pick"
    bl_label = "Pick 3D Point"
    bl_space_type = 'IMAGE_EDITOR'
    bl_region_type = 'UI'
    bl_category = "Depth Cloud"

    def draw(self, context):
        draw_pick(self.layout, context, in_image_editor=True)


classes = (DEPTH_CLOUD_PT_image_pick,) + sidebar_subpanels("check_camera", "Check Camera & Pick", draw_check,
                                                          closed=True)
