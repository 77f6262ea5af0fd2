"""The Surface display mode's companion object: a Mesh made from the cloud's own points (no
source file read again), in no collection; only the modifier's *Surface* input uses it."""
from __future__ import annotations

import bpy

from ...core.errors import CameraError
from ...core.points.deep import one_per_pixel
from ...core.points.footprint import has_image_plane
from ...core.points.grid_mesh import surface_from_point_set
from .. import datablock
from .modifier import display_modifier, image_size, set_inputs, stored_camera


def build_surface(obj, max_jump, model=None, point_set=None):
    """(Re)make the companion surface object of ``obj`` from its points."""
    if model is None:
        model = stored_camera(obj)
    if point_set is None:
        point_set = datablock.point_set_from_data(obj.data, image_size(obj),
                                                  camera=model if has_image_plane(model) else None)
    if point_set.depth is None:
        raise CameraError(f"{obj.name}: a surface needs the camera that rendered the passes; rebuild with a camera set")
    point_set = one_per_pixel(point_set)
    surface = surface_from_point_set(point_set, model if has_image_plane(model) else None, max_jump)
    me = datablock.mesh_from_surface(surface, point_set, f"{obj.name} Surface")
    s = obj.depth_cloud.display
    if s.surface is None:
        holder = bpy.data.objects.new(f"{obj.name} Surface", me)
        s.surface = holder
    else:
        old = s.surface.data
        s.surface.data = me
        if old is not None and old.users == 0:
            bpy.data.meshes.remove(old)
    s.surface_max_jump = max_jump
    return s.surface


def remove_surface(obj):
    s = obj.depth_cloud.display
    holder = s.surface
    s.surface = None
    mod = display_modifier(obj, create=False)
    if mod is not None:
        set_inputs(mod, {"Surface": None})
    if holder is not None:
        me = holder.data
        if holder.users == 0:
            bpy.data.objects.remove(holder)
            if me is not None and me.users == 0:
                bpy.data.meshes.remove(me)
