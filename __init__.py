"""Depth Cloud: rendered depth / position passes -> colored point clouds.

This module only registers and unregisters; bpy is imported lazily so that the pure
``core`` package can be imported (and tested) without Blender.
"""
import sys

_MODULES = ("props", "operators", "ui", "cli", "handlers")
_ALIAS = "depth_cloud"


def _modules():
    import importlib
    return [importlib.import_module(f"{__package__}.{name}") for name in _MODULES]


def register():
    for module in _modules():
        module.register()
    # Scripts use ``from depth_cloud import api`` whatever repository the extension is in.
    from . import api  # noqa: F401
    if __package__ != _ALIAS:
        sys.modules.setdefault(_ALIAS, sys.modules[__package__])


def unregister():
    for module in reversed(_modules()):
        module.unregister()
    if __package__ != _ALIAS and sys.modules.get(_ALIAS) is sys.modules.get(__package__):
        del sys.modules[_ALIAS]
