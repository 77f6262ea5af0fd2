"""User interface: sidebar panels in the 3D Viewport and the Compositor."""

from . import display, fusion, output, panels, picking, sequence

classes = panels.classes + sequence.classes + output.classes + display.classes + fusion.classes + picking.classes
