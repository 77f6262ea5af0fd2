"""Camera list files (JSON, CSV), the view-direction form and its look-at rule."""
import json
import math

import numpy as np
import pytest

from depth_cloud.core.camera.lists import (
    camera_from_direction,
    camera_list_json,
    dodecahedron_directions,
    intrinsics_to_model_fields,
    look_at,
    parse_camera_csv,
    parse_camera_list,
    read_camera_list,
)
from depth_cloud.core.camera.model import CameraModel
from depth_cloud.core.errors import CameraError


def _pose(rx=0.3, ry=-0.5, rz=1.1, t=(0.5, -2.0, 1.5)):
    cx, sx, cy, sy, cz, sz = math.cos(rx), math.sin(rx), math.cos(ry), math.sin(ry), math.cos(rz), math.sin(rz)
    r = (np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]]) @ np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
         @ np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]]))
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = r, t
    return m


def test_dodecahedron_directions():
    d = dodecahedron_directions()
    assert d.shape == (20, 3)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0)
    cos = d @ d.T
    np.fill_diagonal(cos, -2)
    nearest = cos.max(axis=1)
    np.testing.assert_allclose(nearest, nearest[0])  # every vertex has its 3 neighbours at the same angle
    assert ((np.abs(cos - nearest[0]) < 1e-9).sum(axis=1) == 3).all()
    np.testing.assert_allclose(d.sum(axis=0), 0, atol=1e-12)


def test_direction_form_places_and_aims_the_camera():
    centroid = np.array([0.2, -0.1, 0.4])
    for d in dodecahedron_directions():
        m = camera_from_direction(d * 3.0, 1.5, centroid)  # the direction's length does not matter
        np.testing.assert_allclose(m[:3, 3], centroid + 1.5 * d, atol=1e-12)
        np.testing.assert_allclose(m[:3, :3].T @ m[:3, :3], np.eye(3), atol=1e-12)
        assert np.linalg.det(m[:3, :3]) > 0
        np.testing.assert_allclose(-m[:3, 2], -d, atol=1e-12)  # looks at the centroid
        assert abs(m[:3, 0] @ (0, 0, 1)) < 1e-12  # image x is horizontal: world +Z is up
        assert m[:3, 1] @ (0, 0, 1) > 0
        cam = CameraModel(cam_to_world=m, width=64, height=64)
        x, y, depth = cam.project(centroid[None])
        np.testing.assert_allclose([x[0], y[0], depth[0]], [32, 32, 1.5], atol=1e-9)


def test_views_parallel_to_z_use_y_up():
    top = camera_from_direction((0, 0, 2), 3.0)
    np.testing.assert_allclose(top[:3, 3], (0, 0, 3))
    np.testing.assert_allclose(top[:3, 1], (0, 1, 0), atol=1e-12)
    np.testing.assert_allclose(top[:3, 0], (1, 0, 0), atol=1e-12)
    bottom = camera_from_direction((0, 0, -1), 3.0)
    np.testing.assert_allclose(bottom[:3, 1], (0, 1, 0), atol=1e-12)
    np.testing.assert_allclose(bottom[:3, 2], (0, 0, -1), atol=1e-12)
    custom = look_at((0, -3, 0), (0, 0, 0), up=(1, 0, 0))
    np.testing.assert_allclose(custom[:3, 1], (1, 0, 0), atol=1e-12)
    with pytest.raises(CameraError, match="parallel"):
        look_at((0, -3, 0), (0, 0, 0), up=(0, 1, 0))
    with pytest.raises(CameraError, match="own location"):
        look_at((1, 2, 3), (1, 2, 3))


