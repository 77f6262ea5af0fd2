"""Render the figures of docs/display.md (run with the bpy wheel's Python):

    /opt/dc/v50/bin/python docs/make_display_figures.py

A source render, the cloud re-rendered from the source camera, and the three display modes
seen from a second camera 20 degrees away. PNGs go to docs/img/; PSNR figures are printed.
"""
import math
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))
import conftest  # noqa: E402,F401  (the import link: ``depth_cloud`` = this checkout)

import bpy  # noqa: E402

import depth_cloud  # noqa: E402
from render_compare import faithful_film, hide_sources, psnr, read_combined  # noqa: E402
from scenes import add_camera, add_primitives, read_ground_truth, render, set_exr_output, setup_render  # noqa: E402

W, H = 240, 180
OUT = os.path.join(HERE, "img")


def save_png(scene, name):
    from depth_cloud.glue import compat
    s = scene.render.image_settings
    compat.set_image_format(s, 'PNG')
    s.color_mode = 'RGB'
    s.color_depth = '8'
    path = os.path.join(OUT, f"display_{name}.png")
    bpy.data.images["Render Result"].save_render(path, scene=scene)
    set_exr_output(scene)
    return path


def main():
    depth_cloud.register()
    from depth_cloud import api
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    tmp = tempfile.mkdtemp()
    setup_render(scene, W, H, samples=16)
    faithful_film(scene)
    add_primitives(scene)
    target = (0.4, 0.3, 0.4)
    cam1 = add_camera(scene, location=(4.0, -5.0, 3.0), target=target, lens=35.0)
    src = render(scene, os.path.join(tmp, "source.exr"))
    save_png(scene, "source")
    _pos, z, rgba = read_ground_truth(src)
    a = math.radians(20)
    dx, dy = 4.0 - target[0], -5.0 - target[1]
    cam2 = add_camera(scene, location=(target[0] + dx * math.cos(a) - dy * math.sin(a),
                                       target[1] + dx * math.sin(a) + dy * math.cos(a), 3.0), target=target, lens=35.0)
    scene.camera = cam2
    render(scene, os.path.join(tmp, "view2.exr"))
    save_png(scene, "view2_original")
    api.build_point_cloud(scene, source=src, camera=cam1)
    hide_sources(scene)
    for mode in ("POINTS", "SQUARES", "SURFACE"):
        scene.depth_cloud.display.mode = mode
        scene.camera = cam1
        render(scene, os.path.join(tmp, f"{mode}_1.exr"))
        got, _ = read_combined(os.path.join(tmp, f"{mode}_1.exr"))
        print(f"{mode:8s} {W}x{H}: PSNR vs source {psnr(rgba, got, z < 1e9):.1f} dB")
        scene.camera = cam2
        render(scene, os.path.join(tmp, f"{mode}_2.exr"))
        save_png(scene, f"view2_{mode.lower()}")
    depth_cloud.unregister()


if __name__ == "__main__":
    main()
