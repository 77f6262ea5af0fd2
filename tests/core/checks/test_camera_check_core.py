"""Camera check without Blender: an analytic scene (spheres ray traced through a CameraModel)
gives depth and the world position of every pixel; wrong cameras are made on purpose and must
be detected and named."""
from dataclasses import replace

import numpy as np
import pytest

from depth_cloud.core.camera.lists import camera_from_direction
from depth_cloud.core.camera.model import CameraModel
from depth_cloud.core.checks import camera_check as cc
from depth_cloud.core.errors import ChannelError, InvalidDepthError
from depth_cloud.core.points import depth as depth_mod
from synthetic import rays, render_depth


def _camera(**kw):
    m = camera_from_direction(np.array([0.3, -1.0, 0.4]) / np.linalg.norm([0.3, -1.0, 0.4]), 2.0, (0, 0, 0))
    return CameraModel(cam_to_world=m, width=kw.pop("width", 96), height=kw.pop("height", 64), **kw)


def _frame(camera):
    """``(planar depth, Position pass)`` of the spheres seen by ``camera`` (background 1e10 / 0)."""
    z = render_depth(camera)
    o, d = rays(camera)
    hit = np.isfinite(z)
    pos = np.where(hit[..., None], o + d * np.where(hit, z, 0)[..., None], 0.0)
    return np.where(hit, z, 1e10).astype(np.float32), pos.astype(np.float32)


def _samples(camera, convention=depth_mod.PLANAR, store=depth_mod.PLANAR):
    z, pos = _frame(camera)
    raw = z if store == depth_mod.PLANAR else np.where(z < 1e9, depth_mod.from_planar(z, store, camera), 1e10)
    return cc.samples_from_arrays(raw, pos, convention, path="frame.exr")


def test_correct_camera_is_sub_pixel():
    cam = _camera(lens=35.0, shift_x=0.05, shift_y=-0.03)
    report = cc.check_camera(_samples(cam), cam, "Camera")
    assert report.ok and report.cause is None
    assert report.measure.reprojection_p99 < 1e-3
    assert report.measure.relative_p99 < 1e-5
    assert "matches" in report.summary()


@pytest.mark.parametrize("render_kw, scene_kw, cause, words", [
    (dict(lens=35.0), dict(lens=50.0), cc.LENS, "focal length 35"),
    (dict(lens=35.0, shift_x=0.1), dict(lens=35.0), cc.SHIFT, "shift (0.1"),
    (dict(lens=35.0, shift_y=0.08), dict(lens=30.0), cc.LENS_AND_SHIFT, "focal length 35"),
    (dict(lens=35.0, sensor_fit="VERTICAL", sensor_height=20.0), dict(lens=35.0, sensor_height=20.0), cc.SENSOR_FIT,
     "Vertical"),
    (dict(projection="ORTHO", ortho_scale=2.0), dict(projection="ORTHO", ortho_scale=2.5), cc.LENS,
     "orthographic scale 2 "),
])
def test_intrinsic_mismatch_is_named(render_kw, scene_kw, cause, words):
    samples = _samples(_camera(**render_kw))
    report = cc.check_camera(samples, _camera(**scene_kw), "Camera")
    assert not report.ok
    assert report.measure.reprojection_median > 1.0
    assert report.cause == cause, report.lines()
    assert words in report.explanation, report.explanation
    assert report.best.measure.reprojection_p99 < 0.05


def test_ray_distance_read_as_planar_is_named():
    cam = _camera(lens=24.0)
    report = cc.check_camera(_samples(cam, store=depth_mod.RAY_DISTANCE), cam, "Camera")
    assert not report.ok
    assert report.measure.reprojection_median < 1e-3  # the camera itself is right…
    assert report.measure.relative_median > 1e-3  # …the depth is not planar
    assert report.cause == cc.CONVENTION and "ray distance" in report.explanation


@pytest.mark.parametrize("store, near, far, words", [
    (depth_mod.NORMALIZED, 1.0, 4.0, "normalized (near 1, far 4)"),
    (depth_mod.ZBUFFER, 0.5, 20.0, "Z-buffer (near 0.5, far 20)"),
    (depth_mod.INVERSE, 0.0, 0.0, "inverse depth"),
])
def test_other_stored_conventions_are_named_with_their_range(store, near, far, words):
    cam = _camera(lens=30.0)
    z, pos = _frame(cam)
    raw = np.where(z < 1e9, depth_mod.from_planar(np.where(z < 1e9, z, 1.0), store, cam, near, far), 1e10)
    report = cc.check_camera(cc.samples_from_arrays(raw.astype(np.float32), pos, path="frame.exr"), cam, "Camera")
    assert not report.ok
    assert report.cause == cc.CONVENTION and words in report.explanation, report.explanation
    if store != depth_mod.INVERSE:
        assert report.best.near == pytest.approx(near, rel=1e-3) and report.best.far == pytest.approx(far, rel=1e-3)


def test_given_alternatives_are_ranked_and_named():
    right = _camera(lens=35.0)
    moved = replace(right, cam_to_world=right.cam_to_world @ _rotation_z(0.02))
    samples = _samples(right)
    alts = [cc.Alternative(cc.FRAME, "the camera at frame 11 (one frame earlier)", right)]
    report = cc.check_camera(samples, moved, "Camera at frame 12", alts)
    assert report.cause == cc.FRAME and "frame 11" in report.explanation


