"""Depth from PNG, TIFF and NumPy files, pinhole intrinsics and pose files (pure core)."""
import math
import os

import numpy as np
import pytest

from depth_cloud.core.camera import intrinsics, poses
from depth_cloud.core.camera.model import CameraModel
from depth_cloud.core.errors import CameraError, SettingsError, SizeMismatchError, SourceFileError
from depth_cloud.core.images import read as depth_images
from depth_cloud.core.points.passes import SourceSpec, read_frame_passes
from depth_cloud.core.points.unproject import unproject

ALL16 = np.arange(65536, dtype=np.uint16).reshape(256, 256)


@pytest.mark.parametrize("filter_type", [0, 1, 2])
def test_png16_every_value_reads_back_equal(tmp_path, filter_type):
    path = str(tmp_path / "d.png")
    depth_images.write_png(path, ALL16, filter_type)
    got = depth_images.read_array(path)
    assert got.dtype == np.uint16 and got.shape == (256, 256, 1)
    assert np.array_equal(got[..., 0], ALL16)


@pytest.mark.parametrize("dtype, channels", [(np.uint16, 1), (np.uint8, 1), (np.uint8, 3), (np.uint16, 4),
                                             (np.uint8, 2)])
def test_png_every_row_filter_mixed(tmp_path, dtype, channels):
    """Average and Paeth rows (what libpng's adaptive filtering writes) mixed with the others:
    the pure decoder reconstructs them exactly."""
    rng = np.random.default_rng(channels)
    top = np.iinfo(dtype).max
    img = rng.integers(0, top + 1, (23, 17, channels), dtype=np.int64).astype(dtype)
    img[5:9] = img[5:9].mean(axis=(0, 1), keepdims=True).astype(dtype)  # flat patch: small residuals
    filters = rng.integers(0, 5, 23)
    path = str(tmp_path / "mixed.png")
    depth_images.write_png(path, img, filters)
    with open(path, "rb") as fh:
        assert b"IDAT" in fh.read()
    assert np.array_equal(depth_images.read_png(path), img)


def test_png_rgb_and_8bit_and_tiff_roundtrip(tmp_path):
    rng = np.random.default_rng(1)
    rgb16 = rng.integers(0, 65536, (7, 5, 3), dtype=np.uint16)
    depth_images.write_png(str(tmp_path / "c.png"), rgb16, 1)
    assert np.array_equal(depth_images.read_png(str(tmp_path / "c.png")), rgb16)
    g8 = rng.integers(0, 256, (9, 4), dtype=np.uint8)
    depth_images.write_png(str(tmp_path / "g.png"), g8, 2)
    assert np.array_equal(depth_images.read_png(str(tmp_path / "g.png"))[..., 0], g8)
    f32 = rng.random((6, 8)).astype(np.float32) * 100
    for kw in ({}, {"compress": True}):
        depth_images.write_tiff(str(tmp_path / "f.tif"), f32, **kw)
        assert np.array_equal(depth_images.read_array(str(tmp_path / "f.tif"))[..., 0], f32)
    for kw in ({}, {"compress": True, "predictor": True}):
        depth_images.write_tiff(str(tmp_path / "i.tiff"), ALL16, **kw)
        assert np.array_equal(depth_images.read_array(str(tmp_path / "i.tiff"))[..., 0], ALL16)


def test_scale_invalid_and_conventions(tmp_path):
    mm = np.array([[0, 1000, 2500], [65535, 1, 3000]], np.uint16)
    depth_images.write_png(str(tmp_path / "d.png"), mm)
    p = read_frame_passes(SourceSpec(str(tmp_path / "d.png"), depth_scale=0.001), 1)
    assert p.frame_size == (3, 2) and p.invalid_pixels == 1
    assert np.isnan(p.depth[0, 0]) and p.depth[0, 1] == np.float32(1.0) and p.depth[1, 0] == np.float32(65.535)
    p = read_frame_passes(SourceSpec(str(tmp_path / "d.png"), depth_scale=0.001, invalid_value="65535"), 1)
    assert np.isnan(p.depth[1, 0]) and p.depth[0, 0] == 0
    np.save(tmp_path / "inv.npy", np.full((2, 2), 0.5, np.float32))
    p = read_frame_passes(SourceSpec(str(tmp_path / "inv.npy"), convention="INVERSE"), 1)
    cam = CameraModel(np.eye(4), 2, 2)
    pts = unproject(p, cam)
    assert np.allclose(-pts.positions[:, 2], 2.0)
    assert not pts.meta["warnings"] or "NaN" not in " ".join(pts.meta["warnings"])


