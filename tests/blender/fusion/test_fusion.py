"""Multi-view fusion against Blender's own geometry.

Suzanne, scaled to 1 m, is rendered (Cycles, Z pass) from 20 cameras on a sphere of radius
1.5 around its centroid, looking along the 20 directions of a dodecahedron's vertices (the
classic "20 depth maps" setup). The fused cloud is measured against the true mesh:

* accuracy: mean distance of fused points to the mesh (BVH) <= 0.2% of the bounding-box diagonal;
* coverage: of surface samples visible from at least one camera (inside its image and
  unoccluded by ``scene.ray_cast``), >= 99% have a fused point within 1% of the diagonal;
* outliers: with 1% of every depth map replaced by random depths, <= 0.05% of the fused
  points are farther than 1% of the diagonal from the mesh.
"""
import json
import os

import numpy as np
import pytest

from scenes import setup_render, unit_suzanne, write_exr
from ui_recorder import Recorder

SIZE = 160
LENS = 30.0
RADIUS = 1.5
DIAG_ACCURACY = 0.002
COVERAGE = 0.99
COVERAGE_RADIUS = 0.01
OUTLIER_BOUND = 0.0005


def build_scene(scene):
    """Suzanne scaled to 1 m (largest dimension), with its bounding-box centre and diagonal."""
    return unit_suzanne()


def track_matrix(location, target):
    """Camera pose as Blender users make it: -Z toward the target, Y up (to_track_quat)."""
    from mathutils import Matrix, Vector
    direction = Vector(target) - Vector(location)
    m = direction.to_track_quat('-Z', 'Y').to_matrix().to_4x4()
    m.translation = Vector(location)
    return Matrix(m)


def camera_locations(centroid):
    from depth_cloud.core.camera.lists import dodecahedron_directions
    return [centroid + RADIUS * d for d in dodecahedron_directions()]


def add_camera_objects(scene, centroid):
    """20 static camera objects in a collection "Views" (View.01 … View.20)."""
    import bpy
    coll = bpy.data.collections.new("Views")
    scene.collection.children.link(coll)
    cams = []
    for i, loc in enumerate(camera_locations(centroid)):
        data = bpy.data.cameras.new(f"View.{i + 1:02d}")
        data.lens = LENS
        cam = bpy.data.objects.new(f"View.{i + 1:02d}", data)
        coll.objects.link(cam)
        cam.matrix_world = track_matrix(loc, centroid)
        cams.append(cam)
    return coll, cams


def add_animated_camera(scene, centroid):
    """One camera visiting the 20 viewpoints on frames 1-20."""
    import bpy
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    cam.data.lens = LENS
    scene.collection.objects.link(cam)
    scene.camera = cam
    for i, loc in enumerate(camera_locations(centroid)):
        cam.matrix_world = track_matrix(loc, centroid)
        cam.keyframe_insert("location", frame=i + 1)
        cam.keyframe_insert("rotation_euler", frame=i + 1)
    scene.frame_start, scene.frame_end = 1, 20
    scene.frame_set(1)
    return cam


@pytest.fixture(scope="module")
def renders(dc, tmp_path_factory):
    """The 20 views rendered once for the module (depth maps only matter)."""
    import bpy
    out = tmp_path_factory.mktemp("fusion")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    setup_render(scene, SIZE, SIZE, position=False)
    _ob, centroid, diag = build_scene(scene)
    add_animated_camera(scene, centroid)
    scene.render.filepath = str(out / "view_####.exr")
    scene.render.use_file_extension = False
    bpy.ops.render.render(animation=True)
    files = [str(out / f"view_{i:04d}.exr") for i in range(1, 21)]
    assert all(os.path.isfile(f) for f in files)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return {"dir": out, "pattern": str(out / "view_####.exr"), "files": files, "centroid": centroid, "diag": diag}


# --------------------------------------------------------------------------- measuring
def read_exr_depth_color(path, layer="ViewLayer"):
    from depth_cloud.core.exr.read import read_exr
    f = read_exr(path)
    return f.get(f"{layer}.Depth.Z"), np.stack([f.get(f"{layer}.Combined.{c}") for c in "RGBA"], axis=-1)


def mesh_distances(ob, points):
    """Distance of each point to the mesh surface (Blender's BVH tree)."""
    import bpy
    from mathutils import Vector
    from mathutils.bvhtree import BVHTree
    bvh = BVHTree.FromObject(ob, bpy.context.evaluated_depsgraph_get())
    return np.array([(Vector(p) - bvh.find_nearest(Vector(p))[0]).length for p in points])


