"""A cloud object's display modifier and its inputs: the source camera stored at build time."""
from __future__ import annotations

import json

from ...core.camera.model import CameraModel
from ...core.errors import CameraError
from ...core.points.footprint import has_image_plane, radius_scale
from .. import compat
from .materials import display_materials
from .nodes import MARKER, display_node_group, input_identifiers

MODIFIER_NAME = "Depth Cloud Display"


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
