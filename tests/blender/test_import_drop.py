"""Import Depth Cloud (.exr): File > Import and drag and drop (``depth_cloud.import_exr``).

Dropped files reach the operator as ``directory`` + ``files``, as Blender's FileHandler passes
them. The clouds built are checked against Cycles' Position pass of each frame (99th percentile
of |point - Position| <= 5e-5 x depth, the single-frame bound); bad files cancel the import
with an ERROR naming the file and leave the scene as it was.
"""
import os
import re

import numpy as np
import pytest

from scenes import (
    add_camera,
    add_primitives,
    look_at_euler,
    read_ground_truth,
    setup_render,
    shown_points,
    write_exr,
)

BOUND = 5e-5
W, H = 40, 30
FRAMES = (1, 2, 3)


def _shot(scene):
    setup_render(scene, W, H)
    add_primitives(scene)
    cam = add_camera(scene)
    for frame, loc in ((1, (4.0, -5.0, 3.0)), (3, (5.0, -3.0, 2.4))):
        cam.location = loc
        cam.rotation_euler = look_at_euler(loc, (0.4, 0.3, 0.4))
        cam.keyframe_insert("location", frame=frame)
        cam.keyframe_insert("rotation_euler", frame=frame)
    scene.frame_start, scene.frame_end = FRAMES[0], FRAMES[-1]
    scene.frame_set(FRAMES[0])


@pytest.fixture(scope="module")
def shot_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("drop")


@pytest.fixture
def shot(scene, shot_dir):
    """``(scene, folder)``: the scene rebuilt, its frames ``shot_0001.exr``… rendered once."""
    import bpy
    _shot(scene)
    names = [f"shot_{f:04d}.exr" for f in FRAMES]
    if not all((shot_dir / n).is_file() for n in names):
        scene.render.filepath = str(shot_dir / "shot_####.exr")
        scene.render.use_file_extension = False
        bpy.ops.render.render(animation=True)
        scene.frame_set(FRAMES[0])
    return scene, str(shot_dir)


def snapshot():
    import bpy
    kinds = ("objects", "pointclouds", "meshes", "collections", "node_groups")
    return {k: sorted(d.name for d in getattr(bpy.data, k)) for k in kinds}


def drop(folder, *names):
    import bpy
    return bpy.ops.depth_cloud.import_exr(directory=folder, files=[{"name": n} for n in names])


def p99_error(scene, path, positions):
    """99th percentile of |point - Position pass| / depth, each point's pixel found by
    projecting it through the scene camera at the current frame; every surface pixel once."""
    from depth_cloud import api
    pos_gt, z, _rgba = read_ground_truth(path)
    surface = z < 1e9
    assert len(positions) == int(surface.sum()) > 0.2 * surface.size
    x, y, _depth = api.camera_model(scene.camera, scene, size=(W, H)).project(positions)
    cols, rows = np.floor(x).astype(int), np.floor(y).astype(int)
    assert ((cols >= 0) & (cols < W) & (rows >= 0) & (rows < H)).all()
    assert surface[rows, cols].all()
    assert len(np.unique(rows * W + cols)) == len(positions)
    return float(np.percentile(np.linalg.norm(positions - pos_gt[rows, cols], axis=1) / z[rows, cols], 99))


def test_drop_one_file_builds_its_cloud(shot):
    import bpy
    scene, folder = shot
    assert drop(folder, "shot_0001.exr") == {'FINISHED'}
    ob = bpy.context.view_layer.objects.active
    assert ob is not None and ob.depth_cloud.is_cloud
    path = os.path.join(folder, "shot_0001.exr")
    assert ob.depth_cloud.source == path
    assert scene.depth_cloud.exr_path == path  # the panel now shows what was imported
    assert p99_error(scene, path, shown_points(ob)) <= BOUND


def test_drop_numbered_frames_makes_a_sequence(shot):
    import bpy
    scene, folder = shot
    assert drop(folder, "shot_0003.exr", "shot_0001.exr", "shot_0002.exr") == {'FINISHED'}
    seqs = [o for o in scene.objects if o.depth_cloud.sequence.is_sequence]
    assert len(seqs) == 1
    seq = seqs[0].depth_cloud.sequence
    assert seq.source == os.path.join(folder, "shot_####.exr")
    assert (seq.frame_start, seq.frame_end) == (1, 3)
    for frame in (3, 1, 2):
        scene.frame_set(frame)
        assert p99_error(scene, os.path.join(folder, f"shot_{frame:04d}.exr"), shown_points(seqs[0])) <= BOUND
    assert bpy.context.view_layer.objects.active == seqs[0]


def test_file_import_with_filepath(shot):
    """File > Import's file browser may give only ``filepath``."""
    import bpy
    scene, folder = shot
    path = os.path.join(folder, "shot_0001.exr")
    assert bpy.ops.depth_cloud.import_exr(filepath=path) == {'FINISHED'}
    assert bpy.context.view_layer.objects.active.depth_cloud.source == path


@pytest.mark.parametrize("bad", ["text.exr", "colour_only.exr", "picture.png", "missing.exr"])
def test_unusable_file_is_named_and_nothing_changes(shot, bad):
    scene, folder = shot
    bad_dir = os.path.join(folder, "bad")
    os.makedirs(bad_dir, exist_ok=True)
    if bad == "text.exr":
        open(os.path.join(bad_dir, bad), "w").write("not an image")
    elif bad == "colour_only.exr":
        plane = np.full((4, 5), 0.5, np.float32)
        write_exr(os.path.join(bad_dir, bad), {"R": plane, "G": plane, "B": plane})
    elif bad == "picture.png":
        open(os.path.join(bad_dir, bad), "wb").write(b"\x89PNG\r\n\x1a\n")
    good = os.path.join(bad_dir, "good.exr")
    if not os.path.isfile(good):
        import shutil
        shutil.copy(os.path.join(folder, "shot_0001.exr"), good)
    scene.depth_cloud.exr_path = "/elsewhere/earlier.exr"
    before = snapshot()
    with pytest.raises(RuntimeError, match=re.escape(os.path.join(bad_dir, bad))):
        drop(bad_dir, "good.exr", bad)  # the good file is not built either
    assert snapshot() == before, "a failed import changed the scene"
    assert scene.depth_cloud.exr_path == "/elsewhere/earlier.exr"


def test_file_handler_accepts_drops_on_the_3d_viewport(dc):
    import bpy

    from depth_cloud.ui import file_handler
    handler = getattr(bpy.types, "DEPTH_CLOUD_FH_import_exr", None)
    assert handler is not None, "the FileHandler is not registered"
    assert handler.bl_import_operator == "depth_cloud.import_exr"
    assert handler.bl_file_extensions == ".exr"
    window = bpy.context.window_manager.windows[0]
    areas = {a.type: a for a in window.screen.areas}
    with bpy.context.temp_override(window=window, area=areas['VIEW_3D']):
        assert handler.poll_drop(bpy.context)
    with bpy.context.temp_override(window=window, area=areas['OUTLINER']):
        assert not handler.poll_drop(bpy.context)
    assert file_handler.draw_import_menu in bpy.types.TOPBAR_MT_file_import._dyn_ui_initialize()