def surface_samples(ob, n=20000, seed=0):
    """Area-weighted random points on the mesh and their face normals."""
    me = ob.data
    me.calc_loop_triangles()
    co = np.empty(len(me.vertices) * 3, np.float32)
    me.vertices.foreach_get("co", co)
    co = co.reshape(-1, 3).astype(np.float64)
    tri = np.empty(len(me.loop_triangles) * 3, np.int32)
    me.loop_triangles.foreach_get("vertices", tri)
    t = co[tri.reshape(-1, 3)]
    cross = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
    area = 0.5 * np.linalg.norm(cross, axis=1)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(t), n, p=area / area.sum())
    u = rng.random((n, 2))
    flip = u.sum(1) > 1
    u[flip] = 1 - u[flip]
    tt = t[pick]
    pts = tt[:, 0] + u[:, :1] * (tt[:, 1] - tt[:, 0]) + u[:, 1:] * (tt[:, 2] - tt[:, 0])
    return pts, cross[pick] / (2 * area[pick])[:, None]


def visible_from_any(scene, models, samples, diag):
    """Samples inside some camera's image and unoccluded from it (``scene.ray_cast``)."""
    import bpy
    from mathutils import Vector
    dg = bpy.context.evaluated_depsgraph_get()
    vis = np.zeros(len(samples), bool)
    for m in models:
        x, y, d = m.project(samples)
        inside = (d > 0) & (x >= 0) & (x < m.width) & (y >= 0) & (y < m.height)
        origin = Vector(m.location)
        for i in np.flatnonzero(inside & ~vis):
            p = Vector(samples[i])
            ray = p - origin
            length = ray.length
            hit, loc, *_ = scene.ray_cast(dg, origin, ray / length, distance=length + 1e-3 * diag)
            vis[i] = hit and (loc - p).length < 1e-4 * diag
    return vis


def nearest_distances(points, queries):
    from mathutils.kdtree import KDTree
    kd = KDTree(len(points))
    for i, p in enumerate(points):
        kd.insert(p, i)
    kd.balance()
    return np.array([kd.find(q)[2] for q in queries])


def measure(scene, ob, point_set, models, diag, label):
    dist = mesh_distances(ob, point_set.positions)
    samples, _ = surface_samples(ob)
    vis = visible_from_any(scene, models, samples, diag)
    near = nearest_distances(point_set.positions, samples[vis])
    coverage = float((near <= COVERAGE_RADIUS * diag).mean())
    mean = float(dist.mean() / diag)
    print(f"{label}: {len(point_set)} points, mean distance to mesh {100 * mean:.4f}% of diagonal "
          f"(bound {100 * DIAG_ACCURACY}%), coverage {100 * coverage:.2f}% of {int(vis.sum())} visible samples "
          f"({100 * vis.mean():.1f}% of the surface is visible; bound {100 * COVERAGE}%)")
    return mean, coverage, dist


def models_of(scene, cams):
    from depth_cloud import api
    return [api.camera_model(c, scene, size=(SIZE, SIZE)) for c in cams]


# --------------------------------------------------------------------------- tests
def test_fuse_sequence_matches_mesh(scene, renders):
    """Frames 1-20 seen by one animated camera -> one cloud on the true surface."""
    from depth_cloud import api
    ob, centroid, diag = build_scene(scene)
    cam = add_animated_camera(scene, centroid)
    cloud = api.fuse(scene, source=renders["pattern"], frames="1-20")
    assert cloud.type == 'POINTCLOUD' and len(cloud.data.points) > 5000
    result = api.fuse_point_set(scene, source=renders["pattern"], frames="1-20")
    ps = result.point_set
    assert len(ps) == len(cloud.data.points)
    models = [api.camera_model(cam, scene, frame=f, size=(SIZE, SIZE)) for f in range(1, 21)]
    mean, coverage, dist = measure(scene, ob, ps, models, diag, "sequence")
    assert mean <= DIAG_ACCURACY
    assert coverage >= COVERAGE

    # attributes written on the object: normals toward the outside, view counts, confidence
    attrs = cloud.data.attributes
    n = len(cloud.data.points)
    nor = np.empty(n * 3, np.float32)
    attrs["normal"].data.foreach_get("vector", nor)
    np.testing.assert_allclose(nor.reshape(-1, 3), ps.normals, atol=1e-6)
    views = np.empty(n, np.int32)
    attrs["views"].data.foreach_get("value", views)
    assert views.min() >= 1 and views.max() <= 20 and np.median(views) >= 3
    conf = np.empty(n, np.float32)
    attrs["confidence"].data.foreach_get("value", conf)
    assert 0 < conf.min() and conf.max() <= 1
    # normals agree with the true mesh normals (Suzanne's faces are flat: compare at the
    # nearest face, away from edges where the nearest face is ambiguous)
    import bpy
    from mathutils import Vector
    from mathutils.bvhtree import BVHTree
    bvh = BVHTree.FromObject(ob, bpy.context.evaluated_depsgraph_get())
    true_n = np.array([bvh.find_nearest(Vector(p))[1] for p in ps.positions])
    cos = (true_n * ps.normals).sum(1)
    print(f"normals: {100 * (cos > 0).mean():.2f}% face outward, median angle "
          f"{np.degrees(np.arccos(np.clip(np.median(cos), -1, 1))):.2f} deg")
    assert (cos > 0).mean() >= 0.98
    assert np.median(cos) >= np.cos(np.radians(5))

    # the same files alone: Blender's headers name the camera and the frame it rendered
    alone = api.fuse_point_set(scene, files=renders["files"])
    np.testing.assert_allclose(alone.point_set.positions, ps.positions, atol=1e-6)


