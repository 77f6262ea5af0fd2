"""Deep EXRs against Blender's own ground truth.

Each frame of a 2-frame shot (keyframed camera) is rendered by Cycles twice: the back objects
(ground plane, cube, sphere) alone and the front objects (a sphere and a box in front of them)
alone, each with Z, Position and Combined. The deep file of the frame is written here with
the OpenEXR bindings: each pixel's samples are what the two renders saw there, at their Z
(front sample first, alpha 0.6, premultiplied; back sample alpha 1). Every point must match
the Position pass of the render its sample came from (p99 <= 5e-5 x depth), with the straight
Combined color. Every entry point is exercised: the API, Build, Build Sequence + playback,
the CLI (build, info), fusion and the USD bake.
"""
import os
import re

import numpy as np
import pytest

from paths import OPENEXR_IMAGES
from scenes import add_camera, look_at_euler, material, read_ground_truth, render, setup_render

BOUND = 5e-5
W, H = 48, 36
FRAMES = (1, 2)
FRONT_ALPHA = 0.6
CAMERA_KEYS = {1: ((4.0, -5.0, 3.0), (0.4, 0.3, 0.4)), 2: ((4.8, -4.0, 2.6), (0.2, 0.5, 0.5))}


def _collection(scene, name):
    import bpy
    coll = bpy.data.collections.new(name)
    scene.collection.children.link(coll)
    return coll


def _add(coll, op, color, **kw):
    import bpy
    op(**kw)
    ob = bpy.context.object
    for c in ob.users_collection:
        c.objects.unlink(ob)
    coll.objects.link(ob)
    ob.data.materials.append(material(f"M{len(bpy.data.materials)}", color))
    return ob


def _deep_scene(scene):
    import bpy
    setup_render(scene, W, H)
    scene.render.film_transparent = True
    back, front = _collection(scene, "Back"), _collection(scene, "Front")
    _add(back, bpy.ops.mesh.primitive_plane_add, (0.1, 0.2, 0.8), size=6.0)
    _add(back, bpy.ops.mesh.primitive_cube_add, (0.8, 0.05, 0.05), size=1.0, location=(0.0, 0.0, 0.5))
    _add(back, bpy.ops.mesh.primitive_uv_sphere_add, (0.05, 0.7, 0.1), radius=0.6, location=(1.4, 0.8, 0.6))
    _add(front, bpy.ops.mesh.primitive_uv_sphere_add, (0.9, 0.8, 0.1), radius=0.5, location=(2.2, -2.0, 1.3))
    _add(front, bpy.ops.mesh.primitive_cube_add, (0.7, 0.2, 0.9), size=0.6, location=(1.2, -1.8, 1.6))
    bpy.ops.object.light_add(type='SUN', location=(2, -2, 5), rotation=(0.6, 0.2, 0.4))
    cam = add_camera(scene, lens=35.0)
    for frame, (loc, target) in CAMERA_KEYS.items():
        cam.location = loc
        cam.rotation_euler = look_at_euler(loc, target)
        cam.keyframe_insert("location", frame=frame)
        cam.keyframe_insert("rotation_euler", frame=frame)
    scene.frame_start, scene.frame_end = FRAMES[0], FRAMES[-1]
    scene.frame_set(FRAMES[0])
    return cam, back, front


def _layers(front_path, back_path):
    """Per pixel (h*w, 2) arrays [front, back]: hit, Z, Position, Combined."""
    hit, z, pos, rgba = [], [], [], []
    for path in (front_path, back_path):
        p, d, c = read_ground_truth(path)
        hit.append((d < 1e9).reshape(-1))
        z.append(d.reshape(-1))
        pos.append(p.reshape(-1, 3))
        rgba.append(c.reshape(-1, 4))
    return np.stack(hit, 1), np.stack(z, 1), np.stack(pos, 1), np.stack(rgba, 1)


def write_deep_frame(path, front_path, back_path):
    """The deep file of one frame; returns the ground truth of its samples in file order."""
    from depth_cloud.core.points.deep import write_deep_exr
    hit, z, pos, rgba = _layers(front_path, back_path)
    alpha = np.where(np.arange(2) == 0, np.float32(FRONT_ALPHA), np.float32(1.0))[None, :].repeat(len(hit), 0)
    counts = hit.sum(1).reshape(H, W).astype(np.int32)
    a = alpha[hit]
    premult = rgba[hit][:, :3] * a[:, None]
    write_deep_exr(path, counts, {"Z": z[hit], "A": a, **{c: premult[:, i] for i, c in enumerate("RGB")}})
    pixel, layer = np.nonzero(hit)
    return {"counts": counts, "z": z[hit], "position": pos[hit], "rgb": rgba[hit][:, :3], "alpha": a,
            "front": layer == 0, "first": (layer == 0) | ~hit[pixel, 0], "hit": hit}


