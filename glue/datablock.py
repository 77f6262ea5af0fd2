"""The one place that turns a PointSet into Blender data.

Point Cloud datablocks cannot be created with a given size from Python before 5.3 (and 5.3's
``resize`` costs more on a new cloud), so a point cloud of N points is made by applying a
one-node Geometry Nodes modifier (*Points*, count N) on a scratch object, then every
attribute is written with ``foreach_set`` from flat, contiguous float32/int32 arrays (the
fast path; see BLENDER_NOTES).
"""
from __future__ import annotations

import bpy
import numpy as np

from ..core.sequence.reader_hold import readers_held
from . import compat, memory

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
    """A new PointCloud datablock holding ``count`` points (all attributes zero).

    The points come from applying a one-node Geometry Nodes modifier on a scratch object in a
    scratch scene, removed before returning: the operator's view-layer updates then evaluate
    only that object (in the user's scene they evaluate every object there, 2-3x the cost at
    1080p), the modifier is off in the viewport so those updates skip it (``modifier_apply``
    applies it all the same), and no evaluated copy is left sharing the new arrays, so writing
    them does not copy them first. Where Blender has ``PointCloud.resize`` (5.3) a new cloud
    is sized by it instead: it touches about twice the memory, which cost more than the
    operator until freed memory was kept for the next cloud (``glue.memory``); with it kept,
    a 1080p cloud sized and written measured 13 ms against 14.5 (docs/production.md).
    ``scene`` is unused (kept for callers): the user's scene is never touched."""
    pc = bpy.data.pointclouds.new(name)
    if count == 0:
        return pc
    memory.keep_for(count)  # the arrays about to be made reuse what earlier clouds freed
    if compat.resize_pointcloud(pc, count):  # 5.3: no operator (with memory kept, the faster route)
        return pc
    scratch = bpy.data.scenes.new(_SCRATCH)
    ob = bpy.data.objects.new(_SCRATCH, pc)
    ng = _points_node_group(count)
    try:
        scratch.collection.objects.link(ob)
        mod = ob.modifiers.new("points", 'NODES')
        mod.node_group = ng
        # off in the viewport: the view-layer updates around the operator skip the Points node
        mod.show_viewport = False
        layer = scratch.view_layers[0]
        with readers_held(), bpy.context.temp_override(scene=scratch, view_layer=layer, object=ob,
                                                       active_object=ob, selected_objects=[ob]):
            result = bpy.ops.object.modifier_apply(modifier=mod.name)  # GIL released: core/reader_hold.py
        if 'FINISHED' not in result or len(pc.points) != count:
            raise RuntimeError(f"could not size point cloud {name!r} to {count} points")
    except Exception:
        bpy.data.pointclouds.remove(pc)
        raise
    finally:
        if ob.name in bpy.data.objects:
            bpy.data.objects.remove(ob)
        bpy.data.node_groups.remove(ng)
        bpy.data.scenes.remove(scratch)
    return pc


def _flat(arr, dtype):
    return np.ascontiguousarray(arr, dtype=dtype).reshape(-1)


def write_attributes(data, point_set, domain='POINT', pixel_ids=True):
    """Write a PointSet's arrays into ``data`` (PointCloud or Mesh with N points/vertices).
    ``pixel_ids=False`` leaves out ``pixel`` and ``depth`` when the points have a camera
    (:func:`point_set_from_data` recovers both from the positions through it): 32 B/point."""
    attrs = data.attributes
    attrs['position'].data.foreach_set('vector', _flat(point_set.positions, np.float32))
    col = attrs.get(COLOR_ATTRIBUTE) or attrs.new(COLOR_ATTRIBUTE, 'FLOAT_COLOR', domain)
    col.data.foreach_set('color', _flat(point_set.colors, np.float32))
    if isinstance(data, bpy.types.Mesh):  # point clouds have no active color to set
        data.color_attributes.active_color = col
    if point_set.radius is not None:
        rad = attrs.get('radius') or attrs.new('radius', 'FLOAT', domain)
        rad.data.foreach_set('value', _flat(point_set.radius, np.float32))
    if pixel_ids or point_set.depth is None:  # without a camera the pixels cannot be recovered
        pix = attrs.get(PIXEL_ATTRIBUTE) or attrs.new(PIXEL_ATTRIBUTE, 'INT32_2D', domain)
        pix.data.foreach_set('value', _flat(point_set.pixels, np.int32))
    if point_set.depth is not None and pixel_ids:
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
    """An extra per-point array as an attribute: integers as INT, floats as FLOAT, (N, 2)
    as FLOAT2, (N, 3) as FLOAT_VECTOR, (N, 4) as FLOAT_COLOR."""
    values = np.asarray(values)
    if values.ndim == 2 and values.shape[1] == 3:
        kind, prop, dtype = 'FLOAT_VECTOR', 'vector', np.float32
    elif values.ndim == 2 and values.shape[1] == 4:  # a color pass (RGBA), e.g. a color AOV
        kind, prop, dtype = 'FLOAT_COLOR', 'color', np.float32
    elif values.ndim == 2 and values.shape[1] == 2:
        kind, prop, dtype = 'FLOAT2', 'vector', np.float32
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