def test_camera_objects_and_camera_list_give_the_same_cloud(scene, renders, tmp_path):
    """The same views as camera objects (+ file pattern) and as a camera list in the view
    direction form (documented look-at rule) fuse to the same cloud."""
    from depth_cloud import api
    from depth_cloud.core.camera.lists import dodecahedron_directions
    ob, centroid, diag = build_scene(scene)
    coll, cams = add_camera_objects(scene, centroid)
    by_objects = api.fuse_point_set(scene, cameras=coll, files=renders["pattern"])
    by_name = api.fuse_point_set(scene, cameras="Views", files=renders["pattern"])  # as the CLI passes it
    np.testing.assert_array_equal(by_name.point_set.positions, by_objects.point_set.positions)
    listing = {"centroid": centroid.tolist(), "distance": RADIUS, "lens": LENS,
               "cameras": [{"name": f"v{i + 1}", "direction": d.tolist(), "depth": os.path.basename(f)}
                           for i, (d, f) in enumerate(zip(dodecahedron_directions(), renders["files"]))]}
    list_path = renders["dir"] / "cameras.json"
    list_path.write_text(json.dumps(listing))
    by_list = api.fuse_point_set(scene, camera_list=str(list_path))
    a, b = by_objects.point_set, by_list.point_set
    print(f"camera objects: {len(a)} points; camera list: {len(b)} points")
    assert abs(len(a) - len(b)) <= 0.001 * len(a)
    d = nearest_distances(a.positions, b.positions)
    assert np.percentile(d, 99) < 1e-4 * diag
    mean, coverage, _ = measure(scene, ob, b, models_of(scene, cams), diag, "camera list")
    assert mean <= DIAG_ACCURACY and coverage >= COVERAGE


def test_outliers_are_removed(scene, renders, tmp_path):
    """1% of every depth map replaced by random depths: <= 0.05% outliers remain."""
    from depth_cloud import api
    from synthetic import inject_outliers
    ob, centroid, diag = build_scene(scene)
    coll, cams = add_camera_objects(scene, centroid)
    injected = 0
    for i, f in enumerate(renders["files"]):
        z, rgba = read_exr_depth_color(f)
        z = np.where(z >= 1e9, np.inf, z)
        noisy, mask = inject_outliers(z, 0.01, seed=i, reference=RADIUS)
        injected += int(mask.sum())
        noisy[~np.isfinite(noisy)] = 1e10
        channels = {"Z": noisy, **{c: rgba[..., k] for k, c in enumerate("RGBA")}}
        write_exr(str(tmp_path / f"noisy_{i + 1:02d}.exr"), channels)
    pattern = str(tmp_path / "noisy_##.exr")
    raw = api.fuse_point_set(scene, cameras=coll, files=pattern, min_views=0, neighbor_support=0,
                             outlier_neighbors=0)
    raw_frac = float((mesh_distances(ob, raw.point_set.positions) > COVERAGE_RADIUS * diag).mean())
    fused = api.fuse_point_set(scene, cameras=coll, files=pattern)
    mean, coverage, dist = measure(scene, ob, fused.point_set, models_of(scene, cams), diag, "with outliers")
    frac = float((dist > COVERAGE_RADIUS * diag).mean())
    st = fused.stats
    print(f"outliers: {injected} injected; without filtering {100 * raw_frac:.3f}% of points are outliers, "
          f"after fusion {100 * frac:.4f}% (bound {100 * OUTLIER_BOUND}%); removed {st['spikes_removed']} spikes, "
          f"{st['inconsistent_removed']} inconsistent, {st['outliers_removed']} statistical")
    assert raw_frac > 0.005  # the injected outliers are really there without the filters
    assert frac <= OUTLIER_BOUND
    assert mean <= DIAG_ACCURACY and coverage >= COVERAGE


