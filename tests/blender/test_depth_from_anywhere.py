"""Depth from PNG/TIFF/NumPy files, cameras from intrinsics and captured camera paths, checked
against Cycles' Position pass of a keyed-camera shot.

The shot (3 frames, fixed lens with lens shift, moving camera) is rendered once; its Z pass is
written as a 16-bit PNG in millimetres, an 8-bit PNG (stored x 0.05), a float TIFF and .npy,
its colour as an 8-bit PNG, and its camera path as COLMAP, TUM and transforms.json (the core's
writers). Bounds: 99th percentile of |point - Position| <= quantisation/2 x ray factor +
5e-5 x depth; the camera rebuilt from each pose file projects every pixel's surface point
where the Blender camera does within 1e-4 px.
"""
import os

import numpy as np
import pytest

from scenes import add_camera, add_primitives, look_at_euler, read_ground_truth, setup_render

W, H = 64, 48
FRAMES = (1, 2, 3)
KEYS = {1: ((4.0, -5.0, 3.0), (0.4, 0.3, 0.4)), 3: ((5.0, -3.0, 2.4), (0.0, 0.5, 0.5))}
BOUND = 5e-5


def _scene(scene):
    setup_render(scene, W, H)
    add_primitives(scene)
    cam = add_camera(scene, lens=30.0, shift_x=0.04, shift_y=-0.03, sensor_fit='HORIZONTAL')
    for frame, (loc, target) in KEYS.items():
        cam.location = loc
        cam.rotation_euler = look_at_euler(loc, target)
        cam.keyframe_insert("location", frame=frame)
        cam.keyframe_insert("rotation_euler", frame=frame)
    scene.frame_start, scene.frame_end = FRAMES[0], FRAMES[-1]
    scene.frame_set(FRAMES[0])
    return cam


@pytest.fixture(scope="module")
def shot_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("anydepth")


@pytest.fixture
def shot(scene, shot_dir):
    """``(scene, camera, folder, truth)``: truth[frame] = (position, z, model)."""
    import bpy

    from depth_cloud.core.camera import poses
    from depth_cloud.core.camera.intrinsics import from_camera_model
    from depth_cloud.core.images import read as depth_images
    from depth_cloud.core.points.colors import linear_to_srgb
    from depth_cloud.glue.camera.model import camera_model
    cam = _scene(scene)
    d = shot_dir
    if not (d / "shot_0003.exr").exists():
        scene.render.filepath = str(d / "shot_####.exr")
        scene.render.use_file_extension = False
        bpy.ops.render.render(animation=True)
        scene.frame_set(1)
    truth, frames, stamps = {}, [], []
    for f in FRAMES:
        pos, z, rgba = read_ground_truth(str(d / f"shot_{f:04d}.exr"))
        model = camera_model(cam, scene, frame=f, size=(W, H))
        truth[f] = (pos, z, model)
        surf = z < 1e9
        mm = np.where(surf, np.rint(z * 1000.0), 0).astype(np.uint16)
        depth_images.write_png(str(d / f"depth_mm_{f:04d}.png"), mm, 1)
        eight = np.where(surf, np.rint(z / 0.05), 0).astype(np.uint8)
        depth_images.write_png(str(d / f"depth_8bit_{f:04d}.png"), eight)
        depth_images.write_tiff(str(d / f"depth_{f:04d}.tif"), np.where(surf, z, 0).astype(np.float32))
        np.save(d / f"depth_{f:04d}.npy", np.where(surf, z, np.nan).astype(np.float32))
        srgb = np.rint(np.clip(linear_to_srgb(rgba[..., :3]), 0, 1) * 255).astype(np.uint8)
        depth_images.write_png(str(d / f"color_{f:04d}.png"), srgb)
        frames.append(poses.PoseFrame(name=f"color_{f:04d}.png", cam_to_world=model.cam_to_world,
                                      intrinsics=from_camera_model(model), color=str(d / f"color_{f:04d}.png"),
                                      depth=str(d / f"depth_mm_{f:04d}.png")))
        stamps.append(100.0 + 0.1 * f)
    poses.write_colmap(str(d / "colmap"), frames)
    poses.write_transforms(str(d / "transforms.json"), frames)
    poses.write_tum(str(d / "trajectory.txt"), stamps, frames)
    (d / "depth.txt").write_text("".join(f"{t + 0.004:.6f} depth_mm_{f:04d}.png\n" for t, f in zip(stamps, FRAMES)))
    (d / "rgb.txt").write_text("".join(f"{t - 0.003:.6f} color_{f:04d}.png\n" for t, f in zip(stamps, FRAMES)))
    return scene, cam, d, truth


