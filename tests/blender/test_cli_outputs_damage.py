"""Damaged Cycles renders and command-line outputs: a damaged file is a typed error naming
what is wrong (never a white cloud), every output failure is one line naming the output
path, and a failed or empty frame leaves no file a farm's rerun would take as done."""
import os

import numpy as np
import pytest
from test_cli import error_lines, run
from test_views_stereo import eye_truth, stereo_scene

from scenes import add_camera, add_primitives, render, setup_render, write_exr


@pytest.fixture
def frames(scene, tmp_path):
    """Frames 1-3 of a small Cycles render (the same frame three times) in a saved .blend."""
    import shutil

    import bpy
    setup_render(scene, 48, 36)
    add_primitives(scene)
    add_camera(scene)
    first = render(scene, str(tmp_path / "shot_0001.exr"))
    for f in (2, 3):
        shutil.copy(first, tmp_path / f"shot_{f:04d}.exr")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "shot.blend"))
    return tmp_path


def _cut(path, fraction):
    data = open(path, "rb").read()
    with open(path, "wb") as fh:
        fh.write(data[:int(len(data) * fraction)])


def test_cut_cycles_render_is_a_typed_error_naming_the_damage(frames):
    """Cut at 5-95 % (35-42 % once blamed a missing 'channel channel'): a SourceFileError
    saying truncated/damaged, naming the file once; the scene is left as it was."""
    import shutil

    from depth_cloud import api
    from depth_cloud.core.errors import SourceFileError
    src = str(frames / "shot_0001.exr")
    import bpy
    before = len(bpy.context.scene.objects)
    full = api.unproject(bpy.context.scene, source=src)
    for pct in (5, 20, 35, 38, 40, 42, 60, 80, 95, 99):
        cut = str(frames / f"cut_{pct}.exr")
        shutil.copy(src, cut)
        _cut(cut, pct / 100)
        try:
            ps = api.unproject(bpy.context.scene, source=cut)
        except SourceFileError as e:
            msg = str(e)
        else:  # only a part this build does not need is damaged: one warning names it
            damaged = [w for w in ps.meta["warnings"] if "was skipped" in w]
            assert len(damaged) == 1 and "truncated" in damaged[0], (pct, ps.meta["warnings"])
            np.testing.assert_array_equal(ps.positions, full.positions)
            np.testing.assert_array_equal(ps.colors, full.colors)  # the render's colors, never white
            continue
        assert msg.startswith(cut + ": ") and msg.count(cut) == 1, msg
        assert "truncated" in msg and "channel channel" not in msg, msg
        assert len(bpy.context.scene.objects) == before


@pytest.mark.parametrize("name,written", [("c_####.ply", "c_0001.ply"), ("clouds.blend", "clouds.blend"),
                                          ("cache.usdc", "cache.usdc")])
def test_output_under_a_file_is_one_line_naming_the_output(frames, capsys, name, written):
    if name.endswith(".usdc"):
        from depth_cloud.cli.build import usd_available
        if not usd_available():
            pytest.skip("this Blender has no bundled USD module")
    (frames / "blocker").write_text("a file where a folder should be")
    out = frames / "blocker" / "sub" / name
    status, _, err = run(capsys, "build", "--source", str(frames / "shot_####.exr"), "--frames", "1", "-o", str(out))
    (line,) = error_lines(err)
    assert status == 1, err
    assert str(frames / "blocker" / "sub" / written) in line and "is a file, not a folder" in line, line
    assert "internal error" not in line and ".tmp" not in line and ".partial" not in line


