"""The shared "Depth Cloud Display" Geometry Nodes group (one per .blend, found again by its
version marker) and the names of its inputs."""
from __future__ import annotations

import bpy

from ... import enums

NODE_GROUP_NAME = "Depth Cloud Display"


MARKER = "depth_cloud_display"


VERSION = 2  # 2: pixel squares sized from the radius (no depth attribute needed)


#: The node group's own version: 3: Points at Size 1 pass the cloud through untouched (setting
#: every radius to itself cost ~13 ms per evaluation of a 1080p cloud)
GROUP_VERSION = 3


POINTS, SQUARES, SURFACE = "POINTS", "SQUARES", "SURFACE"


MODES = tuple(value for value, *_ in enums.DISPLAY_MODES)  # the Mode menu's order


_MENU_ITEMS = {value: label for value, label, *_ in enums.DISPLAY_MODES}


# Inputs of the node group: (name, socket type, default, description)
INPUTS = (
    ("Mode", 'NodeSocketMenu', None, "Points, Pixel Squares or Surface"),
    ("Size", 'NodeSocketFloat', 1.0, "Multiplier of the point radius and of the square size"),
    ("Lit", 'NodeSocketBool', False, "Diffuse shading instead of the unlit source colors"),
    ("Unlit Material", 'NodeSocketMaterial', None, "Material of the unlit look"),
    ("Lit Material", 'NodeSocketMaterial', None, "Material of the lit look"),
    ("Camera Rotation", 'NodeSocketRotation', None, "Rotation of the camera that rendered the source"),
    ("Pixel Size", 'NodeSocketVector', (0.0, 0.0, 0.0),
     "Width and height of one source pixel per unit depth (orthographic: in scene units)"),
    ("Orthographic", 'NodeSocketBool', False, "The source camera is orthographic"),
    ("Square Offset", 'NodeSocketVector', (0.0, 0.0, 0.0),
     "Camera-space shift of each pixel square per unit radius: half a pixel at an even detail, "
     "where a point's pixel is not the centre of the block it stands for"),
    ("Surface", 'NodeSocketObject', None, "Object holding the surface mesh of this cloud"),
)


def marked(collection, kind=None, version=VERSION):
    for item in collection:
        if item.get(MARKER) == version and (kind is None or item.get(MARKER + "_kind") == kind):
            return item
    return None


def display_node_group():
    """The shared "Depth Cloud Display" node group (created on first use)."""
    ng = marked(bpy.data.node_groups, version=GROUP_VERSION)
    if ng is None:
        ng = _new_node_group()
        ng[MARKER] = GROUP_VERSION
    return ng


