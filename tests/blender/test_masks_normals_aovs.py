"""Cryptomatte / index masks, Normal pass normals and AOVs as attributes, on Cycles renders.

Ground truth: the Object and Material Index passes rendered alongside, ``scene.ray_cast`` through
each pixel centre (hit object and its face normal), the EXR's own pixels read with OpenEXR, and
an AOV wired to the shading position (so its values must equal the points' positions).
"""
import os

import numpy as np
import pytest

from paths import OPENEXR_IMAGES, SHARED_DATA
from scenes import add_camera, material, render, setup_render, write_exr
from ui_recorder import Recorder

W, H = 64, 48
OBJECTS = {"Cube": 1, "Sphere": 2, "Plane": 3, "Cube.001": 4}  # name -> pass index
MATERIALS = {"Red": 11, "Green": 12, "Blue": 13}  # Cube and Cube.001 share Red


def _aov_nodes(mat, rough):
    """AOVs: ``rough`` (value, a constant per material) and ``tint`` (color = world position)."""
    nt = mat.node_tree
    value = nt.nodes.new('ShaderNodeOutputAOV')
    value.aov_name = "rough"
    value.inputs['Value'].default_value = rough
    color = nt.nodes.new('ShaderNodeOutputAOV')
    color.aov_name = "tint"
    geo = nt.nodes.new('ShaderNodeNewGeometry')
    nt.links.new(geo.outputs['Position'], color.inputs['Color'])


def render_shot(scene, path, samples=1, filter_width=None):
    """Two cubes (one material), a sphere, a floor; every mask pass, Normal and two AOVs."""
    import bpy
    setup_render(scene, W, H, samples=samples)
    if filter_width is not None:
        scene.cycles.filter_width = filter_width
        scene.cycles.pixel_filter_type = 'GAUSSIAN'
    mats = {}
    for (name, index), rgb in zip(MATERIALS.items(), ((0.8, 0.05, 0.05), (0.05, 0.7, 0.1), (0.1, 0.2, 0.8))):
        mats[name] = material(name, rgb)
        mats[name].pass_index = index
        _aov_nodes(mats[name], rough=index / 100.0)
    adds = [("Cube", lambda: bpy.ops.mesh.primitive_cube_add(size=1.0, location=(0.0, 0.0, 0.5)), "Red"),
            ("Sphere", lambda: bpy.ops.mesh.primitive_uv_sphere_add(radius=0.6, location=(1.4, 0.8, 0.6),
                                                                     segments=24, ring_count=12), "Green"),
            ("Plane", lambda: bpy.ops.mesh.primitive_plane_add(size=6.0, location=(0.0, 0.0, 0.0)), "Blue"),
            ("Cube.001", lambda: bpy.ops.mesh.primitive_cube_add(size=0.6, location=(-0.9, -1.3, 0.3),
                                                                  rotation=(0, 0, 0.5)), "Red")]
    for name, add, mat in adds:
        add()
        ob = bpy.context.object
        ob.name = name
        ob.pass_index = OBJECTS[name]
        ob.data.materials.append(mats[mat])
    bpy.ops.object.light_add(type='SUN', location=(2, -2, 5), rotation=(0.6, 0.2, 0.4))
    add_camera(scene)
    vl = scene.view_layers[0]
    for flag in ("use_pass_cryptomatte_object", "use_pass_cryptomatte_material", "use_pass_cryptomatte_asset",
                 "use_pass_object_index", "use_pass_material_index", "use_pass_normal"):
        setattr(vl, flag, True)
    for name, kind in (("rough", 'VALUE'), ("tint", 'COLOR')):
        aov = vl.aovs.add()
        aov.name, aov.type = name, kind
    return render(scene, path)


def exr_pass(path, *names):
    """A pass straight from the EXR (Blender 5 names first, then 4.x's)."""
    from depth_cloud.core.exr.read import read_exr
    f = read_exr(path)
    for name in names:
        if name in f.channels:
            return f.get(name)
    raise KeyError(f"none of {names} in {path}")


def index_pass(path, which):
    names = {"object": ("ViewLayer.Object Index.X", "ViewLayer.IndexOB.X"),
             "material": ("ViewLayer.Material Index.X", "ViewLayer.IndexMA.X")}[which]
    return np.rint(exr_pass(path, *names)).astype(int)


def pixel_rays(scene, pixels):
    """Ray origins and unit directions through the pixel centres of the scene camera."""
    from depth_cloud import api
    cam = api.camera_model(scene.camera, scene, size=(W, H))
    far = cam.pixel_to_world(pixels[:, 0], pixels[:, 1], np.ones(len(pixels))) \
        if hasattr(cam, "pixel_to_world") else None
    if far is None:
        from depth_cloud.core.points.unproject import pixel_to_world
        far = pixel_to_world(cam, pixels[:, 0], pixels[:, 1], np.ones(len(pixels)))
    origin = cam.cam_to_world[:3, 3]
    d = far - origin
    return origin, d / np.linalg.norm(d, axis=1, keepdims=True)