def _errors(points, truth_f):
    pos, z, model = truth_f
    gt = pos[points.pixels[:, 1], points.pixels[:, 0]].astype(np.float64)
    err = np.linalg.norm(points.positions.astype(np.float64) - gt, axis=1)
    depth = z[points.pixels[:, 1], points.pixels[:, 0]].astype(np.float64)
    ray = np.linalg.norm(gt - model.location, axis=1) / depth  # |ray| / planar depth
    return err, depth, ray


@pytest.mark.parametrize("name, pattern, options, quantum", [
    ("16-bit PNG mm", "depth_mm_####.png", {"depth_scale": 0.001}, 0.001),
    ("8-bit PNG x0.05", "depth_8bit_####.png", {"depth_scale": 0.05}, 0.05),
    ("float TIFF", "depth_####.tif", {"invalid_value": 0}, 0.0),
    ("npy", "depth_####.npy", {"invalid_value": "nan"}, 0.0),
])
def test_depth_images_lie_on_the_position_pass(shot, name, pattern, options, quantum):
    from depth_cloud import api
    scene, cam, d, truth = shot
    for f in FRAMES:
        pts = api.unproject(scene, frame=f, source=str(d / pattern), color=str(d / "color_####.png"), camera=cam,
                            **options)
        err, depth, ray = _errors(pts, truth[f])
        bound = quantum / 2 * ray + BOUND * depth
        p99 = np.percentile(err / bound, 99)
        print(f"{name} frame {f}: {len(err)} points, p99 error/bound {p99:.3f}, max {np.max(err / bound):.3f}, "
              f"max error {err.max() * 1000:.3f} mm")
        assert np.max(err / bound) <= 1.0  # every point, not only the 99th percentile
        assert len(err) == int((truth[f][1] < 1e9).sum())  # every surface pixel, no background point
        assert not [w for w in pts.meta["warnings"] if "NaN" in w]


def test_blender_written_16bit_png_reads_exactly(shot, tmp_path):
    """A 16-bit PNG written by Blender (adaptive row filters): read through OpenImageIO or
    Blender's own loader, every value 0..65535 comes back equal."""
    import bpy

    from depth_cloud.core.images import read as depth_images
    from depth_cloud.glue.images import read_display_image
    values = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    img = bpy.data.images.new("all16", 256, 256, float_buffer=True, is_data=True)
    img.colorspace_settings.name = 'Non-Color'
    px = np.repeat((values[::-1].astype(np.float64) / 65535.0).reshape(-1, 1), 4, axis=1).astype(np.float32)
    px[:, 3] = 1
    img.pixels.foreach_set(px.ravel())
    path = str(tmp_path / "all16.png")
    from depth_cloud.glue import compat
    settings = bpy.context.scene.render.image_settings
    compat.set_image_format(settings, 'PNG')
    settings.color_mode, settings.color_depth = 'BW', '16'
    bpy.context.scene.view_settings.view_transform = 'Standard'
    img.save_render(path, scene=bpy.context.scene)
    bpy.data.images.remove(img)
    head = depth_images.png_header(path)
    print("Blender wrote", head)
    got = depth_images.read_array(path, fallback=read_display_image)  # whichever reader applies
    assert got.dtype == np.uint16 and head["bits"] == 16
    assert np.array_equal(got[..., 0], values)
    assert np.array_equal(depth_images.read_png(path)[..., 0], values)  # the pure decoder (any row filters)
    via_blender = depth_images.from_fallback(path, read_display_image, head)  # Blender's loader itself
    assert via_blender.dtype == np.uint16 and np.array_equal(via_blender[..., 0], values)