def pointcloud_from_point_set(point_set, name: str, scene=None, pixel_ids: bool = True):
    """A new PointCloud datablock with the PointSet's positions, ``Col`` (FLOAT_COLOR),
    ``radius``, and with ``pixel_ids`` (or when there is no camera) ``pixel`` (INT32_2D source
    pixel) and ``depth`` point attributes, plus ``normal`` (FLOAT_VECTOR) and the extra
    attributes (e.g. ``views``, ``confidence``) when the PointSet has them."""
    pc = new_pointcloud(name, len(point_set), scene)
    write_attributes(pc, point_set, pixel_ids=pixel_ids)
    return pc


def refill_pointcloud(pc, point_set, pixel_ids: bool = True) -> bool:
    """Write ``point_set`` into the existing PointCloud ``pc`` in place (a rebuild of the same
    frame keeps its datablock, and whatever refers to it): no sizing operator, no old
    datablock to free. Possible when ``pc`` holds as many points (or can be resized: 5.3) and
    is local data; False (``pc`` untouched) otherwise. Every attribute but ``position`` is
    made anew (the evaluated copy on screen shares the old arrays, and writing into shared
    arrays copies them first), so the result equals a new datablock's. Measured at 1080p on
    5.0: about as fast as a new datablock (the shared position array is still copied)."""
    n = len(point_set)
    if not isinstance(pc, bpy.types.PointCloud) or n == 0 or pc.library is not None or pc.is_evaluated:
        return False
    memory.keep_for(n)
    if len(pc.points) != n and not compat.resize_pointcloud(pc, n):
        return False
    attrs = pc.attributes
    # every attribute but position is made anew: the evaluated copy on screen shares the old
    # arrays, and writing into shared arrays copies them first (fresh ones need no copy)
    stale = [a.name for a in attrs if not a.name.startswith('.') and a.name != 'position']
    for name in stale:
        attrs.remove(attrs[name])
    write_attributes(pc, point_set, pixel_ids=pixel_ids)
    return True


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


# ---------------------------------------------------------------- surface meshes
UV_MAP = "UVMap"


def mesh_from_surface(surface, point_set, name: str):
    """A new Mesh datablock of a core SurfaceMesh: one quad per point of ``point_set``
    (face ``i`` is point ``i``), ``Col`` as a FLOAT_COLOR face-corner attribute (the point's
    color on all four corners), ``UVMap`` = image coordinates and the source ``pixel``
    (INT32_2D) per face."""
    me = bpy.data.meshes.new(name)
    nv, nf = len(surface.vertices), len(surface.faces)
    if nf == 0:
        return me
    me.vertices.add(nv)
    me.edges.add(len(surface.edges))
    me.loops.add(4 * nf)
    me.polygons.add(nf)
    attrs = me.attributes
    attrs['position'].data.foreach_set('vector', _flat(surface.vertices, np.float32))
    me.polygons.foreach_set('loop_start', np.arange(0, 4 * nf, 4, dtype=np.int32))
    # The topology attributes are ~30x faster than MeshLoop.vertex_index / calc_edges.
    attrs['.edge_verts'].data.foreach_set('value', _flat(surface.edges, np.int32))
    attrs['.corner_vert'].data.foreach_set('value', _flat(surface.faces, np.int32))
    attrs['.corner_edge'].data.foreach_set('value', _flat(surface.corner_edges, np.int32))
    uv = attrs.new(UV_MAP, 'FLOAT2', 'CORNER')  # a 2D corner attribute is a UV map
    uv.data.foreach_set('vector', _flat(surface.uvs, np.float32))
    col = attrs.new(COLOR_ATTRIBUTE, 'FLOAT_COLOR', 'CORNER')
    col.data.foreach_set('color', _flat(np.repeat(point_set.colors, 4, axis=0), np.float32))
    me.color_attributes.active_color = col
    me.color_attributes.render_color_index = me.color_attributes.active_color_index
    pix = attrs.new(PIXEL_ATTRIBUTE, 'INT32_2D', 'FACE')
    pix.data.foreach_set('value', _flat(point_set.pixels, np.int32))
    me.update()
    return me


