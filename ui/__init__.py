"""User interface: sidebar panels in the 3D Viewport and the Compositor."""
import bpy

from . import panels, sequence

classes = panels.classes + sequence.classes

register, unregister = bpy.utils.register_classes_factory(classes)
