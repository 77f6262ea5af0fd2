"""Production builds: 32-byte points by default (pixel ids and depth recovered through the
camera, or stored on request), detail (every Nth pixel) against Cycles' ground truth, and the
memory statement / refusal of Keyed Objects."""
import numpy as np
import pytest

from render_compare import faithful_film, hide_sources, psnr, rerender
from scenes import add_camera, add_primitives, read_ground_truth, render, setup_render

BOUND = 5e-5


def _source(scene, tmp_path, width=64, height=48, **camera):
    setup_render(scene, width, height)
    faithful_film(scene)
    add_primitives(scene)
    cam = add_camera(scene, **camera)
    return cam, render(scene, str(tmp_path / "source.exr"))


def _read(pc, name, prop, width, dtype):
    out = np.empty(len(pc.points) * width, dtype)
    pc.attributes[name].data.foreach_get(prop, out)
    return out.reshape(-1, width) if width > 1 else out


def _smooth_scene(scene, width, height, **camera):
    """A ground plane filling the frame and a sphere, their emission color varying slowly with
    the world position:
    a shot where every Nth pixel loses little (what a detail setting is for), so a re-render
    of the squares at detail 2 can reach 30 dB only if they tile the frame correctly."""
    import bpy
    setup_render(scene, width, height)
    faithful_film(scene)
    mat = bpy.data.materials.new("Smooth")
    if bpy.app.version < (5, 0, 0):
        mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nodes.clear()
    geo, sep = nodes.new("ShaderNodeNewGeometry"), nodes.new("ShaderNodeSeparateXYZ")
    comb, emit = nodes.new("ShaderNodeCombineXYZ"), nodes.new("ShaderNodeEmission")
    out = nodes.new("ShaderNodeOutputMaterial")
    links.new(geo.outputs["Position"], sep.inputs[0])
    for axis, scale, offset in (("X", 0.015, 0.5), ("Y", 0.012, 0.5), ("Z", 0.25, 0.2)):
        m = nodes.new("ShaderNodeMath")
        m.operation = 'MULTIPLY_ADD'
        links.new(sep.outputs[axis], m.inputs[0])
        m.inputs[1].default_value, m.inputs[2].default_value = scale, offset
        links.new(m.outputs[0], comb.inputs[axis])
    links.new(comb.outputs[0], emit.inputs["Color"])
    links.new(emit.outputs[0], out.inputs["Surface"])
    bpy.ops.mesh.primitive_plane_add(size=60.0, location=(0.0, 0.0, 0.0))  # fills the frame
    bpy.context.object.data.materials.append(mat)
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.8, location=(0.4, 0.3, 0.8), segments=48, ring_count=24)
    bpy.context.object.data.materials.append(mat)
    add_camera(scene, **camera)


def _user_attributes(data):
    return sorted(a.name for a in data.attributes if not a.name.startswith("."))


def test_default_cloud_is_32_bytes_per_point_and_recovers_pixels(scene, tmp_path):
    from depth_cloud import api
    from depth_cloud.glue import datablock, display
    _cam, path = _source(scene, tmp_path)
    pos, z, _ = read_ground_truth(path)
    lean = api.build_point_cloud(scene, source=path)
    assert _user_attributes(lean.data) == ["Col", "position", "radius"]  # 12 + 16 + 4 bytes
    model = display.stored_camera(lean)
    recovered = datablock.point_set_from_data(lean.data, (64, 48), camera=model)
    with pytest.raises(ValueError, match="no camera"):
        datablock.point_set_from_data(lean.data, (64, 48))
    full_ob = api.build_point_cloud(scene, source=path, pixel_ids=True)  # rebuilt in place
    assert full_ob == lean
    assert _user_attributes(full_ob.data) == ["Col", "depth", "pixel", "position", "radius"]
    stored = datablock.point_set_from_data(full_ob.data, (64, 48))
    np.testing.assert_array_equal(recovered.pixels, stored.pixels)  # each point back on its own pixel
    np.testing.assert_allclose(recovered.depth, stored.depth, rtol=1e-5)
    np.testing.assert_allclose(recovered.depth, z[stored.pixels[:, 1], stored.pixels[:, 0]], rtol=1e-5)
    api.build_point_cloud(scene, source=path)
    assert _user_attributes(lean.data) == ["Col", "position", "radius"]
    # the scene setting is the default of every build
    scene.depth_cloud.pixel_ids = True
    again = api.build_point_cloud(scene, source=path)
    assert again == lean and "pixel" in _user_attributes(again.data)


