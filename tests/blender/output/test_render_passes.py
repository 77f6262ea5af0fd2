"""Render Passes: self-describing multilayer EXRs, checked against Blender's own Position pass
in a fresh empty scene (the camera comes only from the file's header), and every render
setting exactly as before the operator ran.

Bound from the foundation issue: 99th percentile of |point - Position| <= 5e-5 x depth.
"""
import os

import numpy as np
import pytest

from scenes import (
    add_camera,
    add_primitives,
    cloud_points,
    key_camera,
    read_ground_truth,
    relative_errors,
    setup_render,
)

BOUND = 5e-5


# ----------------------------------------------------------------------------- helpers
#: Scene contents and evaluated data, not settings.
SKIP = {"rna_type", "depsgraph", "objects", "layer_collection", "active_layer_collection"}


def _plain(value):
    if hasattr(value, "__len__") and not isinstance(value, (str, set)):
        return tuple(_plain(v) for v in value)
    return value


def rna_snapshot(struct, depth=3):
    """Every property value of an RNA struct, nested structs and collections included
    (IDs by name), as plain Python values."""
    import bpy
    out = {}
    for prop in struct.bl_rna.properties:
        name = prop.identifier
        if name in SKIP:
            continue
        try:
            value = getattr(struct, name)
        except (AttributeError, RuntimeError):
            continue
        if prop.type == 'POINTER':
            if value is None or isinstance(value, bpy.types.ID):
                out[name] = getattr(value, "name", None)
            elif depth > 0:
                out[name] = rna_snapshot(value, depth - 1)
        elif prop.type == 'COLLECTION':
            if depth > 0:
                out[name] = [v.name if isinstance(v, bpy.types.ID) else rna_snapshot(v, depth - 1) for v in value]
        else:
            out[name] = _plain(value)
    return out


def settings_snapshot(scene):
    """All the settings a render could touch: render and image settings, engines, color
    management, every view layer's passes, the frame, the camera, the compositor."""
    from depth_cloud.glue import compat
    snap = {
        "render": rna_snapshot(scene.render, 3),
        "cycles": rna_snapshot(scene.cycles, 1),
        "eevee": rna_snapshot(scene.eevee, 1),
        "view_settings": rna_snapshot(scene.view_settings, 2),
        "display_settings": rna_snapshot(scene.display_settings, 1),
        "view_layers": [rna_snapshot(vl, 2) for vl in scene.view_layers],
        "frame": (scene.frame_current, scene.frame_subframe, scene.frame_start, scene.frame_end),
        "camera": scene.camera.name if scene.camera else None,
    }
    snap["compositor"] = [(tree.name, sorted(n.name for n in tree.nodes))
                          for tree in compat.compositor_node_groups(scene)]
    return snap


def diff(a, b, path=""):
    """Paths where two snapshots differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += diff(a.get(k, "<missing>"), b.get(k, "<missing>"), f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


def user_settings(scene, tmp_path):
    """An artist's scene: PNG output, compositor and sequencer on, stamp burnt in, motion
    blur, other passes than ours, an output path of their own."""
    from depth_cloud.glue import compat
    r = scene.render
    s = r.image_settings
    compat.set_image_format(s, 'PNG')
    s.color_mode, s.color_depth, s.compression = 'RGB', '16', 42
    s.color_management = 'OVERRIDE'
    s.view_settings.view_transform = 'AgX'
    if hasattr(s, "use_preview"):
        s.use_preview = True
    r.filepath = str(tmp_path / "user_frames" / "shot_")
    r.use_compositing = r.use_sequencer = True
    r.use_stamp = r.use_stamp_note = True
    r.stamp_note_text = "artist note"
    r.use_motion_blur = True
    vl = scene.view_layers[0]
    vl.use_pass_z = vl.use_pass_position = False
    vl.use_pass_normal = vl.use_pass_mist = True
    vl.cycles.denoising_store_passes = True
    compat.add_compositor(scene, "User Compositor")
    scene.frame_start, scene.frame_end = 1, 3


def make_scene(scene, tmp_path, aspect=1.0, width=48, height=36, engine='CYCLES', **cam):
    setup_render(scene, width, height, engine=engine)
    scene.render.pixel_aspect_x = aspect
    add_primitives(scene)
    add_camera(scene, **(cam or dict(lens=32.0, shift_x=0.08, shift_y=-0.05)))
    scene.depth_cloud.output.cache_dir = str(tmp_path / "cache")
    return scene


def fresh_scene_points(path):
    """Unproject ``path`` in a factory-fresh empty scene: no camera object exists, so the
    camera can only come from the file's header."""
    import bpy

    from depth_cloud import api
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert not bpy.data.cameras and bpy.context.scene.camera is None
    return api.unproject(bpy.context.scene, source=path)


