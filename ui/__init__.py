"""User interface: sidebar panels in the 3D Viewport and the Compositor."""
import bpy

from . import fusion
from .panels import classes

classes = classes + fusion.classes
register, unregister = bpy.utils.register_classes_factory(classes)
