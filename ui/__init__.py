"""User interface: sidebar panels in the 3D Viewport and the Compositor."""
import bpy

from . import display, output, panels

classes = panels.classes + output.classes + display.classes
register, unregister = bpy.utils.register_classes_factory(classes)