def test_unwritable_output_is_one_line_naming_the_output(frames, capsys, monkeypatch):
    """Permission denied while moving the finished file in place (what a read-only folder
    gives; simulated, as these tests may run as root, who may write anywhere)."""
    import depth_cloud.core.fileio as fileio

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", src)
    monkeypatch.setattr(fileio.os, "replace", refuse)
    out = frames / "ro" / "c_####.ply"
    status, _, err = run(capsys, "build", "--source", str(frames / "shot_####.exr"), "--frames", "1", "-o", str(out))
    (line,) = error_lines(err)
    assert status == 1 and str(frames / "ro" / "c_0001.ply") in line, line
    assert "cannot write the output" in line and ".tmp" not in line and "internal error" not in line, line
    assert os.listdir(frames / "ro") == []  # no temporary file left


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write into read-only folders")
def test_read_only_folder(frames, capsys):
    ro = frames / "readonly"
    ro.mkdir()
    os.chmod(ro, 0o555)
    try:
        status, _, err = run(capsys, "build", "--source", str(frames / "shot_####.exr"), "--frames", "1",
                             "-o", str(ro / "c_####.ply"))
    finally:
        os.chmod(ro, 0o755)
    (line,) = error_lines(err)
    assert status == 1 and str(ro / "c_0001.ply") in line and "no permission" in line, line


def test_all_empty_chunk_leaves_no_file_and_fails_again(frames, capsys):
    for f in (1, 2):
        write_exr(str(frames / f"sky_{f:04d}.exr"), {"Z": np.full((36, 48), 1e10, np.float32)})
    args = ("build", "--source", str(frames / "sky_####.exr"), "--frames", "1-2",
            "-o", str(frames / "o" / "s_####.ply"))
    for _attempt in (1, 2):  # a farm's rerun of the failed chunk fails again
        status, out, err = run(capsys, *args)
        assert status == 1 and "empty" in error_lines(err)[-1], (out, err)
        assert not os.path.isdir(frames / "o") or os.listdir(frames / "o") == []
        assert "skipped (exist)" not in out


def test_failed_frame_leaves_no_file_and_rerun_fails_again(frames, capsys):
    _cut(str(frames / "shot_0002.exr"), 0.6)
    args = ("build", "--source", str(frames / "shot_####.exr"), "--frames", "1-3",
            "-o", str(frames / "o" / "c_####.ply"))
    for attempt in (1, 2):
        status, out, err = run(capsys, *args)
        (line,) = error_lines(err)
        assert status == 1 and "frame 2" in line and "truncated" in line, line
        assert sorted(os.listdir(frames / "o")) == ["c_0001.ply"]
        if attempt == 2:
            assert "skipped" in out


def test_cli_view_and_info_list_the_views(scene, tmp_path, capsys):
    import bpy

    from depth_cloud import api
    from depth_cloud.core.output.ply import read_ply
    stereo_scene(scene)
    path = render(scene, str(tmp_path / "st_0001.exr"))
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "st.blend"))
    status, out, err = run(capsys, "info", path)
    assert status == 0 and "views: left, right (default left); a build reads view 'left'" in out, out
    for view in ("left", "right"):
        status, out, err = run(capsys, "build", "--source", str(tmp_path / "st_####.exr"), "--frames", "1",
                               "--view", view, "-o", str(tmp_path / view / "c_####.ply"))
        assert status == 0, err
        ply_file = read_ply(tmp_path / view / "c_0001.ply")
        ply = ply_file["vertex"]
        assert f"view {view}" in ply_file["comments"]
        ps = api.unproject(scene, source=path, view=view)
        assert len(ply) == len(ps)
        truth, _ = eye_truth(path, view)
        xyz = np.stack([ply["x"], ply["y"], ply["z"]], -1).astype(np.float64)
        gt = truth[ps.pixels[:, 1], ps.pixels[:, 0]]
        # PLY rows are in point order: each vertex is where its eye's Position pass says
        assert np.percentile(np.linalg.norm(xyz - gt, axis=1) / ps.depth, 99) <= 5e-5
    status, _, err = run(capsys, "build", "--source", str(tmp_path / "st_####.exr"), "--frames", "1",
                         "--view", "middle", "-o", str(tmp_path / "m" / "c_####.ply"))
    (line,) = error_lines(err)
    assert status == 1 and "no view 'middle'" in line and "left, right" in line