def ray_cast(scene, pixels):
    """``(hit object names, face normals (N, 3))`` seen through each pixel centre."""
    import bpy
    dg = bpy.context.evaluated_depsgraph_get()
    origin, dirs = pixel_rays(scene, pixels)
    names, normals = [], np.zeros((len(pixels), 3))
    for i, d in enumerate(dirs):
        hit, _loc, nrm, _face, ob, _m = scene.ray_cast(dg, tuple(origin), tuple(d))
        names.append(ob.name if hit else None)
        if hit:
            normals[i] = nrm
    return names, normals


@pytest.fixture
def shot(scene, tmp_path):
    return scene, render_shot(scene, str(tmp_path / "shot.exr"))


def _pixel_keys(ps):
    return ps.pixels[:, 1].astype(np.int64) * W + ps.pixels[:, 0]


def _edge(index, pixels):
    """Pixels with a 4-neighbour of another index (object edges)."""
    pad = np.pad(index, 1, mode='edge')
    r, c = pixels[:, 1] + 1, pixels[:, 0] + 1
    me = pad[r, c]
    return (pad[r - 1, c] != me) | (pad[r + 1, c] != me) | (pad[r, c - 1] != me) | (pad[r, c + 1] != me)


# ----------------------------------------------------------------------------- masks
@pytest.mark.parametrize("name", list(OBJECTS))
def test_cryptomatte_object_mask_is_exactly_that_objects_pixels(shot, name):
    from depth_cloud import api
    scene, path = shot
    full = api.unproject(scene, source=path)
    ps = api.unproject(scene, source=path, mask=[name])
    obj_index = index_pass(path, "object")
    truth = obj_index[full.pixels[:, 1], full.pixels[:, 0]] == OBJECTS[name]
    assert truth.sum() > 10
    np.testing.assert_array_equal(np.sort(_pixel_keys(ps)), np.sort(_pixel_keys(full)[truth]))
    # same points as the unmasked build, same order
    np.testing.assert_array_equal(ps.positions, full.positions[truth])
    np.testing.assert_array_equal(ps.colors, full.colors[truth])
    assert np.all(ps.attributes["coverage"] >= 0.5) and np.all(ps.attributes["coverage"] <= 1.0 + 1e-6)
    # pixel centres of the object's edge pixels really see the object
    edge = _edge(obj_index, ps.pixels)
    hits, _ = ray_cast(scene, ps.pixels[edge])
    print(f"{name}: {len(ps)} points, {int(edge.sum())} edge pixels ray cast")
    assert edge.sum() > 0 and all(h == name for h in hits)


@pytest.mark.parametrize("name", list(MATERIALS))
def test_cryptomatte_material_mask_matches_material_index(shot, name):
    from depth_cloud import api
    scene, path = shot
    full = api.unproject(scene, source=path)
    ps = api.unproject(scene, source=path, mask=name)  # names found in the material layer
    assert "CryptoMaterial" in ps.meta["mask"]
    mat_index = index_pass(path, "material")
    truth = mat_index[full.pixels[:, 1], full.pixels[:, 0]] == MATERIALS[name]
    np.testing.assert_array_equal(ps.positions, full.positions[truth])


def test_asset_layer_wildcards_and_several_names(shot):
    from depth_cloud import api
    scene, path = shot
    full = api.unproject(scene, source=path)
    obj_index = index_pass(path, "object")[full.pixels[:, 1], full.pixels[:, 0]]
    cubes = api.unproject(scene, source=path, mask=["Cube*"], mask_pass="CryptoAsset")
    assert "CryptoAsset" in cubes.meta["mask"]
    np.testing.assert_array_equal(cubes.positions, full.positions[np.isin(obj_index, [1, 4])])
    two = api.unproject(scene, source=path, mask="Sphere, Plane")
    np.testing.assert_array_equal(two.positions, full.positions[np.isin(obj_index, [2, 3])])


@pytest.mark.parametrize("mask_pass", ["Object Index", "IndexOB"])
def test_index_pass_masks(shot, mask_pass):
    """Blender 5 writes 'Object Index', 4.x 'IndexOB': either name finds the pass."""
    from depth_cloud import api
    scene, path = shot
    full = api.unproject(scene, source=path)
    obj_index = index_pass(path, "object")[full.pixels[:, 1], full.pixels[:, 0]]
    ps = api.unproject(scene, source=path, mask=["1-2", "4"], mask_pass=mask_pass)
    np.testing.assert_array_equal(ps.positions, full.positions[np.isin(obj_index, [1, 2, 4])])
    mats = api.unproject(scene, source=path, mask="12", mask_pass="Material Index")
    mat_index = index_pass(path, "material")[full.pixels[:, 1], full.pixels[:, 0]]
    np.testing.assert_array_equal(mats.positions, full.positions[mat_index == 12])


