"""Display modes re-rendered with Cycles against the source render (Blender's ground truth).

A small scene is rendered (Combined + Z), the cloud is built, the original objects are
hidden and the cloud is rendered again from the same camera with the unlit material: the
re-render must reproduce the source Combined pass (scene-linear, background excluded).
"""
import functools
import math
import warnings

import numpy as np
import pytest

from render_compare import faithful_film, hide_sources, psnr, rerender
from scenes import add_camera, add_primitives, read_ground_truth, render, set_8bit_output, setup_render, write_exr
from ui_recorder import Recorder

PSNR_MIN = {"POINTS": 30.0, "SQUARES": 40.0, "SURFACE": 40.0}


def _source_scene(scene, tmp_path, width=64, height=48, samples=1, **camera):
    setup_render(scene, width, height, samples=samples)
    faithful_film(scene)
    add_primitives(scene)
    cam = add_camera(scene, **camera)
    path = render(scene, str(tmp_path / "source.exr"))
    return cam, path


def _display(scene, **values):
    d = scene.depth_cloud.display
    for key, value in values.items():
        setattr(d, key, value)


def _evaluated(ob):
    import bpy
    return ob.evaluated_get(bpy.context.evaluated_depsgraph_get())


@pytest.mark.parametrize("camera", [dict(lens=35.0, shift_x=0.05), dict(ortho=True, ortho_scale=7.0, shift_y=0.05),
                                    dict(lens=35.0, samples=16)],
                         ids=["persp", "ortho", "persp_16_samples"])
def test_rerender_reproduces_source(scene, tmp_path, camera):
    """With 1 sample Cycles samples pixel centres; with 16 it spreads samples over the whole
    pixel, so the squares and the surface must cover each pixel completely, without overlap."""
    from depth_cloud import api
    cam, path = _source_scene(scene, tmp_path, **camera)
    _pos, z, rgba = read_ground_truth(path)
    surface = z < 1e9
    ob = api.build_point_cloud(scene, source=path)
    hide_sources(scene)
    data = ob.data
    for mode in ("POINTS", "SQUARES", "SURFACE"):
        _display(scene, mode=mode)  # live: the same object and data, no rebuild
        assert ob.data == data and ob.depth_cloud.display.mode == mode
        got, got_z = rerender(scene, str(tmp_path / f"cloud_{mode}.exr"))
        value = psnr(rgba, got, surface)
        covered = float((got_z[surface] < 1e9).mean())
        err = np.abs(got[..., :3] - rgba[..., :3])[surface]
        print(f"\n{mode:8s} PSNR {value:6.2f} dB  coverage {covered:.4f}  max |err| {err.max():.2e}  "
              f"({int(surface.sum())} source pixels)")
        assert value >= PSNR_MIN[mode]
        # nothing of the cloud appears where the source saw background. With several
        # samples per pixel: at most one sample's share (a sample exactly on a pixel edge
        # may hit the neighbour's face); spheres covering their pixel's corners reach into
        # the next pixel's area (not its centre), so points are checked at 1 sample only.
        samples = camera.get("samples", 1)
        if samples == 1:
            assert (got[~surface][..., :3] < 1e-6).all()
        elif mode != "POINTS":
            assert (got[~surface][..., :3] <= rgba[..., :3].max() / samples + 1e-6).all()
    # the figures above depend on the footprint sizes and on the unlit material:
    _display(scene, mode="SQUARES", point_size=3.0)
    got, _ = rerender(scene, str(tmp_path / "cloud_big.exr"))
    big = psnr(rgba, got, surface)
    _display(scene, point_size=1.0, shading='LIT')
    got, _ = rerender(scene, str(tmp_path / "cloud_lit.exr"))
    lit = psnr(rgba, got, surface)
    print(f"squares of 3x the footprint: PSNR {big:.1f} dB; lit look: PSNR {lit:.1f} dB")
    assert big < 40 and lit < 30


