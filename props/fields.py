"""Property definitions used by more than one settings group, defined once.

The scene's build settings (``scene.depth_cloud``) and what a sequence object plays back
(``object.depth_cloud.sequence``) read their files with the same options; each function
returns a fresh property for one class annotation."""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from ..enums import CONVENTIONS, DEEP_SAMPLES, KINDS


def is_camera(_self, obj):
    return obj.type == 'CAMERA'


def kind():
    return EnumProperty(name="Pass", items=KINDS, default='AUTO')


def convention():
    return EnumProperty(name="Depth Convention", items=CONVENTIONS, default='AUTO')


def near():
    return FloatProperty(name="Near", default=0.1, min=0.0, precision=4, unit='LENGTH',
                         description="Depth mapped to 0 (Normalized, Z-Buffer)")


def far():
    return FloatProperty(name="Far", default=100.0, min=0.0, precision=4, unit='LENGTH',
                         description="Depth mapped to 1 (Normalized, Z-Buffer)")


def camera(description):
    return PointerProperty(name="Camera", type=bpy.types.Object, poll=is_camera, description=description)


def layer():
    return StringProperty(name="View Layer", description="View layer in the EXR (empty: the first)")


def view():
    return StringProperty(name="View", description="View of a multi-view (stereo) EXR, e.g. 'left': depth and "
                                                   "color both come from it (empty: the file's default view)")


def depth_channel():
    return StringProperty(name="Depth Channel", description="Override, e.g. 'ViewLayer.Depth.Z'")


def color_channels():
    return StringProperty(name="Color Channels", description="Override prefix, e.g. 'ViewLayer.Combined'")


def position_channels():
    return StringProperty(name="Position Channels", description="Override prefix, e.g. 'ViewLayer.Position'")


def detail():
    return IntProperty(name="Detail", default=1, min=1, max=64,
                       description="Build every Nth pixel (each point then covers N x N pixels): "
                                   "cost and memory fall with N squared")


def deep_samples():
    return EnumProperty(name="Deep Samples", items=DEEP_SAMPLES, default='ALL',
                        description="Deep EXRs: which samples of a pixel become points")


def deep_min_alpha():
    return FloatProperty(name="Deep Min Alpha", default=0.0, min=0.0, max=1.0, subtype='FACTOR',
                         description="Deep EXRs: samples with a lower alpha make no point")


def clip():
    return BoolProperty(name="Clip to Camera Range", default=True,
                        description="Drop depths outside the camera's clip start/end")


def source_path(name="Source"):
    return StringProperty(name=name, subtype='FILE_PATH')


# Masks, normals and passes kept as attributes (core/masks.py, core/attributes.py, docs/masks.md).
def mask():
    return StringProperty(name="Mask", description="Cryptomatte names or wildcards (Suzanne, Tree*), or indices of "
                                                   "the mask pass (3, 1-4), separated by commas; empty: every pixel")


def mask_pass():
    return StringProperty(name="Mask Pass", description="CryptoObject, CryptoMaterial, CryptoAsset, Object Index, "
                                                        "Material Index or any pass/channel (an AOV); empty: the "
                                                        "Cryptomatte layer holding the names")


def mask_threshold():
    return FloatProperty(name="Threshold", default=0.5, soft_min=0.0, soft_max=1.0,
                         description="A pixel belongs when its summed Cryptomatte coverage (or the mask pass value) "
                                     "reaches this")


def normals():
    return BoolProperty(name="Normals from Normal Pass", default=True,
                        description="Use the file's Normal pass (world space) as the points' normals")


def attributes():
    return StringProperty(name="Attributes", description="Passes or AOVs kept as point attributes of the same name, "
                                                         "separated by commas (e.g. rough, tint, Object Index)")


# Depth images (PNG, TIFF, .npy/.npz; core/depth_images.py, docs/depth_from_anywhere.md)
def depth_scale():
    return FloatProperty(name="Depth Scale", default=1.0, min=1e-12, soft_min=1e-6, soft_max=1000.0, precision=6,
                         description="Stored value x scale = depth (or position) in scene units: 0.001 for "
                                     "millimetres (16-bit PNG), 0.0002 for TUM (5000 per metre), 1/256 for an 8-bit "
                                     "depth/256 map; the depth convention applies after it")


def invalid_value():
    return StringProperty(name="Invalid Value", default="",
                          description="Stored value that means 'no depth' (empty: 0 for integer images, none for "
                                      "float data; 'nan' allowed)")
