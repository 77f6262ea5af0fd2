"""Re-rendering clouds and comparing renders (scene-linear pixels from EXR files)."""
from __future__ import annotations

import math

import numpy as np

from scenes import render, set_exr_output


def faithful_film(scene):
    """Settings under which an emission material shows its color value unchanged: black
    world, opaque film, Standard view transform, no look, exposure 0, gamma 1."""
    import bpy
    world = bpy.data.worlds.new("Black")
    from depth_cloud.glue import compat
    compat.enable_nodes(world)
    bg = world.node_tree.nodes.get("Background")
    if bg is not None:
        bg.inputs["Color"].default_value = (0, 0, 0, 1)
        bg.inputs["Strength"].default_value = 0.0
    world.color = (0, 0, 0)
    scene.world = world
    scene.render.film_transparent = False
    vs = scene.view_settings
    vs.view_transform = 'Standard'
    vs.look = 'None'
    vs.exposure = 0.0
    vs.gamma = 1.0


def read_combined(path):
    """``(rgba (h, w, 4), z (h, w) or None)`` of a rendered EXR (multilayer or single layer)."""
    from depth_cloud.core.exr.read import find_color_channels, find_depth_channel, read_exr, view_layers
    f = read_exr(path)
    names = f.names()
    layer = next(iter(view_layers(names)), "")
    rgba = find_color_channels(names, layer)
    out = np.stack([f.get(c) if c else np.ones_like(f.get(rgba[0])) for c in rgba], axis=-1)
    zname = find_depth_channel(names, layer)
    return out, (f.get(zname) if zname else None)


def hide_sources(scene):
    """Hide everything but the clouds (and cameras) from the render."""
    for ob in scene.objects:
        if not ob.depth_cloud.is_cloud and ob.type != 'CAMERA':
            ob.hide_render = True


def rerender(scene, path, multilayer=True):
    set_exr_output(scene, multilayer=multilayer)
    render(scene, path)
    return read_combined(path)


def psnr(reference, test, mask, peak=1.0):
    """PSNR in dB of the RGB channels over the pixels of ``mask`` (inf when identical)."""
    d = (np.asarray(test, np.float64)[..., :3] - np.asarray(reference, np.float64)[..., :3])[mask]
    mse = float(np.mean(d * d))
    return math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)


def turned_camera(scene, degrees, location=(4.0, -5.0, 3.0), target=(0.4, 0.3, 0.4), lens=35.0):
    """A camera at ``location`` turned ``degrees`` about the vertical through ``target``,
    looking at it (figures: the same scene seen from the side)."""
    from scenes import add_camera
    a = math.radians(degrees)
    dx, dy = location[0] - target[0], location[1] - target[1]
    return add_camera(scene, location=(target[0] + dx * math.cos(a) - dy * math.sin(a),
                                       target[1] + dx * math.sin(a) + dy * math.cos(a), location[2]),
                      target=target, lens=lens)


def save_render_png(scene, path):
    """Save the last render as an 8-bit RGB PNG (display transform applied), then set the
    output back to multilayer EXR."""
    import bpy

    from depth_cloud.glue import compat
    s = scene.render.image_settings
    compat.set_image_format(s, 'PNG')
    s.color_mode = 'RGB'
    s.color_depth = '8'
    bpy.data.images["Render Result"].save_render(path, scene=scene)
    set_exr_output(scene)
    return path


FIGURE_TARGET = (0.4, 0.3, 0.4)


def figure_scene(width, height, samples=16):
    """``(scene, camera)``: the docs figures' scene, from factory settings: the primitives under
    a faithful film, seen by a 35 mm camera from (4, -5, 3) looking at :data:`FIGURE_TARGET`."""
    import bpy

    from scenes import add_camera, add_primitives, setup_render
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    setup_render(scene, width, height, samples=samples)
    faithful_film(scene)
    add_primitives(scene)
    return scene, add_camera(scene, location=(4.0, -5.0, 3.0), target=FIGURE_TARGET, lens=35.0)
