"""The shared materials of every cloud: unlit (emission of the ``Col`` attribute, so renders
reproduce the source pixels) and lit (diffuse, shaded with the point normals when there are some)."""
from __future__ import annotations

import bpy

from .. import compat, datablock
from .nodes import MARKER, VERSION, marked

UNLIT_MATERIAL = "Depth Cloud Unlit"


LIT_MATERIAL = "Depth Cloud Lit"


def display_materials():
    """``(unlit, lit)``: the shared materials showing the ``Col`` attribute."""
    unlit = marked(bpy.data.materials, "UNLIT")
    if unlit is None:
        unlit = _new_material(UNLIT_MATERIAL, lit=False)
    lit = marked(bpy.data.materials, "LIT")
    if lit is None:
        lit = _new_material(LIT_MATERIAL, lit=True)
    return unlit, lit


def _new_material(name, lit):
    mat = bpy.data.materials.new(name)
    compat.enable_nodes(mat)
    nt = mat.node_tree
    nt.nodes.clear()
    out = nt.nodes.new('ShaderNodeOutputMaterial')
    # Points and surfaces carry Col on their geometry; pixel squares on their instances.
    # Each lookup yields 0 where the other applies, so their sum is the color either way.
    geo = nt.nodes.new('ShaderNodeAttribute')
    geo.attribute_type, geo.attribute_name = 'GEOMETRY', datablock.COLOR_ATTRIBUTE
    inst = nt.nodes.new('ShaderNodeAttribute')
    inst.attribute_type, inst.attribute_name = 'INSTANCER', datablock.COLOR_ATTRIBUTE
    add = nt.nodes.new('ShaderNodeMix')
    add.data_type, add.blend_type = 'RGBA', 'ADD'
    add.inputs['Factor'].default_value = 1.0
    nt.links.new(geo.outputs['Color'], add.inputs['A'])
    nt.links.new(inst.outputs['Color'], add.inputs['B'])
    if lit:
        shader = nt.nodes.new('ShaderNodeBsdfDiffuse')
        _shade_with_point_normals(nt, shader)
    else:
        shader = nt.nodes.new('ShaderNodeEmission')
        shader.inputs['Strength'].default_value = 1.0
        if hasattr(mat, 'cycles') and hasattr(mat.cycles, 'emission_sampling'):
            mat.cycles.emission_sampling = 'NONE'  # shows colors; does not light the scene
    nt.links.new(add.outputs['Result'], shader.inputs['Color'])
    nt.links.new(shader.outputs[0], out.inputs['Surface'])
    for node, xy in ((geo, (-600, 150)), (inst, (-600, -150)), (add, (-400, 0)), (shader, (-200, 0)), (out, (0, 0))):
        node.location = xy
    mat.diffuse_color = (0.8, 0.8, 0.8, 1.0)
    mat[MARKER] = VERSION
    mat[MARKER + "_kind"] = "LIT" if lit else "UNLIT"
    return mat


def _shade_with_point_normals(nt, shader):
    """Lit look: shade with the points' ``normal`` attribute (the Normal pass, or a fused
    cloud's normals) where there is one, else with the geometry's own normal. As for ``Col``,
    points carry it on their geometry and pixel squares on their instancer."""
    geo = nt.nodes.new('ShaderNodeAttribute')
    geo.attribute_type, geo.attribute_name = 'GEOMETRY', datablock.NORMAL_ATTRIBUTE
    inst = nt.nodes.new('ShaderNodeAttribute')
    inst.attribute_type, inst.attribute_name = 'INSTANCER', datablock.NORMAL_ATTRIBUTE
    add = nt.nodes.new('ShaderNodeVectorMath')
    add.operation = 'ADD'
    nt.links.new(geo.outputs['Vector'], add.inputs[0])
    nt.links.new(inst.outputs['Vector'], add.inputs[1])
    length = nt.nodes.new('ShaderNodeVectorMath')
    length.operation = 'LENGTH'
    nt.links.new(add.outputs['Vector'], length.inputs[0])
    has = nt.nodes.new('ShaderNodeMath')
    has.operation = 'GREATER_THAN'
    has.inputs[1].default_value = 0.5
    nt.links.new(length.outputs['Value'], has.inputs[0])
    unit = nt.nodes.new('ShaderNodeVectorMath')
    unit.operation = 'NORMALIZE'
    nt.links.new(add.outputs['Vector'], unit.inputs[0])
    own = nt.nodes.new('ShaderNodeNewGeometry')
    pick = nt.nodes.new('ShaderNodeMix')
    pick.data_type = 'VECTOR'
    nt.links.new(has.outputs['Value'], pick.inputs['Factor'])
    nt.links.new(own.outputs['Normal'], pick.inputs[4])   # A (vector)
    nt.links.new(unit.outputs['Vector'], pick.inputs[5])  # B (vector)
    nt.links.new(pick.outputs[1], shader.inputs['Normal'])
    for i, node in enumerate((geo, inst, add, length, has, unit, own, pick)):
        node.location = (-900 + 120 * (i // 2), -350 - 150 * (i % 2))
