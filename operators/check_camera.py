"""Check Camera: how well the camera explains the current frame's render (its Position pass)."""
from __future__ import annotations

import bpy

from ._poll import source_ready


class DEPTH_CLOUD_OT_check_camera(bpy.types.Operator):
    """Compare the frame's depth, unprojected with the camera, with its Position pass; name the cause of a mismatch"""

    bl_idname = "depth_cloud.check_camera"
    bl_label = "Check Camera"
    bl_options = {'REGISTER'}  # changes no data (the scene is moved to other frames and back)

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return source_ready(cls, context, "check the camera")

    def execute(self, context: bpy.types.Context) -> set[str]:
        from ..core.errors import DepthCloudError
        from ..glue import camera_check, source

        scene = context.scene
        settings = scene.depth_cloud
        try:
            src = source.resolve(scene)  # the Depth Cloud settings, their camera
            report = camera_check.check_frame(scene, src.spec, scene.frame_current, src.camera,
                                              frames_around=settings.camera_check.frames_around)
        except DepthCloudError as err:
            settings.camera_check.result = f"Error: {err}"
            self.report({'ERROR'}, str(err))
            return {'CANCELLED'}
        settings.camera_check.result = report.summary()
        for text in report.lines():  # the details, in the Info editor (and the console in background mode)
            self.report({'INFO'}, text)
        self.report({'INFO'} if report.ok else {'WARNING'}, report.summary())
        return {'FINISHED'}
