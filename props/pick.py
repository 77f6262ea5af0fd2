"""Settings of Pick 3D Point and Check Camera saved in the .blend (``scene.depth_cloud.pick``,
``scene.depth_cloud.camera_check``), nested in the scene's settings group (``props/scene.py``)."""
from __future__ import annotations

import bpy
from bpy.props import EnumProperty, IntProperty, StringProperty

PICK_TARGETS = [
    ('CURSOR', "3D Cursor", "Move the 3D cursor to the surface the pixel saw"),
    ('EMPTY', "Empty", "Add an Empty at the surface the pixel saw (one per pick)"),
]


class DepthCloudPickSettings(bpy.types.PropertyGroup):
    """Pick 3D Point: what a picked pixel moves or adds, and the typed pixel."""

    target: EnumProperty(name="Place", items=PICK_TARGETS, default='CURSOR')
    column: IntProperty(name="Column", min=0, description="Pixel column, 0 at the left")
    row: IntProperty(name="Row", min=0, description="Pixel row, 0 at the top (as in the EXR; the Image Editor "
                                                  "shows rows counted from the bottom)")
    result: StringProperty(name="Last Pick", description="Pixel, depth, world position and cloud of the last pick")


class DepthCloudCameraCheckSettings(bpy.types.PropertyGroup):
    """Check Camera: how far to look for the cause, and the last result."""

    frames_around: IntProperty(name="Frames Tried", default=3, min=0, max=50,
                               description="Neighbouring frames tried on each side when the camera does not fit")
    result: StringProperty(name="Result", description="Summary of the last camera check")


classes = (DepthCloudPickSettings, DepthCloudCameraCheckSettings)