def test_any_channel_with_a_threshold(shot):
    """An AOV as a mask: pixels whose value reaches the threshold."""
    from depth_cloud import api
    scene, path = shot
    full = api.unproject(scene, source=path)
    rough = exr_pass(path, "ViewLayer.rough.X")[full.pixels[:, 1], full.pixels[:, 0]]
    ps = api.unproject(scene, source=path, mask_pass="rough", mask_threshold=0.12)
    assert 0 < len(ps) < len(full)
    np.testing.assert_array_equal(ps.positions, full.positions[rough >= 0.12])


def test_partial_coverage_threshold_and_attribute(scene, tmp_path):
    """4 samples, wide filter: edge pixels are shared; per pixel the objects' coverages add up
    to the pixel's surface coverage (its alpha with a transparent film), and the threshold
    decides membership."""
    from depth_cloud import api
    scene.render.film_transparent = True
    path = render_shot(scene, str(tmp_path / "soft.exr"), samples=4, filter_width=1.5)
    full = api.unproject(scene, source=path)
    total = np.zeros(len(full))
    keys = _pixel_keys(full)
    for name in OBJECTS:
        ps = api.unproject(scene, source=path, mask=[name], mask_threshold=0.0001)
        pos = np.searchsorted(keys, _pixel_keys(ps))
        assert np.array_equal(keys[pos], _pixel_keys(ps))
        total[pos] += ps.attributes["coverage"]
        strict = api.unproject(scene, source=path, mask=[name], mask_threshold=0.9)
        cov = ps.attributes["coverage"]
        assert len(strict) == int((cov >= 0.9).sum()) < len(ps)
    alpha = exr_pass(path, "ViewLayer.Combined.A")[full.pixels[:, 1], full.pixels[:, 0]]
    print(f"summed coverage: min {total.min():.4f}, max {total.max():.4f}; "
          f"max |coverage - alpha| {np.abs(total - alpha).max():.2e}; partial pixels {int((total < 0.999).sum())}")
    assert (total < 0.999).sum() > 0
    np.testing.assert_allclose(total, alpha, atol=2e-3)


# ----------------------------------------------------------------------------- normals
def test_normals_from_the_normal_pass_match_the_true_surface_normals(shot):
    from depth_cloud import api
    scene, path = shot
    ps = api.unproject(scene, source=path)
    assert ps.normals is not None and ps.normals.shape == (len(ps), 3)
    hits, true_n = ray_cast(scene, ps.pixels)
    seen = np.array([h is not None for h in hits])
    cos = np.clip((ps.normals[seen] * true_n[seen]).sum(1), -1, 1)
    angle = np.degrees(np.arccos(cos))
    med, p99 = np.median(angle), np.percentile(angle, 99)
    print(f"normals vs ray_cast: {seen.sum()} points, median {med:.4f} deg, p99 {p99:.4f} deg, max {angle.max():.3f}")
    assert seen.mean() > 0.99
    assert med < 1.0 and p99 < 5.0
    off = api.unproject(scene, source=path, normals=False)
    assert off.normals is None


def test_built_cloud_and_exports_carry_normals_and_aovs(shot, tmp_path):
    """Datablock attributes, PLY properties and (with pxr) USD primvars."""
    from depth_cloud import api
    from depth_cloud.core.output.ply import read_ply
    scene, path = shot
    ob = api.build_point_cloud(scene, source=path, mask=["Cube", "Sphere"], attributes="rough, tint",
                               pixel_ids=True)  # the source pixels, to compare the attributes with the file
    attrs = ob.data.attributes
    kinds = {a.name: a.data_type for a in attrs}
    assert kinds["normal"] == 'FLOAT_VECTOR' and kinds["rough"] == 'FLOAT' and kinds["tint"] == 'FLOAT_COLOR'
    assert kinds["coverage"] == 'FLOAT'
    n = len(ob.data.points)
    rough = np.empty(n, np.float32)
    attrs["rough"].data.foreach_get("value", rough)
    pix = np.empty(2 * n, np.int32)
    attrs["pixel"].data.foreach_get("value", pix)
    pix = pix.reshape(-1, 2)
    np.testing.assert_array_equal(rough, exr_pass(path, "ViewLayer.rough.X")[pix[:, 1], pix[:, 0]])
    assert set(np.round(rough * 100).astype(int)) == {11, 12}  # only Red and Green pixels

    out = str(tmp_path / "masked.ply")
    code = api.run_cli(["build", "--source", path, "--mask", "Cube,Sphere", "--attributes", "rough",
                        "--attributes", "tint", "--output", out.replace("masked", "masked_####"), "--frames", "1"])
    assert code == 0
    v = read_ply(out.replace("masked", "masked_0001"))["vertex"]
    assert len(v) == n
    for prop in ("nx", "ny", "nz", "rough", "tint_r", "tint_g", "tint_b", "tint_a", "coverage"):
        assert prop in v.dtype.names, prop
    nrm = np.empty(3 * n, np.float32)
    attrs["normal"].data.foreach_get("vector", nrm)
    np.testing.assert_allclose(np.stack([v["nx"], v["ny"], v["nz"]], 1), nrm.reshape(-1, 3), atol=1e-6)

    from depth_cloud.cli.build import usd_available
    if not usd_available():
        return  # the 4.2 wheel carries no pxr
    usd = str(tmp_path / "masked.usdc")
    result = api.bake_usd(scene, frames=[1], path=usd, source=path, mask=["Cube", "Sphere"], attributes=["rough"])
    from pxr import Usd, UsdGeom
    stage = Usd.Stage.Open(result.path)
    prim = stage.GetDefaultPrim()
    pts = UsdGeom.Points(prim)
    assert len(pts.GetPointsAttr().Get(1)) == n
    assert len(pts.GetNormalsAttr().Get(1)) == n
    usd_rough = np.array(UsdGeom.PrimvarsAPI(prim).GetPrimvar("rough").Get(1))
    np.testing.assert_array_equal(np.sort(usd_rough), np.sort(rough))