def _orbit(location, target, degrees):
    """``location`` turned about the vertical axis through ``target``."""
    a = math.radians(degrees)
    dx, dy = location[0] - target[0], location[1] - target[1]
    return (target[0] + dx * math.cos(a) - dy * math.sin(a), target[1] + dx * math.sin(a) + dy * math.cos(a),
            location[2])


def _labels(rgba):
    """Object label per pixel of a one-hot colored render: 1 = R, 2 = G, 3 = B, 0 = none."""
    best = np.argmax(rgba[..., :3], axis=-1) + 1
    return np.where(rgba[..., :3].max(axis=-1) > 0.5, best, 0)


def _same_3x3(labels):
    """True where the 3x3 neighbourhood holds one label (image border: False)."""
    h, w = labels.shape
    out = np.zeros((h, w), bool)
    c = labels[1:-1, 1:-1]
    ok = np.ones_like(c, bool)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            ok &= labels[1 + dr:h - 1 + dr, 1 + dc:w - 1 + dc] == c
    out[1:-1, 1:-1] = ok
    return out


def _object_index(exr):
    name = next(n for n in exr.names() if n.endswith(("IndexOB.X", "Object Index.X")))
    return np.rint(exr.get(name)).astype(int)


@pytest.fixture
def two_views(scene, tmp_path):
    """Source camera and a second camera 20 degrees away: object labels, depth and world
    position of the original scene from both (Object Index pass)."""
    from depth_cloud import api
    setup_render(scene, 64, 48)
    faithful_film(scene)
    scene.view_layers[0].use_pass_object_index = True
    add_primitives(scene)
    for index, ob in enumerate([o for o in scene.objects if o.type == 'MESH'], start=1):
        ob.pass_index = index
    target = (0.4, 0.3, 0.4)
    cam1 = add_camera(scene, location=(4.0, -5.0, 3.0), target=target, lens=35.0)
    src = render(scene, str(tmp_path / "view1.exr"))
    cam2 = add_camera(scene, location=_orbit((4.0, -5.0, 3.0), target, 20.0), target=target, lens=35.0)
    view2 = render(scene, str(tmp_path / "view2.exr"))
    from depth_cloud.core.exr.read import read_exr
    index1, index2 = _object_index(read_exr(src)), _object_index(read_exr(view2))
    _, z1, _ = read_ground_truth(src)
    pos2, z2, _ = read_ground_truth(view2)
    # colors that name the object each source pixel saw
    onehot = np.zeros(z1.shape + (4,), np.float32)
    for k in range(3):
        onehot[..., k] = index1 == k + 1
    onehot[..., 3] = 1
    label_file = write_exr(str(tmp_path / "labels.exr"), {c: onehot[..., i] for i, c in enumerate("RGBA")})
    hide_sources(scene)
    scene.camera = cam2
    # pixels of view 2 whose surface point the source camera saw, away from object edges
    model1 = api.camera_model(cam1, scene)
    hit2 = z2 < 1e9
    x, y, d = model1.project(pos2[hit2])
    col, row = np.floor(x).astype(int), np.floor(y).astype(int)
    inside = (col >= 0) & (col < z1.shape[1]) & (row >= 0) & (row < z1.shape[0])
    seen = np.zeros(z2.shape, bool)
    ok = np.zeros(hit2.sum(), bool)
    ci, ri = col[inside], row[inside]
    ok[inside] = (np.abs(z1[ri, ci] - d[inside]) < 0.01 * d[inside]) & _same_3x3(index1)[ri, ci]
    seen[hit2] = ok
    seen &= _same_3x3(index2)
    return dict(src=src, labels=label_file, cam1=cam1, cam2=cam2, index2=index2, z2=z2, seen=seen)


