"""Depth Cloud: rendered depth / position passes -> colored point clouds.

This module only registers and unregisters; bpy is imported lazily so that the pure
``core`` package can be imported (and tested) without Blender.
"""
import sys

#: One convention, as Blender's own ``bl_operators``: each module exports ``classes`` (registered
#: in order, unregistered in reverse) and may export ``on_register`` / ``on_unregister`` for what
#: is not a class (the Scene/Object settings pointers, application handlers, the CLI command).
_MODULES = ("props", "preferences", "operators", "ui", "handlers", "cli")
_ALIAS = "depth_cloud"


def _modules():
    import importlib
    return [importlib.import_module(f"{__package__}.{name}") for name in _MODULES]


def _nothing():
    pass


def register():
    import bpy
    for module in _modules():
        for cls in module.classes:
            bpy.utils.register_class(cls)
        getattr(module, "on_register", _nothing)()
    # Scripts use ``from depth_cloud import api`` whatever repository the extension is in.
    from . import api  # noqa: F401
    if __package__ != _ALIAS:
        sys.modules.setdefault(_ALIAS, sys.modules[__package__])


def unregister():
    import bpy
    for module in reversed(_modules()):
        getattr(module, "on_unregister", _nothing)()
        for cls in reversed(module.classes):
            bpy.utils.unregister_class(cls)
    if __package__ != _ALIAS and sys.modules.get(_ALIAS) is sys.modules.get(__package__):
        del sys.modules[_ALIAS]