def test_aov_values_equal_the_exr_pixels(shot):
    from depth_cloud import api
    scene, path = shot
    ps = api.unproject(scene, source=path, attributes=["rough", "tint", "ViewLayer.Position.X"])
    r, c = ps.pixels[:, 1], ps.pixels[:, 0]
    np.testing.assert_array_equal(ps.attributes["rough"], exr_pass(path, "ViewLayer.rough.X")[r, c])
    tint = ps.attributes["tint"]
    assert tint.shape == (len(ps), 4)
    for k, ch in enumerate("RGBA"):
        np.testing.assert_array_equal(tint[:, k], exr_pass(path, f"ViewLayer.tint.{ch}")[r, c])
    # the tint AOV is the shading position: it must sit where the points are
    err = np.linalg.norm(tint[:, :3] - ps.positions, axis=1) / ps.depth
    print(f"tint AOV vs point positions: p99 {np.percentile(err, 99):.2e} x depth")
    assert np.percentile(err, 99) < 1e-4
    np.testing.assert_array_equal(ps.attributes["Position"], exr_pass(path, "ViewLayer.Position.X")[r, c])


# ----------------------------------------------------------------------------- bad input
def test_bad_masks_have_clear_messages_and_leave_the_scene(shot):
    from depth_cloud import api
    scene, path = shot
    before = set(o.name for o in scene.objects)
    cases = [({"mask": ["Cub"]}, api.SettingsError, "closest: Cube"),
             ({"mask": ["7"], "mask_pass": "Object Index"}, api.SettingsError, "indices present: 0, 1, 2, 3, 4"),
             ({"mask": ["Cube"], "mask_threshold": 1.5}, api.InvalidDepthError, "selects no pixel"),
             ({"mask": ["x"], "mask_pass": "NoSuchPass"}, api.ChannelError, "mask pass 'NoSuchPass'"),
             ({"mask_pass": "CryptoObject"}, api.SettingsError, "choose the names"),
             ({"mask": ["one"], "mask_pass": "Object Index"}, api.SettingsError, "not an index"),
             ({"attributes": ["nope"]}, api.ChannelError, "pass 'nope'")]
    for options, error, text in cases:
        with pytest.raises(error) as info:
            api.build_point_cloud(scene, source=path, **options)
        assert text in str(info.value) and path in str(info.value), (options, str(info.value))
    assert set(o.name for o in scene.objects) == before


