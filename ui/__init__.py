"""User interface: sidebar panels in the 3D Viewport and the Compositor, File > Import and
drag and drop."""

from . import display, file_handler, fusion, output, panels, picking, sequence

classes = (panels.classes + sequence.classes + output.classes + display.classes + fusion.classes + picking.classes
           + file_handler.classes)
on_register, on_unregister = file_handler.register, file_handler.unregister
