"""Display settings saved in the .blend: how clouds are drawn, and edge cleanup at build time.

``scene.depth_cloud.display`` holds what the Display panel edits: changing mode, size,
shading or the surface threshold updates every cloud of the scene live (their Geometry
Nodes modifier inputs; no source file is read again). Edge cleanup applies to the next
build. ``object.depth_cloud.display`` records, per cloud, the source camera and its
companion surface.
"""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from ..enums import CLEANUP_MODES, DISPLAY_MODES, SHADINGS


def _apply(self, _context, **values):
    from ..core import diagnostics
    from ..glue import display
    messages = display.apply_to_scene(self.id_data, **values)
    # an update callback cannot report: a DepthCloudWarning (console; a script setting the
    # property sees it as one), and the Display panel shows the message
    diagnostics.emit(messages)
    self.message = messages[0] + (f" (and {len(messages) - 1} more)" if len(messages) > 1 else "") if messages else ""


def _mode_changed(self, context):
    _apply(self, context, mode=self.mode, max_jump=self.surface_max_jump if self.mode == 'SURFACE' else None)


def _size_changed(self, context):
    _apply(self, context, size=self.point_size)


def _shading_changed(self, context):
    _apply(self, context, lit=self.shading == 'LIT')


def _jump_changed(self, context):
    _apply(self, context, max_jump=self.surface_max_jump)


def _is_mesh_object(_self, obj):
    return obj.type == 'MESH'


class DepthCloudDisplaySettings(bpy.types.PropertyGroup):
    """How clouds look (``scene.depth_cloud.display``)."""

    mode: EnumProperty(name="Display", items=DISPLAY_MODES, default='POINTS', update=_mode_changed)
    point_size: FloatProperty(name="Size", default=1.0, min=0.0, soft_max=4.0, update=_size_changed,
                              description="Multiplier of the pixel footprint (1: points and squares cover "
                                          "their pixel as seen from the source camera)")
    shading: EnumProperty(name="Shading", items=SHADINGS, default='UNLIT', update=_shading_changed)
    surface_max_jump: FloatProperty(
        name="Max Depth Jump", default=0.05, min=0.0, soft_max=0.5, subtype='FACTOR', update=_jump_changed,
        description="Neighbouring pixels whose depths differ by more than this fraction of the nearer "
                    "depth are not joined by the surface")
    cleanup_flying: BoolProperty(name="Remove Flying Pixels", default=False,
                                 description="At build: drop anti-aliased edge pixels that float between surfaces")
    cleanup_mode: EnumProperty(name="Edge Pixels", items=CLEANUP_MODES, default='FLYING')
    cleanup_max_jump: FloatProperty(name="Depth Jump", default=0.05, min=0.001, soft_max=0.5, subtype='FACTOR',
                                    description="Relative depth jump (fraction of the nearer depth) that "
                                                "separates two surfaces")
    message: StringProperty(name="Message", description="Why some clouds could not follow the last change",
                            options={'SKIP_SAVE'})
    cleanup_min_alpha: FloatProperty(name="Min Alpha", default=0.0, min=0.0, max=1.0, subtype='FACTOR',
                                     description="At build: drop pixels whose alpha (coverage) is below this "
                                                 "(0: keep all); needs a render with a transparent film")


class DepthCloudObjectDisplay(bpy.types.PropertyGroup):
    """Display data of one cloud (``object.depth_cloud.display``)."""

    mode: EnumProperty(name="Display", items=DISPLAY_MODES, default='POINTS')
    camera: StringProperty(name="Source Camera", description="The camera model of the source render (JSON)")
    image_width: IntProperty(name="Image Width", min=0)
    image_height: IntProperty(name="Image Height", min=0)
    surface: PointerProperty(name="Surface", type=bpy.types.Object, poll=_is_mesh_object,
                             description="Object holding this cloud's surface mesh")
    surface_max_jump: FloatProperty(name="Surface Max Depth Jump", default=0.05)


classes = (DepthCloudDisplaySettings, DepthCloudObjectDisplay)
