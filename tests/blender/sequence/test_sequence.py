"""Sequences with a moving camera, checked against Cycles' own Position pass of every frame.

A 4-frame shot: the camera's location, rotation and focal length are keyframed. Each frame is
rendered by Cycles to a multilayer EXR (Z, Position, Combined). Whatever path shows a frame
(frame_set through the handler, an F12 animation render, after save/reload, keyed objects),
the points shown must match that frame's Position pass: 99th percentile of
|point - Position| <= 5e-5 x depth, the bound of the single-frame build.
"""
import os
import shutil

import numpy as np
import pytest

from scenes import add_camera, add_primitives, look_at_euler, read_ground_truth, setup_render

BOUND = 5e-5
W, H = 48, 36
FRAMES = (1, 2, 3, 4)
CAMERA_KEYS = {  # frame: (location, target, lens)
    1: ((4.0, -5.0, 3.0), (0.4, 0.3, 0.4), 35.0),
    4: ((5.2, -2.8, 2.2), (0.0, 0.6, 0.5), 48.0),
}


def _shot_scene(scene):
    """The test scene with its keyframed camera (built identically in every test)."""
    setup_render(scene, W, H)
    add_primitives(scene)
    cam = add_camera(scene)
    for frame, (loc, target, lens) in CAMERA_KEYS.items():
        cam.location = loc
        cam.rotation_euler = look_at_euler(loc, target)
        cam.data.lens = lens
        cam.keyframe_insert("location", frame=frame)
        cam.keyframe_insert("rotation_euler", frame=frame)
        cam.data.keyframe_insert("lens", frame=frame)
    scene.frame_start, scene.frame_end = FRAMES[0], FRAMES[-1]
    scene.frame_set(FRAMES[0])
    return cam


def _render_animation(scene, pattern):
    import bpy
    scene.render.filepath = pattern
    scene.render.use_file_extension = False
    bpy.ops.render.render(animation=True)
    scene.frame_set(scene.frame_start)


@pytest.fixture(scope="module")
def shot_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("shot")


@pytest.fixture
def shot(scene, shot_dir):
    """``(scene, camera, pattern)``: the scene rebuilt, its frames rendered once per module."""
    cam = _shot_scene(scene)
    pattern = str(shot_dir / "shot_####.exr")
    if not all(os.path.isfile(pattern.replace("####", f"{f:04d}")) for f in FRAMES):
        _render_animation(scene, pattern)
    return scene, cam, pattern


def frame_path(pattern, frame):
    return pattern.replace("####", f"{frame:04d}")


def _build(scene, pattern, mode='LAZY', **settings):
    import bpy
    scene.depth_cloud.exr_path = pattern
    seq = scene.depth_cloud.sequence
    seq.mode = mode
    for key, value in settings.items():
        setattr(seq, key, value)
    assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
    if mode == 'KEYED':
        return None
    obs = [o for o in scene.objects if o.depth_cloud.sequence.is_sequence]
    assert len(obs) == 1
    return obs[0]


def displayed_points(obj):
    """``(positions, colors, radius)`` of the points ``obj`` shows, from its evaluated data."""
    import bpy
    dg = bpy.context.evaluated_depsgraph_get()
    for inst in dg.object_instances:
        ob = inst.object
        if ob.type == 'POINTCLOUD' and ob.original == obj:
            pc = ob.data
            n = len(pc.points)
            p = np.empty(n * 3, np.float32)
            pc.attributes['position'].data.foreach_get('vector', p)
            c = np.empty(n * 4, np.float32)
            pc.attributes['Col'].data.foreach_get('color', c)
            r = np.empty(n, np.float32)
            pc.attributes['radius'].data.foreach_get('value', r)
            m = np.array(inst.matrix_world)
            p = p.reshape(-1, 3) @ m[:3, :3].T + m[:3, 3]
            return p, c.reshape(-1, 4), r
    return np.empty((0, 3)), np.empty((0, 4)), np.empty(0)