def _view2_of_surface(scene, tmp_path, views, max_jump, name):
    from depth_cloud import api
    _display(scene, mode="SURFACE", surface_max_jump=max_jump)
    ob = api.build_point_cloud(scene, source=views["src"], color=views["labels"], camera=views["cam1"])
    got, got_z = rerender(scene, str(tmp_path / f"{name}.exr"))
    labels = _labels(got)
    seen = views["seen"]
    holes = seen & (labels != views["index2"])
    # in front of every real surface (away from edges of view 2): a face across a gap
    z2 = views["z2"]
    inner = _same_3x3(views["index2"]) & _same_3x3((z2 < 1e9).astype(int))
    floating = inner & (got_z < 1e9) & ((z2 >= 1e9) | (got_z < 0.97 * z2))
    return ob, holes, floating


def test_surface_from_second_camera(scene, tmp_path, two_views):
    ob, holes, floating = _view2_of_surface(scene, tmp_path, two_views, 0.05, "view2_surface")
    seen = two_views["seen"]
    print(f"\nview 2 (20 deg): {int(seen.sum())} pixels see surfaces the source saw; "
          f"holes {int(holes.sum())}, pixels of faces floating across depth jumps {int(floating.sum())}")
    assert seen.sum() > 600
    assert holes.sum() == 0
    assert floating.sum() == 0
    # the same checks catch a surface that joins everything (no depth-jump threshold) ...
    _, _, bridged = _view2_of_surface(scene, tmp_path, two_views, 1e6, "view2_bridged")
    # ... and one that joins nothing (every pixel a separate face: cracks on slopes)
    _, cracked, _ = _view2_of_surface(scene, tmp_path, two_views, 0.0, "view2_cracked")
    print(f"without threshold: {int(bridged.sum())} floating pixels; without joins: {int(cracked.sum())} holes")
    assert bridged.sum() > 0 and cracked.sum() > 0


def _color_scene(scene, tmp_path):
    """Pure red, green and blue emitters (one of them brighter than 1) over a grey plane."""
    import bpy
    setup_render(scene, 64, 48)
    faithful_film(scene)

    def emitter(name, rgb, strength):
        from depth_cloud.glue import compat
        mat = bpy.data.materials.new(name)
        compat.enable_nodes(mat)
        nt = mat.node_tree
        nt.nodes.clear()
        em = nt.nodes.new('ShaderNodeEmission')
        em.inputs['Color'].default_value = (*rgb, 1)
        em.inputs['Strength'].default_value = strength
        out = nt.nodes.new('ShaderNodeOutputMaterial')
        nt.links.new(em.outputs[0], out.inputs['Surface'])
        return mat

    bpy.ops.mesh.primitive_cube_add(size=1.0, location=(0.0, 0.0, 0.5))
    bpy.context.object.data.materials.append(emitter("Red", (1, 0, 0), 1.0))
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.6, location=(1.4, 0.8, 0.6), segments=24, ring_count=12)
    bpy.context.object.data.materials.append(emitter("Green", (0, 1, 0), 3.0))
    bpy.ops.mesh.primitive_plane_add(size=6.0, location=(0.0, 0.0, 0.0))
    bpy.context.object.data.materials.append(emitter("Grey", (0.2, 0.3, 0.6), 1.0))
    add_camera(scene, lens=35.0)
    path = render(scene, str(tmp_path / "colors.exr"))
    return path


