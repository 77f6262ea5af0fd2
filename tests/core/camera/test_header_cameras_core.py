"""Cameras in EXR headers without Blender: the standard matrices, Nuke's keys, the stamp
note, and what ``describe_cameras`` says."""
import json

import numpy as np
import pytest

from depth_cloud.core.camera import from_header as metadata
from depth_cloud.core.camera import lens as panorama
from depth_cloud.core.camera.model import CameraModel
from depth_cloud.core.errors import CameraError


def _matrix(seed=3, location=(2.0, -6.0, 1.5)):
    rng = np.random.default_rng(seed)
    q = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    m = np.eye(4)
    m[:3, :3] = q * np.sign(np.linalg.det(q))
    m[:3, 3] = location
    return m


def _points(cam, n=500, seed=4):
    rng = np.random.default_rng(seed)
    local = np.stack([rng.uniform(-2, 2, n), rng.uniform(-2, 2, n), -rng.uniform(1, 10, n)], axis=1)
    return local @ cam.cam_to_world[:3, :3].T + cam.cam_to_world[:3, 3]


@pytest.mark.parametrize("kw", [
    dict(projection="PERSP", lens=35.0, shift_x=0.1, shift_y=-0.05),
    dict(projection="PERSP", lens=20.0, sensor_fit="VERTICAL", sensor_height=18.0, shift_y=0.2),
    dict(projection="PERSP", lens=50.0, pixel_aspect_x=1.0, pixel_aspect_y=1.3, shift_x=-0.1),
    dict(projection="ORTHO", ortho_scale=5.0, shift_x=0.05, shift_y=0.1, pixel_aspect_x=2.0),
])
def test_standard_matrices_round_trip(kw):
    cam = CameraModel(cam_to_world=_matrix(), width=64, height=40, **kw)
    header = metadata.camera_to_standard(cam)
    back = metadata.camera_from_standard(header, (64, 40))
    p = _points(cam)
    for a, b in zip(cam.project(p), back.project(p)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    # the OpenEXR convention itself: row vector times matrix, NDC = pixel / size, y down
    h = np.concatenate([p, np.ones((len(p), 1))], axis=1) @ header["worldToNDC"].astype(np.float64)
    x, y, _ = cam.project(p)
    np.testing.assert_allclose(h[:, 0] / h[:, 3] * 64, x, atol=1e-3)
    np.testing.assert_allclose(h[:, 1] / h[:, 3] * 40, y, atol=1e-3)
    cam_space = np.concatenate([p, np.ones((len(p), 1))], axis=1) @ header["worldToCamera"].astype(np.float64)
    assert np.all(cam_space[:, 2] > 0)  # in front of a RenderMan camera: +z


def test_standard_matrices_that_no_lens_can_make_are_refused():
    m = metadata.camera_to_standard(CameraModel(cam_to_world=_matrix(), width=64, height=40))
    skew = m["worldToNDC"].astype(np.float64).copy()
    skew = (np.linalg.inv(m["worldToCamera"].astype(np.float64)) @ skew)
    skew[1, 0] += 0.2  # x_ndc now depends on y
    bad = {"worldToCamera": m["worldToCamera"], "worldToNDC": m["worldToCamera"].astype(np.float64) @ skew}
    with pytest.raises(CameraError, match="skewed"):
        metadata.camera_from_standard(bad, (64, 40), "f.exr")
    mirrored = dict(m, worldToNDC=m["worldToNDC"] * np.array([1, -1, 1, 1], np.float32))
    with pytest.raises(CameraError, match="mirrors"):
        metadata.camera_from_standard(mirrored, (64, 40), "f.exr")
    assert metadata.camera_from_standard({"worldToCamera": m["worldToCamera"]}, (64, 40)) is None


def test_nuke_keys_from_foundry_example():
    """The example in Foundry's Python Developers Guide (Metadata chapter): a camera at
    (9.51, 2, -3.09) looking at the origin, 50 mm on a 24.576 mm aperture."""
    header = {
        "nuke/camera/matrix": "[-0.30901703238487244, -0.16514922678470612, 0.93660777807235718, 9.5105648040771484, "
                              "0.0, 0.98480772972106934, 0.1736481785774231, 2.0, -0.95105648040771484, "
                              "0.05366024374961853, -0.30432236194610596, -3.0901703834533691, 0.0, 0.0, 0.0, 1.0]",
        "nuke/camera/focal": "50.0", "nuke/camera/haperture": "24.576", "nuke/camera/vaperture": "18.672",
    }
    cam, source = metadata.header_camera(header, (2048, 1556))
    assert source == "nuke/camera/*" and cam.projection == "PERSP"
    np.testing.assert_allclose(cam.location, [9.5105648, 2.0, -3.0901704], atol=1e-6)
    forward = -cam.cam_to_world[:3, 2]
    to_origin = -cam.location / np.linalg.norm(cam.location)
    assert forward @ to_origin > 0.99
    x, y, depth = cam.project(np.zeros((1, 3)))  # the origin is near the middle of the frame
    assert abs(x[0] - 1024) < 300 and abs(y[0] - 778) < 300 and depth[0] > 9


def test_stamp_note_fits_and_round_trips():
    for kind in panorama.TYPES + (None,):
        cam = CameraModel(cam_to_world=_matrix(location=(1234.5678, -3.25, 2.0)), width=1920, height=1080,
                          projection="PANO" if kind else "PERSP", lens=23.456789, sensor_fit="VERTICAL",
                          sensor_width=35.1234, sensor_height=23.8765, shift_x=0.123456, shift_y=-0.0987,
                          clip_start=0.0123, clip_end=456.7, pixel_aspect_y=1.0123,
                          panorama=panorama.panorama_dict(kind, fisheye_fov=3.0123) if kind else {})
        note = metadata.camera_to_note(cam, {"convention": "RAY_DISTANCE", "near": 0.1, "far": 100.0})
        assert len(note) <= metadata.NOTE_MAX_CHARS, (kind, len(note))
        back = metadata.camera_from_header({"Note": note})
        np.testing.assert_allclose(back.cam_to_world, cam.cam_to_world, atol=2e-7 * 1234.6)
        assert back.panorama.keys() == cam.panorama.keys()
        assert metadata.convention_from_header({"Note": note}) == ("RAY_DISTANCE", 0.1, 100.0)
        p = _points(cam, 50) if not kind else None
        if p is not None:
            for a, b in zip(cam.project(p), back.project(p)):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
    # notes in the long form (plain to_dict) are still read
    long_note = metadata.NOTE_PREFIX + json.dumps({"camera": cam.to_dict()})
    assert metadata.camera_from_header({"Note": long_note}).lens == cam.lens


def test_resolution_order_and_description():
    own = CameraModel(cam_to_world=_matrix(), width=64, height=40, lens=40.0)
    other = CameraModel(cam_to_world=_matrix(seed=9), width=64, height=40, lens=20.0)
    header = {**metadata.camera_to_standard(other), **metadata.camera_to_header(own), "Camera": "Cam.001",
              "cameraTransform": np.eye(4, dtype=np.float32), "displayWindow": ((0, 0), (63, 39))}
    cam, source = metadata.header_camera(header, (64, 40))
    assert source == metadata.HEADER_CAMERA and cam.lens == 40.0
    lines = metadata.describe_cameras(header)
    text = "\n".join(lines)
    assert "depthCloud/camera: perspective, lens 40" in lines[0] and lines[0].endswith("[used]")
    assert "worldToCamera/worldToNDC: perspective, lens 20" in text and text.count("[used]") == 1
    assert "V-Ray camera keys (cameraTransform)" in text and "'Cam.001'" in text
    del header[metadata.HEADER_CAMERA]
    cam, source = metadata.header_camera(header, (64, 40))
    assert source == "worldToCamera/worldToNDC" and abs(cam.lens / cam.sensor_width - 20.0 / 36.0) < 1e-5
    only = {"worldToCamera": np.eye(4, dtype=np.float32)}
    assert "not enough" in metadata.describe_cameras(only, (8, 8))[0]
    assert metadata.describe_cameras({}, (8, 8)) == ["no camera in the header"]
    cut = metadata.describe_cameras({"Note": metadata.camera_to_note(own)[:60]}, (8, 8))
    assert "not valid JSON" in cut[0]
