"""Picking without Blender: the Image Editor's image coordinates -> frame pixel (Blender's
own rule: pixel = int(u * width), v up), which frame a file path is, and what a pixel saw."""
import numpy as np
import pytest

from depth_cloud.core.camera.model import CameraModel
from depth_cloud.core.checks import picking
from depth_cloud.core.errors import InvalidDepthError, SizeMismatchError
from depth_cloud.core.points.inputs import FramePasses
from depth_cloud.core.points.unproject import pixel_to_world
from paths import OPENEXR_IMAGES


def test_uv_to_pixel_corners_and_rows_from_the_top():
    size = (64, 48)
    assert picking.pixel_from_uv(0.0, 0.0, size) == (0, 47)  # bottom-left of the view = last EXR row
    assert picking.pixel_from_uv(0.999, 0.999, size) == (63, 0)
    assert picking.pixel_from_uv((10 + 0.5) / 64, (48 - 5 - 0.5) / 48, size) == (10, 5)
    # any point inside the pixel, whatever the zoom
    for fx in (0.01, 0.5, 0.99):
        assert picking.pixel_from_uv((10 + fx) / 64, (48 - 5 - fx) / 48, size) == (10, 5)
    for outside in ((-0.01, 0.5), (1.0, 0.5), (0.5, 1.0), (float("nan"), 0.5)):
        assert picking.pixel_from_uv(*outside, size) is None


def test_shown_image_of_another_aspect_is_refused():
    assert picking.pixel_from_uv(0.5, 0.5, (64, 48), shown_size=(32, 24)) == (32, 23)  # a half-size proxy
    assert picking.pixel_from_uv(0.5, 0.5, (64, 48), shown_size=(0, 0)) == (32, 23)  # not loaded
    with pytest.raises(SizeMismatchError, match="64x48.*shot.exr|shot.exr.*64x48"):
        picking.pixel_from_uv(0.5, 0.5, (64, 48), shown_size=(64, 64), path="shot.exr")


def test_frame_from_path():
    assert picking.frame_from_path("/r/shot_####.exr", "/r/shot_0012.exr") == 12
    assert picking.frame_from_path("/r/shot_%04d.exr", "/r/shot_0007.exr") == 7
    assert picking.frame_from_path("/r/shot_####.exr", "/r/shot_-005.exr") == -5
    assert picking.frame_from_path("/r/shot_####.exr", "/r/other_0012.exr") is None
    assert picking.frame_from_path("/r/shot.exr", "/r/shot.exr") == 0
    assert picking.frame_from_path("/r/shot.exr", "/r/shot2.exr") is None


def test_pick_returns_world_and_depth_of_the_pixel():
    cam = CameraModel(cam_to_world=np.eye(4), width=8, height=6, lens=20.0)
    depth = np.full((6, 8), 1e10, np.float32)
    depth[2, 3] = 4.0
    passes = FramePasses(path="f.exr", frame_size=(8, 6), depth=depth, depth_channel="Z")
    got = picking.pick(passes, cam, 3, 2, frame=5, cloud="f")
    assert got.world.shape == (3,)
    np.testing.assert_allclose(got.world, pixel_to_world(cam, 3, 2, 4.0))
    assert got.depth == pytest.approx(4.0)
    assert "pixel (3, 2)" in got.text() and "frame 5" in got.text() and "'f'" in got.text()
    with pytest.raises(InvalidDepthError, match="f.exr.*no surface"):
        picking.pick(passes, cam, 0, 0)


def test_scalar_pixel_to_world_is_one_point():
    cam = CameraModel(cam_to_world=np.eye(4), width=8, height=6)
    assert pixel_to_world(cam, 3, 2, 4.0).shape == (3,)
    assert pixel_to_world(cam, [3, 4], [2, 2], [4.0, 4.0]).shape == (2, 3)


def test_blender_view_order():
    assert picking.blender_view_names([{"multiView": ["right", "left"]}]) == ["right", "left"]
    parts = [{"view": "right"}, {"view": "left"}, {"view": "left"}, {}, {"view": "right"}]
    assert picking.blender_view_names(parts) == ["right", "left", ""]
    assert picking.blender_view_names([{}, {}]) == []
    assert picking.blender_view_names([{"name": "rgba"}]) == []


def test_blender_view_order_of_real_stereo_files():
    import os

    from depth_cloud.core.exr.header import read_exr_header
    data = os.path.join(OPENEXR_IMAGES, "Beachball")
    if not os.path.isdir(data):
        pytest.skip(f"{os.path.normpath(data)} is absent (real stereo files)")
    for name in ("singlepart.0001.exr", "multipart.0001.exr"):
        parts = read_exr_header(os.path.join(data, name)).parts
        assert picking.blender_view_names(p.attributes for p in parts)[:2] == ["right", "left"], name