def assert_matches_frame(scene, camera, path, positions, colors=None, radius=None, bound=BOUND):
    """Points vs the frame's Position pass (pixel found by projecting through the frame's camera)."""
    from depth_cloud import api
    from depth_cloud.core.sequence.framecache import COLOR_TOLERANCE
    pos_gt, z, rgba = read_ground_truth(path)
    surface = z < 1e9
    assert len(positions) == int(surface.sum()) > 0.2 * surface.size
    model = api.camera_model(camera, scene, size=(W, H))
    x, y, depth = model.project(positions)
    cols, rows = np.floor(x).astype(int), np.floor(y).astype(int)
    assert ((cols >= 0) & (cols < W) & (rows >= 0) & (rows < H)).all()
    assert surface[rows, cols].all()
    assert len(np.unique(rows * W + cols)) == len(positions)  # one point per surface pixel
    err = np.linalg.norm(positions.astype(np.float64) - pos_gt[rows, cols], axis=1) / z[rows, cols]
    assert np.percentile(err, 99) <= bound, f"{path}: p99 {np.percentile(err, 99):.2e} x depth"
    if colors is not None:
        want = np.clip(rgba[rows, cols], 0.0, 1.0)
        assert np.abs(colors - want).max() <= COLOR_TOLERANCE + 1e-6
    if radius is not None:  # the pixel footprint's radius at the point's depth (core.footprint)
        from depth_cloud.core.points.footprint import point_radius
        assert np.allclose(radius, point_radius(model, depth), rtol=1e-4)
    return float(np.percentile(err, 99))


def test_frame_set_shows_each_frame(shot):
    scene, cam, pattern = shot
    obj = _build(scene, pattern)
    assert obj.type == 'MESH' and obj.modifiers[0].type == 'NODES'
    for frame in (3, 1, 4, 2, 2, 4):
        scene.frame_set(frame)
        p, c, r = displayed_points(obj)
        p99 = assert_matches_frame(scene, cam, frame_path(pattern, frame), p, c, r)
        print(f"frame {frame}: {len(p)} points, p99 {p99:.2e} x depth")
    # outside the range: no points
    scene.frame_set(FRAMES[-1] + 1)
    assert len(displayed_points(obj)[0]) == 0


def test_preload_builds_every_frame_up_front(shot, capfd):
    from depth_cloud.glue.sequence import playback
    scene, cam, pattern = shot
    obj = _build(scene, pattern, mode='PRELOAD')
    out = capfd.readouterr().out
    assert sum("built frame" in line for line in out.splitlines()) == len(FRAMES)  # background progress lines
    uid = obj.depth_cloud.sequence.uid
    assert sorted(f for u, f in playback.cache().keys() if u == uid) == list(FRAMES)
    for frame in FRAMES:
        scene.frame_set(frame)
        p, c, r = displayed_points(obj)
        assert_matches_frame(scene, cam, frame_path(pattern, frame), p, c, r)
    assert playback.player(uid).builds == 0  # nothing was read during playback


def test_animation_render_shows_each_frame(shot, tmp_path):
    """F12-style animation render with the handler active: the cloud rendered by Cycles is the
    frame's cloud, and the data the handler wrote at each frame matches that frame."""
    import bpy

    from depth_cloud.glue import compat, datablock
    scene, cam, pattern = shot
    obj = _build(scene, pattern)
    mod = obj.modifiers[datablock.POINTS_MODIFIER]
    # small spheres: a hit lies within 0.1 footprint of the point
    compat.set_modifier_input(mod, datablock.point_size_key(mod), 0.1)
    for other in scene.objects:
        if other not in (obj, cam) and other.type == 'MESH':
            other.hide_render = True
    recorded = {}

    def record(scn, _depsgraph=None):
        mesh = obj.data
        p = np.empty(len(mesh.vertices) * 3, np.float32)
        mesh.attributes['position'].data.foreach_get('vector', p)
        recorded[scn.frame_current] = p.reshape(-1, 3)

    bpy.app.handlers.frame_change_post.append(record)
    try:
        _render_animation(scene, str(tmp_path / "cloud_####.exr"))
    finally:
        bpy.app.handlers.frame_change_post.remove(record)
    assert sorted(recorded) == list(FRAMES)
    for frame in FRAMES:
        scene.frame_set(frame)
        assert_matches_frame(scene, cam, frame_path(pattern, frame), recorded[frame])
        gt, z, _ = read_ground_truth(frame_path(pattern, frame))
        cloud, cz, _ = read_ground_truth(str(tmp_path / f"cloud_{frame:04d}.exr"))
        surface, hit = z < 1e9, cz < 1e9
        assert (hit & ~surface).sum() == 0 and hit.sum() >= 0.97 * surface.sum()
        err = np.linalg.norm(cloud[hit] - gt[hit], axis=1) / z[hit]
        # a sphere of radius 0.1 x half the pixel footprint: hits are within ~1e-3 x depth
        print(f"render frame {frame}: p99 {np.percentile(err, 99):.2e}")
        assert np.percentile(err, 99) <= 2e-3