@pytest.fixture(scope="module")
def shot_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("deep_shot")


@pytest.fixture
def shot(scene, shot_dir):
    """``(scene, camera, pattern, truth by frame)``: the scene rebuilt, frames rendered once."""
    cam, back, front = _deep_scene(scene)
    truth = {}
    for frame in FRAMES:
        deep_path = str(shot_dir / f"deep_{frame:04d}.exr")
        paths = [str(shot_dir / f"{n}_{frame:04d}.exr") for n in ("front", "back")]
        if not all(os.path.isfile(p) for p in paths):
            scene.frame_set(frame)
            for coll, path in ((back, paths[0]), (front, paths[1])):
                coll.hide_render = True
                render(scene, path)
                coll.hide_render = False
        truth[frame] = write_deep_frame(deep_path, *paths)
    scene.frame_set(FRAMES[0])
    return scene, cam, str(shot_dir / "deep_####.exr"), truth


def _errors(positions, t):
    gt = t["position"]
    return np.linalg.norm(positions.astype(np.float64) - gt, axis=1) / t["z"]


def test_points_match_the_position_pass_of_their_sample(shot):
    from depth_cloud import api
    scene, cam, pattern, truth = shot
    for frame in FRAMES:
        t = truth[frame]
        ps = api.unproject(scene, frame=frame, source=pattern)
        assert len(ps) == len(t["z"]) == int(t["counts"].sum())  # one point per sample
        assert t["front"].sum() > 50 and (t["counts"] == 2).sum() > 50  # really two layers
        err = _errors(ps.positions, t)
        p99 = float(np.percentile(err, 99))
        print(f"frame {frame}: {len(ps)} points ({int(t['front'].sum())} front samples), p99 {p99:.2e} x depth, "
              f"max {err.max():.2e}")
        assert p99 <= BOUND
        np.testing.assert_array_equal(ps.depth, t["z"])
        np.testing.assert_allclose(ps.colors[:, :3], t["rgb"], rtol=1e-6, atol=1e-7)  # straight
        np.testing.assert_array_equal(ps.attributes["alpha"], t["alpha"])
        counts = t["counts"].reshape(-1)[ps.pixel_index]
        np.testing.assert_array_equal(ps.attributes["sample_count"], counts)
        np.testing.assert_array_equal(ps.attributes["sample"], np.where(t["front"] | (counts == 1), 0, 1))


def test_front_sample_and_min_alpha(shot):
    from depth_cloud import api
    scene, cam, pattern, truth = shot
    t = truth[1]
    front = api.unproject(scene, frame=1, source=pattern, deep_samples='FRONT')
    # front sample: what a flat render of everything shows (the front render where it hit)
    keep = t["first"]
    assert len(front) == int((t["counts"] > 0).sum()) == int(keep.sum())
    assert np.percentile(np.linalg.norm(front.positions - t["position"][keep], axis=1) / t["z"][keep], 99) <= BOUND
    opaque = api.unproject(scene, frame=1, source=pattern, deep_min_alpha=0.7)
    assert len(opaque) == int((~t["front"]).sum())
    back = ~t["front"]
    assert np.percentile(_errors(opaque.positions, {"position": t["position"][back], "z": t["z"][back]}), 99) <= BOUND


def test_build_operator_and_surface(shot):
    import bpy

    from depth_cloud import api
    scene, cam, pattern, truth = shot
    t = truth[1]
    scene.depth_cloud.exr_path = pattern
    assert bpy.ops.depth_cloud.build() == {'FINISHED'}
    ob = next(o for o in scene.objects if o.depth_cloud.is_cloud)
    n = len(ob.data.points)
    assert n == len(t["z"])
    for name, want in (("sample_count", t["counts"].reshape(-1)[np.repeat(np.arange(W * H),
                                                                           t["counts"].reshape(-1))]),
                       ("alpha", t["alpha"])):
        got = np.empty(n, np.float32 if name == "alpha" else np.int32)
        ob.data.attributes[name].data.foreach_get("value", got)
        np.testing.assert_array_equal(got, want)
    pos = np.empty(n * 3, np.float32)
    ob.data.attributes["position"].data.foreach_get("vector", pos)
    assert np.percentile(_errors(pos.reshape(-1, 3), t), 99) <= BOUND
    # a surface needs one point per pixel: it is made of each pixel's front sample
    api.set_display([ob], mode='SURFACE')
    surface = ob.depth_cloud.display.surface
    assert surface is not None and len(surface.data.polygons) == int((t["counts"] > 0).sum())
    # rebuilding with the front sample only is undoable settings, saved with the scene
    scene.depth_cloud.deep_samples = 'FRONT'
    assert bpy.ops.depth_cloud.build() == {'FINISHED'}
    assert len(ob.data.points) == int((t["counts"] > 0).sum())