def test_npz_keys_and_position(tmp_path):
    pos = np.random.default_rng(2).random((4, 5, 3)).astype(np.float32)
    np.savez(tmp_path / "a.npz", depth=np.ones((4, 5)), position=pos)
    p = read_frame_passes(SourceSpec(str(tmp_path / "a.npz")), 1)
    assert p.depth is not None and p.frame_size == (5, 4)
    p = read_frame_passes(SourceSpec(str(tmp_path / "a.npz"), kind="POSITION", depth_scale=2.0), 1)
    assert np.allclose(p.position, pos * 2)
    np.save(tmp_path / "p.npy", pos)
    p = read_frame_passes(SourceSpec(str(tmp_path / "p.npy")), 1)  # AUTO: 3 float channels = position
    assert p.position is not None
    with pytest.raises(Exception, match="no depth array"):
        np.savez(tmp_path / "b.npz", a=np.ones((2, 2)), b=np.ones((2, 2)))
        read_frame_passes(SourceSpec(str(tmp_path / "b.npz")), 1)


def test_errors_name_file_and_value(tmp_path):
    rgb = np.zeros((3, 3, 3), np.uint8)
    rgb[1, 2] = (10, 20, 30)
    depth_images.write_png(str(tmp_path / "rgb.png"), rgb)
    with pytest.raises(SourceFileError, match=r"rgb\.png.*3-channel colour image given as depth.*\(2, 1\)"):
        read_frame_passes(SourceSpec(str(tmp_path / "rgb.png")), 1)
    for bad in (0, -1, float("nan")):
        with pytest.raises(SettingsError, match="depth scale must be positive"):
            SourceSpec(str(tmp_path / "rgb.png"), depth_scale=bad)
    with pytest.raises(SettingsError, match="'abc'"):
        SourceSpec(str(tmp_path / "rgb.png"), invalid_value="abc")


def test_png_colors_without_blender(tmp_path):
    depth_images.write_png(str(tmp_path / "d.png"), np.full((2, 2), 1000, np.uint16))
    c = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [128, 128, 128]]], np.uint8)
    depth_images.write_png(str(tmp_path / "c.png"), c)
    p = read_frame_passes(SourceSpec(str(tmp_path / "d.png"), color_path=str(tmp_path / "c.png"),
                                     depth_scale=0.001), 1)
    assert np.allclose(p.color[0, 0], [1, 0, 0, 1]) and abs(p.color[1, 1, 0] - 0.2158605) < 1e-5


# ------------------------------------------------------------------ intrinsics
def test_intrinsics_round_trip_projection():
    k = intrinsics.Intrinsics(fx=525.0, fy=530.0, cx=319.5, cy=239.5 + 7.25, width=640, height=480)
    rng = np.random.default_rng(3)
    c2w = poses._rigid(poses.quat_to_matrix(*(q := rng.normal(size=4)) / np.linalg.norm(q)), rng.normal(size=3))
    model = k.camera_model(c2w)
    pts = rng.normal(size=(200, 3)) * 0.5
    pts = c2w[:3, :3] @ np.array([0, 0, -4.0]) + c2w[:3, 3] + pts  # in front of the camera
    x, y, _ = model.project(pts)
    # the independent OpenCV path: world -> OpenCV camera -> u = fx X/Z + cx (pixel centres at integers)
    w2cv = np.linalg.inv(c2w @ np.diag([1.0, -1, -1, 1]))
    u, v = intrinsics.project_opencv(k, w2cv, pts)
    assert np.max(np.abs(x - 0.5 - u)) < 1e-9 and np.max(np.abs(y - 0.5 - v)) < 1e-9
    back = intrinsics.from_camera_model(model)
    assert np.allclose([back.fx, back.fy, back.cx, back.cy], [k.fx, k.fy, k.cx, k.cy], rtol=0, atol=1e-9)