@pytest.mark.parametrize("fmt", ["COLMAP", "TUM", "TRANSFORMS"])
def test_captured_paths_rebuild_the_camera_and_build(shot, fmt):
    import bpy

    from depth_cloud import api
    from depth_cloud.glue.camera.model import camera_model
    scene, cam, d, truth = shot
    kw = {"COLMAP": dict(path=str(d / "colmap" / "images.txt"), depth=str(d / "depth_mm_####.png"),
                         color=str(d)),
          "TUM": dict(path=str(d / "trajectory.txt"), depth=str(d / "depth.txt"), color=str(d / "rgb.txt"),
                      intrinsics=_intrinsics_text(truth[1][2])),
          "TRANSFORMS": dict(path=str(d / "transforms.json"))}[fmt]
    new = api.import_camera_path(scene, format=fmt, depth_scale=0.001, folder=str(d / f"linked_{fmt}"), **kw)
    assert new.name != cam.name and scene.depth_cloud.camera == new
    for f in FRAMES:
        pos, z, model = truth[f]
        surf = z < 1e9
        rebuilt = camera_model(new, scene, frame=f, size=(W, H))
        x0, y0, _ = model.project(pos[surf])
        x1, y1, _ = rebuilt.project(pos[surf])
        worst = max(np.abs(x1 - x0).max(), np.abs(y1 - y0).max())
        # every pixel: its centre's ray through Blender's camera at 1, 5 and 50 m, seen by the rebuilt one
        cols, rows = np.meshgrid(np.arange(W), np.arange(H))
        for depth in (1.0, 5.0, 50.0):
            cam_pts = np.stack([model.plane_x(cols.ravel()) * depth, model.plane_y(rows.ravel()) * depth,
                                np.full(W * H, -depth)], axis=1)
            world = cam_pts @ model.cam_to_world[:3, :3].T + model.cam_to_world[:3, 3]
            x2, y2, _ = rebuilt.project(world)
            worst = max(worst, np.abs(x2 - cols.ravel() - 0.5).max(), np.abs(y2 - rows.ravel() - 0.5).max())
        print(f"{fmt} frame {f}: camera rebuilt, worst projection difference {worst:.2e} px")
        assert worst <= 1e-4
        pts = api.unproject(scene, frame=f)  # the scene's settings: the linked frames, the keyed camera
        err, depth, ray = _errors(pts, truth[f])
        assert np.percentile(err / (0.0005 * ray + BOUND * depth), 99) <= 1.0
        assert pts.meta["color_path"]  # colors linked too
    assert len(bpy.data.objects) >= 2


def _intrinsics_text(model):
    from depth_cloud.core.camera.intrinsics import from_camera_model
    k = from_camera_model(model)
    return f"{k.fx!r},{k.fy!r},{k.cx!r},{k.cy!r}"