def test_layer_without_manifest_and_made_up_cryptomatte(scene, tmp_path):
    """Self-made EXRs: two ranks whose ids are uint32 bit patterns, and one without manifest."""
    from depth_cloud import api
    add_camera(scene)
    h, w = 6, 8
    ids = {"hero": 0x4A0F00D5, "prop": 0x3C123456}  # float32 bit patterns, compared exactly
    as_float = {k: np.array([v], np.uint32).view(np.float32)[0] for k, v in ids.items()}
    r0 = np.full((h, w), as_float["hero"], np.float32)
    g0 = np.zeros((h, w), np.float32)
    g0[:, :4] = 0.7     # left half: hero 0.7 on rank 0
    b0 = np.full((h, w), as_float["prop"], np.float32)
    a0 = np.zeros((h, w), np.float32)
    a0[:, :4], a0[:, 4:] = 0.3, 1.0
    r0[:, 4:] = as_float["prop"]   # right half: prop 1.0 on rank 0 (rank 1: hero 0.0)
    g0[:, 4:] = 1.0
    b0[:, 4:] = as_float["hero"]
    a0[:, 4:] = 0.0
    a0[2, 6], g0[2, 6] = 0.45, 0.55   # one pixel: prop 0.55, hero 0.45
    channels = {"Z": np.full((h, w), 4.0, np.float32),
                "crypto_object00.R": r0, "crypto_object00.G": g0, "crypto_object00.B": b0, "crypto_object00.A": a0}
    manifest = f'{{"hero":"{ids["hero"]:08x}","prop":"{ids["prop"]:08x}"}}'
    good = write_exr(str(tmp_path / "crypto.exr"), channels, {
        "cryptomatte/abc1234/name": "crypto_object", "cryptomatte/abc1234/hash": "MurmurHash3_32",
        "cryptomatte/abc1234/conversion": "uint32_to_float32", "cryptomatte/abc1234/manifest": manifest})
    hero = api.unproject(scene, source=good, mask=["hero"])
    assert set(map(tuple, hero.pixels)) == {(c, r) for r in range(h) for c in range(4)}
    np.testing.assert_allclose(hero.attributes["coverage"], 0.7)
    prop = api.unproject(scene, source=good, mask=["prop"], mask_threshold=0.3)
    assert len(prop) == h * w  # 0.3 on the left counts at threshold 0.3 (inclusive)
    both = api.unproject(scene, source=good, mask=["*"])
    np.testing.assert_allclose(both.attributes["coverage"], 1.0)
    channels["Z"][:, :4] = 1e10  # the hero's pixels are all background
    empty = write_exr(str(tmp_path / "empty.exr"), channels, {
        "cryptomatte/abc1234/name": "crypto_object", "cryptomatte/abc1234/manifest": manifest})
    with pytest.raises(api.InvalidDepthError, match="selects 24 pixels but none of them holds a surface"):
        api.build_point_cloud(scene, source=empty, mask=["hero"])
    assert not [o for o in scene.objects if o.type == 'POINTCLOUD']
    bare = write_exr(str(tmp_path / "bare.exr"), channels)
    with pytest.raises(api.SourceFileError) as info:
        api.unproject(scene, source=bare, mask=["hero"])
    assert "no manifest" in str(info.value) and "crypto_object" in str(info.value)


# ----------------------------------------------------------------------------- info, panel, CLI
def test_info_lists_cryptomatte_names_and_passes(shot):
    import io

    from depth_cloud import api
    from depth_cloud.core.output.info import exr_info, format_info
    _scene, path = shot
    info = exr_info(path)
    layers = {lay["name"]: lay["names"] for lay in info["cryptomatte"]}
    assert set(OBJECTS) <= set(layers["ViewLayer.CryptoObject"])
    assert set(MATERIALS) <= set(layers["ViewLayer.CryptoMaterial"])
    assert info["normal_channels"] and info["mask_passes"]
    text = "\n".join(format_info(info))
    assert "Cube.001" in text and "CryptoMaterial" in text and "rough" in text
    out = io.StringIO()
    assert api.run_cli(["info", path], stdout=out) == 0
    assert "cryptomatte ViewLayer.CryptoObject" in out.getvalue() and "Cube.001" in out.getvalue()


def test_find_names_operator_fills_the_searchable_list(shot):
    import bpy
    scene, path = shot
    s = scene.depth_cloud
    s.exr_path = path
    assert bpy.ops.depth_cloud.find_mask_names() == {'FINISHED'}
    names = {(m.name, m.layer) for m in s.mask_names}
    assert ("Cube.001", "ViewLayer.CryptoObject") in names and ("Green", "ViewLayer.CryptoMaterial") in names
    s.mask_pick = "Sphere"
    s.mask_pick = "Cube"
    assert s.mask == "Sphere, Cube" and s.mask_pick == ""
    assert bpy.ops.depth_cloud.build() == {'FINISHED'}
    ob = next(o for o in scene.objects if o.depth_cloud.is_cloud)
    obj_index = index_pass(path, "object")
    assert ob.depth_cloud.points == int(np.isin(obj_index, [1, 2]).sum())
    s.mask = "Nothing"
    with pytest.raises(RuntimeError, match="'Nothing' is not in the manifest"):
        bpy.ops.depth_cloud.build()
    plain = write_exr(os.path.join(os.path.dirname(path), "plain.exr"), {"Z": np.full((4, 4), 2.0, np.float32)})
    s.exr_path = plain
    count = len(s.mask_names)
    with pytest.raises(RuntimeError, match="plain.exr: no Cryptomatte layer with a manifest"):
        bpy.ops.depth_cloud.find_mask_names()
    assert len(s.mask_names) == count