def test_exr_colors_stay_linear_and_red_stays_red(scene, tmp_path):
    from depth_cloud import api
    path = _color_scene(scene, tmp_path)
    _pos, z, rgba = read_ground_truth(path)
    surface = z < 1e9
    red = surface & (rgba[..., 0] > 0.99) & (rgba[..., 1] < 1e-6) & (rgba[..., 2] < 1e-6)
    bright = surface & (rgba[..., 1] > 2.9)
    assert red.sum() > 50 and bright.sum() > 50  # the scene holds pure red and values > 1
    _display(scene, mode="SQUARES")
    ob = api.build_point_cloud(scene, source=path)
    col = np.empty(len(ob.data.points) * 4, np.float32)
    ob.data.attributes['Col'].data.foreach_get('color', col)
    col = col.reshape(-1, 4)
    assert col[:, 0].max() > 0.99 and col[:, 1].max() > 2.9  # scene-linear, not clipped
    hide_sources(scene)
    got, _ = rerender(scene, str(tmp_path / "colors_cloud.exr"))
    value = psnr(rgba, got, surface, peak=3.0)
    print(f"\nEXR colors (values up to {rgba[..., :3].max():.1f}): squares PSNR {value:.1f} dB (peak 3)")
    assert value >= 40
    np.testing.assert_allclose(got[red][:, :3], np.tile([1.0, 0.0, 0.0], (red.sum(), 1)), atol=1e-5)
    np.testing.assert_allclose(got[bright][:, 1], rgba[bright][:, 1], rtol=1e-5)


def _stored_pixels(path):
    """RGB values of an 8-bit image file as stored (0..1, rows from the top)."""
    import bpy
    img = bpy.data.images.load(path)
    img.colorspace_settings.name = 'Non-Color'
    w, h = img.size
    buf = np.empty(w * h * 4, np.float32)
    img.pixels.foreach_get(buf)
    bpy.data.images.remove(img)
    return buf.reshape(h, w, 4)[::-1, :, :3].astype(np.float64)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_display_referred_color_is_linearized(scene, tmp_path, fmt):
    import bpy

    from depth_cloud import api
    setup_render(scene, 64, 48)
    faithful_film(scene)
    add_primitives(scene)
    add_camera(scene, lens=35.0)
    path = render(scene, str(tmp_path / "source.exr"))
    _pos, z, rgba = read_ground_truth(path)
    surface = z < 1e9
    # the same render saved as an 8-bit display-referred image (Standard = sRGB)
    set_8bit_output(scene, fmt, jpeg_quality=95)
    image_path = str(tmp_path / ("color.png" if fmt == "PNG" else "color.jpg"))
    bpy.data.images["Render Result"].save_render(image_path, scene=scene)
    _display(scene, mode="SURFACE")
    api.build_point_cloud(scene, source=path, color=image_path)
    hide_sources(scene)
    got, _ = rerender(scene, str(tmp_path / "cloud.exr"))
    reference = np.clip(rgba, 0.0, 1.0)  # what an 8-bit image can hold
    value = psnr(reference, got, surface)
    # the image's own pixels as Blender decodes them, linearized with the sRGB curve
    stored = _stored_pixels(image_path)
    own = psnr(np.where(stored <= 0.04045, stored / 12.92, ((stored + 0.055) / 1.055) ** 2.4), got, surface)
    # had the stored values been taken as linear, the figures would collapse:
    as_stored = psnr(reference, stored, surface)
    print(f"\n{fmt} color pass: surface PSNR {value:.1f} dB vs the linear EXR Combined, {own:.1f} dB vs the "
          f"image's linearized pixels (stored values taken as linear: {as_stored:.1f} dB)")
    assert own >= 40
    assert value >= (40 if fmt == "PNG" else 25)  # JPEG: its compression loss, not ours
    assert as_stored < 20
    red = surface & (rgba[..., 0] > 4 * rgba[..., 1]) & (rgba[..., 0] > 4 * rgba[..., 2])
    red &= _same_3x3(red.astype(int))  # away from edges, where JPEG subsamples the chroma
    assert red.sum() > 20
    assert ((got[red][:, 0] > 4 * got[red][:, 1]) & (got[red][:, 0] > 4 * got[red][:, 2])).all()


def _cloud_pixels(ob):
    n = len(ob.data.points)
    pix = np.empty(n * 2, np.int32)
    ob.data.attributes['pixel'].data.foreach_get('value', pix)
    return pix.reshape(-1, 2)


