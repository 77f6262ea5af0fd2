"""The one place that turns a PointSet into Blender data.

Point Cloud datablocks cannot be created with a given size from Python, so a point cloud of
N points is made by applying a one-node Geometry Nodes modifier (*Points*, count N) on a
scratch object, then every attribute is written with ``foreach_set`` from flat, contiguous
float32/int32 arrays (the fast path; see BLENDER_NOTES).
"""
from __future__ import annotations

import bpy
import numpy as np

COLOR_ATTRIBUTE = "Col"
PIXEL_ATTRIBUTE = "pixel"
DEPTH_ATTRIBUTE = "depth"
NORMAL_ATTRIBUTE = "normal"
_SCRATCH = ".depth_cloud_scratch"


def _points_node_group(count: int):
    ng = bpy.data.node_groups.new(_SCRATCH, 'GeometryNodeTree')
    ng.interface.new_socket(name="Geometry", in_out='OUTPUT', socket_type='NodeSocketGeometry')
    out = ng.nodes.new('NodeGroupOutput')
    points = ng.nodes.new('GeometryNodePoints')
    points.inputs['Count'].default_value = int(count)
    points.inputs['Radius'].default_value = 0.0
    ng.links.new(points.outputs['Points'], out.inputs[0])
    return ng


def new_pointcloud(name: str, count: int, scene=None):
    """A new PointCloud datablock holding ``count`` points (all attributes zero)."""
    scene = scene if scene is not None else bpy.context.scene
    pc = bpy.data.pointclouds.new(name)
    if count == 0:
        return pc
    ob = bpy.data.objects.new(_SCRATCH, pc)
    ng = _points_node_group(count)
    try:
        scene.collection.objects.link(ob)
        mod = ob.modifiers.new("points", 'NODES')
        mod.node_group = ng
        with bpy.context.temp_override(scene=scene, object=ob, active_object=ob, selected_objects=[ob]):
            result = bpy.ops.object.modifier_apply(modifier=mod.name)
        if 'FINISHED' not in result or len(pc.points) != count:
            raise RuntimeError(f"could not size point cloud {name!r} to {count} points")
    except Exception:
        bpy.data.pointclouds.remove(pc)
        raise
    finally:
        if ob.name in bpy.data.objects:
            bpy.data.objects.remove(ob)
        bpy.data.node_groups.remove(ng)
    return pc


def _flat(arr, dtype):
    return np.ascontiguousarray(arr, dtype=dtype).reshape(-1)


def write_attributes(data, point_set, domain='POINT'):
    """Write a PointSet's arrays into ``data`` (PointCloud or Mesh with N points/vertices)."""
    attrs = data.attributes
    attrs['position'].data.foreach_set('vector', _flat(point_set.positions, np.float32))
    col = attrs.get(COLOR_ATTRIBUTE) or attrs.new(COLOR_ATTRIBUTE, 'FLOAT_COLOR', domain)
    col.data.foreach_set('color', _flat(point_set.colors, np.float32))
    if hasattr(data, 'color_attributes'):
        try:
            data.color_attributes.active_color = col
        except (AttributeError, TypeError):
            pass
    if point_set.radius is not None:
        rad = attrs.get('radius') or attrs.new('radius', 'FLOAT', domain)
        rad.data.foreach_set('value', _flat(point_set.radius, np.float32))
    pix = attrs.get(PIXEL_ATTRIBUTE) or attrs.new(PIXEL_ATTRIBUTE, 'INT32_2D', domain)
    pix.data.foreach_set('value', _flat(point_set.pixels, np.int32))
    if point_set.depth is not None:
        dep = attrs.get(DEPTH_ATTRIBUTE) or attrs.new(DEPTH_ATTRIBUTE, 'FLOAT', domain)
        dep.data.foreach_set('value', _flat(point_set.depth, np.float32))
    normals = getattr(point_set, "normals", None)
    if normals is not None:
        nor = attrs.get(NORMAL_ATTRIBUTE) or attrs.new(NORMAL_ATTRIBUTE, 'FLOAT_VECTOR', domain)
        nor.data.foreach_set('vector', _flat(normals, np.float32))
    for name, values in getattr(point_set, "attributes", {}).items():
        _write_extra(attrs, name, values, domain)
    data.update_tag()


def _write_extra(attrs, name, values, domain):
    """An extra per-point array as an attribute: integers as INT, floats as FLOAT, (N, 3)
    floats as FLOAT_VECTOR."""
    values = np.asarray(values)
    if values.ndim == 2 and values.shape[1] == 3:
        kind, prop, dtype = 'FLOAT_VECTOR', 'vector', np.float32
    elif np.issubdtype(values.dtype, np.integer) or values.dtype == bool:
        kind, prop, dtype = 'INT', 'value', np.int32
    else:
        kind, prop, dtype = 'FLOAT', 'value', np.float32
    attr = attrs.get(name)
    if attr is not None and (attr.data_type != kind or attr.domain != domain):
        attrs.remove(attr)
        attr = None
    attr = attr or attrs.new(name, kind, domain)
    attr.data.foreach_set(prop, _flat(values, dtype))


def pointcloud_from_point_set(point_set, name: str, scene=None):
    """A new PointCloud datablock with the PointSet's positions, ``Col`` (FLOAT_COLOR),
    ``radius``, ``pixel`` (INT32_2D source pixel) and ``depth`` point attributes, plus
    ``normal`` (FLOAT_VECTOR) and the extra attributes (e.g. ``views``, ``confidence``) when
    the PointSet has them."""
    pc = new_pointcloud(name, len(point_set), scene)
    write_attributes(pc, point_set)
    return pc


def replace_data(obj, new_data):
    """Point ``obj`` (and every other user) at ``new_data``, keep materials and the old name,
    and free the old datablock."""
    old = obj.data
    if old is None or old == new_data:
        obj.data = new_data
        return
    for mat in old.materials:
        new_data.materials.append(mat)
    name = old.name
    old.user_remap(new_data)
    if old.users == 0:
        if isinstance(old, bpy.types.PointCloud):
            bpy.data.pointclouds.remove(old)
        elif isinstance(old, bpy.types.Mesh):
            bpy.data.meshes.remove(old)
    new_data.name = name
