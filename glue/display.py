"""How cloud objects are drawn and rendered: the Geometry Nodes modifier and the materials.

Every cloud object keeps its PointCloud data (one point per pixel) and gets one
"Depth Cloud Display" Geometry Nodes modifier. Its exposed inputs change the look live,
without a rebuild:

- **Mode**: *Points* (spheres of the stored ``radius`` x Size), *Pixel Squares* (one quad
  per point, instanced, aligned with the source camera's image plane and sized to the
  pixel footprint, so the squares tile the frame from that camera) or *Surface* (the
  mesh of a companion object, see below).
- **Size**: a multiplier of the point radius / square size.
- **Lit**: the unlit material (emission of the ``Col`` attribute: renders reproduce the
  source pixels) or the lit one (diffuse).
- Camera Rotation, Pixel Size, Orthographic: the source camera, set at build time.

The surface (``core.grid_mesh``) is a Mesh; a PointCloud object cannot hold one, so it lives
in a companion object that is in no collection (only the modifier's *Surface* input uses
it) and is made when the Surface mode is first chosen, from the points already in the
cloud: no source file is read again.

The node group and the two materials exist once per .blend and are shared by every cloud
(found again by a version marker, also after save and reload).
"""
from __future__ import annotations

import json

import bpy

from ..core.camera import CameraModel
from ..core.errors import CameraError, DepthCloudError, SettingsError
from ..core.filters import DEFAULT_MAX_JUMP, remove_flying_pixels
from ..core.footprint import has_image_plane, radius_from_neighbours, radius_scale
from ..core.grid_mesh import surface_from_point_set
from . import compat, datablock

NODE_GROUP_NAME = "Depth Cloud Display"
MODIFIER_NAME = "Depth Cloud Display"
UNLIT_MATERIAL = "Depth Cloud Unlit"
LIT_MATERIAL = "Depth Cloud Lit"
MARKER = "depth_cloud_display"
VERSION = 2  # 2: pixel squares sized from the radius (no depth attribute needed)
#: The node group's own version: 3: Points at Size 1 pass the cloud through untouched (setting
#: every radius to itself cost ~13 ms per evaluation of a 1080p cloud)
GROUP_VERSION = 3

POINTS, SQUARES, SURFACE = "POINTS", "SQUARES", "SURFACE"
MODES = (POINTS, SQUARES, SURFACE)
_MENU_ITEMS = {POINTS: "Points", SQUARES: "Pixel Squares", SURFACE: "Surface"}

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


# ---------------------------------------------------------------- shared datablocks
def _marked(collection, kind=None, version=VERSION):
    for item in collection:
        if item.get(MARKER) == version and (kind is None or item.get(MARKER + "_kind") == kind):
            return item
    return None


def display_node_group():
    """The shared "Depth Cloud Display" node group (created on first use)."""
    ng = _marked(bpy.data.node_groups, version=GROUP_VERSION)
    if ng is None:
        ng = _new_node_group()
        ng[MARKER] = GROUP_VERSION
    return ng


def display_materials():
    """``(unlit, lit)``: the shared materials showing the ``Col`` attribute."""
    unlit = _marked(bpy.data.materials, "UNLIT")
    if unlit is None:
        unlit = _new_material(UNLIT_MATERIAL, lit=False)
    lit = _marked(bpy.data.materials, "LIT")
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


# ---------------------------------------------------------------- per object
def display_modifier(obj, create=True):
    """The object's display modifier (added, last in the stack, when missing)."""
    for mod in obj.modifiers:
        if mod.type == 'NODES' and mod.node_group is not None and mod.node_group.get(MARKER) is not None:
            return mod
    if not create:
        return None
    mod = obj.modifiers.new(MODIFIER_NAME, 'NODES')
    mod.node_group = display_node_group()
    unlit, lit = display_materials()
    set_inputs(mod, {"Unlit Material": unlit, "Lit Material": lit}, tag=False)
    return mod


def set_inputs(mod, values: dict, tag=True):
    """Set modifier inputs by socket name (``{"Size": 2.0, "Lit": True}``)."""
    ids = input_identifiers(mod.node_group)
    for name, value in values.items():
        compat.set_modifier_input(mod, ids[name], value)
    if tag:
        mod.id_data.update_tag()


def get_input(mod, name: str):
    """One modifier input's value by socket name (the Mode menu as its index)."""
    return compat.get_modifier_input(mod, input_identifiers(mod.node_group)[name])


def stored_camera(obj) -> CameraModel | None:
    """The source camera saved on a cloud object at build time (None without one)."""
    text = obj.depth_cloud.display.camera
    if not text:
        return None
    try:
        return CameraModel.from_dict(json.loads(text))
    except CameraError:
        raise
    except (ValueError, TypeError, KeyError) as err:  # edited by hand or damaged: named, never a traceback
        raise CameraError(f"{obj.name}: its saved source camera (depth_cloud.display.camera) cannot be read "
                          f"({type(err).__name__}: {str(err)[:80]}); rebuild the cloud") from None


def image_size(obj):
    s = obj.depth_cloud.display
    return int(s.image_width), int(s.image_height)


def camera_inputs(model: CameraModel | None, detail: int = 1) -> dict:
    """Modifier input values describing the source camera (and the build's detail)."""
    if not has_image_plane(model):
        return {"Camera Rotation": (0.0, 0.0, 0.0), "Pixel Size": (0.0, 0.0, 0.0), "Orthographic": False,
                "Square Offset": (0.0, 0.0, 0.0)}
    from mathutils import Matrix
    euler = Matrix(model.cam_to_world.tolist()).to_3x3().normalized().to_euler('XYZ')
    pw, ph = model.pixel_size()
    k = radius_scale(model)  # pixel squares scale with the radius: footprint x detail x k
    # core.detail keeps pixel (N - 1) // 2 of each block: the block's centre is half a pixel
    # right of and below it at an even N (camera y points up the image), per radius N k
    half = 0.5 / (detail * k) if detail % 2 == 0 else 0.0
    return {"Camera Rotation": tuple(euler), "Pixel Size": (pw / k, ph / k, 1.0),
            "Square Offset": (half * pw, -half * ph, 0.0),
            "Orthographic": model.projection == 'ORTHO'}


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
    if not (obj.depth_cloud.is_cloud or _is_sequence(obj)):
        return SettingsError(f"{obj.name!r} is not a Depth Cloud object")
    if mode is None:
        return None
    if mode not in MODES:
        return SettingsError(f"display mode {mode!r} is unknown; expected one of {', '.join(MODES)}")
    if _is_sequence(obj) and mode != POINTS:
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


def build_surface(obj, max_jump, model=None, point_set=None):
    """(Re)make the companion surface object of ``obj`` from its points."""
    if model is None:
        model = stored_camera(obj)
    if point_set is None:
        point_set = datablock.point_set_from_data(obj.data, image_size(obj),
                                                  camera=model if has_image_plane(model) else None)
    if point_set.depth is None:
        raise CameraError(f"{obj.name}: a surface needs the camera that rendered the passes; rebuild with a camera set")
    from ..core.deep import one_per_pixel  # deep clouds: the surface of each pixel's front sample
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


def _is_sequence(obj) -> bool:
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


def cloud_objects(scene):
    return [ob for ob in scene.objects if (ob.depth_cloud.is_cloud or _is_sequence(ob))
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