def test_save_and_reload(shot, tmp_path):
    import bpy

    from depth_cloud import handlers
    scene, cam, pattern = shot
    obj = _build(scene, pattern)
    scene.frame_set(2)
    names = obj.name, cam.name
    blend = str(tmp_path / "seq.blend")
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    bpy.ops.wm.open_mainfile(filepath=blend, load_ui=False)
    assert handlers.depth_cloud_frame_change in bpy.app.handlers.frame_change_post
    scene = bpy.context.scene
    obj, cam = scene.objects[names[0]], scene.objects[names[1]]
    assert obj.depth_cloud.sequence.is_sequence and obj.depth_cloud.sequence.source == pattern
    for frame in (4, 1, 3, 2):
        scene.frame_set(frame)
        p, c, r = displayed_points(obj)
        assert_matches_frame(scene, cam, frame_path(pattern, frame), p, c, r)


def test_keyed_objects(shot):
    import bpy

    from depth_cloud.glue.compat import object_fcurves as _fcurves
    scene, cam, pattern = shot
    _build(scene, pattern, mode='KEYED')
    clouds = [o for o in scene.objects if o.depth_cloud.is_cloud]
    assert sorted(o.depth_cloud.frame for o in clouds) == list(FRAMES)
    coll = clouds[0].users_collection[0]
    assert all(o.users_collection[0] == coll for o in clouds) and len(coll.objects) == len(FRAMES)
    for ob in clouds:
        curves = [fc for fc in _fcurves(ob) if fc.data_path in ("hide_viewport", "hide_render")]
        assert len(curves) == 2
        assert all(k.interpolation == 'CONSTANT' for fc in curves for k in fc.keyframe_points)
    for frame in (3, 1, 4, 2):
        scene.frame_set(frame)
        shown = [o for o in clouds if not o.hide_viewport and not o.hide_render]
        assert [o.depth_cloud.frame for o in shown] == [frame]
        pc = shown[0].data
        assert isinstance(pc, bpy.types.PointCloud)
        p = np.empty(len(pc.points) * 3, np.float32)
        pc.attributes['position'].data.foreach_get('vector', p)
        assert_matches_frame(scene, cam, frame_path(pattern, frame), p.reshape(-1, 3))
    scene.frame_set(FRAMES[-1] + 1)
    assert all(o.hide_viewport and o.hide_render for o in clouds)


def test_memory_budget_evicts_least_recently_used(shot, monkeypatch):
    """The budget is the add-on preferences' (the machine's), whatever the scene says."""
    from depth_cloud.glue import preferences
    from depth_cloud.glue.sequence import playback
    scene, cam, pattern = shot
    obj = _build(scene, pattern, prefetch=False)
    uid = obj.depth_cloud.sequence.uid
    frame_bytes = playback.cache().peek((uid, 1)).nbytes
    assert frame_bytes <= 16 * len(displayed_points(obj)[0])  # 16 bytes per point
    scene.depth_cloud.sequence.cache_mb = 65536.0  # the old per-scene setting: no longer the budget
    monkeypatch.setattr(preferences.settings(), "cache_mb", 2.5 * frame_bytes / playback.MB)  # two frames
    playback.apply_budget(scene)
    cache = playback.cache()
    cache.reset_stats()
    player = playback.player(uid)
    visits = (1, 2, 3, 4, 1, 3, 2, 2, 4)
    builds = []
    for frame in visits:
        before = player.builds
        scene.frame_set(frame)
        builds.append(player.builds - before)
        assert cache.nbytes <= cache.budget and cache.peak_bytes <= cache.budget
        assert len([k for k in cache.keys() if k[0] == uid]) <= 2
        p, c, r = displayed_points(obj)
        assert_matches_frame(scene, cam, frame_path(pattern, frame), p, c, r)
    # 1 was cached by the build, 2,3,4 built (evicting 1 and 2), 1 and 3 evicted -> rebuilt or kept
    assert builds[:4] == [0, 1, 1, 1]
    assert builds[4] == 1  # frame 1 had been evicted: rebuilt from its file
    assert builds[7] == 0  # frame 2 shown twice in a row: nothing to do
    assert cache.evictions > 0