def test_fuse_operator_with_surface(scene, renders):
    """The panel's operator on a sequence, with the Geometry Nodes surface; running it again
    updates the same objects and reuses the node group."""
    import bpy
    ob, centroid, diag = build_scene(scene)
    add_animated_camera(scene, centroid)
    scene.depth_cloud.exr_path = renders["pattern"]
    fs = scene.depth_cloud.fusion
    fs.source, fs.frames, fs.make_surface = 'SEQUENCE', "1-20", True
    assert bpy.ops.depth_cloud.fuse() == {'FINISHED'}
    clouds = [o for o in scene.objects if o.type == 'POINTCLOUD']
    assert len(clouds) == 1 and clouds[0].name == "Fused Cloud"
    surfaces = [o for o in scene.objects if o.type == 'MESH' and o.modifiers]
    assert len(surfaces) == 1
    dg = bpy.context.evaluated_depsgraph_get()
    mesh = surfaces[0].evaluated_get(dg).to_mesh()
    co = np.empty(len(mesh.vertices) * 3, np.float32)
    mesh.vertices.foreach_get("co", co)
    co = co.reshape(-1, 3)
    assert len(co) > 1000
    d = mesh_distances(ob, co)
    voxel = clouds[0]["depth_cloud_voxel_size"]
    print(f"surface: {len(co)} vertices, mean distance to mesh {100 * d.mean() / diag:.4f}% of diagonal, "
          f"p95 {100 * np.percentile(d, 95) / diag:.4f}% (voxel {voxel:.4f})")
    assert d.mean() <= 0.3 * voxel
    assert np.percentile(d, 95) <= voxel
    # closed: (almost) every edge has two faces (the inner sheet is removed whole)
    edge_of_loop = np.empty(len(mesh.loops), np.int32)
    mesh.loops.foreach_get("edge_index", edge_of_loop)
    faces_per_edge = np.bincount(edge_of_loop, minlength=len(mesh.edges))
    open_edges = int((faces_per_edge == 1).sum())
    print(f"surface: {open_edges} open edges of {len(mesh.edges)}")
    assert open_edges <= 0.001 * len(mesh.edges)
    surfaces[0].evaluated_get(dg).to_mesh_clear()
    # again: same objects, one node group
    assert bpy.ops.depth_cloud.fuse() == {'FINISHED'}
    assert [o for o in scene.objects if o.type == 'POINTCLOUD'] == clouds
    assert [o for o in scene.objects if o.type == 'MESH' and o.modifiers] == surfaces
    assert len([g for g in bpy.data.node_groups if g.name.startswith("Depth Cloud Surface")]) == 1
    assert len(bpy.data.pointclouds) == 1


def test_bad_inputs_are_reported_and_leave_the_scene(scene, renders, tmp_path):
    import bpy

    from depth_cloud import api
    from depth_cloud.core.errors import CameraError, SettingsError
    _ob, centroid, _diag = build_scene(scene)
    coll, _cams = add_camera_objects(scene, centroid)
    before = sorted(o.name for o in bpy.data.objects)
    fs = scene.depth_cloud.fusion
    fs.source, fs.camera_list = 'CAMERA_LIST', str(tmp_path / "missing.json")
    # an operator's ERROR report surfaces as RuntimeError when it is called from Python
    with pytest.raises(RuntimeError, match=r"missing\.json: camera list file not found"):
        bpy.ops.depth_cloud.fuse()
    bad = tmp_path / "bad.csv"
    bad.write_text("name,dir_x,dir_y,dir_z,distance,lenz\nv1,1,0,0,1.5,30\n")
    with pytest.raises(CameraError, match=r"bad\.csv.*lenz"):
        api.fuse(scene, camera_list=str(bad), files=renders["files"][:1])
    with pytest.raises(SettingsError, match="20 cameras"):
        api.fuse(scene, cameras=coll, files=renders["files"][:3])
    with pytest.raises(SettingsError, match="pairs files with cameras"):
        api.fuse(scene, files=renders["pattern"])
    with pytest.raises(SettingsError, match="min_views|minimum views"):
        api.fuse(scene, cameras=coll, files=renders["pattern"], min_views=-1)
    fs.source, fs.cameras, fs.files = 'CAMERAS', coll, str(tmp_path / "nothing_{camera}.exr")
    with pytest.raises(RuntimeError, match=r"nothing_View\.01\.exr"):
        bpy.ops.depth_cloud.fuse()
    assert sorted(o.name for o in bpy.data.objects) == before
    assert len(bpy.data.pointclouds) == 0


