"""Pick 3D Point: click a pixel of the render in the Image Editor (or type its coordinates)
and the 3D cursor moves to the surface that pixel saw (or an Empty is added there)."""
from __future__ import annotations

import bpy
from bpy.props import EnumProperty, FloatVectorProperty, IntProperty

from ..props_pick import PICK_TARGETS

#: Events that keep working while picking: the Image Editor's zoom and pan.
NAVIGATION = {'MIDDLEMOUSE', 'WHEELUPMOUSE', 'WHEELDOWNMOUSE', 'TRACKPADPAN', 'TRACKPADZOOM', 'NDOF_MOTION',
              'NUMPAD_PLUS', 'NUMPAD_MINUS', 'NUMPAD_PERIOD', 'HOME', 'NUMPAD_1', 'NUMPAD_2', 'NUMPAD_4', 'NUMPAD_8'}
HINT = "Pick 3D Point: click a pixel (zoom and pan as usual) · Esc / right-click: cancel"


def image_space(context):
    space = context.space_data
    return space if space is not None and space.type == 'IMAGE_EDITOR' else None


def event_uv(context, event):
    """Image coordinates (0..1, v up) under the mouse: the Image Editor's own view mapping."""
    return tuple(context.region.view2d.region_to_view(event.mouse_region_x, event.mouse_region_y))


class DEPTH_CLOUD_OT_pick_point(bpy.types.Operator):
    """Move the 3D cursor (or add an Empty) to the surface a pixel of the render saw: click it in the Image Editor, or type its coordinates"""

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
    def poll(cls, context):
        if context.scene is None:
            return False
        space = image_space(context)
        if space is not None and space.image is not None:
            return True
        if context.scene.depth_cloud.exr_path.strip():
            return True
        cls.poll_message_set("Show the render in the Image Editor, or set the EXR in the Depth Cloud settings")
        return False

    # ------------------------------------------------------------------ the source
    def _source(self, context):
        from ..glue import build, picking
        space = image_space(context)
        scene = context.scene
        if space is not None and space.image is not None:
            return picking.source_for_image(scene, space.image, space.image_user), space.image
        settings = scene.depth_cloud
        return picking.prepare(scene, build.source_spec_from_settings(settings), scene.frame_current,
                               settings.camera), None

    def _pixel(self, source, image, uv=None):
        from ..core import picking as core_pick
        from ..glue.picking import shown_size
        if uv is None and tuple(self.uv) != (-1.0, -1.0):
            uv = tuple(self.uv)
        if uv is not None:
            return core_pick.pixel_from_uv(uv[0], uv[1], source.frame_size, shown_size(image), source.passes.path)
        pick = bpy.context.scene.depth_cloud.pick
        col = self.column if self.column >= 0 else pick.column
        row = self.row if self.row >= 0 else pick.row
        return col, row

    def _place(self, context, source, pixel):
        """Pick ``pixel`` of ``source`` and move the cursor / add the Empty; the result text."""
        from ..glue import picking
        scene = context.scene
        result = source.at(*pixel)
        target = scene.depth_cloud.pick.target if self.target == 'SETTINGS' else self.target
        ob = picking.place(scene, result, target)
        text = result.text() + (f" -> {ob.name}" if ob is not None else " -> 3D cursor")
        scene.depth_cloud.pick.result = text
        return text

    # ------------------------------------------------------------------ typed coordinates / uv
    def execute(self, context):
        from ..core.errors import DepthCloudError
        try:
            source, image = self._source(context)
            pixel = self._pixel(source, image)
            if pixel is None:
                raise DepthCloudError(f"image point {tuple(round(v, 4) for v in self.uv)} is outside the image")
            text = self._place(context, source, pixel)
        except DepthCloudError as err:
            self.report({'ERROR'}, str(err))
            return {'CANCELLED'}
        self.report({'INFO'}, text)
        return {'FINISHED'}

    # ------------------------------------------------------------------ click in the Image Editor
    def invoke(self, context, event):
        from ..core.errors import DepthCloudError
        if image_space(context) is None or context.region is None or context.region.type != 'WINDOW':
            return self.execute(context)
        try:
            self._picking, self._image = self._source(context)
        except DepthCloudError as err:
            self.report({'ERROR'}, str(err))
            return {'CANCELLED'}
        context.window_manager.modal_handler_add(self)
        context.area.header_text_set(HINT)
        if context.workspace is not None:
            context.workspace.status_text_set(HINT)
        return {'RUNNING_MODAL'}

    def _end(self, context):
        if context.area is not None:
            context.area.header_text_set(None)
        if context.workspace is not None:
            context.workspace.status_text_set(None)

    def _hover_text(self, context, event):
        from ..core.errors import DepthCloudError
        try:
            pixel = self._pixel(self._picking, self._image, event_uv(context, event))
            if pixel is None:
                return HINT
            return f"Pick 3D Point: {self._picking.at(*pixel).text()}"
        except DepthCloudError as err:
            return f"Pick 3D Point: {err}"

    def modal(self, context, event):
        from ..core.errors import DepthCloudError
        if event.type in {'ESC', 'RIGHTMOUSE'} and event.value == 'PRESS':
            self._end(context)
            return {'CANCELLED'}
        if event.type in NAVIGATION:
            return {'PASS_THROUGH'}
        if event.type == 'MOUSEMOVE':
            context.area.header_text_set(self._hover_text(context, event))
            return {'RUNNING_MODAL'}
        if event.type == 'LEFTMOUSE' and event.value == 'PRESS':
            try:
                uv = event_uv(context, event)
                pixel = self._pixel(self._picking, self._image, uv)
                if pixel is None:
                    self.report({'WARNING'}, f"image point ({uv[0]:.4g}, {uv[1]:.4g}) is outside the image: "
                                             "click on the image")
                    return {'RUNNING_MODAL'}
                text = self._place(context, self._picking, pixel)
            except DepthCloudError as err:
                self.report({'WARNING'}, f"{err}; click another pixel or Esc")
                return {'RUNNING_MODAL'}
            self._end(context)
            self.column, self.row = pixel  # the redo panel shows (and can change) the picked pixel
            self.report({'INFO'}, text)
            return {'FINISHED'}
        return {'RUNNING_MODAL'}