def _wait_ready(prefetcher, frame, timeout=30.0):
    import time
    end = time.monotonic() + timeout
    while not prefetcher.ready(frame):
        assert time.monotonic() < end, f"frame {frame} was never read ahead"
        time.sleep(0.005)


def test_two_read_ahead_workers_show_each_frame(shot, monkeypatch):
    """Read-Ahead Workers = 2 (the add-on preferences): the next frames are decoded on two
    threads, each frame shows its exact points, and a changed count takes effect at once."""
    from depth_cloud.glue import preferences
    from depth_cloud.glue.sequence import playback
    scene, cam, pattern = shot
    monkeypatch.setattr(preferences.settings(), "read_ahead_workers", 2)
    scene.frame_set(1)
    obj = _build(scene, pattern)  # shows frame 1, reads 2 and 3 ahead
    player = playback.player(obj.depth_cloud.sequence.uid)
    pre = player.prefetcher
    assert pre is not None and pre.workers == 2
    for frame in (2, 3, 4):
        _wait_ready(pre, frame)  # read ahead (frame 4 after frame 2 was shown)
        scene.frame_set(frame)
        p, c, r = displayed_points(obj)
        assert_matches_frame(scene, cam, frame_path(pattern, frame), p, c, r)
    assert player.read_ahead_hits == 3  # every frame after the first decoded ahead
    assert len(pre._threads) == 2 and all(t.name.startswith("depth_cloud_prefetch") for t in pre._threads)
    # backwards, on one worker now: a new read-ahead, no restart
    monkeypatch.setattr(preferences.settings(), "read_ahead_workers", 1)
    playback.reset(obj.depth_cloud.sequence.uid)  # every frame a first visit again
    assert not any(t.is_alive() for t in pre._threads)  # stopped and joined
    for frame in (4, 3):
        scene.frame_set(frame)
        p, c, r = displayed_points(obj)
        assert_matches_frame(scene, cam, frame_path(pattern, frame), p, c, r)
    player = playback.player(obj.depth_cloud.sequence.uid)
    one = player.prefetcher
    assert one.workers == 1
    monkeypatch.setattr(preferences.settings(), "read_ahead_workers", 2)
    for frame in (2, 1):
        scene.frame_set(frame)
        assert player.prefetcher.workers == 2  # the changed count, from the next frame on
        p, c, r = displayed_points(obj)
        assert_matches_frame(scene, cam, frame_path(pattern, frame), p, c, r)
    assert not any(t.is_alive() for t in one._threads)  # the one-worker read-ahead was stopped


def test_read_ahead_workers_default_to_automatic(scene, dc):
    from depth_cloud.glue import preferences
    from depth_cloud.glue.sequence import playback
    from depth_cloud.preferences import DepthCloudPreferences
    assert DepthCloudPreferences.bl_rna.properties["read_ahead_workers"].default == 0
    assert preferences.FALLBACK.read_ahead_workers == 0
    auto = preferences.automatic_workers()
    assert auto == max(1, min(os.cpu_count() or 1, preferences.AUTOMATIC_MAX_WORKERS))
    assert preferences.read_ahead_workers() == (auto, True)
    assert playback.read_ahead_workers() == auto


@pytest.mark.parametrize("value,used", [(-3, "auto"), (10 ** 9, 64), (2.5, "auto"), (float("nan"), "auto"),
                                        ("many", "auto"), (None, "auto")])
def test_read_ahead_workers_that_are_no_count_are_said_once(shot, capfd, monkeypatch, value, used):
    """A script's value on the preferences (the property clamps; the fallback does not): the
    nearest count, said once, never a handler error per frame; the frames still show."""
    from depth_cloud.glue import preferences
    from depth_cloud.glue.sequence import playback
    scene, cam, pattern = shot
    obj = _build(scene, pattern)
    monkeypatch.setattr(preferences.settings(), "read_ahead_workers", value)
    want = preferences.automatic_workers() if used == "auto" else used
    capfd.readouterr()
    for frame in (2, 3, 2, 4):
        scene.frame_set(frame)
        p, c, r = displayed_points(obj)
        assert_matches_frame(scene, cam, frame_path(pattern, frame), p, c, r)
    out, err = capfd.readouterr()
    assert out.count("Read-Ahead Workers") == 1 and f"using {want}" in out, out
    assert "Traceback" not in out + err
    pre = playback.player(obj.depth_cloud.sequence.uid).prefetcher
    assert pre is None or pre.workers == want