def test_camera_from_intrinsics_projects_like_opencv(shot):
    from depth_cloud import api
    from depth_cloud.glue.camera.model import camera_model
    scene, cam, d, truth = shot
    pos, z, model = truth[1]
    fx, fy, cx, cy = 61.25, 59.5, 30.25, 25.75  # fy != fx: the scene's pixel aspect carries it
    new = api.camera_from_intrinsics(scene, fx, fy, cx, cy, source=str(d / "depth_####.npy"), frame=1)
    new.matrix_world = cam.matrix_world.copy()
    scene.frame_set(1)
    got = camera_model(new, scene, size=(W, H))
    surf = z < 1e9
    x, y, _ = got.project(pos[surf])
    w2cv = np.linalg.inv(got.cam_to_world @ np.diag([1.0, -1.0, -1.0, 1.0]))  # OpenCV by hand
    pc = pos[surf].astype(np.float64) @ w2cv[:3, :3].T + w2cv[:3, 3]
    u, v = fx * pc[:, 0] / pc[:, 2] + cx, fy * pc[:, 1] / pc[:, 2] + cy
    worst = max(np.abs(x - 0.5 - u).max(), np.abs(y - 0.5 - v).max())
    print(f"camera from intrinsics: worst difference to OpenCV {worst:.2e} px")
    assert worst <= 1e-4
    with pytest.raises(api.SizeMismatchError, match="640x480 image but depth file .*64x48"):
        api.camera_from_intrinsics(scene, 500, 500, 319.5, 239.5, width=640, height=480,
                                   source=str(d / "depth_####.npy"), frame=1)


def test_errors_name_the_file_and_value_and_leave_the_scene(shot, tmp_path):
    import bpy

    from depth_cloud import api
    scene, cam, d, truth = shot
    objects = len(bpy.data.objects)
    with pytest.raises(api.SourceFileError, match=r"color_0001\.png: a 3-channel colour image given as depth"):
        api.unproject(scene, frame=1, source=str(d / "color_####.png"), camera=cam)
    with pytest.raises(api.SettingsError, match="depth scale must be positive.*0"):
        api.unproject(scene, frame=1, source=str(d / "depth_mm_####.png"), camera=cam, depth_scale=0)
    files = [str(d / f"depth_mm_{f:04d}.png") for f in FRAMES] + [str(d / "depth_8bit_0001.png")]
    with pytest.raises(api.SourceFileError, match="3 pose.*4 depth images: no pose for depth_8bit_0001.png"):
        api.import_camera_path(scene, str(d / "transforms.json"), depth=files, folder=str(tmp_path / "x"))
    (tmp_path / "depth.txt").write_text(f"100.104 {d}/depth_mm_0001.png\n150.0 {d}/depth_mm_0002.png\n")
    with pytest.raises(api.SourceFileError, match=r"no partner within 0.02 s: 150.000000 \(depth_mm_0002.png\)"):
        api.import_camera_path(scene, str(d / "trajectory.txt"), depth=str(tmp_path / "depth.txt"),
                               intrinsics="60,60,31.5,23.5", folder=str(tmp_path / "x"))
    assert len(bpy.data.objects) == objects and scene.depth_cloud.camera is None


def test_cli_builds_from_png_with_intrinsics_and_poses(shot, tmp_path, capsys):
    from depth_cloud import cli
    scene, cam, d, truth = shot
    k = _intrinsics_text(truth[1][2])
    status = cli.main(["build", "--source", str(d / "depth_mm_####.png"), "--color", str(d / "color_####.png"),
                       "--depth-scale", "0.001", "--camera", cam.name, "--frames", "1-3",
                       "--output", str(tmp_path / "a_####.ply")])
    err = capsys.readouterr().err
    assert status == 0, err
    assert sorted(os.listdir(tmp_path)) == ["a_0001.ply", "a_0002.ply", "a_0003.ply"]
    lines = (d / "trajectory.txt").read_text().splitlines()
    bits = lines[2].split()
    bits[4:8] = [repr(2 * float(b)) for b in bits[4:8]]  # a quaternion of length 2: normalised, warned about
    (tmp_path / "traj.txt").write_text("\n".join(lines[:2] + [" ".join(bits)] + lines[3:]) + "\n")
    status = cli.main(["build", "--poses", str(tmp_path / "traj.txt"), "--pose-depth", str(d / "depth.txt"),
                       "--intrinsics", k, "--depth-scale", "0.001", "--frames", "1-3",
                       "--output", str(tmp_path / "b_####.ply")])
    out, err = capsys.readouterr()
    assert status == 0, err
    warned = [ln for ln in err.splitlines() if ": warning: " in ln]  # the CLI's one warning channel
    assert any("traj.txt, line 3" in ln and "has length 2, not 1; normalised" in ln for ln in warned), err
    assert f"{len(warned)} warning(s)" in out, (out, err)
    from depth_cloud.core.output.ply import read_ply
    for f in FRAMES:  # the same points as the build from the Blender camera (the pose was normalised)
        a, b = (read_ply(str(tmp_path / f"{p}_{f:04d}.ply"))["vertex"] for p in "ab")
        assert len(a) == len(b)
        assert max(np.abs(a[c] - b[c]).max() for c in "xyz") < 1e-4
    status = cli.main(["build", "--source", str(d / "depth_mm_####.png"), "--depth-scale", "-1", "--camera", cam.name,
                       "--frames", "1", "--output", str(tmp_path / "c_####.ply")])
    err = capsys.readouterr().err
    assert status != 0 and "depth scale must be positive" in err and len(err.strip().splitlines()) == 1