def test_surface_and_squares_from_a_32_byte_cloud_match_the_source(scene, tmp_path):
    """Pixel squares (sized from the radius) and the surface (pixels recovered through the
    camera) of a cloud without pixel/depth attributes re-render the source Combined pass."""
    from depth_cloud import api
    _cam, path = _source(scene, tmp_path)
    _pos, z, rgba = read_ground_truth(path)
    ob = api.build_point_cloud(scene, source=path)
    assert "pixel" not in ob.data.attributes
    hide_sources(scene)
    for mode in ("SQUARES", "SURFACE"):
        api.set_display(mode=mode)
        got, _ = rerender(scene, str(tmp_path / f"{mode}.exr"))
        value = psnr(rgba, got, z < 1e9)
        print(f"{mode}: {value:.1f} dB")
        assert value >= 40.0


@pytest.mark.parametrize("detail", [2, 3])
def test_detail_points_on_the_position_pass_and_squares_tile(scene, tmp_path, detail):
    from depth_cloud import api
    _smooth_scene(scene, 128, 96, target=(0.4, 0.3, -1.5), lens=35.0, shift_x=0.05)
    path = render(scene, str(tmp_path / "source.exr"))
    pos, z, rgba = read_ground_truth(path)
    surface = z < 1e9
    full = api.unproject(scene, source=path)
    coarse = api.unproject(scene, source=path, detail=detail)
    o = (detail - 1) // 2
    kept = surface[o::detail, o::detail].sum()
    assert len(coarse) == kept and len(full) == surface.sum()
    gt = pos[coarse.pixels[:, 1], coarse.pixels[:, 0]]
    err = np.linalg.norm(coarse.positions - gt, axis=1) / z[coarse.pixels[:, 1], coarse.pixels[:, 0]]
    assert np.percentile(err, 99) <= BOUND
    np.testing.assert_array_equal(coarse.colors, rgba[coarse.pixels[:, 1], coarse.pixels[:, 0]])
    ob = api.build_point_cloud(scene, source=path, detail=detail)
    assert len(ob.data.points) == kept
    hide_sources(scene)
    api.set_display(mode="SQUARES")
    got, got_z = rerender(scene, str(tmp_path / "squares.exr"))
    value = psnr(rgba, got, surface)
    covered = float((got_z[surface] < 1e9).mean())
    near = np.repeat(np.repeat(rgba[o::detail, o::detail], detail, 0), detail, 1)[:rgba.shape[0], :rgba.shape[1]]
    print(f"detail {detail}: {len(coarse)} of {len(full)} points, squares PSNR {value:.1f} dB, "
          f"coverage {covered:.3f}; the source's own every-Nth-pixel blocks: {psnr(rgba, near, surface):.1f} dB")
    assert value >= 30.0
    assert value >= psnr(rgba, near, surface) - 0.5  # as good as the kept pixels' colors allow
    assert covered == 1.0  # the squares still tile the frame


def test_detail_in_the_cli_and_bad_detail_everywhere(scene, tmp_path, capsys):
    import bpy

    from depth_cloud import api
    from depth_cloud.core.errors import SettingsError
    _cam, path = _source(scene, tmp_path)
    out = tmp_path / "c.ply"
    assert api.run_cli(["build", "--source", path, "--frames", "1", "--detail", "2", "-o", str(out)]) == 0
    before = set(bpy.data.objects)
    assert bpy.ops.wm.ply_import(filepath=str(out)) == {'FINISHED'}
    (ply,) = set(bpy.data.objects) - before
    assert len(ply.data.vertices) == len(api.unproject(scene, source=path, detail=2))
    bpy.data.objects.remove(ply)
    capsys.readouterr()
    argv = ["build", "--source", path, "--frames", "1", "--detail", "0", "-o", str(tmp_path / "d.ply")]
    assert api.run_cli(argv) != 0
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "--detail" in lines[0]
    names = sorted(o.name for o in bpy.data.objects)
    for bad in (0, 1.5, -2):
        with pytest.raises(SettingsError, match="detail"):
            api.build_point_cloud(scene, source=path, detail=bad)
    assert sorted(o.name for o in bpy.data.objects) == names