def test_intrinsics_errors():
    with pytest.raises(CameraError, match="skew 1.5"):
        intrinsics.parse_intrinsics("500 500 320 240 1.5", 640, 480)
    with pytest.raises(CameraError, match="cx=900.0.*640x480"):
        intrinsics.Intrinsics(500, 500, 900, 240, 640, 480)
    with pytest.raises(SizeMismatchError, match="640x480 image but the depth image is 320x240"):
        intrinsics.Intrinsics(500, 500, 320, 240, 640, 480).check_size(320, 240)


# ------------------------------------------------------------------ pose files
def _frames(n=4, k=None):
    rng = np.random.default_rng(5)
    k = k or intrinsics.Intrinsics(300.0, 300.0, 159.5, 119.5, 320, 240)
    out = []
    for i in range(n):
        q = rng.normal(size=4)
        out.append(poses.PoseFrame(name=f"f_{i:03d}.png", cam_to_world=poses._rigid(
            poses.quat_to_matrix(*(q / np.linalg.norm(q))), rng.normal(size=3)), intrinsics=k))
    return out


def test_colmap_round_trip_and_opencv_reading(tmp_path):
    frames = _frames()
    cams, imgs = poses.write_colmap(str(tmp_path), frames)
    got = poses.read_colmap(imgs)
    for a, b in zip(frames, got.frames):
        assert np.allclose(a.cam_to_world, b.cam_to_world, atol=1e-12)
        assert b.intrinsics.cx == a.intrinsics.cx
    # independent reading of the first image line, OpenCV conventions by hand
    line = [s for s in open(imgs).read().splitlines() if s and not s.startswith("#")][0].split()
    qw, qx, qy, qz, tx, ty, tz = map(float, line[1:8])
    r = np.array([[1 - 2 * (qy**2 + qz**2), 2 * (qx*qy - qz*qw), 2 * (qx*qz + qy*qw)],
                  [2 * (qx*qy + qz*qw), 1 - 2 * (qx**2 + qz**2), 2 * (qy*qz - qx*qw)],
                  [2 * (qx*qz - qy*qw), 2 * (qy*qz + qx*qw), 1 - 2 * (qx**2 + qy**2)]])
    cam_line = [s for s in open(cams).read().splitlines() if s and not s.startswith("#")][0].split()
    fx, fy, cx, cy = map(float, cam_line[4:8])
    p = np.array([0.3, -0.2, 0.1])
    world = frames[0].cam_to_world @ np.array([*p * 0 + [0.3, -0.2, -5.0], 1.0])
    pc = r @ world[:3] + [tx, ty, tz]
    u, v = fx * pc[0] / pc[2] + cx, fy * pc[1] / pc[2] + cy  # COLMAP: pixel corner at 0
    x, y, _ = frames[0].intrinsics.camera_model(frames[0].cam_to_world).project(world[None, :3])
    assert abs(u - x[0]) < 1e-9 and abs(v - y[0]) < 1e-9


def test_tum_association_and_quaternions(tmp_path):
    frames = _frames(3)
    stamps = [1.0, 1.1, 1.2]
    poses.write_tum(str(tmp_path / "traj.txt"), stamps, frames)
    (tmp_path / "depth.txt").write_text("1.005 d/1.png\n1.095 d/2.png\n1.21 d/3.png\n")
    got = poses.read_tum(str(tmp_path / "traj.txt"), str(tmp_path / "depth.txt"), frames[0].intrinsics)
    for a, b in zip(frames, got.frames):
        assert np.allclose(a.cam_to_world, b.cam_to_world, atol=1e-12)
    (tmp_path / "depth.txt").write_text("1.005 d/1.png\n1.5 d/9.png\n")
    with pytest.raises(SourceFileError, match=r"1 depth frame\(s\) have no partner within 0.02 s: 1.500000 \(9.png\)"):
        poses.read_tum(str(tmp_path / "traj.txt"), str(tmp_path / "depth.txt"), frames[0].intrinsics)
    (tmp_path / "t2.txt").write_text("1.0 0 0 0 0 0 0 2\n")
    _, mats, warnings = poses.read_tum_trajectory(str(tmp_path / "t2.txt"))
    assert "length 2" in warnings[0] and "t2.txt, line 1" in warnings[0]
    assert np.allclose(mats[0][:3, :3], np.diag([1, -1, -1]))