def point_set_from_data(data, image_size, meta=None, camera=None):
    """The PointSet stored in a PointCloud written by :func:`write_attributes` (the inverse
    of it: positions, ``Col``, ``pixel``, and ``depth``/``radius`` when present). Without
    ``pixel``/``depth`` attributes, ``camera`` (the core CameraModel that rendered the
    passes) gives both: each point projects onto its own pixel's centre."""
    from ..core.points.pointset import PointSet
    attrs = data.attributes
    n = len(attrs['position'].data)

    def read(name, prop, width, dtype):
        att = attrs.get(name)
        if att is None:
            return None
        buf = np.empty(n * width, dtype=dtype)
        att.data.foreach_get(prop, buf)
        return buf.reshape(n, width) if width > 1 else buf

    colors = read(COLOR_ATTRIBUTE, 'color', 4, np.float32)
    pixels = read(PIXEL_ATTRIBUTE, 'value', 2, np.int32)
    positions = read('position', 'vector', 3, np.float32)
    depth = read(DEPTH_ATTRIBUTE, 'value', 1, np.float32)
    if (pixels is None or depth is None) and camera is not None:
        x, y, d = camera.with_frame_size(*image_size).project(positions)
        if pixels is None:
            pixels = np.stack([np.floor(x), np.floor(y)], axis=1).astype(np.int32)
        if depth is None:
            depth = d.astype(np.float32)
    if pixels is None:
        raise ValueError(f"{data.name!r} has no {PIXEL_ATTRIBUTE!r} attribute and no camera: it was not built "
                         "by Depth Cloud")
    return PointSet(positions=positions,
                    colors=colors if colors is not None else np.ones((n, 4), np.float32),
                    pixels=pixels, depth=depth,
                    radius=read('radius', 'value', 1, np.float32), image_size=tuple(image_size),
                    meta=dict(meta or {}))


# ---------------------------------------------------------------- mesh shown as points
# Sequence playback rewrites one Mesh per frame change: a Mesh can be resized from Python
# without operators (render-safe, unlike new_pointcloud) and a Geometry Nodes "Mesh to Points"
# modifier displays its vertices as points whose radius reads the ``radius`` attribute.
POINTS_GROUP = "Depth Cloud Points"
POINTS_MODIFIER = "Depth Cloud Points"
_POINTS_GROUP_TAG = "depth_cloud_points"
_POINTS_GROUP_VERSION = 1


