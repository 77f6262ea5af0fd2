"""Set View: choose which view of a multi-view (stereo) EXR the build reads."""
from __future__ import annotations

import bpy
from bpy.props import StringProperty


class DEPTH_CLOUD_OT_set_view(bpy.types.Operator):
    """Read depth and color from this view of the multi-view EXR"""

    bl_idname = "depth_cloud.set_view"
    bl_label = "Set View"
    bl_options = {'REGISTER', 'UNDO', 'INTERNAL'}

    view: StringProperty(name="View", description="View name; empty: the file's default view")

    def execute(self, context: bpy.types.Context) -> set[str]:
        context.scene.depth_cloud.view = self.view
        return {'FINISHED'}