def _render_moving_shot(scene, tmp_path):
    """``(pattern, {frame: path})``: the shot rendered at frames 1-3 from a keyframed camera."""
    pattern = str(tmp_path / "seq_####.exr")
    render_shot(scene, pattern.replace("####", "0001"))
    cam = scene.camera
    paths = {1: pattern.replace("####", "0001")}
    for frame, loc in ((2, (3.0, -5.5, 2.5)), (3, (5.0, -3.5, 3.2))):
        scene.frame_set(frame)
        from scenes import look_at_euler
        cam.location = loc
        cam.rotation_euler = look_at_euler(loc, (0.4, 0.3, 0.4))
        cam.keyframe_insert("location")
        cam.keyframe_insert("rotation_euler")
        paths[frame] = render(scene, pattern.replace("####", f"{frame:04d}"))
    scene.frame_set(1)
    cam.location = (4.0, -5.0, 3.0)
    from scenes import look_at_euler
    cam.rotation_euler = look_at_euler((4.0, -5.0, 3.0), (0.4, 0.3, 0.4))
    cam.keyframe_insert("location", frame=1)
    cam.keyframe_insert("rotation_euler", frame=1)
    return pattern, paths


def test_sequence_and_fusion_use_the_mask(scene, tmp_path):
    """Three frames from a moving camera: a masked sequence shows only the cube on every frame;
    fusing the masked views gives points on the cube only, with the Normal pass's normals."""
    import bpy

    from depth_cloud import api
    pattern, paths = _render_moving_shot(scene, tmp_path)
    s = scene.depth_cloud
    s.exr_path, s.mask = pattern, "Cube"
    seq = s.sequence
    seq.frame_start, seq.frame_end, seq.mode = 1, 3, 'LAZY'
    assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
    obj = next(o for o in scene.objects if o.depth_cloud.sequence.is_sequence)
    assert obj.depth_cloud.sequence.mask == "Cube"
    for frame in (1, 2, 3):
        scene.frame_set(frame)
        truth = int((index_pass(paths[frame], "object") == OBJECTS["Cube"]).sum())
        assert len(obj.data.vertices) == truth, (frame, truth)

    result = api.fuse_point_set(scene, source=pattern, frames="1-3", mask=["Cube"], min_views=1)
    fused = result.point_set
    cube = scene.objects["Cube"]
    dg = bpy.context.evaluated_depsgraph_get()
    inv = np.array(cube.matrix_world.inverted())
    dist, angles = [], []
    for p, nrm in zip(fused.positions[::3], fused.normals[::3]):
        local = inv[:3, :3] @ p + inv[:3, 3]
        ok, loc, face_n, _ = cube.evaluated_get(dg).closest_point_on_mesh(tuple(local))
        dist.append(np.linalg.norm(np.array(loc) - local))
        angles.append(np.degrees(np.arccos(np.clip(abs(np.dot(face_n, nrm)), -1, 1))))
    gradient = api.fuse_point_set(scene, source=pattern, frames="1-3", mask=["Cube"], min_views=1,
                                  normals=False).point_set
    gangles = []
    for p, nrm in zip(gradient.positions[::3], gradient.normals[::3]):
        local = inv[:3, :3] @ p + inv[:3, 3]
        _ok, _loc, face_n, _ = cube.evaluated_get(dg).closest_point_on_mesh(tuple(local))
        gangles.append(np.degrees(np.arccos(np.clip(abs(np.dot(face_n, nrm)), -1, 1))))
    print(f"depth-gradient normals of the same cloud: median {np.median(gangles):.3f} p99 "
          f"{np.percentile(gangles, 99):.3f} deg")
    assert np.percentile(angles, 99) < np.percentile(gangles, 99)
    # the command line fuses the same masked views
    from depth_cloud.core.output.ply import read_ply
    out = str(tmp_path / "fused.ply")
    assert api.run_cli(["fuse", "--source", pattern, "--frames", "1-3", "--mask", "Cube", "--min-views", "1",
                        "--output", out]) == 0
    v = read_ply(out)["vertex"]
    assert len(v) == len(fused) and "nx" in v.dtype.names
    print(f"fused cube: {len(fused)} points, max distance {max(dist):.2e}, normal median {np.median(angles):.3f} "
          f"p99 {np.percentile(angles, 99):.3f} deg")
    assert max(dist) < 0.02
    assert np.median(angles) < 1.0 and np.percentile(angles, 99) < 5.0


def _read_points(pc, names, matrix=None):
    """``{name: array}`` of the Point Cloud ``pc``'s ``position`` and those of ``names`` it has."""
    widths = {'FLOAT': 1, 'FLOAT_VECTOR': 3, 'FLOAT_COLOR': 4, 'FLOAT2': 2, 'INT32_2D': 2}
    out = {}
    for name in ("position", *names):
        att = pc.attributes.get(name)
        if att is None:
            continue
        k = widths[att.data_type]
        ints = att.data_type == 'INT32_2D'
        buf = np.empty(len(pc.points) * k, np.int32 if ints else np.float32)
        att.data.foreach_get('value' if ints or k == 1 else 'color' if k == 4 else 'vector', buf)
        out[name] = buf.reshape(-1, k) if k > 1 else buf
    if matrix is not None:
        m = np.array(matrix)
        out["position"] = out["position"] @ m[:3, :3].T + m[:3, 3]
    return out


