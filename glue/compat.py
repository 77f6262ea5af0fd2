"""Every difference between the Blender releases Depth Cloud supports (4.2 LTS - 5.3), in one place.

Each helper names the release that changed the API. Nothing else in the extension compares
``bpy.app.version`` or probes for a renamed attribute: it calls these helpers instead.
"""
from __future__ import annotations

import bpy

#: The running Blender as a (major, minor, patch) tuple.
VERSION: tuple = tuple(bpy.app.version)


# ---------------------------------------------------------------- Geometry Nodes modifier inputs
def _modifier_inputs(mod):
    """5.2+: modifier inputs are RNA structs under ``mod.properties.inputs`` (the ID properties
    ``mod["Socket_1"]`` are gone: "id properties not supported for this type"). None before 5.2."""
    props = getattr(mod, "properties", None)
    return getattr(props, "inputs", None) if props is not None else None


def set_modifier_input(mod, identifier: str, value) -> None:
    """Set one Geometry Nodes modifier input, addressed by socket identifier (``Socket_3``).

    Menu inputs take the item's index (as 4.2-5.1 store them); 5.2+ wants the item's name.
    """
    inputs = _modifier_inputs(mod)
    if inputs is None:  # 4.2 - 5.1: ID properties on the modifier
        mod[identifier] = value
        return
    item = getattr(inputs, identifier)
    names = _menu_names(item)
    item.value = names[value] if names is not None and isinstance(value, int) else value


def get_modifier_input(mod, identifier: str):
    """The value of one modifier input (a menu as its item index, on every version)."""
    inputs = _modifier_inputs(mod)
    if inputs is None:
        return mod[identifier]
    item = getattr(inputs, identifier)
    names = _menu_names(item)
    return names.index(item.value) if names is not None else item.value


def modifier_input_property(mod, identifier: str) -> tuple:
    """``(owner, property_name)`` for ``layout.prop(owner, property_name)`` of one modifier input."""
    inputs = _modifier_inputs(mod)
    if inputs is None:
        return mod, f'["{identifier}"]'
    return getattr(inputs, identifier), "value"


def _menu_names(item):
    """5.2+: a menu input's item names (its ``value`` is an enum), else None."""
    prop = item.bl_rna.properties["value"]
    return list(prop.enum_items.keys()) if prop.type == 'ENUM' else None


def set_resolution_mode(node, menu_item: str, enum_value: str) -> None:
    """Resolution mode of a Mesh to Volume / Volume to Mesh node: a node property
    (``'VOXEL_SIZE'``) in 4.2-4.5, a "Resolution Mode" menu socket (``'Size'``) from 5.0."""
    if VERSION < (5, 0, 0):
        node.resolution_mode = enum_value
    else:
        node.inputs["Resolution Mode"].default_value = menu_item


# ---------------------------------------------------------------- materials, actions, engines
def enable_nodes(datablock) -> None:
    """Give a material or world its node tree. 4.2-4.x need ``use_nodes = True``; 5.0 always
    uses nodes and deprecates the flag (setting it warns)."""
    if VERSION < (5, 0, 0):
        datablock.use_nodes = True


def object_fcurves(obj) -> list:
    """The F-curves animating ``obj``. 4.4 made actions layered (slots, channel bags); 5.0 removed
    ``Action.fcurves``."""
    action = obj.animation_data.action if obj.animation_data else None
    if action is None:
        return []
    if VERSION < (4, 4, 0):
        return list(action.fcurves)
    from bpy_extras import anim_utils
    bag = anim_utils.action_get_channelbag_for_slot(action, obj.animation_data.action_slot)
    return list(bag.fcurves) if bag is not None else []


#: EEVEE's engine id: 'BLENDER_EEVEE_NEXT' in 4.2-4.5, 'BLENDER_EEVEE' again from 5.0.
EEVEE_ENGINE: str = 'BLENDER_EEVEE_NEXT' if VERSION < (5, 0, 0) else 'BLENDER_EEVEE'
#: Every id EEVEE has had across the supported releases (a scene may come from either).
EEVEE_IDS: tuple = ('BLENDER_EEVEE_NEXT', 'BLENDER_EEVEE')


def set_image_format(image_settings, file_format: str) -> None:
    """Choose an output file format. 5.0 added ``media_type``, which must be set first
    (``MULTI_LAYER_IMAGE`` for multilayer EXR, else ``IMAGE``)."""
    if hasattr(image_settings, "media_type"):
        image_settings.media_type = 'MULTI_LAYER_IMAGE' if file_format == 'OPEN_EXR_MULTILAYER' else 'IMAGE'
    image_settings.file_format = file_format


# ---------------------------------------------------------------- compositor
def compositor_node_groups(scene) -> list:
    """The compositor node trees of ``scene`` (empty when it has none).
    4.2-4.5: ``scene.node_tree`` (with ``use_nodes``); 5.0-5.2: ``scene.compositing_node_group``;
    5.3: a stack of ``scene.compositor_effects``, each with a node group (the single group
    property is deprecated, to be removed in 6.0)."""
    if VERSION >= (5, 3, 0):
        return [e.node_group for e in scene.compositor_effects if e.node_group is not None]
    tree = scene.compositing_node_group if VERSION >= (5, 0, 0) else (scene.node_tree if scene.use_nodes else None)
    return [tree] if tree is not None else []


def add_compositor(scene, name: str):
    """Give ``scene`` a compositor node tree of its own (as an artist's file has) and return it."""
    if VERSION < (5, 0, 0):
        scene.use_nodes = True
        return scene.node_tree
    tree = bpy.data.node_groups.new(name, 'CompositorNodeTree')
    if VERSION >= (5, 3, 0):
        scene.compositor_effects.new(name).node_group = tree
    else:
        scene.compositing_node_group = tree
    return tree


# ---------------------------------------------------------------- bundled Python modules
def expose_bundled_modules() -> None:
    """Put the modules Blender bundles (``pxr``, ``OpenImageIO``, ...) on ``sys.path``.

    Blender itself has them on the path; the ``bpy`` wheels of 4.5+ keep them off it until
    ``bpy.utils.expose_bundled_modules()`` (new in 4.5) is called. The 4.2 wheel bundles none.
    """
    expose = getattr(bpy.utils, "expose_bundled_modules", None)
    if expose is not None:
        expose()


# ---------------------------------------------------------------- Point Cloud datablocks
def has_pointcloud_resize() -> bool:
    """``PointCloud.resize`` exists (5.3 and later)."""
    return "resize" in bpy.types.PointCloud.bl_rna.functions


def resize_pointcloud(pc, count: int) -> bool:
    """Give a new Point Cloud ``count`` points with ``PointCloud.resize`` (5.3 has it; 4.2 and
    5.0 do not). False when this Blender lacks it: the caller sizes it another way."""
    resize = getattr(pc, "resize", None)
    if resize is None:
        return False
    resize(int(count))
    return True


# ---------------------------------------------------------------- drag and drop
def file_handler_base():
    """``bpy.types.FileHandler`` (4.1+: files dropped onto an editor go to an import operator),
    or None in a Blender without it (then only File > Import offers the import)."""
    return getattr(bpy.types, "FileHandler", None)