def test_transforms_round_trip_and_fewer_poses(tmp_path):
    frames = _frames(3)
    for i, f in enumerate(frames):
        f.color = str(tmp_path / f"c_{i}.png")
        f.depth = str(tmp_path / f"d_{i}.png")
    poses.write_transforms(str(tmp_path / "transforms.json"), frames)
    got = poses.read_transforms(str(tmp_path / "transforms.json"))
    for a, b in zip(frames, got.frames):
        assert np.allclose(a.cam_to_world, b.cam_to_world) and b.depth == a.depth
        assert math.isclose(b.intrinsics.cx, a.intrinsics.cx)
    with pytest.raises(SourceFileError, match="3 pose.*4 depth images: no pose for x_3.png"):
        poses.match_depth_files(got, [str(tmp_path / f"x_{i}.png") for i in range(4)])


def test_opencv_distortion_refused(tmp_path):
    (tmp_path / "cameras.txt").write_text("1 OPENCV 64 48 50 50 32 24 0.1 0 0 0\n")
    with pytest.raises(CameraError, match="distortion"):
        poses.read_colmap_cameras(str(tmp_path / "cameras.txt"))
    assert os.path.exists(tmp_path / "cameras.txt")


def test_transforms_camera_angle_without_size(tmp_path):
    """The original NeRF files: camera_angle_x only, the size from the images."""
    import json
    m = np.eye(4)
    m[:3, 3] = (0, 0, 4)
    frame = {"file_path": "./train/r_0", "transform_matrix": m.tolist()}
    (tmp_path / "transforms.json").write_text(json.dumps({"camera_angle_x": 0.6911112070083618, "frames": [frame]}))
    got = poses.read_transforms(str(tmp_path / "transforms.json"))
    assert got.frames[0].intrinsics is None
    poses.intrinsics_for_size(got, 800, 800)
    k = got.frames[0].intrinsics
    assert math.isclose(k.fx, 400 / math.tan(0.6911112070083618 / 2)) and k.cx == 399.5 and k.fy == k.fx
    with pytest.raises(SizeMismatchError, match="800x800 image but depth image"):
        poses.intrinsics_for_size(got, 400, 400)


def test_info_describes_depth_images(tmp_path):
    from depth_cloud.core.output.info import file_info, format_info
    depth_images.write_png(str(tmp_path / "d.png"), np.array([[0, 7], [1000, 65535]], np.uint16))
    info = file_info(str(tmp_path / "d.png"), stats=True)
    assert (info["width"], info["height"], info["type"], info["kind"]) == (2, 2, "uint16", "DEPTH")
    assert info["stats"] == {"min": 7.0, "max": 65535.0, "zeros": 1, "nonfinite": 0}
    assert "2x2, 1 channel(s) of uint16" in "\n".join(format_info(info))


def test_depth_scale_applies_to_exr_depth_flat_and_deep(tmp_path):
    """Stored x scale for EXRs too (flat Z, a position pass and deep samples), before the convention."""
    import OpenEXR

    from depth_cloud.core.points import deep
    z = np.full((3, 4), 2000.0, np.float32)
    z[0, 0] = 1500.0
    pos = np.random.default_rng(4).random((3, 4, 3)).astype(np.float32)
    hdr = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    chans = {"Z": z, **{f"P.{c}": np.ascontiguousarray(pos[..., k]) for k, c in enumerate("XYZ")}}
    with OpenEXR.File(hdr, chans) as f:
        f.write(str(tmp_path / "z.exr"))
    p = read_frame_passes(SourceSpec(str(tmp_path / "z.exr"), depth_scale=0.001), 1)
    assert p.depth[0, 0] == np.float32(1.5) and p.depth[1, 1] == np.float32(2.0)
    p = read_frame_passes(SourceSpec(str(tmp_path / "z.exr"), kind="POSITION", depth_scale=2.0), 1)
    assert np.allclose(p.position, pos * 2)
    counts = np.ones((2, 3), np.int32)
    dz = np.arange(1, 7, dtype=np.float32) * 1000
    path = deep.write_deep_exr(str(tmp_path / "d.exr"), counts, {"Z": dz, "A": np.ones(6, np.float32)})
    cam = CameraModel(np.eye(4), 3, 2)
    ps = unproject(read_frame_passes(SourceSpec(path, depth_scale=0.001), 1), cam)
    assert np.allclose(ps.depth, dz / 1000)