def test_captured_path_plays_back_fuses_and_bakes(shot, tmp_path):
    """Build Sequence + frame_set playback, fusion and the USD bake on a TUM path."""
    import bpy
    from test_sequence import displayed_points

    from depth_cloud import api
    scene, cam, d, truth = shot
    new = api.import_camera_path(scene, str(d / "trajectory.txt"), depth=str(d / "depth.txt"),
                                 color=str(d / "rgb.txt"), intrinsics=_intrinsics_text(truth[1][2]),
                                 depth_scale=0.001, folder=str(tmp_path / "linked"))
    assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
    (obj,) = [o for o in scene.objects if o.depth_cloud.sequence.is_sequence]
    assert obj.depth_cloud.sequence.depth_scale == pytest.approx(0.001)
    for f in (3, 1, 2):
        scene.frame_set(f)
        p, _c, _r = displayed_points(obj)
        pos, z, model = truth[f]
        x, y, _ = model.project(p)
        cols, rows = np.floor(x).astype(int), np.floor(y).astype(int)
        gt = pos[rows, cols].astype(np.float64)
        depth = z[rows, cols]
        ray = np.linalg.norm(gt - model.location, axis=1) / depth
        err = np.linalg.norm(p - gt, axis=1)
        print(f"playback frame {f}: {len(p)} points, p99 error/bound "
              f"{np.percentile(err / (0.0005 * ray + BOUND * depth), 99):.3f}")
        assert len(p) == int((z < 1e9).sum())
        assert np.percentile(err / (0.0005 * ray + BOUND * depth), 99) <= 1.0
    result = api.fuse_point_set(scene, frames="1-3", camera=new)
    fused = result.point_set.positions.astype(np.float64)
    # each fused point against the Position pass of the pixel it falls in, in the view where
    # it is nearest (fusion merges neighbouring views' points within a voxel)
    near = np.full(len(fused), np.inf)
    for f in FRAMES:
        pos, z, model = truth[f]
        x, y, _ = model.project(fused)
        inside = (x >= 0) & (x < W) & (y >= 0) & (y < H)
        c, r = np.floor(x[inside]).astype(int), np.floor(y[inside]).astype(int)
        d_f = np.linalg.norm(fused[inside] - pos[r, c], axis=1)
        d_f[z[r, c] >= 1e9] = np.inf
        near[inside] = np.minimum(near[inside], d_f)
    print(f"fusion: {len(fused)} points, distance to the Position pass: median {np.median(near) * 1000:.2f} mm, "
          f"p90 {np.percentile(near, 90) * 1000:.2f} mm")
    assert len(fused) > 500 and np.median(near) < 0.01
    # the same fusion from the EXR renders and their Blender camera: the same cloud within the quantisation
    ref = api.fuse_point_set(scene, source=str(d / "shot_####.exr"), frames="1-3",
                             camera=cam).point_set.positions.astype(np.float64)
    gap = np.sqrt(np.min(((fused[:, None, :] - ref[None, :, :]) ** 2).sum(axis=2), axis=1))
    print(f"fusion from EXRs: {len(ref)} points; captured-path fusion to it: median {np.median(gap) * 1000:.3f} mm, "
          f"p90 {np.percentile(gap, 90) * 1000:.3f} mm")
    assert abs(len(ref) - len(fused)) <= 0.02 * len(ref) and np.median(gap) < 0.001
    pt = api.pixel_to_world(scene, 20, 30, frame=2)
    assert np.linalg.norm(pt - truth[2][0][30, 20]) <= 0.0005 * 1.2 + BOUND * truth[2][1][30, 20]
    try:
        import pxr  # noqa: F401
    except ImportError:
        return  # the 4.2 wheel bundles no USD
    baked = api.bake_usd(scene, frames="1-3", path=str(tmp_path / "tum.usdc"))
    print(f"USD bake: frames {list(baked.frames)}, {baked.points} points")
    assert list(baked.frames) == [1, 2, 3] and baked.points == sum(int((truth[f][1] < 1e9).sum()) for f in FRAMES)


