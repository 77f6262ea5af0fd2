"""Render the figures of docs/display.md (run with the bpy wheel's Python):

    "$(bash tools/venv.sh 5.0)"/bin/python docs/make_display_figures.py

A source render, the cloud re-rendered from the source camera, and the three display modes
seen from a second camera 20 degrees away. PNGs go to docs/img/; PSNR figures are printed.
"""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))
import conftest  # noqa: E402,F401  (the import link: ``depth_cloud`` = this checkout)
import depth_cloud  # noqa: E402
from render_compare import (  # noqa: E402
    FIGURE_TARGET,
    figure_scene,
    hide_sources,
    psnr,
    read_combined,
    save_render_png,
    turned_camera,
)
from scenes import read_ground_truth, render  # noqa: E402

W, H = 240, 180
OUT = os.path.join(HERE, "img")


def save_png(scene, name):
    return save_render_png(scene, os.path.join(OUT, f"display_{name}.png"))


def main():
    depth_cloud.register()
    from depth_cloud import api
    scene, cam1 = figure_scene(W, H)
    tmp = tempfile.mkdtemp()
    target = FIGURE_TARGET
    src = render(scene, os.path.join(tmp, "source.exr"))
    save_png(scene, "source")
    _pos, z, rgba = read_ground_truth(src)
    cam2 = turned_camera(scene, 20, location=(4.0, -5.0, 3.0), target=target, lens=35.0)
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