def _shown_points(obj, names):
    """:func:`_read_points` of the points ``obj`` shows (its evaluated Point Cloud), world space."""
    import bpy
    dg = bpy.context.evaluated_depsgraph_get()
    for inst in dg.object_instances:
        if inst.object.type == 'POINTCLOUD' and inst.object.original == obj:
            return _read_points(inst.object.data, names, inst.matrix_world)
    raise AssertionError(f"{obj.name} shows nothing")


def _angle_deg(a, b):
    """Angle between rows (atan2: exact near 0, unlike arccos)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=1), (a * b).sum(1)))


PLAYED = ("normal", "rough", "tint", "coverage", "Col")


def test_played_frames_carry_the_normals_aovs_and_coverage_of_a_single_build(scene, tmp_path):
    """A masked 3-frame sequence with a Normal pass and two AOVs, played with ``frame_set`` in
    Lazy (first visits built in the handler, revisits from the cache), Preload (all cached) and
    Keyed Objects modes: every frame shows the points of a single-frame build of that frame,
    with its ``normal`` (exact when just built, within NORMAL_TOLERANCE_DEG from the cache),
    ``coverage``, and the AOVs equal to the EXR's pixels. Turned off, they are gone again."""
    import bpy

    from depth_cloud import api
    from depth_cloud.core.sequence.framecache import COLOR_TOLERANCE, NORMAL_TOLERANCE_DEG
    from depth_cloud.glue.sequence import playback
    pattern, paths = _render_moving_shot(scene, tmp_path)
    names = ["Cube", "Sphere"]
    ref = {}
    for frame, path in paths.items():
        scene.frame_set(frame)
        ob = api.build_point_cloud(scene, source=path, mask=names, attributes="rough, tint", pixel_ids=True)
        ref[frame] = _shown_points(ob, (*PLAYED, "pixel"))
        assert set(ref[frame]) == {"position", *PLAYED, "pixel"}
        bpy.data.objects.remove(ob)
    s = scene.depth_cloud
    s.exr_path, s.mask, s.attributes = pattern, "Cube, Sphere", "rough, tint"
    seq = s.sequence
    seq.use_scene_range, seq.frame_start, seq.frame_end = False, 1, 3
    scene.frame_set(1)  # a Lazy build shows (builds) the current frame
    worst = {}

    def check(shown, frame, exact, label):
        want = ref[frame]
        assert set(shown) == {"position", *PLAYED}, (label, frame, sorted(shown))
        assert len(shown["position"]) == len(want["position"]) > 100
        np.testing.assert_allclose(shown["position"], want["position"], atol=1e-5)
        angle = _angle_deg(shown["normal"], want["normal"])
        worst[label] = max(worst.get(label, 0.0), float(angle.max()))
        if exact:
            np.testing.assert_array_equal(shown["normal"], want["normal"])
        assert angle.max() <= NORMAL_TOLERANCE_DEG + 1e-6, (label, frame, angle.max())
        cols, rows = want["pixel"][:, 0].astype(int), want["pixel"][:, 1].astype(int)
        np.testing.assert_array_equal(shown["rough"], exr_pass(paths[frame], "ViewLayer.rough.X")[rows, cols])
        for k, ch in enumerate("RGBA"):
            np.testing.assert_array_equal(shown["tint"][:, k],
                                          exr_pass(paths[frame], f"ViewLayer.tint.{ch}")[rows, cols])
        np.testing.assert_array_equal(shown["coverage"], want["coverage"])
        assert np.abs(shown["Col"] - np.clip(want["Col"], 0, 1)).max() <= COLOR_TOLERANCE + 1e-6

    for mode in ('LAZY', 'PRELOAD'):
        seq.mode = mode
        assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
        obj = next(o for o in scene.objects if o.depth_cloud.sequence.is_sequence)
        uid = obj.depth_cloud.sequence.uid
        player = playback.player(uid)
        built = player.builds  # Lazy: the frame shown at the end of the build
        for i, frame in enumerate((2, 3, 1, 2, 3, 1)):
            scene.frame_set(frame)
            exact = mode == 'LAZY' and i < 3 and frame != 1  # built on this visit, shown from its floats
            check(_shown_points(obj, PLAYED), frame, exact, f"{mode} {'first visits' if i < 3 else 'revisits'}")
        assert player.builds - built == (2 if mode == 'LAZY' else 0)
        entry = playback.cache().peek((uid, 2))
        n = len(entry)
        assert entry.nbytes == (16 + 6 + 4 + 16 + 4) * n  # position+color, normal, rough, tint, coverage
    print("played normals vs single builds, max angle: " + ", ".join(f"{k} {v:.5f} deg" for k, v in worst.items())
          + f" (bound {NORMAL_TOLERANCE_DEG:.5f}); {n} points at frame 2, {entry.nbytes / n:.0f} B/point cached")

    # the same mesh and point count without normals and AOVs: those attributes are gone
    s.normals, s.attributes, seq.mode = False, "", 'LAZY'
    assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
    assert next(o for o in scene.objects if o.depth_cloud.sequence.is_sequence) == obj
    for frame in (1, 2, 1):
        scene.frame_set(frame)
        shown = _shown_points(obj, PLAYED)
        assert set(shown) == {"position", "coverage", "Col"}, sorted(shown)
        assert len(shown["position"]) == len(ref[frame]["position"])
    s.normals, s.attributes = True, "rough, tint"

    seq.mode = 'KEYED'
    assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
    clouds = [o for o in scene.objects if o.depth_cloud.is_cloud]
    for frame in (2, 3, 1):
        scene.frame_set(frame)
        shown = [o for o in clouds if not o.hide_viewport]
        assert [o.depth_cloud.frame for o in shown] == [frame]
        # the keyed object's own datablock (reading its evaluated copy leaves 6 blocks unfreed at exit on 4.2)
        check(_read_points(shown[0].data, PLAYED, shown[0].matrix_world), frame, True, "KEYED")


