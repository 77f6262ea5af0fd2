"""Display settings applied to every cloud of a scene at once (the panel's settings changed)."""
from __future__ import annotations

import bpy

from ...core.errors import DepthCloudError, SettingsError
from .cloud import apply_settings, check_values, display_problem, is_sequence
from .modifier import display_modifier


def cloud_objects(scene):
    return [ob for ob in scene.objects if (ob.depth_cloud.is_cloud or is_sequence(ob))
            and display_modifier(ob, create=False) is not None]


def apply_to_scene(scene, **values):
    """Apply display values to every cloud of ``scene``; returns the error messages of the
    clouds that could not follow (they keep their previous display)."""
    errors = []
    for ob in cloud_objects(scene):
        try:
            apply_settings(ob, **values)
        except DepthCloudError as err:
            errors.append(str(err))
    return errors


def apply_to_objects(objects, **values):
    """Apply display values to cloud objects, all or none: every object is checked first
    and the first problem is raised before anything changes."""
    objects = list(objects)
    check_values(values.get("size"), values.get("max_jump"))
    for ob in objects:
        if not isinstance(ob, bpy.types.Object):
            raise SettingsError(f"{ob!r} is not an object (set_display takes cloud objects)")
    for ob in objects:
        problem = display_problem(ob, values.get("mode"))
        if problem is not None:
            raise problem
    for ob in objects:
        apply_settings(ob, **values)
    return objects