def test_nothing_fits_says_what_was_tried():
    right = _camera(lens=35.0)
    far_off = replace(right, cam_to_world=right.cam_to_world @ _rotation_z(0.5))
    report = cc.check_camera(_samples(right), far_off, "Camera")
    assert not report.ok and report.cause is None
    assert "no tested alternative" in report.explanation and "lens" in report.explanation


def test_file_camera_compared():
    cam = _camera(lens=35.0)
    other = _camera(lens=50.0)
    report = cc.check_camera(_samples(cam), cam, "Camera",
                             compare_with=cc.Alternative(cc.FILE_CAMERA, "the file's camera", other))
    assert report.ok and report.compared.measure.reprojection_median > 1
    assert any("does NOT match" in n for n in report.notes)


def test_bad_inputs_are_named():
    z, pos = _frame(_camera())
    with pytest.raises(ChannelError, match="frame.exr"):
        cc.samples_from_arrays(z, pos[:-1], path="frame.exr")
    with pytest.raises(InvalidDepthError, match="empty.exr"):
        cc.samples_from_arrays(np.full_like(z, 1e10), pos, path="empty.exr")


def _rotation_z(angle):
    c, s = np.cos(angle), np.sin(angle)
    m = np.eye(4)
    m[:2, :2] = [[c, -s], [s, c]]
    return m


# ------------------------------------------------------------------ row bands (issue 12)
def _bands(h, lines=4, count=6):
    """Rows of ``count`` bands of ``lines`` rows spread from the top row to the bottom one."""
    starts = np.linspace(0, h - lines, count).round().astype(int)
    return np.unique(np.concatenate([np.arange(s, s + lines) for s in starts]))


def test_samples_from_every_row_are_the_full_samples():
    """Given every row, the band sampler takes exactly the pixels of the full one."""
    z, pos = _frame(_camera(lens=35.0))
    rows = np.arange(z.shape[0])
    for max_samples in (cc.MAX_SAMPLES, 500):
        a = cc.samples_from_arrays(z, pos, window=(5, 7), frame_size=(120, 90), path="f.exr", max_samples=max_samples)
        b = cc.samples_from_rows(z, rows, pos[rows], window=(5, 7), frame_size=(120, 90), path="f.exr",
                                 max_samples=max_samples)
        for name in ("cols", "rows", "position", "depth"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert a.valid_pixels == b.valid_pixels and a.frame_size == b.frame_size


def test_band_samples_keep_the_pixel_conventions_and_find_the_causes():
    """Samples from row bands: frame rows are the bands' rows plus the window offset, every
    sampled pixel is a valid one of those rows, spread over the frame; the right camera is
    sub-pixel and the mismatches of the full check are named the same."""
    cam = _camera(lens=35.0, width=96, height=64)
    z, pos = _frame(cam)
    rows = _bands(64)
    planes = tuple(pos[rows][..., k] for k in range(3))
    s = cc.samples_from_rows(z, rows, planes, window=(0, 0), path="frame.exr", max_samples=1000)
    seen = rows[(z[rows] < 1e9).any(axis=1)]  # the band rows where a sphere is seen
    assert set(s.rows.tolist()) <= set(rows.tolist()) and s.rows.min() == seen[0] and s.rows.max() == seen[-1]
    assert s.cols.max() - s.cols.min() > 48
    np.testing.assert_array_equal(s.depth, z[s.rows, s.cols])
    np.testing.assert_array_equal(s.position, pos[s.rows, s.cols])
    assert 0.5 * np.count_nonzero(z < 1e9) < s.valid_pixels < 2 * np.count_nonzero(z < 1e9)  # the frame's, estimated
    offset = cc.samples_from_rows(z, rows, planes, window=(4, 9), path="frame.exr", max_samples=1000)
    np.testing.assert_array_equal(offset.rows, s.rows + 9)
    np.testing.assert_array_equal(offset.cols, s.cols + 4)
    assert cc.check_camera(s, cam, "Camera").ok
    report = cc.check_camera(s, _camera(lens=50.0, width=96, height=64), "Camera")
    assert not report.ok and report.cause == cc.LENS and "focal length 35" in report.explanation
    ray = np.where(z < 1e9, depth_mod.from_planar(z, depth_mod.RAY_DISTANCE, cam), 1e10).astype(np.float32)
    report = cc.check_camera(cc.samples_from_rows(ray, rows, planes, path="frame.exr"), cam, "Camera")
    assert report.cause == cc.CONVENTION and "ray distance" in report.explanation
    with pytest.raises(ChannelError, match="frame.exr"):
        cc.samples_from_rows(z, rows[:-1], planes, path="frame.exr")
    with pytest.raises(ChannelError, match="frame.exr"):
        cc.samples_from_rows(z, rows + 64, planes, path="frame.exr")
    with pytest.raises(InvalidDepthError, match="empty.exr"):
        cc.samples_from_rows(np.full_like(z, 1e10), rows, planes, path="empty.exr")


def test_planar_z_read_as_ray_distance_is_called_planar():
    """Issue 23: the near 0 / far 1 "normalized" fit of a planar depth is planar Z, and the
    check names it so (never "normalized (near 4.013e-07, far 1)")."""
    cam = _camera(lens=35.0)
    samples = _samples(cam, convention=depth_mod.RAY_DISTANCE)  # planar stored, read as distance
    labels = [a.label for a in cc.convention_alternatives(samples, cam)]
    assert not [label for label in labels if label.startswith("depth convention normalized")], labels
    report = cc.check_camera(samples, cam, "Camera")
    assert report.cause == cc.CONVENTION and "planar Z" in report.explanation, report.explanation
