"""The top-level settings groups: ``scene.depth_cloud`` (what to build and how) and
``object.depth_cloud`` (what a cloud was built from); the other groups nest in them."""
from __future__ import annotations

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from ..enums import SOURCE_MODES
from . import fields, masks
from .display import DepthCloudDisplaySettings, DepthCloudObjectDisplay
from .fusion import DepthCloudFusionSettings
from .masks import DepthCloudMaskName
from .output import DepthCloudOutputSettings
from .pick import DepthCloudCameraCheckSettings, DepthCloudPickSettings
from .sequence import DepthCloudSequenceObject, DepthCloudSequenceSettings


class DepthCloudSettings(bpy.types.PropertyGroup):
    """Build settings of a scene (``scene.depth_cloud``)."""

    source_mode: EnumProperty(name="Source", items=SOURCE_MODES, default='MULTILAYER')
    exr_path: StringProperty(name="EXR", subtype='FILE_PATH',
                             description="Multilayer EXR, or the depth/position EXR; '#' runs are the frame number")
    color_path: StringProperty(name="Color", subtype='FILE_PATH',
                               description="Color pass for Separate Files (EXR, PNG or JPG); "
                                           "'#' runs are the frame number")
    kind: fields.kind()
    convention: fields.convention()
    near: fields.near()
    far: fields.far()
    camera: fields.camera("Camera that rendered the passes (empty: the camera the file describes or names, "
                          "else the scene camera)")
    layer: fields.layer()
    view: fields.view()
    depth_channel: fields.depth_channel()
    color_channels: fields.color_channels()
    position_channels: fields.position_channels()
    mask: fields.mask()
    mask_pass: fields.mask_pass()
    mask_threshold: fields.mask_threshold()
    normals: fields.normals()
    attributes: fields.attributes()
    deep_samples: fields.deep_samples()
    deep_min_alpha: fields.deep_min_alpha()
    depth_scale: fields.depth_scale()
    invalid_value: fields.invalid_value()
    clip: fields.clip()
    detail: fields.detail()
    pixel_ids: BoolProperty(name="Pixel IDs and Depth", default=False,
                            description="Also store each point's source pixel ('pixel') and camera depth "
                                        "('depth') as attributes (12 more bytes per point); without them "
                                        "they are recovered from the positions through the camera")
    # The panel's searchable list of the names in the file's Cryptomatte manifests (props/masks.py).
    mask_names: CollectionProperty(type=DepthCloudMaskName)
    mask_pick: masks.mask_pick()
    # Settings of the other features, nested so a scene has one Depth Cloud settings group.
    display: PointerProperty(type=DepthCloudDisplaySettings)
    output: PointerProperty(type=DepthCloudOutputSettings)
    sequence: PointerProperty(type=DepthCloudSequenceSettings)
    fusion: PointerProperty(type=DepthCloudFusionSettings)
    pick: PointerProperty(type=DepthCloudPickSettings)
    camera_check: PointerProperty(type=DepthCloudCameraCheckSettings)


class DepthCloudObjectSettings(bpy.types.PropertyGroup):
    """What a cloud object was built from (``object.depth_cloud``)."""

    is_cloud: BoolProperty(name="Is Depth Cloud", default=False)
    source: fields.source_path()
    color_source: fields.source_path("Color Source")
    frame: IntProperty(name="Frame")
    view: StringProperty(name="View", description="View of the multi-view EXR it was built from")
    points: IntProperty(name="Points")
    display: PointerProperty(type=DepthCloudObjectDisplay)
    sequence: PointerProperty(type=DepthCloudSequenceObject)


classes = (DepthCloudSettings, DepthCloudObjectSettings)


def attach():
    """The settings on every Scene and Object (after the classes are registered)."""
    bpy.types.Scene.depth_cloud = PointerProperty(type=DepthCloudSettings)
    bpy.types.Object.depth_cloud = PointerProperty(type=DepthCloudObjectSettings)


def detach():
    del bpy.types.Object.depth_cloud
    del bpy.types.Scene.depth_cloud
