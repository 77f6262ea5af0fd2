"""Depth Cloud core: pure numpy + OpenEXR. Never imports bpy or mathutils.

Data flows: ``exr`` / ``passes`` read files -> ``camera`` models the projection ->
``unproject`` makes a :class:`~.pointset.PointSet`.
"""
from .camera.model import CameraModel
from .errors import (
                     CameraError,
                     ChannelError,
                     DepthCloudError,
                     FramePatternError,
                     InvalidDepthError,
                     SettingsError,
                     SizeMismatchError,
                     SourceFileError,
)
from .points.inputs import FramePasses, SourceSpec
from .points.passes import read_frame_passes
from .points.pointset import PointSet
from .points.unproject import pixel_to_world, unproject

__all__ = [
    "CameraModel", "PointSet", "SourceSpec", "FramePasses", "read_frame_passes", "unproject", "pixel_to_world",
    "DepthCloudError", "SourceFileError", "ChannelError", "SizeMismatchError", "InvalidDepthError",
    "CameraError", "SettingsError", "FramePatternError",
]
