"""A surface for a fused cloud with Blender's own Geometry Nodes.

The node group "Depth Cloud Surface" (created once per file, reused) turns the cloud object
it is given into a mesh:

1. *Points to Volume*: a sphere of ``Radius`` around every point, sampled at ``Voxel Size``;
2. *Volume to Mesh*: the boundary of that union of spheres. Around a closed surface it is a
   thick shell with an outer and an inner sheet;
3. the inner sheet is deleted: each mesh island counts its faces whose normal points against
   the normal of the nearest cloud point (the cloud's normals face the cameras, i.e. out of
   the object); islands where those are the majority are inner sheets and go whole;
4. the remaining sheet is moved back along its normals by ``Radius``, so it lies on the
   points instead of ``Radius`` outside them; smooth shading.

The surface object is a mesh object with a Geometry Nodes modifier pointing at the cloud, so
voxel size and radius stay editable in the modifier panel; apply the modifier to keep the mesh.
"""
from __future__ import annotations

import bpy

from .. import compat

GROUP_NAME = "Depth Cloud Surface"
#: Bumped when the node layout changes, so an older group in a file is rebuilt.
GROUP_VERSION = 2
_MARK = "depth_cloud_surface_version"


def _socket(tree, name, in_out, socket_type, default=None, min_value=None):
    s = tree.interface.new_socket(name=name, in_out=in_out, socket_type=socket_type)
    if default is not None:
        s.default_value = default
    if min_value is not None:
        s.min_value = min_value
    return s


def _compare_with_zero(nodes, links, operation, value):
    """A float Compare node: ``value`` (a socket) against 0 by ``operation`` ('LESS_THAN', ...)."""
    compare = nodes.new('FunctionNodeCompare')
    compare.data_type = 'FLOAT'
    compare.operation = operation
    links.new(value, compare.inputs[0])
    compare.inputs[1].default_value = 0.0
    return compare


def surface_node_group():
    """The shared node group (built on first use, rebuilt if from an older version)."""
    ng = bpy.data.node_groups.get(GROUP_NAME)
    if ng is not None and ng.bl_idname == 'GeometryNodeTree' and ng.get(_MARK) == GROUP_VERSION:
        return ng
    if ng is not None:
        ng.name = GROUP_NAME + ".old"
    ng = bpy.data.node_groups.new(GROUP_NAME, 'GeometryNodeTree')
    ng[_MARK] = GROUP_VERSION
    _socket(ng, "Geometry", 'INPUT', 'NodeSocketGeometry')
    _socket(ng, "Cloud", 'INPUT', 'NodeSocketObject')
    _socket(ng, "Voxel Size", 'INPUT', 'NodeSocketFloat', 0.01, 1e-5)
    _socket(ng, "Radius", 'INPUT', 'NodeSocketFloat', 0.02, 0.0)
    _socket(ng, "Geometry", 'OUTPUT', 'NodeSocketGeometry')
    nodes, links = ng.nodes, ng.links
    gin = nodes.new('NodeGroupInput')
    gout = nodes.new('NodeGroupOutput')

    info = nodes.new('GeometryNodeObjectInfo')
    info.transform_space = 'RELATIVE'
    links.new(gin.outputs["Cloud"], info.inputs["Object"])

    to_volume = nodes.new('GeometryNodePointsToVolume')
    compat.set_resolution_mode(to_volume, 'Size', 'VOXEL_SIZE')
    to_volume.inputs["Density"].default_value = 1.0
    links.new(info.outputs["Geometry"], to_volume.inputs["Points"])
    links.new(gin.outputs["Voxel Size"], to_volume.inputs["Voxel Size"])
    links.new(gin.outputs["Radius"], to_volume.inputs["Radius"])

    to_mesh = nodes.new('GeometryNodeVolumeToMesh')
    compat.set_resolution_mode(to_mesh, 'Grid', 'GRID')
    to_mesh.inputs["Threshold"].default_value = 0.1
    to_mesh.inputs["Adaptivity"].default_value = 0.0
    links.new(to_volume.outputs["Volume"], to_mesh.inputs["Volume"])

    # inner sheet: faces facing against the nearest point's normal
    nearest = nodes.new('GeometryNodeSampleNearest')
    nearest.domain = 'POINT'
    links.new(info.outputs["Geometry"], nearest.inputs["Geometry"])
    cloud_normal = nodes.new('GeometryNodeInputNamedAttribute')
    cloud_normal.data_type = 'FLOAT_VECTOR'
    cloud_normal.inputs["Name"].default_value = "normal"
    sample = nodes.new('GeometryNodeSampleIndex')
    sample.data_type = 'FLOAT_VECTOR'
    sample.domain = 'POINT'
    links.new(info.outputs["Geometry"], sample.inputs["Geometry"])
    links.new(cloud_normal.outputs[0], _input(sample, "Value", 'VECTOR'))
    links.new(nearest.outputs["Index"], sample.inputs["Index"])
    normal = nodes.new('GeometryNodeInputNormal')
    dot = nodes.new('ShaderNodeVectorMath')
    dot.operation = 'DOT_PRODUCT'
    links.new(normal.outputs["Normal"], dot.inputs[0])
    links.new(_output(sample, "Value", 'VECTOR'), dot.inputs[1])
    inner = _compare_with_zero(nodes, links, 'LESS_THAN', dot.outputs["Value"])
    # each mesh island votes: +1 per inner face, -1 per outer face; islands with more inner
    # than outer faces are the inner sheets and go (whole, so no cracks open in the outer one)
    vote = nodes.new('ShaderNodeMath')
    vote.operation = 'MULTIPLY_ADD'
    links.new(inner.outputs["Result"], vote.inputs[0])
    vote.inputs[1].default_value = 2.0
    vote.inputs[2].default_value = -1.0
    island = nodes.new('GeometryNodeInputMeshIsland')
    tally = nodes.new('GeometryNodeAccumulateField')
    tally.data_type = 'FLOAT'
    tally.domain = 'FACE'
    links.new(vote.outputs[0], tally.inputs["Value"])
    links.new(island.outputs["Island Index"], tally.inputs[1])
    majority = _compare_with_zero(nodes, links, 'GREATER_THAN', tally.outputs["Total"])
    delete = nodes.new('GeometryNodeDeleteGeometry')
    delete.domain = 'FACE'
    links.new(to_mesh.outputs["Mesh"], delete.inputs["Geometry"])
    links.new(majority.outputs["Result"], delete.inputs["Selection"])

    # back onto the points: move along the normals by -Radius
    scale = nodes.new('ShaderNodeVectorMath')
    scale.operation = 'SCALE'
    links.new(normal.outputs["Normal"], scale.inputs[0])
    negate = nodes.new('ShaderNodeMath')
    negate.operation = 'MULTIPLY'
    negate.inputs[1].default_value = -1.0
    links.new(gin.outputs["Radius"], negate.inputs[0])
    links.new(negate.outputs[0], scale.inputs["Scale"])
    move = nodes.new('GeometryNodeSetPosition')
    links.new(delete.outputs["Geometry"], move.inputs["Geometry"])
    links.new(scale.outputs["Vector"], move.inputs["Offset"])

    smooth = nodes.new('GeometryNodeSetShadeSmooth')
    links.new(move.outputs["Geometry"], smooth.inputs[0])
    links.new(smooth.outputs[0], gout.inputs[0])
    for i, node in enumerate((gin, info, to_volume, to_mesh, delete, move, smooth, gout)):
        node.location = (220 * i, 0)
    for i, node in enumerate((cloud_normal, nearest, sample, normal, dot, inner, vote, island, tally, majority)):
        node.location = (660 + 180 * i, -320)
    return ng