def attributes_mod():
    from depth_cloud.core.points import attributes
    return attributes


def _shot(scene, tmp_path, frames=3):
    import bpy
    setup_render(scene, 48, 36)
    add_primitives(scene)
    add_camera(scene)
    scene.frame_start, scene.frame_end = 1, frames
    scene.render.filepath = str(tmp_path / "shot_####.exr")
    scene.render.use_file_extension = False
    bpy.ops.render.render(animation=True)
    scene.depth_cloud.exr_path = str(tmp_path / "shot_####.exr")
    scene.depth_cloud.sequence.mode = 'KEYED'


def test_keyed_objects_state_their_memory_and_refuse_beyond_the_machine(scene, tmp_path, monkeypatch):
    import bpy

    from depth_cloud.core.errors import SettingsError
    from depth_cloud.core.sequence import memory
    from depth_cloud.glue.sequence import build as sequence
    _shot(scene, tmp_path)
    assert memory.total_memory() > 0
    from depth_cloud.glue.source import settings_spec
    spec = settings_spec(scene.depth_cloud)
    line = sequence.keyed_memory(scene, spec, [1, 2, 3])
    # 48 x 36 pixels, 3 frames, 32 bytes a point
    assert "3 frames" in line and "will take up to" in line
    assert memory.datablock_estimate(memory.points_upper_bound(48 * 36, 1), 3) == 48 * 36 * 3 * 32
    monkeypatch.setattr(memory, "total_memory", lambda: 100_000)  # a machine with 100 kB
    with pytest.raises(SettingsError, match="cache.*coarser detail"):
        sequence.keyed_memory(scene, spec, [1, 2, 3])
    # the points carry what the build reads besides: normals (12 B) with a Normal pass, named passes
    from dataclasses import replace
    with_passes = replace(spec, normals=True, attributes="Position")  # + 12 B (X, Y, Z)
    with monkeypatch.context() as m:
        m.setattr(memory, "total_memory", lambda: 10 ** 12)
        m.setattr(attributes_mod(), "find_normal_channels", lambda names, layer: ["N.X", "N.Y", "N.Z"])
        real, asked = memory.datablock_estimate, []
        m.setattr(memory, "datablock_estimate", lambda *a: asked.append(a) or real(*a))
        line = sequence.keyed_memory(scene, with_passes, [1, 2, 3])
        assert "3 frames" in line and asked[0] == (48 * 36, 3, False, 12 + 12)
        assert real(*asked[0]) == 48 * 36 * 3 * (32 + 12 + 12)
        asked.clear()
        sequence.keyed_memory(scene, replace(spec, normals=False), [1, 2, 3])
        assert asked[0] == (48 * 36, 3, False, 0)
    objects = set(bpy.data.objects)
    with pytest.raises(RuntimeError, match="more than this machine"):
        bpy.ops.depth_cloud.build_sequence()
    assert set(bpy.data.objects) == objects  # nothing was built
    scene.depth_cloud.detail = 4  # 1/16 of the points: fits
    assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
    clouds = [o for o in scene.objects if o.depth_cloud.is_cloud]
    assert len(clouds) == 3 and all(_user_attributes(o.data) == ["Col", "position", "radius"] for o in clouds)


def test_blend_output_states_its_memory_and_refuses_beyond_the_machine(scene, tmp_path, monkeypatch, capsys):
    """The command line's .blend output keeps one datablock per frame too."""
    from depth_cloud import api
    from depth_cloud.core.sequence import memory
    _shot(scene, tmp_path, frames=2)
    argv = ["build", "--source", str(tmp_path / "shot_####.exr"), "--frames", "1-2",
            "-o", str(tmp_path / "c_####.blend")]
    monkeypatch.setattr(memory, "total_memory", lambda: 100_000)
    assert api.run_cli(argv) != 0
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "more than this machine" in lines[0] and "PLY" in lines[0] and "detail 2" in lines[0]
    assert not any(p.suffix == ".blend" for p in tmp_path.iterdir())
    monkeypatch.undo()
    assert api.run_cli(argv + ["--detail", "2"]) == 0
    out = capsys.readouterr().out
    assert "the .blend's clouds of 2 frames" in out and "will take up to" in out