def test_edge_cleanup_removes_flying_pixels(scene, tmp_path):
    """Anti-aliased depth (each pixel the mean of a 2x2 block of a Cycles Z pass at twice the
    size) puts silhouette pixels between surfaces: off every surface their block saw."""
    setup_render(scene, 128, 96)
    faithful_film(scene)
    scene.render.film_transparent = True  # alpha = coverage
    add_primitives(scene)
    add_camera(scene, lens=35.0)
    _pos, z, rgba = read_ground_truth(render(scene, str(tmp_path / "fine.exr")))
    blocks = z.reshape(48, 2, 64, 2).transpose(0, 2, 1, 3).reshape(48, 64, 4)
    hits = np.where(blocks < 1e9, blocks, np.nan)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # blocks of background only
        depth = np.nanmean(hits, axis=-1)  # what a filtered depth pass holds
        off = np.nanmin(np.abs(depth[..., None] - hits) / hits, axis=-1)
    flying = off > 0.02
    depth = np.where(np.isfinite(depth), depth, 1e10).astype(np.float32)
    color = rgba.reshape(48, 2, 64, 2, 4).mean(axis=(1, 3))
    path = write_exr(str(tmp_path / "filtered.exr"), {"Z": depth, **{c: color[..., i] for i, c in enumerate("RGBA")}})
    scene.render.resolution_x, scene.render.resolution_y = 64, 48
    from depth_cloud import api
    surface = depth < 1e9
    assert flying.sum() >= 10
    for mode, found_min, kept_min in (("FLYING", 0.7, 0.99), ("EDGES", 0.95, 0.9)):
        _display(scene, cleanup_flying=True, cleanup_mode=mode, cleanup_max_jump=0.05)
        ob = api.build_point_cloud(scene, source=path, pixel_ids=True)
        kept = np.zeros(depth.shape, bool)
        pix = _cloud_pixels(ob)
        kept[pix[:, 1], pix[:, 0]] = True
        found = float((flying & ~kept).sum() / flying.sum())
        good = float(kept[surface & ~flying].mean())
        print(f"\n{mode}: removed {found:.0%} of {int(flying.sum())} flying pixels, kept {good:.1%} of the others")
        assert found >= found_min and good >= kept_min
    # alpha coverage: partly covered pixels of a transparent-film render
    _display(scene, cleanup_flying=False, cleanup_min_alpha=0.99)
    ob = api.build_point_cloud(scene, source=path)
    alpha = color[..., 3]
    assert len(ob.data.points) == int((surface & (alpha >= 0.99)).sum()) < int(surface.sum())