def test_look_at_rule_matches_blender_track_quat(dc):
    """The camera list's look-at rule is Blender's to_track_quat('-Z', 'Y') for views not
    parallel to Z; straight up/down views use +Y as up."""
    from depth_cloud.core.camera.lists import camera_from_direction, dodecahedron_directions
    centroid = np.array([0.3, -0.2, 0.1])
    for d in dodecahedron_directions():
        ours = camera_from_direction(d, 2.0, centroid)
        theirs = np.array(track_matrix(centroid + 2.0 * d, centroid))
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
    down = camera_from_direction((0, 0, 1), 2.0)
    np.testing.assert_allclose(down[:3, 1], (0, 1, 0), atol=1e-12)  # image up = world +Y
    np.testing.assert_allclose(down[:3, 2], (0, 0, 1), atol=1e-12)  # looks down -Z


def test_fusion_panels_draw_known_settings(scene):
    import bpy

    from depth_cloud.ui.fusion import classes, draw_fusion
    assert sorted(c.bl_space_type for c in classes) == ['NODE_EDITOR', 'VIEW_3D']
    assert all(c.bl_parent_id in dir(bpy.types) and c.__name__ in dir(bpy.types) for c in classes)
    expected = {'SEQUENCE': {"frames"}, 'CAMERAS': {"cameras", "files"}, 'CAMERA_LIST': {"camera_list", "files"}}
    for source, own in expected.items():
        scene.depth_cloud.fusion.source = source
        drawn = []
        draw_fusion(Recorder(drawn), bpy.context)
        assert own <= set(drawn) and "depth_cloud.fuse" in drawn
        assert {"voxel_size", "min_views", "depth_tolerance", "make_surface"} <= set(drawn)
    # the operator explains why it cannot run yet
    scene.depth_cloud.fusion.source = 'CAMERAS'
    assert not bpy.ops.depth_cloud.fuse.poll()


def test_register_unregister_exits_cleanly(dc):
    """Blender 4.2 crashed at exit after unregistering when the fusion PropertyGroup had a
    method; a fresh interpreter must register, unregister and exit with status 0."""
    import subprocess
    import sys

    import conftest
    code = (f"import sys; sys.path.insert(0, {conftest._LINK_DIR!r}); import depth_cloud; depth_cloud.register(); "
            "depth_cloud.unregister(); print('ok')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "ok" in run.stdout, run.stderr[-2000:]


def test_cli_fuse_writes_the_fused_cloud(scene, renders, tmp_path, capsys):
    """`depth_cloud fuse` (the CLI entry point) writes the same fused cloud as the API, as PLY
    with normals, on the true surface; a .blend holds the fused object; bad output is a usage error."""
    from depth_cloud import api
    from depth_cloud.core.output.ply import read_ply
    ob, centroid, diag = build_scene(scene)
    add_animated_camera(scene, centroid)
    out = tmp_path / "fused.ply"
    status = api.run_cli(["fuse", "--source", renders["pattern"], "--frames", "1-20", "-o", str(out)])
    stdout, err = capsys.readouterr()
    assert status == 0, err
    assert "fused" in stdout and "%]" in stdout  # progress lines, then the summary
    v = read_ply(str(out))["vertex"]
    expected = api.fuse_point_set(scene, source=renders["pattern"], frames="1-20").point_set
    assert len(v) == len(expected)
    got = np.stack([v["x"], v["y"], v["z"]], axis=1)
    np.testing.assert_allclose(got, expected.positions, atol=1e-6)
    np.testing.assert_allclose(np.stack([v["nx"], v["ny"], v["nz"]], axis=1), expected.normals, atol=1e-6)
    assert mesh_distances(ob, got).mean() / diag <= DIAG_ACCURACY
    # a second run skips the existing output; --overwrite rebuilds
    assert api.run_cli(["fuse", "--files", *renders["files"], "-o", str(out)]) == 0
    assert "skipped" in capsys.readouterr()[0]
    blend = tmp_path / "fused.blend"
    assert api.run_cli(["fuse", "--files", *renders["files"], "-o", str(blend)]) == 0
    assert blend.is_file() and any(o.type == 'POINTCLOUD' for o in scene.objects)
    capsys.readouterr()
    assert api.run_cli(["fuse", "--files", renders["files"][0], "-o", str(tmp_path / "x.usdc")]) == 2
    (line,) = [ln for ln in capsys.readouterr()[1].splitlines() if ln.strip()]
    assert "fuse writes one .ply or one .blend" in line