def test_json_matrix_forms_and_defaults(tmp_path):
    m = _pose()
    data = {
        "defaults": {"lens": 35, "width": 320, "height": 240},
        "cameras": [
            {"name": "a", "depth": "a.exr", "cam_to_world": m.tolist()},
            {"name": "b", "depth": "sub/b.exr", "world_to_cam": np.linalg.inv(m).ravel().tolist(), "lens": 50},
            {"name": "c", "cam_to_world": (m @ np.diag([1, -1, -1, 1])).tolist(), "convention": "OPENCV",
             "depth": "/abs/c.exr"},
            {"location": [0, -4, 1], "look_at": [0, 0, 1], "fov": 40, "frame": 7},
        ]}
    path = tmp_path / "cams.json"
    path.write_text(json.dumps(data))
    entries = read_camera_list(str(path))
    assert [e.name for e in entries] == ["a", "b", "c", "camera_004"]
    for e in entries[:3]:
        np.testing.assert_allclose(e.cam_to_world, m, atol=1e-12)
    assert entries[0].depth == str(tmp_path / "a.exr")
    assert entries[1].depth == str(tmp_path / "sub" / "b.exr")
    assert entries[2].depth == "/abs/c.exr"
    assert entries[0].model().lens == 35 and entries[1].model().lens == 50
    assert entries[0].model().width == 320 and entries[0].model((64, 48)).width == 64
    fov_model = entries[3].model()
    assert entries[3].frame == 7
    np.testing.assert_allclose(2 * math.degrees(math.atan(18 / fov_model.lens)), 40)


def test_opencv_matrices_and_pinhole_intrinsics_project_like_opencv():
    """An OpenCV camera (x right, y down, z forward; u = fx X/Z + cx) gives the same pixels."""
    w, h, fx, fy, cx, cy = 200, 150, 180.0, 170.0, 97.3, 80.6
    cv_c2w = _pose(0.2, 0.1, -0.4, (1.0, 2.0, -3.0))
    entry = parse_camera_list({"convention": "OPENCV", "cameras": [
        {"cam_to_world": cv_c2w.tolist(), "fx": fx, "fy": fy, "cx": cx, "cy": cy, "width": w, "height": h}]})[0]
    model = entry.model()
    rng = np.random.default_rng(0)
    pc = np.c_[rng.uniform(-1, 1, (50, 2)), rng.uniform(2, 6, 50)]  # OpenCV camera space, in front
    world = pc @ cv_c2w[:3, :3].T + cv_c2w[:3, 3]
    x, y, depth = model.project(world)
    # CameraModel pixel coordinates put pixel centres at +0.5; OpenCV at integers
    np.testing.assert_allclose(x - 0.5, fx * pc[:, 0] / pc[:, 2] + cx, atol=1e-9)
    np.testing.assert_allclose(y - 0.5, fy * pc[:, 1] / pc[:, 2] + cy, atol=1e-9)
    np.testing.assert_allclose(depth, pc[:, 2], atol=1e-12)
    f = intrinsics_to_model_fields(w, h, fx)
    assert f["pixel_aspect_y"] == 1.0 and abs(f["shift_x"]) < 1e-12 and abs(f["shift_y"]) < 1e-12


def test_csv_matrix_and_direction_rows(tmp_path):
    m = _pose()
    d = dodecahedron_directions()[3]
    header = ["name", "depth"] + [f"m{r}{c}" for r in range(4) for c in range(4)] + ["lens"]
    row1 = ["a", "a.exr"] + [repr(float(v)) for v in m.ravel()] + ["35"]
    lines = [",".join(header), ",".join(row1)]
    text = "\n".join(lines) + "\n"
    entries = parse_camera_csv(text, "m.csv", str(tmp_path))
    np.testing.assert_allclose(entries[0].cam_to_world, m, atol=1e-12)
    assert entries[0].intrinsics["lens"] == 35 and entries[0].depth == str(tmp_path / "a.exr")

    text = ("# view directions around a centroid\n"
            "name,depth,dir_x,dir_y,dir_z,distance,centroid_x,centroid_y,centroid_z,lens,width,height\n"
            f"v1,v1.exr,{d[0]},{d[1]},{d[2]},1.5,0.1,0.2,0.3,30,128,96\n"
            "v2,v2.exr,0,0,1,2,,,,30,128,96\n")
    path = tmp_path / "dirs.csv"
    path.write_text(text)
    e1, e2 = read_camera_list(str(path))
    np.testing.assert_allclose(e1.cam_to_world, camera_from_direction(d, 1.5, (0.1, 0.2, 0.3)), atol=1e-12)
    np.testing.assert_allclose(e2.cam_to_world[:3, 3], (0, 0, 2))
    assert e1.model().width == 128 and e1.model().height == 96