def test_camera_check_says_a_depth_image_has_no_position_pass(shot):
    from depth_cloud import api
    scene, cam, d, truth = shot
    with pytest.raises(api.SourceFileError, match="depth_mm_0001.png: a depth image holds no world Position pass"):
        api.check_camera(scene, frame=1, source=str(d / "depth_mm_####.png"), camera=cam, depth_scale=0.001)


def test_eight_bit_depth_over_256(scene, tmp_path):
    """The annotation case: an 8-bit PNG storing depth x 256 (depth < 1), scale 1/256."""
    import bpy

    from depth_cloud import api
    from depth_cloud.core.images import read as depth_images
    setup_render(scene, W, H)
    add_primitives(scene)
    cam = add_camera(scene, location=(0.75, -0.7, 1.45), target=(0.0, 0.0, 0.6), lens=24.0, clip_end=0.99)
    path = str(tmp_path / "close.exr")
    scene.render.filepath = path
    scene.render.use_file_extension = False
    bpy.ops.render.render(write_still=True)
    pos, z, _ = read_ground_truth(path)
    surf = z < 1e9
    assert surf.sum() > 0.3 * surf.size and z[surf].max() < 0.996
    depth_images.write_png(str(tmp_path / "d8.png"), np.where(surf, np.rint(z * 256), 0).astype(np.uint8), 2)
    cam.data.clip_end = 10.0  # rendered with 0.99 so that everything fits in 8 bits; build without that clip
    pts = api.unproject(scene, frame=1, source=str(tmp_path / "d8.png"), camera=cam, depth_scale=1 / 256)
    model = api.camera_model(cam, scene, size=(W, H))
    err, depth, ray = _errors(pts, (pos, z, model))
    ratio = err / (0.5 / 256 * ray + BOUND * depth)
    print(f"8-bit depth/256: {len(err)} points, p99 error/bound {np.percentile(ratio, 99):.3f}, "
          f"max error {err.max() * 1000:.2f} mm")
    assert len(err) == int(surf.sum()) and np.max(ratio) <= 1.0