def _input(node, name, kind):
    """The input socket ``name`` of type ``kind`` (Sample Index has one per data type in 4.2)."""
    for s in node.inputs:
        if s.name == name and s.type == kind and s.enabled:
            return s
    return node.inputs[name]


def _output(node, name, kind):
    for s in node.outputs:
        if s.name == name and s.type == kind and s.enabled:
            return s
    return node.outputs[name]


def _socket_id(ng, name):
    for item in ng.interface.items_tree:
        if getattr(item, "in_out", None) == 'INPUT' and item.name == name:
            return item.identifier
    raise KeyError(name)


def find_surface(scene, cloud_obj):
    """``(object, modifier)`` of the surface made from ``cloud_obj`` in ``scene``, or
    ``(None, None)`` (found through the modifier's Cloud input, so renaming is harmless)."""
    ng = bpy.data.node_groups.get(GROUP_NAME)
    if ng is None:
        return None, None
    cloud_id = _socket_id(ng, "Cloud")
    for ob in scene.objects:
        for mod in ob.modifiers:
            if mod.type == 'NODES' and mod.node_group == ng and compat.get_modifier_input(mod, cloud_id) == cloud_obj:
                return ob, mod
    return None, None


def surface_object(scene, cloud_obj, voxel_size: float = 0.0, cloud_voxel: float = 0.01, radius: float = 0.0):
    """The surface object of ``cloud_obj`` (made once, then updated): a mesh object with the
    "Depth Cloud Surface" modifier. ``voxel_size`` 0 = the cloud's voxel size; ``radius`` 0 =
    1.5 x the cloud's voxel size (the spheres overlap across about one point spacing)."""
    cloud_voxel = max(float(cloud_voxel), 1e-5)
    voxel = float(voxel_size) if voxel_size and voxel_size > 0 else cloud_voxel
    radius = float(radius) if radius and radius > 0 else 1.5 * max(cloud_voxel, 0.5 * voxel)
    ng = surface_node_group()
    cloud_id = _socket_id(ng, "Cloud")
    ob, mod = find_surface(scene, cloud_obj)
    if ob is None:
        name = f"{cloud_obj.name} Surface"
        ob = bpy.data.objects.new(name, bpy.data.meshes.new(name))
        for coll in cloud_obj.users_collection:
            coll.objects.link(ob)
            break
        else:
            scene.collection.objects.link(ob)
        mod = ob.modifiers.new("Depth Cloud Surface", 'NODES')
        mod.node_group = ng
    ob.matrix_world = cloud_obj.matrix_world
    compat.set_modifier_input(mod, cloud_id, cloud_obj)
    compat.set_modifier_input(mod, _socket_id(ng, "Voxel Size"), voxel)
    compat.set_modifier_input(mod, _socket_id(ng, "Radius"), radius)
    ob.update_tag()
    return ob
