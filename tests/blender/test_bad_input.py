"""Every bad input gets a clear message naming the file/channel/setting, and the scene is
left exactly as it was. Operators report an ERROR (bpy.ops raises RuntimeError carrying the
report text when called from Python); the API raises a typed DepthCloudError."""
import re

import numpy as np
import pytest

from scenes import add_camera, add_primitives, read_ground_truth, render, setup_render, write_exr


def snapshot():
    import bpy
    kinds = ("objects", "pointclouds", "meshes", "collections", "node_groups", "materials", "images", "cameras")
    return {k: sorted(d.name for d in getattr(bpy.data, k)) for k in kinds}


@pytest.fixture
def rendered(scene, tmp_path):
    setup_render(scene, 40, 30)
    add_primitives(scene)
    add_camera(scene)
    return render(scene, str(tmp_path / "frame_0001.exr"))


def run_build_expecting_error(scene, pattern):
    import bpy
    before = snapshot()
    with pytest.raises(RuntimeError, match=pattern):
        bpy.ops.depth_cloud.build()
    assert snapshot() == before, "a failed build changed the scene"


def test_missing_file(scene, rendered, tmp_path):
    missing = str(tmp_path / "nope.exr")
    scene.depth_cloud.exr_path = missing
    run_build_expecting_error(scene, re.escape(missing) + ".*not found")


def test_frame_with_no_file(scene, rendered, tmp_path):
    scene.depth_cloud.exr_path = str(tmp_path / "frame_####.exr")
    scene.frame_set(1)
    import bpy
    assert bpy.ops.depth_cloud.build() == {'FINISHED'}
    scene.frame_set(5)
    run_build_expecting_error(scene, re.escape(str(tmp_path / "frame_0005.exr")) + ".*not found")


def test_damaged_exr(scene, rendered, tmp_path):
    data = open(rendered, "rb").read()
    broken = tmp_path / "broken.exr"
    broken.write_bytes(data[: len(data) // 2])
    scene.depth_cloud.exr_path = str(broken)
    run_build_expecting_error(scene, re.escape(str(broken)) + ".*(damaged|unreadable)")


def test_not_an_exr(scene, rendered, tmp_path):
    fake = tmp_path / "fake.exr"
    fake.write_text("hello")
    scene.depth_cloud.exr_path = str(fake)
    run_build_expecting_error(scene, re.escape(str(fake)) + ".*not an OpenEXR")


def test_no_depth_channel_lists_channels(scene, tmp_path):
    add_camera(scene)
    rgb = np.ones((8, 10), np.float32)
    path = write_exr(str(tmp_path / "color_only.exr"), {"R": rgb, "G": rgb, "B": rgb})
    scene.depth_cloud.exr_path = path
    run_build_expecting_error(scene, re.escape(path) + r".*no depth .*channels found: B, G, R")


def test_explicit_channel_missing(scene, rendered):
    scene.depth_cloud.exr_path = rendered
    scene.depth_cloud.depth_channel = "ViewLayer.Mist.Z"
    run_build_expecting_error(scene, "'ViewLayer.Mist.Z'.*channels found: .*ViewLayer.Depth.Z")


def test_color_and_depth_sizes_differ(scene, rendered, tmp_path):
    rgb = np.ones((20, 25), np.float32)
    color = write_exr(str(tmp_path / "small_color.exr"), {"R": rgb, "G": rgb, "B": rgb})
    s = scene.depth_cloud
    s.source_mode, s.exr_path, s.color_path = 'SEPARATE', rendered, color
    run_build_expecting_error(scene, re.escape(color) + r" is 25x20 but depth file .* is 40x30")


def test_png_color_of_other_size(scene, rendered, tmp_path):
    import bpy
    img = bpy.data.images.new("png", 20, 10)
    img.filepath_raw = str(tmp_path / "c.png")
    img.file_format = 'PNG'
    img.save()
    bpy.data.images.remove(img)
    s = scene.depth_cloud
    s.source_mode, s.exr_path, s.color_path = 'SEPARATE', rendered, str(tmp_path / "c.png")
    run_build_expecting_error(scene, r"c\.png is 20x10 but depth file")


def test_all_nan_depth(scene, tmp_path):
    add_camera(scene)
    z = np.full((6, 8), np.nan, np.float32)
    z[0, 0] = np.inf
    path = write_exr(str(tmp_path / "nan.exr"), {"Z": z})
    scene.depth_cloud.exr_path = path
    run_build_expecting_error(scene, re.escape(path) + r".*channel Z holds no usable pixel.*48 pixels are NaN/inf")


def test_partial_nan_depth_is_skipped_with_warning(scene, rendered, tmp_path):
    from depth_cloud import api
    pos, z, rgba = read_ground_truth(rendered)
    bad = z.copy()
    bad[:5] = np.nan
    bad[5, :3] = -np.inf
    path = write_exr(str(tmp_path / "some_nan.exr"), {"Z": bad, **{c: rgba[..., i] for i, c in enumerate("RGBA")}})
    ps = api.unproject(scene, source=path)
    assert len(ps) == int(((bad < 1e9) & np.isfinite(bad)).sum())
    assert any("NaN/inf" in w and path in w for w in ps.meta["warnings"])


def test_no_camera(scene, rendered):
    import bpy
    scene.camera = None
    for ob in [o for o in scene.objects if o.type == 'CAMERA']:
        bpy.data.objects.remove(ob)
    scene.depth_cloud.exr_path = rendered
    scene.depth_cloud.kind = 'DEPTH'
    run_build_expecting_error(scene, "has no camera")


def test_position_pass_needs_no_camera(scene, rendered):
    import bpy

    pos, z, _ = read_ground_truth(rendered)
    scene.camera = None
    scene.depth_cloud.exr_path = rendered
    scene.depth_cloud.kind = 'POSITION'
    assert bpy.ops.depth_cloud.build() == {'FINISHED'}
    from depth_cloud import api
    ps = api.unproject(scene, source=rendered, kind='POSITION')
    assert len(ps) == int((z < 1e9).sum())
    gt = pos[ps.pixels[:, 1], ps.pixels[:, 0]]
    np.testing.assert_array_equal(ps.positions, gt)


def test_api_raises_typed_errors(scene, rendered, tmp_path):
    from depth_cloud import api
    with pytest.raises(api.SourceFileError, match="not found"):
        api.unproject(scene, source=str(tmp_path / "missing.exr"))
    with pytest.raises(api.ChannelError):
        api.unproject(scene, source=rendered, depth_channel="nope")
    with pytest.raises(api.SettingsError, match="near"):
        api.unproject(scene, source=rendered, convention="ZBUFFER", near=5.0, far=1.0)
    with pytest.raises(api.SettingsError, match="unknown option"):
        api.unproject(scene, source=rendered, colour="x")