def check_against_position_pass(path, points=None):
    pos, z, rgba = read_ground_truth(path)
    ps = points if points is not None else fresh_scene_points(path)
    surface = z < 1e9
    assert len(ps) == int(surface.sum()) > 0.1 * surface.size
    err = relative_errors(ps, pos)
    p99 = float(np.percentile(err, 99))
    assert p99 <= BOUND, f"{path}: p99 error {p99:.2e} x depth"
    np.testing.assert_array_equal(ps.colors, rgba[ps.pixels[:, 1], ps.pixels[:, 0]])
    return p99


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize("aspect", [1.0, 2.0])
def test_render_unprojects_in_fresh_scene_and_restores_settings(scene, tmp_path, aspect):
    import bpy

    from depth_cloud.core.camera.from_header import camera_from_header
    from depth_cloud.core.exr.read import read_exr
    make_scene(scene, tmp_path, aspect)
    user_settings(scene, tmp_path)
    scene.frame_set(2)
    before = settings_snapshot(scene)
    assert bpy.ops.depth_cloud.render_passes() == {'FINISHED'}
    assert diff(before, settings_snapshot(scene)) == []
    path = str(tmp_path / "cache" / "Scene_0002.exr")
    assert sorted(os.listdir(tmp_path / "cache")) == ["Scene_0002.exr"]  # no temporary file left
    assert not os.path.exists(tmp_path / "user_frames")  # the user's output path is not used

    f = read_exr(path)
    passes = {name.rsplit(".", 1)[0] for name in f.names()}
    assert passes == {"ViewLayer.Combined", "ViewLayer.Depth", "ViewLayer.Position"}  # exactly these
    header = f.header
    assert str(header["compression"]).endswith("ZIP_COMPRESSION")
    assert header["pixelAspectRatio"] == pytest.approx(aspect)
    model = camera_from_header(header, path)
    assert (model.width, model.height, model.pixel_aspect_x, model.lens) == (48, 36, aspect, pytest.approx(32.0))
    assert header["depthCloud/depthConvention"] == "PLANAR"
    p99 = check_against_position_pass(path)
    print(f"aspect {aspect}: p99 {p99:.2e} x depth")


def test_stamp_is_never_burnt_into_the_pixels(scene, tmp_path):
    """The artist's burn-in stamp stays off during our render: the Combined pixels are those
    of the same render without stamp."""
    import bpy
    make_scene(scene, tmp_path)
    path = str(tmp_path / "cache" / "Scene_0001.exr")
    scene.render.use_stamp = True
    scene.render.use_stamp_note, scene.render.stamp_note_text = True, "BURN ME"
    assert bpy.ops.depth_cloud.render_passes() == {'FINISHED'}
    stamped = read_ground_truth(path)[2]
    scene.render.use_stamp = False
    assert bpy.ops.depth_cloud.render_passes() == {'FINISHED'}
    np.testing.assert_array_equal(stamped, read_ground_truth(path)[2])


def test_range_with_animated_camera_and_camera_switch(scene, tmp_path):
    """One file per frame; each carries its own frame's camera (keyframed location, rotation
    and focal length, then a switch to a second camera by a timeline marker)."""
    import bpy
    make_scene(scene, tmp_path)
    cam = scene.camera
    key_camera(cam, ((1, (4.0, -5.0, 3.0), 30.0), (3, (-3.5, -4.5, 2.5), 45.0)), target=(0.3, 0.3, 0.4))
    other = add_camera(scene, location=(0.5, -6.0, 4.0), lens=28.0)
    scene.camera = cam
    scene.timeline_markers.new("first", frame=1).camera = cam
    scene.timeline_markers.new("switch", frame=4).camera = other
    scene.frame_start, scene.frame_end = 1, 4
    out = scene.depth_cloud.output
    out.render_frames = 'RANGE'
    scene.frame_set(2)
    assert bpy.ops.depth_cloud.render_passes() == {'FINISHED'}
    assert (scene.frame_current, scene.camera) == (2, cam)
    names = sorted(os.listdir(tmp_path / "cache"))
    assert names == [f"Scene_{f:04d}.exr" for f in (1, 2, 3, 4)]
    lenses = []
    from depth_cloud.core.camera.from_header import blender_camera_name, camera_from_header
    from depth_cloud.core.exr.read import read_exr
    for name in names:
        header = read_exr(str(tmp_path / "cache" / name), header_only=True).header
        lenses.append(round(camera_from_header(header).lens, 3))
        assert blender_camera_name(header) == (other.name if name.endswith("4.exr") else cam.name)
    assert lenses[0] == 30.0 and lenses[2] == 45.0 and 30.0 < lenses[1] < 45.0 and lenses[3] == 28.0
    for name in names:
        check_against_position_pass(str(tmp_path / "cache" / name))


