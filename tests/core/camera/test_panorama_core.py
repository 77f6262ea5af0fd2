"""Panoramic projection math without Blender: Cycles' orientation conventions and the
inverse mapping (projection) of every type. Ground truth vs real renders is in
tests/blender/test_panorama.py."""
import math

import numpy as np
import pytest

from depth_cloud.core.camera import lens
from depth_cloud.core.camera.model import CameraModel
from depth_cloud.core.errors import CameraError
from depth_cloud.core.points import panorama as pano_points


def pano_camera(kind, width=96, height=64, matrix=None, **kw):
    fields = {k: kw.pop(k) for k in list(kw) if k in CameraModel.__dataclass_fields__}
    return CameraModel(cam_to_world=np.eye(4) if matrix is None else matrix, width=width, height=height,
                       projection="PANO", panorama=lens.panorama_dict(kind, **kw), **fields)


def test_equirectangular_orientation():
    """Centre looks forward (-Z), the top edge up (+Y), a quarter from the left looks left."""
    cam = pano_camera("EQUIRECTANGULAR", 96, 48)
    d = lens.directions(cam, np.array([48.0, 48.0, 24.0, 72.0, 0.0]), np.array([24.0, 0.0, 24.0, 24.0, 24.0]))
    np.testing.assert_allclose(d, [[0, 0, -1], [0, 1, 0], [-1, 0, 0], [1, 0, 0], [0, 0, 1]], atol=1e-12)


def test_fisheye_and_mirrorball_orientation():
    for kind in ("FISHEYE_EQUIDISTANT", "FISHEYE_EQUISOLID", "FISHEYE_LENS_POLYNOMIAL", "EQUIANGULAR_CUBEMAP_FACE",
                 "MIRRORBALL"):
        cam = pano_camera(kind, 64, 64)
        centre = lens.directions(cam, 32.0, 32.0)
        np.testing.assert_allclose(centre, [0, 0, -1], atol=1e-4, err_msg=kind)
        right = lens.directions(cam, 40.0, 32.0)
        up = lens.directions(cam, 32.0, 24.0)
        assert right[0] > 0 and abs(right[1]) < 1e-9, kind  # image right is camera +X
        assert up[1] > 0 and abs(up[0]) < 1e-9, kind  # image top is camera +Y
    # outside the fisheye's image circle / the mirror ball there is no ray
    for kind in ("FISHEYE_EQUIDISTANT", "MIRRORBALL"):
        assert not np.any(lens.directions(pano_camera(kind, 64, 64), 1.0, 1.0)), kind


CASES = [
    ("EQUIRECTANGULAR", {}),
    ("EQUIRECTANGULAR", dict(latitude_min=-0.5, latitude_max=1.2, longitude_min=-2.5, longitude_max=0.7, shift_x=0.2)),
    ("CENTRAL_CYLINDRICAL", dict(central_cylindrical_range_u_min=-2.0, central_cylindrical_range_u_max=2.5,
                                 central_cylindrical_radius=1.5, shift_y=0.1)),
    ("EQUIANGULAR_CUBEMAP_FACE", {}),
    ("MIRRORBALL", {}),
    ("FISHEYE_EQUIDISTANT", dict(fisheye_fov=3.5)),
    ("FISHEYE_EQUISOLID", dict(fisheye_lens=8.0, fisheye_fov=3.3, sensor_fit="VERTICAL", sensor_height=20.0)),
    ("FISHEYE_LENS_POLYNOMIAL", dict(fisheye_fov=3.4, shift_x=0.05)),
]


@pytest.mark.parametrize("kind,kw", CASES)
def test_projection_inverts_unprojection(kind, kw, monkeypatch):
    rng = np.random.default_rng(1)
    rot = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    m = np.eye(4)
    m[:3, :3] = rot * np.sign(np.linalg.det(rot))
    m[:3, 3] = [1.5, -2.0, 0.7]
    cam = pano_camera(kind, 120, 80, matrix=m, **kw)
    x = rng.uniform(0, 120, 4000)
    y = rng.uniform(0, 80, 4000)
    with monkeypatch.context() as mp:
        mp.setattr(lens, "EDGE_SLACK", -1e-4)  # stay off the lens edge, where directions degenerate
        d = lens.directions(cam, x, y)
    seen = np.abs(d).sum(axis=1) > 0
    assert seen.sum() > 1000
    dist = rng.uniform(0.5, 20.0, 4000)
    points = m[:3, 3] + (d * dist[:, None]) @ m[:3, :3].T
    px, py, pd = cam.project(points[seen])
    np.testing.assert_allclose(px, x[seen], atol=1e-6)
    np.testing.assert_allclose(py, y[seen], atol=1e-6)
    np.testing.assert_allclose(pd, dist[seen], rtol=1e-12)
    # and pixel_to_world agrees (integers address pixel centres)
    c, r = 17, 23
    if np.any(lens.pixel_directions(cam, c, r)):
        p = pano_points.pixel_to_world(cam, c, r, 3.0)
        x1, y1, d1 = cam.project(p[None])
        np.testing.assert_allclose([x1[0], y1[0], d1[0]], [c + 0.5, r + 0.5, 3.0], atol=1e-9)


def test_directions_behind_a_fisheye_do_not_project():
    cam = pano_camera("FISHEYE_EQUIDISTANT", 64, 64, fisheye_fov=math.pi)
    x, y, d = cam.project(np.array([[0.0, 0.0, 5.0], [0.0, 0.0, -5.0]]))
    assert np.isnan(x[0]) and np.isnan(y[0]) and d[0] == 5.0
    np.testing.assert_allclose([x[1], y[1]], [32.0, 32.0])


def test_bad_panorama_settings_are_named():
    with pytest.raises(CameraError, match="SPHERICAL"):
        lens.settings(CameraModel(np.eye(4), 8, 8, projection="PANO", panorama={"type": "SPHERICAL"}))
    with pytest.raises(CameraError, match="fisheye_zoom"):
        lens.settings(CameraModel(np.eye(4), 8, 8, projection="PANO",
                                      panorama={"type": "FISHEYE_EQUIDISTANT", "fisheye_zoom": 1.0}))
    with pytest.raises(CameraError, match="fisheye_fov"):
        lens.settings(pano_camera("FISHEYE_EQUISOLID", fisheye_fov=0.0))
    with pytest.raises(CameraError, match="type"):
        lens.settings(CameraModel(np.eye(4), 8, 8, projection="PANO"))


def test_depth_conventions_decode_to_distance():
    cam = pano_camera("EQUIRECTANGULAR", 8, 4)
    p = pano_points.pixel_to_world(cam, 2, 1, 0.25, convention="INVERSE")
    np.testing.assert_allclose(np.linalg.norm(p), 4.0)
    p = pano_points.pixel_to_world(cam, 2, 1, 0.5, convention="NORMALIZED", near=1.0, far=3.0)
    np.testing.assert_allclose(np.linalg.norm(p), 2.0)


def test_pixel_to_world_passes_near_far_to_panoramic_cameras():
    """A NORMALIZED value through the public pixel_to_world lands where its decoded distance does."""
    from depth_cloud.core.points.unproject import pixel_to_world
    cam = pano_camera("EQUIRECTANGULAR", 96, 48)
    near, far, distance = 0.5, 20.0, 7.25
    planar = pixel_to_world(cam, 30, 12, distance)
    normalized = pixel_to_world(cam, 30, 12, (distance - near) / (far - near), "NORMALIZED", near, far)
    np.testing.assert_allclose(normalized, planar, rtol=1e-6)
    assert abs(np.linalg.norm(planar) - distance) < 1e-5