def write_mesh_points(mesh, positions, colors, radius, normals=None, attributes=None):
    """Make ``mesh`` hold exactly ``len(positions)`` loose vertices with ``position``,
    ``Col`` (FLOAT_COLOR, linear RGBA) and ``radius`` point attributes, plus ``normal``
    (FLOAT_VECTOR) when ``normals`` is given and one attribute per entry of ``attributes``
    (typed as in :func:`write_attributes`); attributes an earlier frame left that this one
    lacks are removed. Arrays are (N, 3) float32, (N, 4) float32 and (N,) float32; no
    operators are used (safe in handlers and during renders). An empty ``positions`` leaves
    an empty mesh."""
    n = len(positions)
    memory.keep_for(n)
    if len(mesh.vertices) != n or len(mesh.edges) or len(mesh.polygons):
        mesh.clear_geometry()
        if n:
            mesh.vertices.add(n)
    attributes = attributes or {}
    attrs = mesh.attributes
    keep = {'position', COLOR_ATTRIBUTE, 'radius', *attributes}
    if normals is not None:
        keep.add(NORMAL_ATTRIBUTE)
    stale = [a.name for a in attrs if a.domain == 'POINT' and not a.name.startswith('.') and a.name not in keep]
    for name in stale:
        attrs.remove(attrs[name])
    if n:
        attrs['position'].data.foreach_set('vector', _flat(positions, np.float32))
        col = attrs.get(COLOR_ATTRIBUTE)
        if col is None or col.data_type != 'FLOAT_COLOR' or col.domain != 'POINT':
            if col is not None:
                attrs.remove(col)
            col = attrs.new(COLOR_ATTRIBUTE, 'FLOAT_COLOR', 'POINT')
            mesh.color_attributes.active_color = col
        col.data.foreach_set('color', _flat(colors, np.float32))
        rad = attrs.get('radius') or attrs.new('radius', 'FLOAT', 'POINT')
        rad.data.foreach_set('value', _flat(radius, np.float32))
        if normals is not None:
            _write_extra(attrs, NORMAL_ATTRIBUTE, normals, 'POINT')
        for name, values in attributes.items():
            _write_extra(attrs, name, values, 'POINT')
    mesh.update_tag()


def points_node_group():
    """The shared "Mesh to Points" node group: radius = ``radius`` attribute x Point Size."""
    ng = bpy.data.node_groups.get(POINTS_GROUP)
    if ng is not None and ng.bl_idname == 'GeometryNodeTree' and ng.get(_POINTS_GROUP_TAG) == _POINTS_GROUP_VERSION:
        return ng
    ng = bpy.data.node_groups.new(POINTS_GROUP, 'GeometryNodeTree')
    ng[_POINTS_GROUP_TAG] = _POINTS_GROUP_VERSION
    ng.interface.new_socket(name="Geometry", in_out='INPUT', socket_type='NodeSocketGeometry')
    size = ng.interface.new_socket(name="Point Size", in_out='INPUT', socket_type='NodeSocketFloat')
    size.default_value, size.min_value = 1.0, 0.0
    ng.interface.new_socket(name="Geometry", in_out='OUTPUT', socket_type='NodeSocketGeometry')
    nodes, links = ng.nodes, ng.links
    group_in, group_out = nodes.new('NodeGroupInput'), nodes.new('NodeGroupOutput')
    radius = nodes.new('GeometryNodeInputNamedAttribute')
    radius.data_type = 'FLOAT'
    radius.inputs['Name'].default_value = 'radius'
    scale = nodes.new('ShaderNodeMath')
    scale.operation = 'MULTIPLY'
    to_points = nodes.new('GeometryNodeMeshToPoints')
    links.new(radius.outputs['Attribute'], scale.inputs[0])
    links.new(group_in.outputs['Point Size'], scale.inputs[1])
    links.new(group_in.outputs['Geometry'], to_points.inputs['Mesh'])
    links.new(scale.outputs[0], to_points.inputs['Radius'])
    links.new(to_points.outputs['Points'], group_out.inputs['Geometry'])
    group_in.location, radius.location, scale.location = (-400, 0), (-400, -160), (-200, -120)
    group_out.location = (200, 0)
    return ng


def points_modifier(obj):
    """The object's "Mesh to Points" display modifier (added if missing)."""
    mod = obj.modifiers.get(POINTS_MODIFIER)
    if mod is None or mod.type != 'NODES':
        mod = obj.modifiers.new(POINTS_MODIFIER, 'NODES')
    if mod.node_group is None or mod.node_group.get(_POINTS_GROUP_TAG) != _POINTS_GROUP_VERSION:
        mod.node_group = points_node_group()
    return mod


def point_size_key(mod) -> str:
    """The socket identifier of the modifier's "Point Size" input (set it with ``compat.set_modifier_input``)."""
    for item in mod.node_group.interface.items_tree:
        if getattr(item, 'in_out', None) == 'INPUT' and item.name == "Point Size":
            return item.identifier
    raise KeyError(f"node group {mod.node_group.name!r} has no Point Size input")