@pytest.mark.eevee
def test_eevee(scene, tmp_path):
    """EEVEE (its engine id differs between 4.2 and 5.0): same files, no points at the far
    plane where it hit nothing. EEVEE stores its Position pass in half floats, so the bound
    is the half-float rounding of the coordinates on top of the foundation bound."""
    import bpy

    from depth_cloud.glue import compat
    make_scene(scene, tmp_path, engine=compat.EEVEE_ENGINE)
    scene.eevee.taa_render_samples = 1
    assert bpy.ops.depth_cloud.render_passes() == {'FINISHED'}
    path = str(tmp_path / "cache" / "Scene_0001.exr")
    pos, z, rgba = read_ground_truth(path)
    ps = fresh_scene_points(path)
    hit = (pos != 0).any(axis=-1)
    assert len(ps) == int(hit.sum()) > 0.1 * hit.size
    assert hit[ps.pixels[:, 1], ps.pixels[:, 0]].all()
    gt = pos[ps.pixels[:, 1], ps.pixels[:, 0]]
    half_ulp = np.abs(gt).max(axis=1) * 2.0 ** -10  # one half-float step of the largest coordinate
    err = np.linalg.norm(ps.positions - gt, axis=1)
    assert np.percentile(err / (half_ulp + BOUND * ps.depth), 99) <= 1.0
    np.testing.assert_array_equal(ps.colors, rgba[ps.pixels[:, 1], ps.pixels[:, 0]])


def test_render_and_build(scene, tmp_path):
    import bpy
    make_scene(scene, tmp_path)
    scene.depth_cloud.pixel_ids = True  # the source pixel of each point, to compare with the Position pass
    scene.depth_cloud.depth_channel = "Other.Z"  # overrides for another file are cleared
    assert bpy.ops.depth_cloud.render_passes(build=True) == {'FINISHED'}
    path = str(tmp_path / "cache" / "Scene_0001.exr")
    pos, z, _ = read_ground_truth(path)
    s = scene.depth_cloud
    assert s.exr_path == str(tmp_path / "cache" / "Scene_####.exr") and s.depth_channel == ""
    obs = [o for o in scene.objects if o.depth_cloud.is_cloud]
    assert len(obs) == 1 and obs[0].type == 'POINTCLOUD' and obs[0].depth_cloud.frame == 1
    pc = obs[0].data
    n = len(pc.points)
    assert n == int((z < 1e9).sum())
    got, pix = cloud_points(pc)
    err = np.linalg.norm(got - pos[pix[:, 1], pix[:, 0]], axis=1) / z[pix[:, 1], pix[:, 0]]
    assert np.percentile(err, 99) <= BOUND


def test_bad_settings_change_nothing(scene, tmp_path):
    import bpy

    from depth_cloud import api
    from depth_cloud.core.errors import CameraError, ExportError, SettingsError
    make_scene(scene, tmp_path)
    before = settings_snapshot(scene)
    scene.render.engine = 'BLENDER_WORKBENCH'
    with pytest.raises(SettingsError, match="BLENDER_WORKBENCH"):
        api.render_passes(scene)
    assert not bpy.ops.depth_cloud.render_passes.poll()
    scene.render.engine = 'CYCLES'
    with pytest.raises(SettingsError, match="not saved"):
        api.render_passes(scene, folder="//cache/")
    cam = scene.camera
    scene.camera = None
    with pytest.raises(CameraError, match="no camera"):
        api.render_passes(scene)
    scene.camera = cam
    assert diff(before, settings_snapshot(scene)) == []
    # A failure in the middle of a range (frame 2's file cannot be written) still restores
    # everything and reports the file.
    os.makedirs(tmp_path / "cache" / "Scene_0002.exr")
    with pytest.raises(ExportError, match="Scene_0002.exr"):
        api.render_passes(scene, frames="1-3")
    assert diff(before, settings_snapshot(scene)) == []
    assert sorted(os.listdir(tmp_path / "cache")) == ["Scene_0001.exr", "Scene_0002.exr"]
