"""Find Mask Names: fill the panel's searchable list with the names of the current frame's
Cryptomatte manifests."""
from __future__ import annotations

import bpy

from ._poll import source_ready
from ._report import reports_errors


class DEPTH_CLOUD_OT_find_mask_names(bpy.types.Operator):
    """Read the Cryptomatte manifests of the current frame's EXR (header only) to pick mask names from"""

    bl_idname = "depth_cloud.find_mask_names"
    bl_label = "Find Mask Names"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return source_ready(cls, context, "find mask names")

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        from ..glue import masks

        found, problems = masks.fill_mask_names(context.scene)
        for problem in problems:
            self.report({'WARNING'}, problem)
        self.report({'INFO'}, f"Found {found} names")
        return {'FINISHED'}