def test_panel_and_operators(shot, tmp_path):
    """The panel shows Depth Scale / Invalid Value for a depth image and the two camera
    operators; the operators work from the settings and report bad input as errors."""
    import bpy

    from depth_cloud.ui.panels import draw_settings
    from ui_recorder import Recorder
    scene, cam, d, truth = shot
    settings = scene.depth_cloud
    settings.source_mode, settings.exr_path = 'SEPARATE', str(d / "depth_mm_####.png")
    settings.color_path, settings.depth_scale = str(d / "color_####.png"), 0.001
    drawn = []
    draw_settings(Recorder(drawn), bpy.context)
    assert {"depth_scale", "invalid_value", "depth_cloud.camera_from_intrinsics",
            "depth_cloud.import_camera_path"} <= set(drawn)
    k = _intrinsics_text(truth[1][2]).split(",")
    assert bpy.ops.depth_cloud.camera_from_intrinsics(fx=float(k[0]), fy=float(k[1]), cx=float(k[2]),
                                                      cy=float(k[3])) == {'FINISHED'}
    made = settings.camera
    assert made is not None and made != cam
    made.matrix_world = cam.matrix_world.copy()
    from depth_cloud import api
    pts = api.unproject(scene, frame=1)  # the settings: PNG in mm, the camera from intrinsics
    err, depth, ray = _errors(pts, truth[1])
    assert np.percentile(err / (0.0005 * ray + BOUND * depth), 99) <= 1.0
    with pytest.raises(RuntimeError, match="principal point cx=500.0"):
        bpy.ops.depth_cloud.camera_from_intrinsics(fx=50.0, fy=50.0, cx=500.0, cy=20.0)
    assert bpy.ops.depth_cloud.import_camera_path(filepath=str(d / "colmap" / "images.txt"),
                                                  depth=str(d / "depth_mm_####.png"), color=str(d)) == {'FINISHED'}
    assert settings.camera.name.startswith("Captured Camera") and settings.exr_path.endswith("depth_####.png")
    assert api.unproject(scene, frame=2).meta["points"] == int((truth[2][1] < 1e9).sum())


def test_blender_loader_reads_tiffs_exactly(scene, tmp_path):
    """16-bit (Deflate) and float TIFFs through Blender's own loader (the reader of the 4.2
    wheel, which has no OpenImageIO module): every value equal."""
    from depth_cloud.core.images import read as depth_images
    from depth_cloud.glue.images import read_display_image
    v = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    f = (np.random.default_rng(0).random((30, 40)) * 50).astype(np.float32)
    depth_images.write_tiff(str(tmp_path / "a16.tif"), v, compress=True, predictor=True)
    depth_images.write_tiff(str(tmp_path / "f32.tif"), f)
    for name, want in (("a16.tif", v), ("f32.tif", f)):
        path = str(tmp_path / name)
        got = depth_images.from_fallback(path, read_display_image, depth_images.tiff_header(path))
        assert got.dtype == want.dtype and np.array_equal(got[..., 0], want), name


def test_cli_fuse_on_a_captured_path(shot, tmp_path, capsys):
    from depth_cloud import cli
    from depth_cloud.core.output.ply import read_ply
    scene, cam, d, truth = shot
    status = cli.main(["fuse", "--poses", str(d / "transforms.json"), "--depth-scale", "0.001",
                       "--output", str(tmp_path / "fused.ply")])
    err = capsys.readouterr().err
    assert status == 0, err
    v = read_ply(str(tmp_path / "fused.ply"))["vertex"]
    fused = np.stack([v["x"], v["y"], v["z"]], axis=1).astype(np.float64)
    from depth_cloud import api
    ref = api.fuse_point_set(scene, source=str(d / "shot_####.exr"), frames="1-3",
                             camera=cam).point_set.positions.astype(np.float64)
    gap = np.sqrt(np.min(((fused[:, None, :] - ref[None, :, :]) ** 2).sum(axis=2), axis=1))
    print(f"CLI fuse --poses transforms.json: {len(fused)} points, median gap to the EXR fusion "
          f"{np.median(gap) * 1000:.3f} mm")
    assert abs(len(ref) - len(fused)) <= 0.02 * len(ref) and np.median(gap) < 0.001


def test_linking_never_overwrites_a_real_file(shot, tmp_path):
    from depth_cloud import api
    scene, cam, d, truth = shot
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "depth_0002.png").write_bytes(b"not mine to delete")
    with pytest.raises(api.OutputWriteError, match="depth_0002.png: a file of that name is already"):
        api.import_camera_path(scene, str(d / "transforms.json"), folder=str(folder))
    assert (folder / "depth_0002.png").read_bytes() == b"not mine to delete"
    assert scene.depth_cloud.camera is None
