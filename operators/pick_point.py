"""Pick 3D Point: click a pixel of the render in the Image Editor (or type its coordinates)
and the 3D cursor moves to the surface that pixel saw (or an Empty is added there)."""
from __future__ import annotations

import bpy
from bpy.props import EnumProperty, FloatVectorProperty, IntProperty

from ..props.pick import PICK_TARGETS
from ._report import attempt, reports_errors


class DEPTH_CLOUD_OT_pick_point(bpy.types.Operator):
    """Move the 3D cursor (or add an Empty) to the surface a pixel of the render saw: click it, or type it"""

    bl_idname = "depth_cloud.pick_point"
    bl_label = "Pick 3D Point"
    bl_options = {'REGISTER', 'UNDO'}

    column: IntProperty(name="Column", default=-1, min=-1,
                        description="Pixel column, 0 at the left (-1: the Depth Cloud pick settings)")
    row: IntProperty(name="Row", default=-1, min=-1,
                     description="Pixel row, 0 at the top (-1: the Depth Cloud pick settings)")
    uv: FloatVectorProperty(name="Image Coordinates", size=2, default=(-1.0, -1.0), options={'HIDDEN', 'SKIP_SAVE'},
                            description="Point of the shown image (0..1, v up) instead of a pixel: what a click gives")
    target: EnumProperty(name="Place", items=[('SETTINGS', "Settings", "As in the Depth Cloud pick settings")]
                         + PICK_TARGETS, default='SETTINGS')

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        from ..glue.checks.picking import image_space
        if context.scene is None:
            return False
        space = image_space(context)
        if (space is not None and space.image is not None) or context.scene.depth_cloud.exr_path.strip():
            return True
        cls.poll_message_set("Show the render in the Image Editor, or set the EXR in the Depth Cloud settings")
        return False

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        """Typed pixel (``column``/``row``, else the pick settings) or image point ``uv``."""
        from ..core.errors import SettingsError
        from ..glue.checks import picking
        source, image = picking.source_in_context(context)
        if tuple(self.uv) != (-1.0, -1.0):
            pixel = picking.pixel_for(source, image, tuple(self.uv))
            if pixel is None:
                raise SettingsError(f"image point ({self.uv[0]:.4g}, {self.uv[1]:.4g}) is outside the image "
                                    f"(0..1 on both axes)")
        else:
            pick = context.scene.depth_cloud.pick
            pixel = (self.column if self.column >= 0 else pick.column, self.row if self.row >= 0 else pick.row)
        text = picking.pick_and_place(context.scene, source, pixel, self.target)
        self.report({'INFO'}, text)
        return {'FINISHED'}

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        """In the Image Editor: wait for a click (the modal below); elsewhere: execute."""
        from ..glue.checks import picking
        if picking.image_space(context) is None or picking.main_region(context.area) is None:
            return self.execute(context)
        ok, self._session = attempt(self, lambda: picking.PickSession(context, self.target))
        if not ok:
            return {'CANCELLED'}
        context.window_manager.modal_handler_add(self)
        return {'RUNNING_MODAL'}

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        session = self._session
        state = session.handle(context, event)
        for level, text in session.take_messages():
            self.report({level}, text)
        if state == 'FINISHED':
            self.column, self.row = session.picked  # the redo panel shows (and can change) the picked pixel
        return {state}
