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
    from depth_cloud.core.exr import find_color_channels, find_depth_channel, read_exr, view_layers
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
