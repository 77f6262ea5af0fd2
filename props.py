"""Settings saved in the .blend: one PropertyGroup on the Scene (``scene.depth_cloud``) and one
on each Object (``object.depth_cloud``); the display, output and sequence settings are nested
groups of those (``scene.depth_cloud.display`` …), registered first by their own modules."""
from __future__ import annotations

import bpy
from bpy.props import (BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty,
                       StringProperty)

from .enums import CONVENTIONS, KINDS, SOURCE_MODES
from .props_display import DepthCloudDisplaySettings, DepthCloudObjectDisplay
from .props_fusion import DepthCloudFusionSettings
from .props_output import DepthCloudOutputSettings
from .props_sequence import DepthCloudSequenceObject, DepthCloudSequenceSettings

def _is_camera(_self, obj):
    return obj.type == 'CAMERA'


class DepthCloudSettings(bpy.types.PropertyGroup):
    """Build settings of a scene (``scene.depth_cloud``)."""

    source_mode: EnumProperty(name="Source", items=SOURCE_MODES, default='MULTILAYER')
    exr_path: StringProperty(name="EXR", subtype='FILE_PATH',
                             description="Multilayer EXR, or the depth/position EXR; '#' runs are the frame number")
    color_path: StringProperty(name="Color", subtype='FILE_PATH',
                               description="Color pass for Separate Files (EXR, PNG or JPG); '#' runs are the frame number")
    kind: EnumProperty(name="Pass", items=KINDS, default='AUTO')
    convention: EnumProperty(name="Depth Convention", items=CONVENTIONS, default='AUTO')
    near: FloatProperty(name="Near", default=0.1, min=0.0, precision=4, unit='LENGTH',
                        description="Depth mapped to 0 (Normalized, Z-Buffer)")
    far: FloatProperty(name="Far", default=100.0, min=0.0, precision=4, unit='LENGTH',
                       description="Depth mapped to 1 (Normalized, Z-Buffer)")
    camera: PointerProperty(name="Camera", type=bpy.types.Object, poll=_is_camera,
                            description="Camera that rendered the passes (empty: the camera the file describes or names, else the scene camera)")
    layer: StringProperty(name="View Layer", description="View layer in the EXR (empty: the first)")
    view: StringProperty(name="View", description="View of a multi-view (stereo) EXR, e.g. 'left': depth and "
                                                  "color both come from it (empty: the file's default view)")
    depth_channel: StringProperty(name="Depth Channel", description="Override, e.g. 'ViewLayer.Depth.Z'")
    color_channels: StringProperty(name="Color Channels", description="Override prefix, e.g. 'ViewLayer.Combined'")
    position_channels: StringProperty(name="Position Channels", description="Override prefix, e.g. 'ViewLayer.Position'")
    clip: BoolProperty(name="Clip to Camera Range", default=True,
                       description="Drop depths outside the camera's clip start/end")
    show_channels: BoolProperty(name="Channels", default=False)
    # Settings of the other features, nested so a scene has one Depth Cloud settings group.
    display: PointerProperty(type=DepthCloudDisplaySettings)
    output: PointerProperty(type=DepthCloudOutputSettings)
    sequence: PointerProperty(type=DepthCloudSequenceSettings)
    fusion: PointerProperty(type=DepthCloudFusionSettings)


class DepthCloudObjectSettings(bpy.types.PropertyGroup):
    """What a cloud object was built from (``object.depth_cloud``)."""

    is_cloud: BoolProperty(name="Is Depth Cloud", default=False)
    source: StringProperty(name="Source", subtype='FILE_PATH')
    color_source: StringProperty(name="Color Source", subtype='FILE_PATH')
    frame: IntProperty(name="Frame")
    view: StringProperty(name="View", description="View of the multi-view EXR it was built from")
    points: IntProperty(name="Points")
    display: PointerProperty(type=DepthCloudObjectDisplay)
    sequence: PointerProperty(type=DepthCloudSequenceObject)


classes = (DepthCloudSettings, DepthCloudObjectSettings)
_register, _unregister = bpy.utils.register_classes_factory(classes)


def register():
    _register()
    bpy.types.Scene.depth_cloud = PointerProperty(type=DepthCloudSettings)
    bpy.types.Object.depth_cloud = PointerProperty(type=DepthCloudObjectSettings)


def unregister():
    del bpy.types.Object.depth_cloud
    del bpy.types.Scene.depth_cloud
    _unregister()
