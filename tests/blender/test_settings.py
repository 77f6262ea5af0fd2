"""Settings live in the .blend: they survive save and reload, with the built cloud."""
import numpy as np

from scenes import add_camera, add_primitives, render, setup_render


def test_settings_and_cloud_survive_save_and_reload(scene, tmp_path):
    import bpy
    setup_render(scene, 32, 24)
    add_primitives(scene)
    cam = add_camera(scene)
    exr = render(scene, str(tmp_path / "f.exr"))
    s = scene.depth_cloud
    s.exr_path, s.convention, s.near, s.far, s.camera, s.layer = exr, 'NORMALIZED', 0.25, 42.0, cam, "ViewLayer"
    s.convention = 'PLANAR'
    assert bpy.ops.depth_cloud.build() == {'FINISHED'}
    n = len(next(o for o in scene.objects if o.depth_cloud.is_cloud).data.points)
    blend = str(tmp_path / "saved.blend")
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert bpy.context.scene.depth_cloud.exr_path == ""
    bpy.ops.wm.open_mainfile(filepath=blend)
    s = bpy.context.scene.depth_cloud
    assert (s.exr_path, s.convention, s.layer, s.camera.name) == (exr, 'PLANAR', "ViewLayer", "Camera")
    assert np.isclose(s.near, 0.25) and np.isclose(s.far, 42.0)
    cloud = next(o for o in bpy.context.scene.objects if o.depth_cloud.is_cloud)
    assert cloud.depth_cloud.source == exr and len(cloud.data.points) == n
    assert bpy.ops.depth_cloud.build() == {'FINISHED'}  # rebuild after reload updates, not duplicates
    assert len([o for o in bpy.context.scene.objects if o.depth_cloud.is_cloud]) == 1
