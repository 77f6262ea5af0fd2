"""Render the figure of docs/picking.md (run with the bpy wheel's Python):

    "$(bash tools/venv.sh 5.0)"/bin/python docs/make_picking_figures.py

A Cycles render shown in an Image Editor area, one pixel picked with Pick 3D Point (the
operator, as a click gives it), and side by side: the render with the picked pixel marked,
and a Cycles render of the built cloud from 35 degrees to the side with a yellow ball at the
3D cursor. Writes docs/img/picking.png; prints the pick's error against the Position pass and
a Check Camera report of the same frame with the lens changed on purpose.
"""
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))
import bpy  # noqa: E402

import conftest  # noqa: E402,F401  (the import link: ``depth_cloud`` = this checkout)
import depth_cloud  # noqa: E402
from render_compare import FIGURE_TARGET, figure_scene, hide_sources, save_render_png, turned_camera  # noqa: E402
from scenes import material, read_ground_truth, render  # noqa: E402

W, H = 240, 180
OUT = os.path.join(HERE, "img")
PIXEL = (96, 92)  # column, row from the top: on the red cube


def render_png(scene, path):
    """Render ``path``.exr and ``path``.png; the PNG's pixels (display values, rows from the top)."""
    render(scene, path + ".exr")
    save_render_png(scene, path + ".png")
    img = bpy.data.images.load(path + ".png")
    px = np.empty(img.size[0] * img.size[1] * 4, np.float32)
    img.pixels.foreach_get(px)
    out = px.reshape(img.size[1], img.size[0], 4)[::-1].copy()  # rows from the top
    bpy.data.images.remove(img)
    return out


def mark(rgb, col, row, radius=9):
    """A yellow crosshair with a hole at the picked pixel (rows from the top)."""
    out = rgb.copy()
    h, w = out.shape[:2]
    for d in range(2, radius + 1):
        for c, r in ((col + d, row), (col - d, row), (col, row + d), (col, row - d)):
            if 0 <= c < w and 0 <= r < h:
                out[r, c, :3] = (1.0, 0.9, 0.1)
    return out


def save(rgb, path):
    h, w = rgb.shape[:2]
    img = bpy.data.images.new("picking_figure", w, h, alpha=True)
    img.pixels.foreach_set(np.ascontiguousarray(rgb[::-1], dtype=np.float32).ravel())
    img.filepath_raw = path
    img.file_format = 'PNG'
    img.save()
    bpy.data.images.remove(img)


def main():
    depth_cloud.register()
    from depth_cloud import api
    scene, cam1 = figure_scene(W, H)
    tmp = tempfile.mkdtemp()
    target = FIGURE_TARGET
    source = render_png(scene, os.path.join(tmp, "source"))
    src = os.path.join(tmp, "source.exr")
    pos, z, _ = read_ground_truth(src)

    # Show the render in an Image Editor and pick the pixel the way a click does
    win = bpy.context.window_manager.windows[0]
    area = max(win.screen.areas, key=lambda a: a.width * a.height)
    area.type = 'IMAGE_EDITOR'
    region = next(r for r in area.regions if r.type == 'WINDOW')
    area.spaces.active.image = bpy.data.images.load(src)
    scene.depth_cloud.exr_path = src
    cloud = api.build_point_cloud(scene)
    col, row = PIXEL
    with bpy.context.temp_override(window=win, area=area, region=region):
        bpy.ops.depth_cloud.pick_point(uv=((col + 0.5) / W, (H - row - 0.5) / H), target='CURSOR')
    cursor = np.array(scene.cursor.location)
    print(scene.depth_cloud.pick.result)
    print(f"cursor vs Position pass: {np.linalg.norm(cursor - pos[row, col]) / z[row, col]:.2e} x depth")

    # The cloud seen from the side, a ball at the 3D cursor
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.1, location=tuple(cursor), segments=16, ring_count=8)
    ball = bpy.context.object
    mat = material("Marker", (1.0, 0.9, 0.1))
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    for name in ("Emission Color", "Emission"):
        if bsdf is not None and name in bsdf.inputs:
            bsdf.inputs[name].default_value = (1.0, 0.9, 0.1, 1.0)
    if bsdf is not None and "Emission Strength" in bsdf.inputs:
        bsdf.inputs["Emission Strength"].default_value = 2.0
    ball.data.materials.append(mat)
    hide_sources(scene)
    ball.hide_render = False
    cloud.hide_render = False
    cam2 = turned_camera(scene, 35, location=(4.0, -5.0, 3.0), target=target, lens=35.0)
    scene.camera = cam2
    side = render_png(scene, os.path.join(tmp, "side"))
    gap = np.ones((H, 6, 4), np.float32)
    os.makedirs(OUT, exist_ok=True)
    save(np.concatenate([mark(source, col, row), gap, side], axis=1), os.path.join(OUT, "picking.png"))

    # Check Camera with the lens changed after the render
    scene.camera = cam1
    cam1.data.lens = 50.0
    for text in api.check_camera(scene, source=src, camera=cam1).lines()[:4]:
        print(text)
    depth_cloud.unregister()


if __name__ == "__main__":
    main()