def test_sequence_plays_back(shot):
    import bpy
    from test_sequence import displayed_points
    scene, cam, pattern, truth = shot
    scene.depth_cloud.exr_path = pattern
    scene.depth_cloud.sequence.mode = 'LAZY'
    assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
    obj = next(o for o in scene.objects if o.depth_cloud.sequence.is_sequence)
    assert obj.depth_cloud.sequence.deep_samples == 'ALL'
    for frame in (2, 1, 2):
        scene.frame_set(frame)
        p, c, r = displayed_points(obj)
        t = truth[frame]
        assert len(p) == len(t["z"])
        p99 = float(np.percentile(_errors(p, t), 99))
        print(f"playback frame {frame}: {len(p)} points, p99 {p99:.2e} x depth")
        assert p99 <= BOUND


def test_cli_build_and_info(shot, tmp_path, capsys):
    from depth_cloud import cli
    from depth_cloud.core.output.ply import read_ply
    scene, cam, pattern, truth = shot
    out = str(tmp_path / "c_####.ply")
    assert cli.main(["build", "--source", pattern, "--frames", "1-2", "-o", out]) == 0
    for frame in FRAMES:
        ply = read_ply(out.replace("####", f"{frame:04d}"))
        t = truth[frame]
        xyz = np.stack([ply["vertex"][c] for c in "xyz"], axis=1)
        assert len(xyz) == len(t["z"])
        assert np.percentile(_errors(xyz, t), 99) <= BOUND
    assert cli.main(["build", "--source", pattern, "--frames", "1", "--deep-samples", "front", "--overwrite",
                     "-o", out]) == 0
    assert len(read_ply(out.replace("####", "0001"))["vertex"]) == int((truth[1]["counts"] > 0).sum())
    capsys.readouterr()
    assert cli.main(["info", pattern.replace("####", "0001")]) == 0
    text = capsys.readouterr().out
    t = truth[1]
    assert re.search(rf"deep part 0: {int(t['counts'].sum()):,} samples in {W * H:,} pixels, "
                     rf"{t['counts'].min()}\.\.{t['counts'].max()} samples per pixel", text), text
    assert cli.main(["build", "--source", pattern, "--frames", "1", "--deep-samples", "middle", "-o", out]) == 2
    assert "deep samples" in capsys.readouterr().err
    from depth_cloud.core.points.deep import write_deep_exr
    no_z = write_deep_exr(str(tmp_path / "noz_0001.exr"), t["counts"], {"R": t["alpha"]})
    assert cli.main(["build", "--source", no_z, "--frames", "1", "-o", str(tmp_path / "bad_####.ply")]) != 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and no_z in err[0] and "no depth (Z) channel in deep part" in err[0], err


def _nearest(points, targets):
    """Distance from each of ``points`` to the nearest of ``targets`` (brute force, small sets)."""
    p = np.asarray(points, np.float64)
    return np.sqrt(((p[:, None, :] - np.asarray(targets, np.float64)[None, :, :]) ** 2).sum(-1)).min(1)


def test_fusion_takes_every_deep_sample(shot):
    """Deep views feed fusion with all their samples: the depth map (for the multi-view checks)
    holds each pixel's front sample, the samples behind it come along as points."""
    from depth_cloud import api
    scene, cam, pattern, truth = shot
    opts = dict(source=pattern, frames="1-2", min_views=1, neighbor_support=0, outlier_neighbors=0)
    every = api.fuse_point_set(scene, **opts)
    front = api.fuse_point_set(scene, deep_samples='FRONT', **opts)
    voxel = every.voxel_size
    samples = np.concatenate([truth[f]["position"] for f in FRAMES])
    behind = np.concatenate([truth[f]["position"][~truth[f]["first"]] for f in FRAMES])
    for name, result in (("all", every), ("front", front)):
        d = _nearest(result.point_set.positions, samples)
        cover = float(np.mean(_nearest(behind, result.point_set.positions) <= voxel))
        print(f"fused ({name} samples): {len(result.point_set)} points, voxel {result.voxel_size:.4f}, distance to "
              f"the samples p90 {np.percentile(d, 90):.4f}, samples behind a front one covered {cover:.0%}")
        # merged on the voxel grid: every fused point is within a voxel of a sample the files hold
        assert np.percentile(d, 90) <= result.voxel_size
        if name == "all":
            assert cover >= 0.95  # the hidden samples are in the fused cloud
        else:
            assert cover < 0.9  # front samples alone leave part of them out
    assert len(every.point_set) > len(front.point_set)