@pytest.mark.parametrize("text, message", [
    ("name,dir_x,dir_y,dir_z,distance,lenz\nv,1,0,0,1,30\n", r"bad\.csv: unknown column\(s\) lenz"),
    ("name,m00,m01\nv,1,0\n", r"line 2: the matrix needs all 16 columns"),
    ("name,dir_x,dir_y,distance\nv,1,0,1\n", r"line 2: direction needs its _x, _y and _z columns"),
    ("name,dir_x,dir_y,dir_z,distance\nv,1,0,0,far\n", r"line 2: distance must be a number, got 'far'"),
    ("name,dir_x,dir_y,dir_z\nv,1,0,0\n", r"line 2: a view direction needs the distance"),
    ("name,lens\nv,30\n", r"line 2: no camera pose"),
    ("name\n", r"header row and at least one camera row"),
])
def test_csv_errors_name_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(CameraError, match=message):
        read_camera_list(str(path))


@pytest.mark.parametrize("data, message", [
    ({"cameras": []}, "camera list is empty"),
    ({"views": []}, "expected a 'cameras' list"),
    ({"cameras": [{"direction": [1, 0, 0], "distance": 1, "lense": 3}]}, r"camera 1: unknown key\(s\) lense"),
    ({"cameras": [{"cam_to_world": [[1, 0, 0]]}]}, r"camera 1: cam_to_world \(a 4x4 matrix\) must be 16"),
    ({"cameras": [{"cam_to_world": np.eye(4).tolist(), "width": 10.5, "height": 8}]}, "whole number"),
    ({"cameras": [{"cam_to_world": (np.eye(4) * [1, 1, 1, 2]).tolist()}]}, "last row must be 0 0 0 1"),
    ({"cameras": [{"direction": [0, 0, 0], "distance": 1}]}, "has no length"),
    ({"cameras": [{"direction": [1, 0, 0], "distance": -1}]}, "must be positive"),
    ({"convention": "OPENGLX", "cameras": [{"cam_to_world": np.eye(4).tolist()}]}, "convention 'OPENGLX'"),
    ({"cameras": [{"cam_to_world": np.eye(4).tolist(), "lens": -5, "width": 10, "height": 10}]}, "camera 1: focal"),
])
def test_json_errors_name_the_camera(tmp_path, data, message):
    path = tmp_path / "cams.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CameraError, match=message):
        read_camera_list(str(path))


def test_file_level_errors(tmp_path):
    with pytest.raises(CameraError, match=r"nope\.json: camera list file not found"):
        read_camera_list(str(tmp_path / "nope.json"))
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(CameraError, match=r"x\.json: not valid JSON"):
        read_camera_list(str(tmp_path / "x.json"))
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(CameraError, match=r"\.json or \.csv"):
        read_camera_list(str(tmp_path / "x.txt"))
    entry = parse_camera_list([{"cam_to_world": np.eye(4).tolist()}], "inline")[0]
    with pytest.raises(CameraError, match="inline, camera 1: no image size"):
        entry.model()


def test_round_trip_through_json(tmp_path):
    models = [CameraModel(cam_to_world=_pose(t=(i, 0, 0)), width=64, height=48, lens=20 + i, shift_x=0.01 * i,
                          sensor_fit="VERTICAL", clip_end=50.0) for i in range(3)]
    data = camera_list_json(models, depth_paths=[f"d{i}.exr" for i in range(3)])
    path = tmp_path / "rt.json"
    path.write_text(json.dumps(data))
    for m, e in zip(models, read_camera_list(str(path))):
        got = e.model().to_dict()
        want = m.to_dict()
        np.testing.assert_allclose(got.pop("cam_to_world"), want.pop("cam_to_world"), atol=1e-12)
        assert got == want