@pytest.mark.parametrize("prefetch", [True, False])
def test_vanished_file_shows_nothing_and_reports_once(shot, tmp_path, capfd, prefetch, monkeypatch):
    from depth_cloud.glue import preferences
    monkeypatch.setattr(preferences.settings(), "read_ahead_workers", 2)  # reads 2 frames ahead on any machine
    scene, cam, pattern = shot
    local = str(tmp_path / "copy_####.exr")
    for f in FRAMES:
        shutil.copy(frame_path(pattern, f), frame_path(local, f))
    obj = _build(scene, local, prefetch=prefetch)
    gone = 4  # read ahead from frame 1 covers frames 2 and 3 only
    os.remove(frame_path(local, gone))
    capfd.readouterr()
    for frame in (2, 3, 4, 1, 4, 4, 3, 4):
        scene.frame_set(frame)
        p = displayed_points(obj)[0]
        if frame == gone:
            assert len(p) == 0
        else:
            assert_matches_frame(scene, cam, frame_path(pattern, frame), p)
    out, err = capfd.readouterr()
    lines = [line for line in out.splitlines() if "Depth Cloud" in line and f"frame {gone}" in line]
    assert len(lines) == 1 and "file not found" in lines[0]
    assert "Traceback" not in err and "Traceback" not in out


def test_sequence_renders_show_the_source_colors(shot, tmp_path):
    """A render of a sequence frame reproduces that frame's Combined pixels (the shared unlit
    material on the playback object), and keyed frames get the same display."""
    import bpy

    from depth_cloud.glue import display
    from render_compare import faithful_film, psnr, read_combined, rerender
    scene, cam, pattern = shot
    obj = _build(scene, pattern)
    assert display.display_modifier(obj, create=False) is not None
    for ob in scene.objects:
        if ob is not obj and ob.type != 'CAMERA':
            ob.hide_render = True
    faithful_film(scene)
    scene.frame_set(3)
    got, _ = rerender(scene, str(tmp_path / "rerender.exr"))
    ref, z = read_combined(frame_path(pattern, 3))
    value = psnr(ref, got, z < 1e9)
    print(f"sequence frame 3 re-rendered: PSNR {value:.1f} dB")
    assert value >= 30.0
    with pytest.raises(Exception, match="sequence plays back as points"):
        bpy.ops.object.select_all(action='DESELECT')
        from depth_cloud import api
        api.set_display([obj], mode='SQUARES')
    _build(scene, pattern, mode='KEYED')
    keyed = [o for o in scene.objects if o.depth_cloud.is_cloud and o.type == 'POINTCLOUD']
    assert len(keyed) == len(FRAMES)
    assert all(display.display_modifier(o, create=False) is not None for o in keyed)


def test_unexpected_handler_error_is_reported_once(shot, capfd, monkeypatch):
    """A failure anywhere in the frame-change work never raises per frame: one report."""
    from depth_cloud.glue.sequence import playback
    scene, cam, pattern = shot
    _build(scene, pattern, prefetch=False)

    def broken(*_args, **_kwargs):
        raise RuntimeError("simulated failure")
    monkeypatch.setattr(playback, "write_frame", broken)
    capfd.readouterr()
    for frame in (2, 3, 4, 1, 2):
        scene.frame_set(frame)
    out, err = capfd.readouterr()
    assert len([ln for ln in out.splitlines() if "simulated failure" in ln]) == 1
    assert err.count("Traceback") == 1



def test_reopened_file_reports_the_same_failure_again(shot, capfd, monkeypatch, tmp_path):
    """Failures are reported once per sequence and error *per file*: after the file is opened
    again (load_post resets playback's state) the same failure is reported again, not kept
    silent by a set that outlived the file."""
    import bpy

    from depth_cloud.glue.sequence import playback
    scene, cam, pattern = shot
    obj = _build(scene, pattern, prefetch=False)
    name = obj.name
    blend = str(tmp_path / "reopen.blend")
    bpy.ops.wm.save_as_mainfile(filepath=blend)

    def broken(*_args, **_kwargs):
        raise RuntimeError("simulated failure")
    monkeypatch.setattr(playback, "write_frame", broken)
    for _ in range(2):
        capfd.readouterr()
        bpy.ops.wm.open_mainfile(filepath=blend, load_ui=False)
        scene = bpy.context.scene
        assert scene.objects[name].depth_cloud.sequence.is_sequence
        for frame in (3, 4, 3):
            scene.frame_set(frame)
        out, _ = capfd.readouterr()
        assert len([ln for ln in out.splitlines() if "simulated failure" in ln]) == 1, out

