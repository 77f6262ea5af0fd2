"""Cameras read from EXR headers, checked against Cycles' Position pass.

The standard matrices are built here from Blender's own projection
(``Object.calc_matrix_camera``), independently of Depth Cloud's camera model.
"""
import numpy as np
import pytest

from scenes import add_camera, add_primitives, read_ground_truth, relative_errors, render, setup_render, write_exr

BOUND = 5e-5


def standard_matrices(scene, cam, width, height):
    """worldToCamera / worldToNDC (OpenEXR: row vectors, RenderMan camera, NDC y down)."""
    import bpy
    depsgraph = bpy.context.evaluated_depsgraph_get()
    r = scene.render
    proj = np.array(cam.calc_matrix_camera(depsgraph, x=width, y=height,
                                           scale_x=r.pixel_aspect_x, scale_y=r.pixel_aspect_y))
    world_to_cam = np.linalg.inv(np.array(cam.matrix_world))
    to_ndc = np.array([[0.5, 0, 0, 0.5], [0, -0.5, 0, 0.5], [0, 0, 1, 0], [0, 0, 0, 1]])  # clip -> NDC
    w2c = np.diag([1.0, 1.0, -1.0, 1.0]) @ world_to_cam
    w2n = to_ndc @ proj @ world_to_cam
    # contiguous: the OpenEXR bindings ignore strides when writing a matrix (a .T view comes out transposed)
    return {"worldToCamera": np.ascontiguousarray(w2c.T, np.float32),
            "worldToNDC": np.ascontiguousarray(w2n.T, np.float32)}


def _render(scene, tmp_path, name, width, height, **cam):
    setup_render(scene, width, height)
    add_primitives(scene)
    ob = add_camera(scene, **cam)
    return ob, render(scene, str(tmp_path / f"{name}.exr"))


@pytest.mark.parametrize("case", [
    dict(name="persp", width=64, height=40, lens=30.0, shift_x=0.1, shift_y=-0.06),
    dict(name="persp_vertical", width=48, height=64, lens=28.0, sensor_fit='VERTICAL', sensor_height=20.0,
         shift_y=0.08),
    dict(name="ortho", width=64, height=48, ortho=True, ortho_scale=7.0, shift_x=-0.05, shift_y=0.1),
])
def test_world_to_ndc_file_needs_no_blender_camera(scene, tmp_path, case):
    import bpy

    from depth_cloud import api
    case = dict(case)
    name, w, h = case.pop("name"), case.pop("width"), case.pop("height")
    cam, path = _render(scene, tmp_path, name, w, h, **case)
    pos, z, rgba = read_ground_truth(path)
    header = standard_matrices(scene, cam, w, h)
    channels = {"Z": z, **{c: rgba[..., i] for i, c in enumerate("RGBA")}}
    only = write_exr(str(tmp_path / f"{name}_std.exr"), channels, header)
    bpy.data.objects.remove(cam)  # no Blender camera at all
    assert scene.camera is None
    ps = api.unproject(scene, source=only)
    assert len(ps) == int((z < 1e9).sum())
    err = relative_errors(ps, pos)
    print(f"{name}: worldToNDC file p99 {np.percentile(err, 99):.2e} x depth")
    assert np.percentile(err, 99) <= BOUND
    np.testing.assert_array_equal(ps.colors, rgba[ps.pixels[:, 1], ps.pixels[:, 0]])


def test_world_to_ndc_beats_scene_camera_but_not_explicit_camera(scene, tmp_path):
    from depth_cloud import api
    cam, path = _render(scene, tmp_path, "prio", 64, 48, lens=35.0)
    pos, z, rgba = read_ground_truth(path)
    only = write_exr(str(tmp_path / "prio_std.exr"), {"Z": z}, standard_matrices(scene, cam, 64, 48))
    other = add_camera(scene, location=(-3.0, -6.0, 2.0), lens=50.0)  # now the scene camera
    ps = api.unproject(scene, source=only)
    assert np.percentile(relative_errors(ps, pos), 99) <= BOUND
    explicit = api.unproject(scene, source=only, camera=other)
    assert np.percentile(relative_errors(explicit, pos), 99) > 1e-2


def test_blender_camera_header_names_the_rendering_camera(scene, tmp_path):
    from depth_cloud import api
    cam, path = _render(scene, tmp_path, "named", 64, 48, lens=32.0, shift_x=0.05)
    cam.name = "ShotCam"
    path = render(scene, str(tmp_path / "named.exr"))  # header: Camera = 'ShotCam'
    pos, z, rgba = read_ground_truth(path)
    add_camera(scene, location=(-3.0, -6.0, 2.0), lens=50.0)  # a different scene camera
    assert scene.camera != cam
    ps = api.unproject(scene, source=path)
    assert np.percentile(relative_errors(ps, pos), 99) <= BOUND


def test_stamp_note_camera_without_any_camera(scene, tmp_path):
    """A self-describing Blender render (camera JSON in the stamp note) needs no camera."""
    import bpy

    from depth_cloud import api
    from depth_cloud.core.camera.from_header import camera_to_note
    setup_render(scene, 60, 44)
    add_primitives(scene)
    cam = add_camera(scene, lens=27.0, shift_x=-0.07, sensor_fit='VERTICAL', sensor_height=22.0)
    model = api.camera_model(cam, scene)
    scene.render.use_stamp_note = True
    scene.render.stamp_note_text = camera_to_note(model, {"convention": "PLANAR"})
    path = render(scene, str(tmp_path / "note.exr"))
    pos, z, rgba = read_ground_truth(path)
    bpy.data.objects.remove(cam)
    ps = api.unproject(scene, source=path)
    assert len(ps) == int((z < 1e9).sum())
    assert np.percentile(relative_errors(ps, pos), 99) <= BOUND


def test_stamp_note_panoramic_camera(scene, tmp_path):
    """The note carries panorama settings too: a fisheye render with no camera left."""
    import bpy
    from test_panorama import CASES, add_panoramic_camera, room

    from depth_cloud import api
    from depth_cloud.core.camera.from_header import camera_to_note
    w, h, data = CASES["fisheye_lens_polynomial"]
    setup_render(scene, w, h)
    room(scene)
    cam = add_panoramic_camera(scene, **data)
    scene.render.use_stamp_note = True
    scene.render.stamp_note_text = camera_to_note(api.camera_model(cam, scene))
    path = render(scene, str(tmp_path / "pano_note.exr"))
    pos, z, rgba = read_ground_truth(path)
    bpy.data.objects.remove(cam)
    ps = api.unproject(scene, source=path)
    assert len(ps) == int((z < 1e9).sum())
    err = np.linalg.norm(ps.positions - pos[ps.pixels[:, 1], ps.pixels[:, 0]], axis=1) / ps.depth
    assert np.percentile(err, 99) <= BOUND


def test_bad_header_camera_is_reported(scene, tmp_path):
    from depth_cloud import api
    from depth_cloud.core.errors import CameraError
    skew = np.eye(4, dtype=np.float32)
    skew[1, 0] = 0.3  # x_ndc depends on y: not a lens + sensor + shift camera
    bad = write_exr(str(tmp_path / "skew.exr"), {"Z": np.full((8, 8), 2.0, np.float32)},
                    {"worldToCamera": np.eye(4, dtype=np.float32), "worldToNDC": skew})
    with pytest.raises(CameraError, match="skew.exr.*worldToNDC"):
        api.unproject(scene, source=bad)
