"""Pure-core tests: camera model, depth conventions, frames, metadata. No bpy needed."""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import paths
from depth_cloud.core import CameraModel, pixel_to_world
from depth_cloud.core.camera.from_header import camera_from_header, camera_to_header, camera_to_note
from depth_cloud.core.errors import CameraError, FramePatternError, SettingsError
from depth_cloud.core.frames import parse_frame_range, resolve_frame_path
from depth_cloud.core.points import depth as dm

REPO = paths.REPO


def rot(axis, deg):
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    m = np.eye(4)
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def pose():
    m = rot(2, 30) @ rot(0, 70)
    m[:3, 3] = (1.5, -4.0, 2.0)
    return m


def test_core_imports_without_bpy():
    code = ("import sys; sys.modules['bpy'] = None; sys.modules['mathutils'] = None\n"
            "import pkgutil, importlib, depth_cloud.core as c\n"
            "for m in pkgutil.walk_packages(c.__path__, 'depth_cloud.core.'): importlib.import_module(m.name)\n"
            "print('ok')")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
    for root, _, files in os.walk(os.path.join(REPO, "core")):
        for f in files:
            if f.endswith(".py"):
                text = open(os.path.join(root, f)).read()
                assert "import bpy" not in text and "import mathutils" not in text, f


def test_horizontal_fov_matches_lens_formula():
    cam = CameraModel(np.eye(4), 1920, 1080, lens=50.0, sensor_width=36.0)
    # the right edge of the frame is at x/z = (36/2)/50; the last pixel centre half a pixel inside
    assert cam.plane_x(1919) == pytest.approx(0.36 * (1 - 1 / 1920))
    # square pixels: the top edge is at (1080/1920) of the horizontal half-extent
    assert cam.plane_y(0) == pytest.approx(0.36 * 1080 / 1920 * (1 - 1 / 1080))


def test_vertical_fit_uses_sensor_height():
    cam = CameraModel(np.eye(4), 1920, 1080, lens=50.0, sensor_height=24.0, sensor_fit="VERTICAL")
    assert cam.plane_y(0) == pytest.approx(0.24 * (1 - 1 / 1080))


def test_auto_fit_portrait_spans_height():
    cam = CameraModel(np.eye(4), 1080, 1920, lens=50.0, sensor_width=36.0)
    assert cam.fitted_axis == "VERTICAL"
    assert cam.plane_y(0) == pytest.approx(0.36 * (1 - 1 / 1920))


def test_shift_is_in_units_of_the_fitted_axis():
    a = CameraModel(np.eye(4), 200, 100, lens=50.0, sensor_width=36.0)
    b = CameraModel(np.eye(4), 200, 100, lens=50.0, sensor_width=36.0, shift_x=0.25, shift_y=0.1)
    assert b.plane_x(7) - a.plane_x(7) == pytest.approx(0.25 * 36 / 50)
    assert b.plane_y(7) - a.plane_y(7) == pytest.approx(0.1 * 36 / 50)


def test_pixel_aspect_stretches_rows():
    cam = CameraModel(np.eye(4), 100, 100, lens=50.0, sensor_width=36.0, pixel_aspect_x=1.0, pixel_aspect_y=2.0)
    # the frame is twice as tall as wide on the sensor: the vertical axis is fitted
    assert cam.fitted_axis == "VERTICAL"
    w, h = cam.pixel_size()
    assert h == pytest.approx(2 * w)


@pytest.mark.parametrize("kw", [dict(), dict(sensor_fit="VERTICAL", shift_x=0.1),
                                dict(projection="ORTHO", ortho_scale=5.0, shift_y=-0.2),
                                dict(pixel_aspect_x=1.5), dict(sensor_fit="HORIZONTAL", shift_y=0.3)])
def test_project_inverts_unproject(kw):
    cam = CameraModel(pose(), 97, 61, lens=35.0, **kw)
    cols, rows = np.meshgrid(np.arange(0, 97, 7), np.arange(0, 61, 5))
    depth = np.linspace(0.5, 50, cols.size)
    p = pixel_to_world(cam, cols.ravel(), rows.ravel(), depth)
    x, y, d = cam.project(p)
    np.testing.assert_allclose(x, cols.ravel() + 0.5, atol=1e-9)
    np.testing.assert_allclose(y, rows.ravel() + 0.5, atol=1e-9)
    np.testing.assert_allclose(d, depth, rtol=1e-12)


def test_perspective_point_lies_on_pixel_ray():
    cam = CameraModel(pose(), 64, 48, lens=20.0)
    p = pixel_to_world(cam, 10, 40, 3.0)
    ray = p - cam.location
    forward = -cam.cam_to_world[:3, 2]
    assert np.dot(ray, forward) == pytest.approx(3.0)  # planar depth along the view axis


