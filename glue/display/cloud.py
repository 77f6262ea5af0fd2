"""One cloud's display: set up after a build (edge cleanup, modifier, the scene's settings) and
changed live (mode, size, shading, surface), never half-changed."""
from __future__ import annotations

import json

from ...core.errors import CameraError, SettingsError
from ...core.points.filters import DEFAULT_MAX_JUMP, remove_flying_pixels
from ...core.points.footprint import has_image_plane, radius_from_neighbours
from .. import datablock
from .modifier import camera_inputs, display_modifier, set_inputs, stored_camera
from .nodes import MODES, POINTS, SQUARES, SURFACE
from .surface import build_surface, remove_surface


def prepare_point_set(point_set, model, settings):
    """The build-time part of the display settings: edge cleanup, and a radius for points
    that came without a camera."""
    if settings is not None and (settings.cleanup_flying or settings.cleanup_min_alpha > 0):
        point_set = remove_flying_pixels(
            point_set, settings.cleanup_max_jump if settings.cleanup_flying else None,
            settings.cleanup_mode, settings.cleanup_min_alpha)
    if point_set.radius is None and len(point_set):
        point_set.radius = radius_from_neighbours(point_set)
    return point_set


def setup_cloud(obj, point_set, model, settings=None):
    """Give a freshly built cloud object its display: camera inputs, modifier, materials,
    and the scene's display settings (mode, size, shading)."""
    s = obj.depth_cloud.display
    s.camera = json.dumps(model.to_dict()) if model is not None else ""
    s.image_width, s.image_height = (int(v) for v in point_set.image_size)
    mod = display_modifier(obj)
    set_inputs(mod, camera_inputs(model, point_set.meta.get("detail", 1)))
    if s.surface is not None:  # rebuilt: the old surface no longer matches the points
        remove_surface(obj)
    if settings is None:
        mode, size, lit, max_jump = POINTS, 1.0, False, DEFAULT_MAX_JUMP
    else:
        mode, size, lit, max_jump = (settings.mode, settings.point_size, settings.shading == 'LIT',
                                     settings.surface_max_jump)
    try:
        apply_settings(obj, mode, size, lit, max_jump, point_set=point_set)
    except CameraError as err:
        point_set.meta.setdefault("warnings", []).append(f"{err}; showing points")
        apply_settings(obj, POINTS, size, lit, max_jump, point_set=point_set)


def apply_settings(obj, mode=None, size=None, lit=None, max_jump=None, point_set=None):
    """Change the display of a cloud object live (None = leave as is). Switching to Surface
    builds the surface from the cloud's points; raises CameraError when the cloud has no
    camera for pixel squares or a surface (the object is left as it was)."""
    problem = display_problem(obj, mode)
    if problem is not None:
        raise problem
    check_values(size, max_jump)
    mod = display_modifier(obj)
    s = obj.depth_cloud.display
    model = stored_camera(obj)
    stale = max_jump is not None and abs(max_jump - s.surface_max_jump) > 1e-6
    if mode == SURFACE or (mode is None and s.mode == SURFACE):
        if s.surface is None or stale:
            build_surface(obj, s.surface_max_jump if max_jump is None else max_jump, model, point_set)
    elif stale and s.surface is not None:
        remove_surface(obj)  # rebuilt when Surface is chosen again
    values = {}
    if mode is not None:
        values["Mode"] = MODES.index(mode)
        s.mode = mode
    if size is not None:
        values["Size"] = float(size)
    if lit is not None:
        values["Lit"] = bool(lit)
    values["Surface"] = s.surface
    set_inputs(mod, values)


def display_problem(obj, mode):
    """The error (not raised) that keeps ``obj`` from showing ``mode`` (None: from taking any
    display value), or None."""
    if not (obj.depth_cloud.is_cloud or is_sequence(obj)):
        return SettingsError(f"{obj.name!r} is not a Depth Cloud object")
    if mode is None:
        return None
    if mode not in MODES:
        return SettingsError(f"display mode {mode!r} is unknown; expected one of {', '.join(MODES)}")
    if is_sequence(obj) and mode != POINTS:
        return SettingsError(f"{obj.name}: a sequence plays back as points; pixel squares and surfaces are "
                             "for single-frame clouds")
    if mode == SQUARES and not has_image_plane(stored_camera(obj)):
        return CameraError(f"{obj.name}: pixel squares need the (non-panoramic) camera that rendered the passes; "
                           "rebuild with a camera set")
    if mode == SURFACE and obj.depth_cloud.display.surface is None and \
            datablock.DEPTH_ATTRIBUTE not in obj.data.attributes and not has_image_plane(stored_camera(obj)):
        return CameraError(f"{obj.name}: a surface needs the camera that rendered the passes (its points have "
                           "no camera depth); rebuild with a camera set")
    return None


def check_values(size=None, max_jump=None):
    if size is not None and not size >= 0:
        raise SettingsError(f"display size must be >= 0, got {size}")
    if max_jump is not None and not max_jump >= 0:
        raise SettingsError(f"surface max depth jump must be >= 0, got {max_jump}")


def is_sequence(obj) -> bool:
    return obj.depth_cloud.sequence.is_sequence


def setup_points_display(obj, settings=None):
    """The display of a cloud whose frames change under it (a sequence's playback object, or a
    keyed frame): the shared modifier and materials in Points mode, with the scene's size and
    shading. The display modifier comes last in the stack (after "Mesh to Points")."""
    mod = display_modifier(obj)
    set_inputs(mod, camera_inputs(None))
    size = settings.point_size if settings is not None else 1.0
    lit = settings is not None and settings.shading == 'LIT'
    set_inputs(mod, {"Mode": MODES.index(POINTS), "Size": float(size), "Lit": bool(lit), "Surface": None})
    obj.depth_cloud.display.mode = POINTS
