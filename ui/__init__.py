"""User interface: sidebar panels in the 3D Viewport and the Compositor, File > Import and
drag and drop."""
import bpy

from . import display, file_handler, fusion, output, panels, picking, sequence

classes = (panels.classes + sequence.classes + output.classes + display.classes + fusion.classes + picking.classes
           + file_handler.classes)
_register_classes, _unregister_classes = bpy.utils.register_classes_factory(classes)


def register():
    _register_classes()
    file_handler.register()


def unregister():
    file_handler.unregister()
    _unregister_classes()
