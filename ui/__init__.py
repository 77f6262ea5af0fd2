"""User interface: sidebar panels in the 3D Viewport and the Compositor."""
import bpy

from . import display
from .panels import classes

classes = classes + display.classes

register, unregister = bpy.utils.register_classes_factory(classes)
