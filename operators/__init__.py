"""Operators: thin; they read settings, call the glue and report errors."""
import bpy

from .build import DEPTH_CLOUD_OT_build
from .build_sequence import DEPTH_CLOUD_OT_build_sequence

classes = (DEPTH_CLOUD_OT_build, DEPTH_CLOUD_OT_build_sequence)
register, unregister = bpy.utils.register_classes_factory(classes)