def test_file_names_the_rendering_camera(scene, tmp_path):
    """Cameras switched by timeline markers: each EXR names its camera in the header; a
    build after the markers are gone still uses the camera that rendered each frame."""
    import bpy

    from depth_cloud import api
    cam = _shot_scene(scene)
    other = add_camera(scene, location=(-3.5, -4.5, 2.6), lens=30.0)
    other.name = "Side Camera"
    scene.camera = cam
    scene.timeline_markers.new("A", frame=1).camera = cam
    scene.timeline_markers.new("B", frame=3).camera = other
    pattern = str(tmp_path / "switch_####.exr")
    _render_animation(scene, pattern)
    scene.timeline_markers.clear()
    scene.camera = cam
    obj = _build(scene, pattern)
    for frame, used in ((1, cam), (3, other), (4, other), (2, cam)):
        scene.frame_set(frame)
        assert_matches_frame(scene, used, frame_path(pattern, frame), displayed_points(obj)[0])
        # the single-frame build resolves the camera the same way
        ps = api.unproject(scene, frame=frame, source=frame_path(pattern, frame))
        assert_matches_frame(scene, used, frame_path(pattern, frame), ps.positions)
    assert bpy.context.scene.camera == cam


def _scene_state(scene):
    import bpy

    from depth_cloud.glue.sequence import playback
    return (scene.frame_current, sorted(o.name for o in bpy.data.objects), sorted(m.name for m in bpy.data.meshes),
            sorted(p.name for p in bpy.data.pointclouds), sorted(c.name for c in bpy.data.collections),
            sorted(g.name for g in bpy.data.node_groups), sorted(playback.cache().keys()),
            scene.render.use_lock_interface)


@pytest.mark.parametrize("mode", ['PRELOAD', 'KEYED'])
def test_cancel_leaves_scene_as_before(shot, mode):
    """The modal operator's Esc path (job.cancel) after two of four frames."""
    from depth_cloud.glue import source
    from depth_cloud.glue.sequence import build as sequence
    scene, cam, pattern = shot
    scene.depth_cloud.exr_path = pattern
    scene.frame_set(2)
    before = _scene_state(scene)
    job = sequence.SequenceBuild(scene, source.settings_spec(scene.depth_cloud), list(FRAMES), mode)
    assert job.step() == 1 and job.step() == 2 and job.done == 2 and not job.finished
    job.cancel()
    assert _scene_state(scene) == before


def test_missing_frames_are_listed_and_skipped(shot):
    from depth_cloud.glue import source
    from depth_cloud.glue.sequence import build as sequence
    scene, cam, pattern = shot
    scene.depth_cloud.exr_path = pattern
    job = sequence.SequenceBuild(scene, source.settings_spec(scene.depth_cloud), [1, 2, 3, 4, 5, 6, 7],
                                 'PRELOAD')
    assert job.present == [1, 2, 3, 4] and job.missing == [5, 6, 7]
    while not job.finished:
        job.step()
    obj = job.commit()
    level, message = job.summary()[0]
    assert level == 'WARNING' and "5-7" in message
    assert obj.depth_cloud.sequence.missing == "5-7"
    scene.frame_set(6)
    assert len(displayed_points(obj)[0]) == 0


def test_unregister_removes_handlers(dc, scene):
    import bpy

    from depth_cloud import handlers
    dc.unregister()
    try:
        for list_name, fn in handlers.HANDLERS:
            assert fn not in getattr(bpy.app.handlers, list_name)
    finally:
        dc.register()
    assert handlers.depth_cloud_frame_change in bpy.app.handlers.frame_change_post


