"""Check Camera: how well the camera explains the current frame's render (its Position pass)."""
from __future__ import annotations

import bpy

from ._poll import source_ready
from ._report import attempt


class DEPTH_CLOUD_OT_check_camera(bpy.types.Operator):
    """Compare the frame's depth, unprojected with the camera, with its Position pass; name the cause of a mismatch"""

    bl_idname = "depth_cloud.check_camera"
    bl_label = "Check Camera"
    bl_options = {'REGISTER'}  # changes no data (the scene is moved to other frames and back)

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return source_ready(cls, context, "check the camera")

    def execute(self, context: bpy.types.Context) -> set[str]:
        from ..glue import source
        from ..glue.checks import camera_check

        scene = context.scene
        settings = scene.depth_cloud

        def check():
            src = source.resolve(scene)  # the Depth Cloud settings, their camera
            return camera_check.check_frame(scene, src.spec, scene.frame_current, src.camera,
                                             frames_around=settings.camera_check.frames_around)

        def shown(err):
            settings.camera_check.result = f"Error: {err}"
        ok, report = attempt(self, check, on_error=shown)
        if not ok:
            return {'CANCELLED'}
        settings.camera_check.result = report.summary()
        for text in report.lines():  # the details, in the Info editor (and the console in background mode)
            self.report({'INFO'}, text)
        self.report({'INFO'} if report.ok else {'WARNING'}, report.summary())
        return {'FINISHED'}