def test_usd_bake_of_a_deep_sequence(shot, tmp_path):
    from depth_cloud import api
    scene, cam, pattern, truth = shot
    try:
        from scenes import add_bundled_modules
        add_bundled_modules()
        from pxr import Usd, UsdGeom
    except ImportError:
        pytest.skip("this Blender has no bundled pxr (USD)")
    path = str(tmp_path / "deep.usdc")
    api.bake_usd(scene, frames="1-2", path=path, source=pattern)
    stage = Usd.Stage.Open(path)  # kept: the prim dies with its stage
    points = UsdGeom.Points(stage.GetDefaultPrim())
    for frame in FRAMES:
        p = np.array(points.GetPointsAttr().Get(frame))
        assert len(p) == len(truth[frame]["z"])
        assert np.percentile(_errors(p, truth[frame]), 99) <= BOUND


def test_bad_deep_file_is_reported_and_scene_left_alone(shot, tmp_path):
    import bpy
    from test_bad_input import snapshot

    from depth_cloud.core.points.deep import write_deep_exr
    scene, cam, pattern, truth = shot
    counts = np.ones((H, W), np.int32)
    no_z = write_deep_exr(str(tmp_path / "noz.exr"), counts, {"R": np.ones(W * H, np.float32)})
    scene.depth_cloud.exr_path = no_z
    before = snapshot()
    with pytest.raises(RuntimeError, match=re.escape(no_z) + r": no depth \(Z\) channel in deep part"):
        bpy.ops.depth_cloud.build()
    assert snapshot() == before


def test_real_deep_file_builds_one_point_per_sample(scene, tmp_path):
    """Weta's deep Balls render (../shared/data): Build through the operator with a scene
    camera; every sample is a point at its planar Z with its straight color."""
    import bpy
    import OpenEXR

    from depth_cloud import api
    path = os.path.join(OPENEXR_IMAGES, "v2",
                        "LowResLeftView", "Balls.exr")
    if not os.path.isfile(path):
        pytest.skip(f"real deep file {path} is absent (../shared/data not present)")
    chans = OpenEXR.File(path, separate_channels=True).parts[0].channels
    ref = {c: np.concatenate([x for x in chans[c].pixels.reshape(-1) if x is not None]).astype(np.float32)
           for c in "RGBAZ"}  # the file's samples in pixel order (slow reference reader)
    cam = add_camera(scene, location=(0, 0, 0), target=(0, 0, -1), lens=35.0)
    cam.data.clip_end = 5000.0
    scene.depth_cloud.exr_path = path
    scene.depth_cloud.pixel_ids = True  # the stored camera depth of each sample, compared below
    assert bpy.ops.depth_cloud.build() == {'FINISHED'}
    ob = next(o for o in scene.objects if o.depth_cloud.is_cloud)
    n = len(ob.data.points)
    assert n == len(ref["Z"]) == 162877
    depth = np.empty(n, np.float32)
    ob.data.attributes["depth"].data.foreach_get("value", depth)
    pos = np.empty(n * 3, np.float32)
    ob.data.attributes["position"].data.foreach_get("vector", pos)
    model = api.camera_model(cam, scene, size=(1024, 576))
    _, _, d = model.project(pos.reshape(-1, 3).astype(np.float64))
    np.testing.assert_allclose(d, ref["Z"], rtol=2e-6)  # planar depth = the sample's Z
    np.testing.assert_array_equal(depth, ref["Z"])
    col = np.empty(n * 4, np.float32)
    ob.data.attributes["Col"].data.foreach_get("color", col)
    col = col.reshape(-1, 4)
    a = ref["A"]
    np.testing.assert_array_equal(col[:, 3], a)
    np.testing.assert_allclose(col[a > 0, 0], ref["R"][a > 0] / a[a > 0], rtol=1e-6)
