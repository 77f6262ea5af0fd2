"""Settings saved in the .blend: one PropertyGroup on the Scene (``scene.depth_cloud``) and one
on each Object (``object.depth_cloud``); the display, output, sequence and fusion settings are
groups nested in those (``scene.depth_cloud.display`` …). Class names and property paths are
those of 0.1.0, so older .blend files open with their settings (``tests/blender/test_old_blend.py``).

- ``fields``: definitions shared by several groups (the reading options, the camera poll)
- ``display``, ``output``, ``sequence``, ``fusion``, ``pick``, ``masks``: the nested groups
- ``scene``: the two top-level groups and their ``Scene``/``Object`` pointers
"""
from . import display, fusion, masks, output, pick, scene, sequence

# Nested groups first: a PointerProperty (or CollectionProperty) needs its type registered.
classes = output.classes + display.classes + sequence.classes + fusion.classes + pick.classes + masks.classes \
    + scene.classes
on_register, on_unregister = scene.attach, scene.detach