def test_viewport_detail_plays_coarse_while_renders_use_the_build_detail(scene, tmp_path):
    import bpy

    from depth_cloud import api
    _shot(scene, tmp_path)
    pattern = str(tmp_path / "shot_####.exr")
    files = {f: pattern.replace("####", f"{f:04d}") for f in (1, 2, 3)}
    full = {f: len(api.unproject(scene, frame=f, source=p)) for f, p in files.items()}
    coarse = {f: len(api.unproject(scene, frame=f, source=p, detail=2)) for f, p in files.items()}
    assert all(coarse[f] < full[f] / 3 for f in files)
    seq = scene.depth_cloud.sequence
    seq.mode, seq.viewport_detail = 'LAZY', 2
    assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
    obj = next(o for o in scene.objects if o.depth_cloud.sequence.is_sequence)
    for f in (2, 3, 1):
        scene.frame_set(f)
        assert len(obj.data.vertices) == coarse[f]
    recorded = {}

    def record(scn, _depsgraph=None):  # just before each frame renders, after the extension's handlers
        recorded[scn.frame_current] = len(obj.data.vertices)

    bpy.app.handlers.render_pre.append(record)
    try:
        scene.render.filepath = str(tmp_path / "render_####.exr")
        bpy.ops.render.render(animation=True)
    finally:
        bpy.app.handlers.render_pre.remove(record)
    assert recorded == full  # the render saw every pixel
    scene.frame_set(2)
    assert len(obj.data.vertices) == coarse[2]  # and the viewport is coarse again
    seq.viewport_detail = 1
    scene.frame_set(3)
    assert len(obj.data.vertices) == full[3]


def test_rebuilding_a_frame_writes_its_datablock_in_place(scene, tmp_path):
    """Building the same frame again writes into the cloud's own Point Cloud (no new
    datablock when the point count is the same; 5.3 resizes it otherwise), with exactly the
    attributes and values a new build has, on the Position pass, the material kept."""
    import bpy

    from depth_cloud import api
    from depth_cloud.glue import compat
    scene.view_layers[0].use_pass_normal = True
    _cam, path = _source(scene, tmp_path)
    pos, z, rgba = read_ground_truth(path)
    first = api.build_point_cloud(scene, source=path)
    data, clouds = first.data, len(bpy.data.pointclouds)
    mat = bpy.data.materials.new("Mine")
    first.data.materials.append(mat)
    assert "normal" in _user_attributes(first.data)
    for options, attributes in (({"pixel_ids": True}, ["Col", "depth", "normal", "pixel", "position", "radius"]),
                                ({"normals": False}, ["Col", "position", "radius"]),
                                ({}, ["Col", "normal", "position", "radius"])):
        ob = api.build_point_cloud(scene, source=path, **options)
        assert ob == first and ob.data == data and len(bpy.data.pointclouds) == clouds  # in place
        assert _user_attributes(ob.data) == attributes and mat.name in [m.name for m in ob.data.materials]
        fresh = api.unproject(scene, source=path, **{k: v for k, v in options.items() if k != "pixel_ids"})
        np.testing.assert_array_equal(_read(ob.data, "position", "vector", 3, np.float32), fresh.positions)
        np.testing.assert_array_equal(_read(ob.data, "Col", "color", 4, np.float32), rgba[tuple(fresh.pixels.T[::-1])])
        np.testing.assert_array_equal(_read(ob.data, "radius", "value", 1, np.float32), fresh.radius)
        gt = pos[fresh.pixels[:, 1], fresh.pixels[:, 0]]
        err = np.linalg.norm(_read(ob.data, "position", "vector", 3, np.float32) - gt, axis=1) / fresh.depth
        assert np.quantile(err, 0.99) <= BOUND
    coarse = api.build_point_cloud(scene, source=path, detail=2)  # another point count
    assert coarse == first and len(coarse.data.points) == len(api.unproject(scene, source=path, detail=2))
    assert mat.name in [m.name for m in coarse.data.materials] and len(bpy.data.pointclouds) == clouds
    assert (coarse.data == data) == compat.has_pointcloud_resize()