def _new_node_group():
    ng = bpy.data.node_groups.new(NODE_GROUP_NAME, 'GeometryNodeTree')
    itf = ng.interface
    itf.new_socket(name="Geometry", in_out='INPUT', socket_type='NodeSocketGeometry')
    itf.new_socket(name="Geometry", in_out='OUTPUT', socket_type='NodeSocketGeometry')
    sockets = {}
    for name, stype, default, description in INPUTS:
        s = itf.new_socket(name=name, in_out='INPUT', socket_type=stype)
        s.description = description
        if default is not None:
            s.default_value = default
        sockets[name] = s
    sockets["Size"].min_value = 0.0
    nodes, links = ng.nodes, ng.links

    def node(kind, x, y, **props):
        n = nodes.new(kind)
        n.location = (x, y)
        for k, v in props.items():
            setattr(n, k, v)
        return n

    gi = node('NodeGroupInput', -1200, 0)
    go = node('NodeGroupOutput', 700, 0)
    sep = node('GeometryNodeSeparateComponents', -900, 200)
    links.new(gi.outputs['Geometry'], sep.inputs[0])
    points = sep.outputs['Point Cloud']

    material = node('GeometryNodeSwitch', -900, -500, input_type='MATERIAL')
    links.new(gi.outputs['Lit'], material.inputs['Switch'])
    links.new(gi.outputs['Unlit Material'], material.inputs['False'])
    links.new(gi.outputs['Lit Material'], material.inputs['True'])

    # Points: radius x Size
    radius = node('GeometryNodeInputRadius', -700, 450)
    rmul = node('ShaderNodeMath', -500, 450, operation='MULTIPLY')
    links.new(radius.outputs[0], rmul.inputs[0])
    links.new(gi.outputs['Size'], rmul.inputs[1])
    set_radius = node('GeometryNodeSetPointRadius', -300, 400)
    links.new(points, set_radius.inputs['Points'])
    links.new(rmul.outputs[0], set_radius.inputs['Radius'])
    # at Size 1 the stored radii are the ones shown: the points pass through (a switch on a
    # single value evaluates only the branch it takes)
    unit = node('FunctionNodeCompare', -500, 650, data_type='FLOAT', operation='EQUAL')
    links.new(gi.outputs['Size'], unit.inputs['A'])
    unit.inputs['B'].default_value = 1.0
    unit.inputs['Epsilon'].default_value = 0.0
    sized = node('GeometryNodeSwitch', -100, 450, input_type='GEOMETRY')
    links.new(unit.outputs['Result'], sized.inputs['Switch'])
    links.new(set_radius.outputs[0], sized.inputs['False'])
    links.new(points, sized.inputs['True'])

    # Pixel squares: a unit quad per point, scaled to the footprint, turned like the camera.
    # The radius is the footprint (x detail) times radius_scale, and "Pixel Size" is the pixel
    # per radius unit, so squares need no depth attribute and follow the detail.
    depth = node('GeometryNodeInputRadius', -900, -100)
    per_depth = node('GeometryNodeSwitch', -700, -100, input_type='FLOAT')
    links.new(gi.outputs['Orthographic'], per_depth.inputs['Switch'])
    links.new(depth.outputs[0], per_depth.inputs['False'])
    links.new(depth.outputs[0], per_depth.inputs['True'])
    smul = node('ShaderNodeMath', -500, -100, operation='MULTIPLY')
    links.new(per_depth.outputs[0], smul.inputs[0])
    links.new(gi.outputs['Size'], smul.inputs[1])
    scale = node('ShaderNodeVectorMath', -300, -100, operation='SCALE')
    links.new(gi.outputs['Pixel Size'], scale.inputs[0])
    links.new(smul.outputs[0], scale.inputs['Scale'])
    grid = node('GeometryNodeMeshGrid', -500, -300)
    for key, value in (('Size X', 1.0), ('Size Y', 1.0), ('Vertices X', 2), ('Vertices Y', 2)):
        grid.inputs[key].default_value = value
    grid_mat = node('GeometryNodeSetMaterial', -300, -300)
    links.new(grid.outputs['Mesh'], grid_mat.inputs['Geometry'])
    links.new(material.outputs[0], grid_mat.inputs['Material'])
    # at an even detail the square is centred on the N x N block, half a pixel off the point
    shift = node('ShaderNodeVectorMath', -700, -420, operation='SCALE')
    links.new(gi.outputs['Square Offset'], shift.inputs[0])
    links.new(depth.outputs[0], shift.inputs['Scale'])
    turn = node('FunctionNodeRotateVector', -500, -420)
    links.new(shift.outputs['Vector'], turn.inputs['Vector'])
    links.new(gi.outputs['Camera Rotation'], turn.inputs['Rotation'])
    centred = node('GeometryNodeSetPosition', -300, -450)
    links.new(points, centred.inputs['Geometry'])
    links.new(turn.outputs[0], centred.inputs['Offset'])
    squares = node('GeometryNodeInstanceOnPoints', -50, -150)
    links.new(centred.outputs[0], squares.inputs['Points'])
    links.new(grid_mat.outputs[0], squares.inputs['Instance'])
    links.new(gi.outputs['Camera Rotation'], squares.inputs['Rotation'])
    links.new(scale.outputs['Vector'], squares.inputs['Scale'])

    # Surface: the companion object's mesh, in the cloud's own space
    info = node('GeometryNodeObjectInfo', -300, -550, transform_space='ORIGINAL')
    links.new(gi.outputs['Surface'], info.inputs['Object'])

    menu = node('GeometryNodeMenuSwitch', 200, 100, data_type='GEOMETRY')
    items = menu.enum_items
    while len(items) < len(MODES):
        items.new("")
    for item, mode in zip(items, MODES):
        item.name = _MENU_ITEMS[mode]
    links.new(gi.outputs['Mode'], menu.inputs[0])
    links.new(sized.outputs[0], menu.inputs[1])
    links.new(squares.outputs[0], menu.inputs[2])
    links.new(info.outputs['Geometry'], menu.inputs[3])
    set_mat = node('GeometryNodeSetMaterial', 450, 0)
    links.new(menu.outputs[0], set_mat.inputs['Geometry'])
    links.new(material.outputs[0], set_mat.inputs['Material'])
    links.new(set_mat.outputs[0], go.inputs['Geometry'])
    sockets["Mode"].default_value = _MENU_ITEMS[POINTS]
    return ng


def input_identifiers(ng) -> dict:
    """Input socket name -> identifier (modifier inputs are addressed by identifier)."""
    return {item.name: item.identifier for item in ng.interface.items_tree
            if item.item_type == 'SOCKET' and item.in_out == 'INPUT'}