def test_step_holds_previous_frame(shot):
    """Step 2 builds frames 1 and 3; frames 2 and 4 hold them (camera of the held frame)."""
    import bpy
    scene, cam, pattern = shot
    obj = _build(scene, pattern, frame_step=2)
    assert (obj.depth_cloud.sequence.frame_start, obj.depth_cloud.sequence.frame_step) == (1, 2)
    for frame, held in ((1, 1), (2, 1), (3, 3), (4, 3)):
        scene.frame_set(frame)
        points = displayed_points(obj)[0]
        scene.frame_set(held)  # the check projects through the held frame's camera
        assert_matches_frame(scene, cam, frame_path(pattern, held), points)
        scene.frame_set(frame)
    assert bpy.context.scene.frame_current == 4


def test_undo_handler_forgets_removed_sequences(shot):
    """Undo cannot run without a window; its handler's work is checked directly: after an
    undo the meshes are rewritten on the next change, and sequences no object refers to
    (an undone build) free their cached frames."""
    import bpy

    from depth_cloud import handlers
    from depth_cloud.glue.sequence import playback
    scene, cam, pattern = shot
    obj = _build(scene, pattern, prefetch=False)
    uid = obj.depth_cloud.sequence.uid
    scene.frame_set(2)
    obj.data.clear_geometry()  # what an undo step may restore: other contents than the handler wrote
    handlers.depth_cloud_undo_post(scene)
    scene.frame_set(2)  # same frame: written again because the shown state was forgotten
    assert_matches_frame(scene, cam, frame_path(pattern, 2), displayed_points(obj)[0])
    assert any(k[0] == uid for k in playback.cache().keys())
    bpy.data.objects.remove(obj)
    handlers.depth_cloud_undo_post(scene)
    assert not any(k[0] == uid for k in playback.cache().keys()) and playback.player(uid) is None


def _ready_meshes():
    import bpy

    from depth_cloud.glue.sequence import frame_meshes
    return [m for m in bpy.data.meshes if frame_meshes.is_ready_mesh(m)]


def test_cached_frames_swap_ready_meshes(shot, capfd):
    """Each frame shown keeps its own Mesh (budget permitting): revisits swap ``obj.data``
    without reading or writing, the points match every frame's file, and the budget counts
    the meshes."""
    from depth_cloud.glue.sequence import frame_meshes, playback
    scene, cam, pattern = shot
    obj = _build(scene, pattern, prefetch=False)
    uid = obj.depth_cloud.sequence.uid
    own = obj.depth_cloud.sequence.mesh
    assert own is not None and not frame_meshes.is_ready_mesh(own)
    meshes = {}
    for frame in FRAMES:
        scene.frame_set(frame)
        assert frame_meshes.frame_of(obj.data) == (uid, frame)
        meshes[frame] = obj.data.session_uid
    assert len(set(meshes.values())) == len(FRAMES) and len(_ready_meshes()) == len(FRAMES)
    player = playback.player(uid)
    builds = player.builds
    cache = playback.cache()
    for frame in (3, 1, 4, 2, 2):
        scene.frame_set(frame)
        assert obj.data.session_uid == meshes[frame]
        p, c, r = displayed_points(obj)
        assert_matches_frame(scene, cam, frame_path(pattern, frame), p, c, r)
        assert cache.nbytes <= cache.budget and cache.extra_bytes > 0
    assert player.builds == builds  # nothing read again
    assert "Traceback" not in capfd.readouterr().err


def test_ready_meshes_respect_the_budget(shot, monkeypatch):
    """Ready meshes give way to the compact frames: with room for all four compact frames and
    about one Mesh, at most one ready Mesh is kept, and every frame still shows its points."""
    from depth_cloud.glue import preferences
    from depth_cloud.glue.sequence import playback
    scene, cam, pattern = shot
    obj = _build(scene, pattern, prefetch=False)
    uid = obj.depth_cloud.sequence.uid
    for frame in FRAMES:
        scene.frame_set(frame)
    compact = sum(playback.cache().peek((uid, f)).nbytes for f in FRAMES)
    mesh_bytes = max(playback._extra_bytes(len(playback.cache().peek((uid, f))), None, {}) for f in FRAMES)
    monkeypatch.setattr(preferences.settings(), "cache_mb", (compact + 1.5 * mesh_bytes) / playback.MB)
    cache = playback.cache()
    for frame in (1, 2, 3, 4, 3, 1):
        scene.frame_set(frame)
        assert cache.nbytes <= cache.budget
        assert sorted(f for u, f in cache.keys() if u == uid) == list(FRAMES)  # compact frames all kept
        assert len([k for k in cache.extra_keys() if k[0] == uid]) <= 1
        assert_matches_frame(scene, cam, frame_path(pattern, frame), displayed_points(obj)[0])
    assert len(_ready_meshes()) <= 2  # the one kept, and at most the one on screen being swapped out
    monkeypatch.setattr(preferences.settings(), "cache_mb", 0.9 * compact / playback.MB)  # not even compact frames
    for frame in FRAMES:
        scene.frame_set(frame)
        assert not [k for k in cache.extra_keys() if k[0] == uid]
        assert_matches_frame(scene, cam, frame_path(pattern, frame), displayed_points(obj)[0])


