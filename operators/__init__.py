"""Operators: thin; they read settings, call the glue and report errors."""
import bpy

from .build import DEPTH_CLOUD_OT_build
from .fuse import DEPTH_CLOUD_OT_fuse

classes = (DEPTH_CLOUD_OT_build, DEPTH_CLOUD_OT_fuse)
register, unregister = bpy.utils.register_classes_factory(classes)
