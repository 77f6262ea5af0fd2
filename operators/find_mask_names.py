"""Find Mask Names: fill the panel's searchable list with the names of the current frame's
Cryptomatte manifests."""
from __future__ import annotations

import bpy

from ._poll import source_ready


class DEPTH_CLOUD_OT_find_mask_names(bpy.types.Operator):
    """Read the Cryptomatte manifests of the current frame's EXR (header only) to pick mask names from"""

    bl_idname = "depth_cloud.find_mask_names"
    bl_label = "Find Mask Names"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        return source_ready(cls, context, "find mask names")

    def execute(self, context):
        from ..core.errors import DepthCloudError
        from ..glue import masks

        try:
            found, problems = masks.fill_mask_names(context.scene)
        except DepthCloudError as err:
            self.report({'ERROR'}, str(err))
            return {'CANCELLED'}
        for problem in problems:
            self.report({'WARNING'}, problem)
        self.report({'INFO'}, f"Found {found} names")
        return {'FINISHED'}
