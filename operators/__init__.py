"""Operators: thin; they read settings, call the glue and report errors."""
import bpy

from .build import DEPTH_CLOUD_OT_build

classes = (DEPTH_CLOUD_OT_build,)
register, unregister = bpy.utils.register_classes_factory(classes)