def test_vanished_ready_meshes_are_rebuilt(shot, capfd):
    """A ready Mesh removed behind the player's back (orphan purge, a script) is just written
    again from the cached frame; after an undo every ready Mesh is forgotten and rebuilt."""
    import bpy

    from depth_cloud import handlers
    from depth_cloud.glue.sequence import frame_meshes
    scene, cam, pattern = shot
    obj = _build(scene, pattern, prefetch=False)
    for frame in FRAMES:
        scene.frame_set(frame)
    bpy.data.orphans_purge(do_recursive=True)  # every ready Mesh not on screen
    assert len(_ready_meshes()) == 1
    victim = next(m for m in _ready_meshes())
    scene.frame_set(2)
    bpy.data.meshes.remove(victim)  # the frame 4 Mesh, no longer on screen
    for frame in (4, 1, 3, 2):
        scene.frame_set(frame)
        assert_matches_frame(scene, cam, frame_path(pattern, frame), displayed_points(obj)[0])
    handlers.depth_cloud_undo_post(scene)
    assert not frame_meshes.tracked_keys()
    for frame in (2, 3):
        scene.frame_set(frame)
        assert_matches_frame(scene, cam, frame_path(pattern, frame), displayed_points(obj)[0])
    assert len(_ready_meshes()) <= 3
    out, err = capfd.readouterr()
    assert "Traceback" not in err and "Depth Cloud" not in out.replace("Depth Cloud: built", "")


def test_saved_files_hold_no_ready_meshes(shot, tmp_path):
    """Saving puts the sequence's own Mesh (holding the frame on screen) back in the object;
    the reloaded file has no ready meshes and shows the frame it was saved at."""
    import bpy
    scene, cam, pattern = shot
    obj = _build(scene, pattern, prefetch=False)
    for frame in (1, 2, 3):
        scene.frame_set(frame)
    assert len(_ready_meshes()) == 3
    names = obj.name, cam.name
    blend = str(tmp_path / "ready.blend")
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    assert obj.data == obj.depth_cloud.sequence.mesh
    bpy.ops.wm.open_mainfile(filepath=blend, load_ui=False)
    assert not _ready_meshes()
    scene = bpy.context.scene
    obj, cam = scene.objects[names[0]], scene.objects[names[1]]
    assert obj.data == obj.depth_cloud.sequence.mesh
    assert_matches_frame(scene, cam, frame_path(pattern, 3), displayed_points(obj)[0])
    for frame in (4, 1):
        scene.frame_set(frame)
        assert_matches_frame(scene, cam, frame_path(pattern, frame), displayed_points(obj)[0])


def test_linked_duplicates_and_materials_follow_swaps(shot):
    """A linked duplicate (same Mesh) shows the same frames; material slots follow the Mesh
    on screen."""
    import bpy
    scene, cam, pattern = shot
    obj = _build(scene, pattern, prefetch=False)
    mat = bpy.data.materials.new("Seq Material")
    obj.data.materials.append(mat)
    dup = obj.copy()
    scene.collection.objects.link(dup)
    for frame in (2, 3, 1, 3):
        scene.frame_set(frame)
        assert dup.data == obj.data and list(obj.data.materials) == [mat]
        assert_matches_frame(scene, cam, frame_path(pattern, frame), displayed_points(dup)[0])
        assert_matches_frame(scene, cam, frame_path(pattern, frame), displayed_points(obj)[0])
    from depth_cloud.glue.sequence import playback
    playback.shutdown()  # what unregistering does: the own Mesh back on screen, ready meshes freed
    assert obj.data == dup.data == obj.depth_cloud.sequence.mesh and not _ready_meshes()
    assert_matches_frame(scene, cam, frame_path(pattern, 3), displayed_points(obj)[0])
