"""Render the figures of docs/fusion.md (run with the bpy wheel's Python):

    "$(bash tools/venv.sh 5.0)"/bin/python docs/make_fusion_figures.py

Suzanne (1 m) rendered from the 20 vertices of a dodecahedron at 1.5 m (Cycles, Z pass,
160x160), 1% random outliers injected into every depth map; then the raw union of the noisy
maps, the fused cloud colored by its ``views`` attribute, and the Geometry Nodes surface.
PNGs go to docs/img/; the figures quoted in docs/fusion.md are printed.
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
from scenes import add_camera, setup_render, unit_suzanne, write_exr  # noqa: E402
from synthetic import inject_outliers  # noqa: E402

OUT = os.path.join(HERE, "img")
SIZE, LENS, RADIUS = 160, 30.0, 1.5


def views_collection(scene, centroid):
    from mathutils import Matrix

    from depth_cloud.core.camera.lists import camera_from_direction, dodecahedron_directions
    coll = bpy.data.collections.new("Views")
    scene.collection.children.link(coll)
    cams = []
    for i, d in enumerate(dodecahedron_directions()):
        cam = bpy.data.objects.new(f"View.{i + 1:02d}", bpy.data.cameras.new(f"View.{i + 1:02d}"))
        cam.data.lens = LENS
        cam.data.display_size = 0.15
        cam.matrix_world = Matrix(camera_from_direction(d, RADIUS, centroid).tolist())
        coll.objects.link(cam)
        cams.append(cam)
    return coll, cams


def save_image(pixels, name):
    """(h, w, 3|4) float 0..1, rows top-down -> PNG."""
    h, w = pixels.shape[:2]
    rgba = np.ones((h, w, 4), np.float32)
    rgba[..., :pixels.shape[2]] = pixels
    img = bpy.data.images.new(name, w, h, alpha=False)
    img.pixels.foreach_set(rgba[::-1].ravel())
    path = os.path.join(OUT, f"{name}.png")
    img.filepath_raw = path
    img.file_format = 'PNG'
    img.save()
    bpy.data.images.remove(img)
    return path


def contact_sheet(depths, cols=5):
    tiles = []
    for z in depths:
        v = np.where(np.isfinite(z) & (z < 1e9), z, np.nan)
        lo, hi = np.nanmin(v), np.nanmax(v)
        g = np.where(np.isnan(v), 0.0, 1.0 - 0.8 * (v - lo) / (hi - lo))
        tile = np.pad(g, 2, constant_values=1.0)
        tiles.append(np.repeat(tile[..., None], 3, axis=2))
    rows = [np.concatenate(tiles[r * cols:(r + 1) * cols], axis=1) for r in range(len(tiles) // cols)]
    return np.concatenate(rows, axis=0)


def look_camera(scene):
    cam = add_camera(scene, location=(0.9, -1.6, 0.6), target=(0, 0, 0), lens=50)
    cam.name = cam.data.name = "Figure"
    return cam


def render_png(scene, name, show):
    from depth_cloud.glue import compat
    for ob in scene.objects:
        if ob.type in ('MESH', 'POINTCLOUD'):
            ob.hide_render = ob not in show
    s = scene.render.image_settings
    compat.set_image_format(s, 'PNG')
    s.color_mode = 'RGB'
    scene.render.filepath = os.path.join(OUT, f"{name}.png")
    bpy.ops.render.render(write_still=True)
    return scene.render.filepath


def views_colors(ob):
    """A FLOAT_COLOR attribute from the ``views`` attribute (blue = 1 view … red = 13+)."""
    pc = ob.data
    n = len(pc.points)
    v = np.empty(n, np.int32)
    pc.attributes["views"].data.foreach_get("value", v)
    t = np.clip((v - 1) / 12.0, 0, 1)
    rgb = np.stack([t, 1 - np.abs(2 * t - 1), 1 - t], axis=1) ** 2.2
    col = pc.attributes.new("views_color", 'FLOAT_COLOR', 'POINT')
    col.data.foreach_set("color", np.c_[rgb, np.ones(n)].astype(np.float32).ravel())
    return v


def attribute_material(name, attribute=None, color=(0.8, 0.8, 0.8)):
    """Emission from a point attribute (or a flat color) for Cycles point renders."""
    from depth_cloud.glue import compat
    mat = bpy.data.materials.new(name)
    compat.enable_nodes(mat)
    nt = mat.node_tree
    nt.nodes.clear()
    out = nt.nodes.new('ShaderNodeOutputMaterial')
    emit = nt.nodes.new('ShaderNodeEmission')
    if attribute:
        attr = nt.nodes.new('ShaderNodeAttribute')
        attr.attribute_name = attribute
        nt.links.new(attr.outputs['Color'], emit.inputs['Color'])
    else:
        emit.inputs['Color'].default_value = (*color, 1.0)
    nt.links.new(emit.outputs[0], out.inputs['Surface'])
    return mat


def main():
    os.makedirs(OUT, exist_ok=True)
    depth_cloud.register()
    from depth_cloud import api
    from depth_cloud.core.exr.read import read_exr
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    tmp = tempfile.mkdtemp()
    setup_render(scene, SIZE, SIZE, position=False)
    ob, centroid, diag = unit_suzanne()
    coll, cams = views_collection(scene, centroid)
    depths = []
    for i, cam in enumerate(cams):
        scene.camera = cam
        scene.render.filepath = os.path.join(tmp, f"view_{i + 1:02d}.exr")
        scene.render.use_file_extension = False
        bpy.ops.render.render(write_still=True)
        f = read_exr(scene.render.filepath)
        z = f.get("ViewLayer.Depth.Z")
        rgba = np.stack([f.get(f"ViewLayer.Combined.{c}") for c in "RGBA"], axis=-1)
        noisy, _ = inject_outliers(np.where(z >= 1e9, np.inf, z), 0.01, seed=i, reference=RADIUS)
        depths.append(noisy)
        noisy = np.where(np.isfinite(noisy), noisy, 1e10).astype(np.float32)
        channels = {"Z": noisy, **{c: rgba[..., k] for k, c in enumerate("RGBA")}}
        write_exr(os.path.join(tmp, f"noisy_{i + 1:02d}.exr"), channels)
    print("depth maps:", save_image(contact_sheet(depths), "fusion_depth_maps"))

    pattern = os.path.join(tmp, "noisy_##.exr")
    raw = api.fuse(scene, cameras=coll, files=pattern, name="Raw Union", min_views=0, neighbor_support=0,
                   outlier_neighbors=0)
    fused = api.fuse(scene, cameras=coll, files=pattern, name="Fused Cloud", surface=True)
    result = api.fuse_point_set(scene, cameras=coll, files=pattern)
    st = result.stats
    print(f"fused: {st['points_in']:,} pixels -> {len(result.point_set):,} points, voxel {result.voxel_size:.4f} m; "
          f"removed {st['spikes_removed']:,} spikes, {st['inconsistent_removed']:,} inconsistent, "
          f"{st['outliers_removed']:,} statistical; {st['time_total']:.2f} s")
    v = views_colors(fused)
    print("views per point: median", int(np.median(v)), "histogram", np.bincount(v).tolist())

    # figures: a camera looking at the face from the front-right; points in Cycles (emission
    # from an attribute), meshes in Workbench
    scene.render.resolution_x, scene.render.resolution_y = 320, 280
    scene.render.film_transparent = False
    scene.world = bpy.data.worlds.new("Black")
    scene.world.color = (0.02, 0.02, 0.02)
    scene.cycles.samples = 8
    scene.render.filter_size = 1.5
    scene.cycles.filter_width = 1.5
    look_camera(scene)
    for o in (raw, fused):
        o.data.attributes["radius"].data.foreach_set("value", np.full(len(o.data.points), 0.004, np.float32))
    raw.data.materials.append(attribute_material("Gray", color=(0.8, 0.8, 0.8)))
    fused.data.materials.append(attribute_material("Views", "views_color"))
    scene.render.engine = 'CYCLES'
    print("raw:", render_png(scene, "fusion_raw_union", [raw]))
    print("fused:", render_png(scene, "fusion_fused_views", [fused]))
    scene.render.engine = 'BLENDER_WORKBENCH'
    shading = scene.display.shading
    shading.light = 'STUDIO'
    shading.color_type = 'SINGLE'
    shading.single_color = (0.8, 0.8, 0.8)
    surface = fused["depth_cloud_surface"]
    print("surface:", render_png(scene, "fusion_surface", [surface]))
    print("truth:", render_png(scene, "fusion_truth", [ob]))
    row = [read_png(os.path.join(OUT, f"fusion_{n}.png")) for n in ("raw_union", "fused_views", "surface", "truth")]
    print("overview:", save_image(np.concatenate(row, axis=1), "fusion_overview"))
    for n in ("raw_union", "fused_views", "surface", "truth"):
        os.remove(os.path.join(OUT, f"fusion_{n}.png"))


def read_png(path):
    img = bpy.data.images.load(path)
    w, h = img.size
    px = np.empty(w * h * 4, np.float32)
    img.pixels.foreach_get(px)
    bpy.data.images.remove(img)
    return px.reshape(h, w, 4)[::-1, :, :3]


if __name__ == "__main__":
    main()