@pytest.mark.skipif(not os.path.isdir(SHARED_DATA),
                    reason="needs ../shared/data beside the checkout (real EXRs)")
def test_real_files_without_cryptomatte_say_so():
    """A real multi-part EXR with no Cryptomatte layer: a name mask is refused by name."""
    from depth_cloud.core.errors import ChannelError
    from depth_cloud.core.points.inputs import SourceSpec
    from depth_cloud.core.points.passes import read_frame_passes
    data = OPENEXR_IMAGES
    path = os.path.join(data, "Beachball", "multipart.0001.exr")
    if not os.path.isfile(path):
        pytest.skip(f"{path} is not there")
    with pytest.raises(ChannelError) as info:
        read_frame_passes(SourceSpec(path=path, mask=("hero",)), 1)
    assert "Cryptomatte layer" in str(info.value)


def test_lit_display_shades_with_the_point_normals(shot, tmp_path):
    """The lit look shades with the points' ``normal`` attribute: a floor cloud rendered with
    Cycles under the sun is bright with its normals turned to the sun, dark turned away, and
    lit when it has none (the points' own sphere normals)."""
    import bpy
    from mathutils import Vector

    from depth_cloud import api
    scene, path = shot
    for ob in list(scene.objects):
        if ob.type == 'MESH':
            bpy.data.objects.remove(ob)
    sun = next(o for o in scene.objects if o.type == 'LIGHT')
    to_sun = np.array(sun.matrix_world.to_3x3() @ Vector((0, 0, 1)))
    floor = index_pass(path, "object") == OBJECTS["Plane"]
    inner = floor & ~_edge_mask(floor)
    brightness = {}
    for case in ("toward", "away", "none"):
        ob = api.build_point_cloud(scene, source=path, mask=["Plane"], normals=case != "none")
        if case != "none":
            n = np.tile(to_sun if case == "toward" else -to_sun, (len(ob.data.points), 1)).astype(np.float32)
            ob.data.attributes["normal"].data.foreach_set("vector", n.ravel())
            ob.data.update_tag()
        api.set_display([ob], lit=True)
        out = render(scene, str(tmp_path / f"lit_{case}.exr"))
        rgb = np.stack([exr_pass(out, f"ViewLayer.Combined.{c}") for c in "RGB"], -1)
        brightness[case] = float(rgb[inner].mean())
        bpy.data.objects.remove(ob)
    print("lit floor brightness: " + ", ".join(f"{k} {v:.4f}" for k, v in brightness.items()))
    assert brightness["away"] < 0.1 * brightness["toward"] and brightness["away"] < 0.5 * brightness["none"]


def _edge_mask(region):
    pad = np.pad(region, 1, mode='edge')
    return ~(pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:])



def test_panel_draws_the_mask_settings(scene):
    import bpy

    from depth_cloud.ui.panels import draw_settings
    drawn = []
    draw_settings(Recorder(drawn), bpy.context)
    assert "section:depth_cloud_masks" in drawn and "mask" not in drawn  # collapsed until opened
    drawn = []
    draw_settings(Recorder(drawn, open_sections={"depth_cloud_masks"}), bpy.context)
    assert {"mask_pick@mask_names", "depth_cloud.find_mask_names", "mask", "mask_pass", "mask_threshold",
            "normals", "attributes"} <= set(drawn)
    assert not bpy.ops.depth_cloud.find_mask_names.poll()  # no source set: greyed, says why