def _synthetic_source(tmp_path, width, height, model):
    """A depth pass made of a slanted wall and a nearer box (a depth jump), and a color
    pass of random colors: any misplaced square or face shows in a re-render."""
    x = model.plane_x(np.arange(width))[None, :]
    y = model.plane_y(np.arange(height))[:, None]
    z = (6.0 + 1.5 * x + 0.8 * y + 0 * x * y).astype(np.float32)
    if model.projection == 'ORTHO':
        z = (6.0 + 0.3 * x + 0.2 * y + 0 * x * y).astype(np.float32)
    z[height // 4:height // 2, width // 3:2 * width // 3] *= 0.7
    z[:2, :3] = 1e10  # a little background
    rng = np.random.default_rng(7)
    color = rng.random((height, width, 4)).astype(np.float32)
    color[..., 3] = 1
    path = write_exr(str(tmp_path / "synthetic.exr"), {"Z": z, **{c: color[..., i] for i, c in enumerate("RGBA")}})
    return path, color, z


@pytest.mark.parametrize("camera", [dict(lens=30.0, shift_x=0.1), dict(ortho=True, ortho_scale=6.0, shift_y=-0.1)],
                         ids=["persp", "ortho"])
def test_non_square_pixels_tile_the_frame(scene, tmp_path, camera):
    """Pixel aspect 1:1.6 (tall pixels): squares become rectangles, surface corners follow."""
    from depth_cloud import api
    setup_render(scene, 48, 30)
    faithful_film(scene)
    scene.render.pixel_aspect_x, scene.render.pixel_aspect_y = 1.0, 1.6
    cam = add_camera(scene, **camera)
    model = api.camera_model(cam, scene)
    path, color, z = _synthetic_source(tmp_path, 48, 30, model)
    surface = z < 1e9
    ob = api.build_point_cloud(scene, source=path)
    for mode in ("SQUARES", "SURFACE", "POINTS"):
        _display(scene, mode=mode)
        # 5.0.1 cannot write multilayer EXRs with non-square pixels: a single-layer one
        got, _ = rerender(scene, str(tmp_path / f"{mode}.exr"), multilayer=False)
        value = psnr(color, got, surface)
        print(f"\nnon-square pixels, {mode}: PSNR {value:.1f} dB")
        assert value >= PSNR_MIN[mode]
    assert ob.depth_cloud.display.mode == "POINTS"


def _marked(collection):
    return [item for item in collection if item.get("depth_cloud_display") is not None]


def test_node_group_and_materials_are_shared_and_survive_reload(scene, tmp_path):
    import shutil

    import bpy

    from depth_cloud import api
    _cam, path = _source_scene(scene, tmp_path, lens=35.0)
    _pos, z, rgba = read_ground_truth(path)
    other = shutil.copy(path, str(tmp_path / "other.exr"))
    _display(scene, mode="SURFACE")
    a = api.build_point_cloud(scene, source=path)
    b = api.build_point_cloud(scene, source=other)
    assert a != b
    counts = (len(bpy.data.node_groups), len(bpy.data.materials), len(bpy.data.meshes), len(bpy.data.objects))
    for _ in range(2):  # rebuilding and switching modes makes nothing new
        api.build_point_cloud(scene, source=path)
        _display(scene, mode="SQUARES")
        _display(scene, mode="SURFACE")
    assert (len(bpy.data.node_groups), len(bpy.data.materials), len(bpy.data.meshes), len(bpy.data.objects)) == counts
    groups, materials = _marked(bpy.data.node_groups), _marked(bpy.data.materials)
    assert len(groups) == 1 and len(materials) == 2
    mods = [m for ob in (a, b) for m in ob.modifiers if m.type == 'NODES']
    assert len(mods) == 2 and all(m.node_group == groups[0] for m in mods)
    assert not [ng for ng in bpy.data.node_groups if ng.name.startswith(".depth_cloud_scratch")]

    name_a = a.name
    blend = str(tmp_path / "clouds.blend")
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.wm.open_mainfile(filepath=blend)
    scene = bpy.context.scene
    assert len(_marked(bpy.data.node_groups)) == 1 and len(_marked(bpy.data.materials)) == 2
    a = bpy.data.objects[name_a]
    assert a.depth_cloud.display.mode == "SURFACE" and a.depth_cloud.display.surface is not None
    faces = len(a.depth_cloud.display.surface.data.polygons)
    assert faces == len(a.data.points) == int((z < 1e9).sum())
    hide_sources(scene)
    got, _ = rerender(scene, str(tmp_path / "reloaded.exr"))
    value = psnr(rgba, got, z < 1e9)
    print(f"\nafter save and reload: surface PSNR {value:.1f} dB")
    assert value >= 40
    api.build_point_cloud(scene, source=path)  # rebuilding after reload reuses them too
    _display(scene, mode="POINTS")
    assert len(_marked(bpy.data.node_groups)) == 1 and len(_marked(bpy.data.materials)) == 2


def test_display_changes_live(scene, tmp_path):
    import bpy

    from depth_cloud import api
    from depth_cloud.glue import compat
    _cam, path = _source_scene(scene, tmp_path, lens=35.0)
    ob = api.build_point_cloud(scene, source=path)
    n = len(ob.data.points)
    stored = np.empty(n, np.float32)
    ob.data.attributes['radius'].data.foreach_get('value', stored)
    radius = np.empty(n, np.float32)
    for size in (2.5, 1.0, 0.5, 2.5):  # Size 1 passes the points through (the group's switch)
        _display(scene, point_size=size)
        ev = _evaluated(ob)
        assert len(ev.data.points) == n and ev.data.materials[:] and ev.data.materials[0] is not None
        ev.data.attributes['radius'].data.foreach_get('value', radius)
        np.testing.assert_allclose(radius, size * stored, rtol=1e-6)
    _display(scene, mode="SQUARES")
    dg = bpy.context.evaluated_depsgraph_get()
    squares = sum(1 for inst in dg.object_instances if inst.is_instance and inst.parent and inst.parent.original == ob)
    assert squares == n
    assert api.set_display(mode="SURFACE", lit=True) == [ob]
    me = ob.depth_cloud.display.surface.data
    assert not me.validate(verbose=False)  # a valid mesh
    # UVs are image coordinates (pixel corners / frame size), colors per face corner
    uv = np.empty(len(me.loops) * 2, np.float32)
    me.uv_layers["UVMap"].data.foreach_get("uv", uv)
    pix = np.empty(len(me.polygons) * 2, np.int32)
    me.attributes["pixel"].data.foreach_get("value", pix)
    uv, pix = uv.reshape(-1, 4, 2), pix.reshape(-1, 2)
    np.testing.assert_allclose(uv[:, 0], np.c_[pix[:, 0] / 64, 1 - pix[:, 1] / 48], atol=1e-6)
    np.testing.assert_allclose(uv[:, 2], np.c_[(pix[:, 0] + 1) / 64, 1 - (pix[:, 1] + 1) / 48], atol=1e-6)
    col = me.attributes["Col"]
    assert col.domain == 'CORNER' and col.data_type == 'FLOAT_COLOR' and len(col.data) == 4 * n
    mod = next(m for m in ob.modifiers if m.type == 'NODES')
    from depth_cloud.glue.display import input_identifiers
    ids = input_identifiers(mod.node_group)
    value = functools.partial(compat.get_modifier_input, mod)
    assert value(ids["Lit"]) and value(ids["Mode"]) == 2 and value(ids["Size"]) == pytest.approx(2.5)
    # a new threshold re-makes the surface from the points (no file is read)
    surface_mesh = ob.depth_cloud.display.surface.data
    welded = len(surface_mesh.vertices)
    _display(scene, surface_max_jump=0.0)
    assert len(ob.depth_cloud.display.surface.data.vertices) > welded


def test_cloud_without_camera_falls_back_to_points(scene, tmp_path):
    """A world position pass read without a camera: no footprint orientation, so squares
    and surfaces are refused with a message and points get a radius from their spacing."""
    import bpy

    from depth_cloud import api
    from depth_cloud.glue import compat
    _cam, path = _source_scene(scene, tmp_path, lens=35.0)
    pos, z, rgba = read_ground_truth(path)
    channels = {f"P.{c}": np.where(z[..., None] < 1e9, pos, 0)[..., i].astype(np.float32) for i, c in enumerate("XYZ")}
    channels.update({c: rgba[..., i] for i, c in enumerate("RGBA")})
    position_file = write_exr(str(tmp_path / "position.exr"), channels)
    bpy.data.objects.remove(scene.camera)
    _display(scene, mode="SQUARES")
    scene.depth_cloud.exr_path = position_file
    assert bpy.ops.depth_cloud.build() == {'FINISHED'}
    ob = next(o for o in scene.objects if o.depth_cloud.is_cloud)
    assert ob.depth_cloud.display.mode == "POINTS"
    radius = np.empty(len(ob.data.points), np.float32)
    ob.data.attributes['radius'].data.foreach_get('value', radius)
    assert (radius > 0).all()
    _display(scene, mode="SURFACE")
    assert ob.depth_cloud.display.mode == "POINTS" and ob.depth_cloud.display.surface is None
    assert ob.name in scene.depth_cloud.display.message and "camera" in scene.depth_cloud.display.message
    _display(scene, mode="POINTS")
    assert scene.depth_cloud.display.message == ""
    # the API checks every object before changing any
    with pytest.raises(api.CameraError, match=ob.name):
        api.set_display(mode="SURFACE", size=3.0)
    mod = next(m for m in ob.modifiers if m.type == 'NODES')
    from depth_cloud.glue.display import input_identifiers
    assert compat.get_modifier_input(mod, input_identifiers(mod.node_group)["Size"]) == 1.0
    with pytest.raises(api.SettingsError, match="size"):
        api.set_display(size=-1.0)
    with pytest.raises(api.SettingsError, match="mode"):
        api.set_display([ob], mode="VOXELS")
    assert api.set_display(size=3.0) == [ob]
    assert compat.get_modifier_input(mod, input_identifiers(mod.node_group)["Size"]) == 3.0


def test_display_panels_draw_known_settings(scene):
    import bpy

    from depth_cloud.ui.display import classes, draw_display
    assert sorted(c.bl_space_type for c in classes) == ['NODE_EDITOR', 'VIEW_3D']
    assert all(c.bl_parent_id in dir(bpy.types) and c.__name__ in dir(bpy.types) for c in classes)
    for mode in ("POINTS", "SURFACE"):
        scene.depth_cloud.display.mode = mode
        drawn = []
        draw_display(Recorder(drawn), bpy.context)
        assert "mode" in drawn and "cleanup_flying" in drawn
        assert ("surface_max_jump" in drawn) == (mode == "SURFACE")


@pytest.mark.eevee
def test_eevee_rerender_reproduces_source(scene, tmp_path):
    """EEVEE end to end: a source rendered by EEVEE (Z, Position, Combined) builds onto EEVEE's
    own Position pass, and the cloud re-rendered by EEVEE through the source camera reproduces
    the source image (pixel squares and surface)."""
    from depth_cloud import api
    from depth_cloud.glue import compat
    setup_render(scene, 48, 36, engine=compat.EEVEE_ENGINE)
    scene.eevee.taa_render_samples = 1
    faithful_film(scene)
    add_primitives(scene)
    add_camera(scene, lens=35.0, shift_x=0.05)
    path = render(scene, str(tmp_path / "source.exr"))
    pos, z, rgba = read_ground_truth(path)
    hit = (pos != 0).any(axis=-1)  # EEVEE writes Position 0 where it saw nothing
    ob = api.build_point_cloud(scene, source=path)
    ps = api.unproject(scene, source=path)
    assert len(ps) == len(ob.data.points) and hit[ps.pixels[:, 1], ps.pixels[:, 0]].all()
    assert len(ps) >= 0.99 * hit.sum() > 0.3 * hit.size
    gt = pos[ps.pixels[:, 1], ps.pixels[:, 0]]
    half_ulp = np.abs(gt).max(axis=1) * 2.0 ** -10  # EEVEE's Position pass is half float
    rel = np.linalg.norm(ps.positions - gt, axis=1) / ps.depth
    bound = half_ulp / ps.depth + 5e-5
    print(f"\nEEVEE {scene.render.engine}: {len(ps)} points, p99 error {np.percentile(rel, 99):.2e} x depth")
    assert np.percentile(rel / bound, 99) <= 1.0
    hide_sources(scene)
    surface = hit
    for mode in ("SQUARES", "SURFACE"):
        _display(scene, mode=mode)
        got, _ = rerender(scene, str(tmp_path / f"cloud_{mode}.exr"))
        value = psnr(rgba, got, surface)
        print(f"EEVEE re-render {mode:8s} PSNR {value:6.2f} dB over {int(surface.sum())} geometry pixels")
        assert value >= 40