@pytest.mark.parametrize("conv", dm.CONVENTIONS)
@pytest.mark.parametrize("projection", ["PERSP", "ORTHO"])
def test_conventions_round_trip(conv, projection):
    cam = CameraModel(pose(), 40, 30, projection=projection, lens=30.0)
    z = np.random.default_rng(1).uniform(0.5, 30.0, (30, 40)).astype(np.float32)
    enc = dm.from_planar(z, conv, cam, 0.3, 60.0)
    back = dm.to_planar(enc, conv, cam, 0.3, 60.0)
    np.testing.assert_allclose(back, z, rtol=2e-5)


def test_ray_distance_is_longer_off_axis():
    cam = CameraModel(np.eye(4), 41, 41, lens=10.0)
    z = np.full((41, 41), 2.0, np.float32)
    d = dm.from_planar(z, dm.RAY_DISTANCE, cam)
    assert d[20, 20] == pytest.approx(2.0 * math.sqrt(1 + cam.plane_x(20) ** 2 + cam.plane_y(20) ** 2), rel=1e-6)
    assert d[0, 0] > d[20, 20] * 1.1


def test_bad_conventions_are_named():
    with pytest.raises(SettingsError, match="ZBUFFER"):
        dm.check_convention("ZBUFFER", 2.0, 1.0)
    with pytest.raises(SettingsError, match="unknown"):
        dm.check_convention("LOG", 0, 1)
    with pytest.raises(CameraError, match="focal length"):
        CameraModel(np.eye(4), 10, 10, lens=0.0)


def test_frame_patterns():
    assert resolve_frame_path("/r/shot_####.exr", 7) == "/r/shot_0007.exr"
    assert resolve_frame_path("/r/shot_%04d.exr", 12) == "/r/shot_0012.exr"
    assert resolve_frame_path("/r/take#1/shot_###.exr", 5) == "/r/take#1/shot_005.exr"
    assert resolve_frame_path("/r/still.exr", 5) == "/r/still.exr"
    assert resolve_frame_path("/r/s_#.exr", 123) == "/r/s_123.exr"
    assert parse_frame_range("1-10x3,20, 5") == [1, 4, 7, 10, 20, 5]
    for bad in ("", "10-1", "a-b", "1-5x0"):
        with pytest.raises(FramePatternError):
            parse_frame_range(bad)


def test_header_camera_round_trip():
    cam = CameraModel(pose(), 97, 61, lens=35.0, shift_x=0.1, sensor_fit="VERTICAL", clip_end=250.0)
    again = camera_from_header(camera_to_header(cam))
    assert again.to_dict() == cam.to_dict()
    # Blender keeps only 511 characters of a stamp note, so the note form is compact (rounded)
    note = camera_from_header({"Note": camera_to_note(cam, {"convention": "PLANAR"})})
    np.testing.assert_allclose(note.cam_to_world, cam.cam_to_world, rtol=1e-6, atol=1e-7)
    assert len(camera_to_note(cam, {"convention": "PLANAR"})) <= 511
    assert camera_from_header({"Note": "just a note"}) is None
    assert json.loads(camera_to_header(cam)["depthCloud/camera"])["width"] == 97


def test_from_planar_ray_distance_mirrors_to_planar_for_every_camera():
    """from_planar is the inverse of to_planar for RAY_DISTANCE on panoramic cameras too, and
    without a camera both refuse with a SettingsError."""
    from depth_cloud.core.errors import SettingsError
    from depth_cloud.core.points.depth import from_planar, to_planar
    pano = CameraModel(cam_to_world=np.eye(4), width=8, height=4, projection="PANO",
                       panorama={"type": "EQUIRECTANGULAR"})
    z = np.linspace(1.0, 9.0, 32, dtype=np.float32).reshape(4, 8)
    np.testing.assert_allclose(to_planar(from_planar(z, "RAY_DISTANCE", pano), "RAY_DISTANCE", pano), z, rtol=1e-6)
    for fn in (from_planar, to_planar):
        with pytest.raises(SettingsError, match="RAY_DISTANCE needs a camera"):
            fn(z, "RAY_DISTANCE", None)


def test_far_clip_plane_is_background_not_a_wall():
    """EEVEE writes about the far clip distance (1000.07 for a far clip of 1000, measured on
    4.2-5.0) where it saw nothing: those pixels make no points; nearer ones all do."""
    from depth_cloud.core.points.inputs import FramePasses
    from depth_cloud.core.points.unproject import unproject
    cam = CameraModel(pose(), 8, 6, lens=35.0, clip_end=1000.0)
    z = np.full((6, 8), 5.0, np.float32)
    z[0, :] = 1000.0725  # EEVEE's background
    z[1, 0] = 985.0      # a surface 1.5 % in front of the far clip is still a surface
    ps = unproject(FramePasses(path="eevee.exr", frame_size=(8, 6), depth=z, depth_channel="Z"), cam)
    assert len(ps) == 6 * 8 - 8 and (ps.pixels[:, 1] > 0).all()
    assert ps.depth.max() == pytest.approx(985.0)
    # with clipping off every finite depth is a point, the far plane included
    ps = unproject(FramePasses(path="eevee.exr", frame_size=(8, 6), depth=z, depth_channel="Z"), cam, clip=False)
    assert len(ps) == 6 * 8
