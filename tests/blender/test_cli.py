"""The ``depth_cloud`` command line on real bpy, against Blender's own ground truth.

A 6-frame Cycles sequence (animated camera: location, rotation and focal length) with Z,
Position and Combined passes is rendered once and saved as ``shot.blend``; each test opens it
as ``blender -b shot.blend -c depth_cloud ...`` would, and calls the CLI entry point with an
argument list (the bpy wheel has no ``blender`` binary).
"""
import json
import os
import re

import numpy as np
import pytest

from scenes import add_camera, add_primitives, look_at_euler, read_ground_truth, render, set_exr_output, setup_render

BOUND = 5e-5  # foundation bound: p99 |point - Position pass| <= 5e-5 x depth
FRAMES = range(1, 7)
PROGRESS = re.compile(r"^\[\s*(\d+)/(\d+)\] frame (-?\d+): ([\d,]+) points -> (\S+) \(.*, (\d+\.\d\d) s\)$")


@pytest.fixture(scope="module")
def shot(dc, tmp_path_factory):
    import bpy
    root = tmp_path_factory.mktemp("cli_shot")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    setup_render(scene, 48, 36)
    add_primitives(scene)
    cam = add_camera(scene, lens=35.0)
    for f in FRAMES:
        loc = (4.0 + 0.25 * f, -5.0 + 0.3 * f, 3.0 - 0.1 * f)
        cam.location = loc
        cam.rotation_euler = look_at_euler(loc, (0.3, 0.3 + 0.05 * f, 0.4))
        cam.data.lens = 33.0 + f
        cam.keyframe_insert("location", frame=f)
        cam.keyframe_insert("rotation_euler", frame=f)
        cam.data.keyframe_insert("lens", frame=f)
    scene.frame_start, scene.frame_end = 1, 6
    for f in FRAMES:
        scene.frame_set(f)
        render(scene, str(root / f"shot_{f:04d}.exr"))
    scene.frame_set(1)
    set_exr_output(scene, multilayer=False)
    render(scene, str(root / "single_0001.exr"))
    set_exr_output(scene, multilayer=True)
    blend = str(root / "shot.blend")
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return {"root": root, "blend": blend, "pattern": str(root / "shot_####.exr")}


@pytest.fixture
def opened(shot, scene):
    """``shot.blend`` opened, as ``blender -b shot.blend`` does before running the command."""
    import bpy
    bpy.ops.wm.open_mainfile(filepath=shot["blend"])
    return shot


def run(capsys, *argv):
    from depth_cloud import cli
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def error_lines(err):
    """stderr's lines besides the ``warning:`` lines (core/diagnostics.py)."""
    return [line for line in err.splitlines() if line.strip() and ": warning: " not in line]


def ply_files(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


# ------------------------------------------------------------------ build -> PLY
def test_build_ply_reads_back_in_blender_matching_the_position_pass(opened, tmp_path, capsys):
    import bpy

    from depth_cloud.core.points.colors import linear_to_srgb
    out = tmp_path / "out"
    status, stdout, err = run(capsys, "build", "--source", opened["pattern"], "--frames", "1-3",
                              "--output", str(out / "cloud_####.ply"))
    assert status == 0, err
    progress = [PROGRESS.match(line) for line in stdout.splitlines()]
    assert [int(m.group(3)) for m in progress if m] == [1, 2, 3]  # one line per frame, with timing
    assert ply_files(out) == ["cloud_0001.ply", "cloud_0002.ply", "cloud_0003.ply"]

    for f in (1, 2, 3):
        pos, z, rgba = read_ground_truth(str(opened["root"] / f"shot_{f:04d}.exr"))
        surface = z < 1e9
        before = set(bpy.data.objects)
        assert bpy.ops.wm.ply_import(filepath=str(out / f"cloud_{f:04d}.ply")) == {'FINISHED'}
        (ob,) = set(bpy.data.objects) - before
        mesh = ob.data
        n = len(mesh.vertices)
        assert n == int(surface.sum()) > 0.2 * surface.size  # same point count
        co = np.empty(n * 3, np.float32)
        mesh.attributes["position"].data.foreach_get("vector", co)
        # points are written in pixel order (rows top-down), like np.nonzero of the surface mask
        err_rel = np.linalg.norm(co.reshape(-1, 3) - pos[surface], axis=1) / z[surface]
        p99 = np.percentile(err_rel, 99)
        print(f"frame {f}: {n} points, p99 {p99:.2e} x depth, max {err_rel.max():.2e}")
        assert p99 <= BOUND
        col = mesh.color_attributes[0]
        got = np.empty(n * 4, np.float32)
        col.data.foreach_get("color_srgb", got)
        want = linear_to_srgb(rgba[surface][:, :3])
        diff = np.abs(got.reshape(-1, 4)[:, :3] - want)
        print(f"frame {f}: max color difference {diff.max() * 255:.3f}/255")
        assert diff.max() <= 1.0 / 255 + 1e-6
        radius = mesh.attributes.get("radius")
        assert radius is not None and radius.data_type == 'FLOAT'


def test_chunked_runs_make_exactly_the_files_of_one_full_run(opened, tmp_path, capsys):
    full, chunked = tmp_path / "full", tmp_path / "chunked"
    status, _, err = run(capsys, "build", "--source", opened["pattern"], "--frames", "1-6",
                         "-o", str(full / "cloud_####.ply"))
    assert status == 0, err
    seen = []
    for k in (1, 2, 3):
        status, stdout, err = run(capsys, "build", "--source", opened["pattern"], "--frames", "1-6",
                                  "--chunk", f"{k}/3", "-o", str(chunked / "cloud_####.ply"))
        assert status == 0, err
        seen += [int(m.group(3)) for m in map(PROGRESS.match, stdout.splitlines()) if m]
    assert seen == list(FRAMES)  # each frame built once, by one chunk
    assert ply_files(full) == ply_files(chunked) == [f"cloud_{f:04d}.ply" for f in FRAMES]
    for name in ply_files(full):
        assert (full / name).read_bytes() == (chunked / name).read_bytes(), name


def test_existing_outputs_are_skipped_unless_overwrite(opened, tmp_path, capsys):
    out = tmp_path / "o"
    args = ["build", "--source", opened["pattern"], "--frames", "2-3", "-o", str(out / "c_####.ply")]
    assert run(capsys, *args)[0] == 0
    stamp = {n: os.stat(out / n).st_mtime_ns for n in ply_files(out)}
    data = {n: (out / n).read_bytes() for n in ply_files(out)}
    status, stdout, _ = run(capsys, *args)
    assert status == 0 and stdout.count("exists (--overwrite rebuilds)") == 2
    assert {n: os.stat(out / n).st_mtime_ns for n in ply_files(out)} == stamp
    status, stdout, _ = run(capsys, *args, "--overwrite")
    progress_lines = [m for m in map(PROGRESS.match, stdout.splitlines()) if m]
    assert status == 0 and "skipped" not in stdout and len(progress_lines) == 2
    assert {n: (out / n).read_bytes() for n in ply_files(out)} == data


def test_killed_write_leaves_no_partial_output(opened, tmp_path, capsys, monkeypatch):
    from depth_cloud.core.output import ply

    def dies_halfway(fh, records):
        data = memoryview(records).cast("B")
        fh.write(data[:len(data) // 2])
        fh.flush()
        raise KeyboardInterrupt  # what a job killed by the farm sees mid-write

    out = tmp_path / "k"
    monkeypatch.setattr(ply, "_write_body", dies_halfway)
    status, _, err = run(capsys, "build", "--source", opened["pattern"], "--frames", "1-2",
                         "-o", str(out / "c_####.ply"))
    assert status != 0 and len(error_lines(err)) == 1
    assert os.listdir(out) == []  # neither a half file nor a temporary file is left
    # an existing output survives a failed --overwrite untouched
    monkeypatch.undo()
    assert run(capsys, "build", "--source", opened["pattern"], "--frames", "1", "-o", str(out / "c_####.ply"))[0] == 0
    before = (out / "c_0001.ply").read_bytes()
    monkeypatch.setattr(ply, "_write_body", dies_halfway)
    status, _, _ = run(capsys, "build", "--source", opened["pattern"], "--frames", "1", "--overwrite",
                       "-o", str(out / "c_####.ply"))
    assert status != 0
    assert os.listdir(out) == ["c_0001.ply"] and (out / "c_0001.ply").read_bytes() == before


# ------------------------------------------------------------------ errors
def _bad_cases(shot, tmp):
    garbage = tmp / "garbage_0001.exr"
    garbage.write_text("this is not an EXR")
    return {
        "unknown channel": (["--depth-channel", "ViewLayer.Nope.Z"], "ViewLayer.Nope.Z"),
        "unknown layer": (["--layer", "NoLayer"], "NoLayer"),
        "bad frame range": (["--frames", "6-2"], "6-2"),
        "bad step": (["--frames", "1-6x0"], "1-6x0"),
        "bad chunk": (["--chunk", "4/3"], "4/3"),
        "missing camera": (["--camera", "NoSuchCamera"], "NoSuchCamera"),
        "not a camera": (["--camera", "Cube"], "Cube"),
        "unreadable file": (["--source", str(tmp / "garbage_####.exr"), "--frames", "1"], "garbage_0001.exr"),
        "unknown scene": (["--scene", "NoScene"], "NoScene"),
        "bad convention setting": (["--convention", "ZBUFFER", "--near", "0", "--far", "10"], "ZBUFFER"),
    }


@pytest.mark.parametrize("case", ["unknown channel", "unknown layer", "bad frame range", "bad step", "bad chunk",
                                  "missing camera", "not a camera", "unreadable file", "unknown scene",
                                  "bad convention setting"])
def test_bad_arguments_exit_nonzero_with_one_line(opened, tmp_path, capsys, case):
    extra, named = _bad_cases(opened, tmp_path)[case]
    argv = ["build", "--source", opened["pattern"], "--frames", "1-2", "-o", str(tmp_path / "o" / "c_####.ply")]
    status, stdout, err = run(capsys, *argv, *extra)
    lines = error_lines(err)
    print(case, "->", status, lines)
    assert status != 0
    assert len(lines) == 1 and named in lines[0] and "error" in lines[0]
    assert ply_files(tmp_path / "o") == []


def test_scene_without_camera_is_named(opened, tmp_path, capsys):
    import bpy
    # The EXRs name the camera that rendered them (Blender's `Camera` header), which would be
    # used when the scene has none: remove the camera object itself.
    for ob in [o for o in bpy.data.objects if o.type == 'CAMERA']:
        bpy.data.objects.remove(ob)
    status, _, err = run(capsys, "build", "--source", opened["pattern"], "--frames", "1",
                         "-o", str(tmp_path / "c_####.ply"))
    (line,) = error_lines(err)
    assert status == 1 and "no camera" in line and "frame 1" in line


def test_info_on_unreadable_file(opened, tmp_path, capsys):
    bad = tmp_path / "bad.exr"
    bad.write_bytes(b"\x76\x2f\x31\x01" + b"\x02\x00\x00\x00" + b"junk")
    status, _, err = run(capsys, "info", str(bad))
    (line,) = error_lines(err)
    assert status == 1 and "bad.exr" in line and "damaged" in line


def test_missing_frames_are_reported_and_skipped(opened, tmp_path, capsys):
    out = tmp_path / "m"
    argv = ["build", "--source", opened["pattern"], "--frames", "5-8", "-o", str(out / "c_####.ply")]
    status, stdout, err = run(capsys, *argv)
    assert status == 3
    assert stdout.count("MISSING") == 2 and "shot_0007.exr" in stdout and "shot_0008.exr" in stdout
    (line,) = error_lines(err)
    assert "7-8" in line
    assert ply_files(out) == ["c_0005.ply", "c_0006.ply"]
    assert run(capsys, *argv, "--allow-missing")[0] == 0
    # a pattern that matches nothing is a failure, not a silent success
    status, _, err = run(capsys, "build", "--source", str(opened["root"] / "nothing_####.exr"), "--frames", "1-2",
                         "-o", str(out / "n_####.ply"))
    assert status == 1 and "nothing_####.exr" in error_lines(err)[0]


def test_frame_with_no_surface_gives_an_empty_cloud(opened, tmp_path, capsys):
    import shutil

    from depth_cloud.core.output.ply import read_ply
    from scenes import write_exr
    shutil.copy(opened["root"] / "shot_0001.exr", tmp_path / "mix_0001.exr")
    write_exr(str(tmp_path / "mix_0002.exr"), {"Z": np.full((36, 48), 1e10, np.float32)})  # camera saw only sky
    status, stdout, err = run(capsys, "build", "--source", str(tmp_path / "mix_####.exr"), "--frames", "1-2",
                              "-o", str(tmp_path / "out" / "c_####.ply"))
    assert status == 0, err
    assert "WARNING empty cloud" in stdout and "mix_0002.exr" in stdout
    assert len(read_ply(tmp_path / "out" / "c_0002.ply")["vertex"]) == 0
    assert len(read_ply(tmp_path / "out" / "c_0001.ply")["vertex"]) > 0
    # every frame empty: the settings are wrong, so the run fails
    status, _, err = run(capsys, "build", "--source", str(tmp_path / "mix_####.exr"), "--frames", "2",
                         "-o", str(tmp_path / "out2" / "c_####.ply"))
    (line,) = error_lines(err)
    assert status == 1 and "empty" in line and "mix_0002.exr" in line


# ------------------------------------------------------------------ settings, .blend, API
def test_unset_options_come_from_the_scene_settings(opened, tmp_path, capsys):
    import bpy
    scene = bpy.context.scene
    scene.depth_cloud.exr_path = opened["pattern"]
    scene.depth_cloud.camera = scene.camera
    status, stdout, err = run(capsys, "build", "--chunk", "3/3", "-o", str(tmp_path / "s_####.ply"))
    assert status == 0, err
    assert ply_files(tmp_path) == ["s_0005.ply", "s_0006.ply"]  # last third of the scene's frames 1-6
    scene.depth_cloud.exr_path = ""
    status, _, err = run(capsys, "build", "-o", str(tmp_path / "t_####.ply"))
    (line,) = error_lines(err)
    assert status == 2 and "--source" in line


def test_blend_output_holds_one_cloud_per_frame(opened, tmp_path, capfd):
    import bpy

    from depth_cloud import cli
    status = cli.main(["build", "--source", opened["pattern"], "--frames", "1-3", "--chunk", "1/1",
                       "-o", str(tmp_path / "clouds_####.blend")])
    out, err = capfd.readouterr()
    assert status == 0, err
    assert "Info:" not in out  # Blender's own "Info: Saved ..." is kept out of the progress lines
    path = tmp_path / "clouds_0001-0003.blend"
    assert os.listdir(tmp_path) == ["clouds_0001-0003.blend"]
    expected = {f"shot_{f:04d}": int((read_ground_truth(str(opened["root"] / f"shot_{f:04d}.exr"))[1] < 1e9).sum())
                for f in (1, 2, 3)}
    bpy.ops.wm.read_factory_settings(use_empty=True)
    with bpy.data.libraries.load(str(path)) as (src, dst):
        dst.objects = [name for name in src.objects if name.startswith("shot_")]
    got = {ob.name: len(ob.data.points) for ob in dst.objects if ob.type == 'POINTCLOUD'}
    assert got == expected
    assert all(ob.depth_cloud.is_cloud for ob in dst.objects)


def test_build_usd_streams_the_range_into_one_point_cache(opened, tmp_path, capsys):
    """`build -o x.usdc`: one time-sampled UsdGeom.Points, each frame equal to its Position pass."""
    from depth_cloud.cli import build as cli_build
    out = tmp_path / "cache.usdc"
    if not cli_build.usd_available():  # the bpy 4.2 wheel ships no pxr (real Blender 4.2 does)
        status, _, err = run(capsys, "build", "--source", opened["pattern"], "--frames", "1", "-o", str(out))
        (line,) = error_lines(err)
        assert status == 2 and "USD" in line and "pxr" in line and os.listdir(tmp_path) == []
        return
    status, stdout, err = run(capsys, "build", "--source", opened["pattern"], "--frames", "1-3", "-o", str(out))
    assert status == 0, err
    assert len([ln for ln in stdout.splitlines() if re.search(r"frame \d+: [\d,]+ points", ln)]) == 3
    from pxr import Usd, UsdGeom
    stage = Usd.Stage.Open(str(out))
    points = UsdGeom.Points(stage.GetDefaultPrim())
    assert (stage.GetStartTimeCode(), stage.GetEndTimeCode()) == (1.0, 3.0)
    for frame in (1, 2, 3):
        pos, z, _ = read_ground_truth(opened["pattern"].replace("####", f"{frame:04d}"))
        got = np.array(points.GetPointsAttr().Get(frame), dtype=np.float64)
        assert len(got) == int((z < 1e9).sum())
        surface = pos[z < 1e9]  # row-major, the order points are written in
        err = np.linalg.norm(got - surface, axis=1) / z[z < 1e9]
        assert np.percentile(err, 99) <= 5e-5


def test_api_and_registered_command(opened, tmp_path, capsys):
    from depth_cloud import api, cli
    assert cli._handle is not None  # registered with bpy.utils.register_cli_command
    assert cli.execute(["--help"]) == 0 and "usage: depth_cloud build" in capsys.readouterr().out
    out = tmp_path / "api"
    assert api.run_cli(f"build --source {opened['pattern']} --frames 4 -o {out}/c_####.ply") == 0
    assert ply_files(out) == ["c_0004.ply"]


# ------------------------------------------------------------------ info
def test_info_on_blender_multilayer_exr(opened, capsys):
    path = str(opened["root"] / "shot_0001.exr")
    status, stdout, err = run(capsys, "info", path)
    assert status == 0, err
    text = stdout
    assert "view layers: ViewLayer" in text
    for pass_name, channels in (("Combined", "R G B A"), ("Depth", "Z"), ("Position", "X Y Z")):
        assert re.search(rf"^\s+{pass_name}\s+{channels}\s+float$", text, re.M), pass_name
    assert "camera (Blender 'Camera' header): Camera" in text
    assert "depth: ViewLayer.Depth.Z, convention PLANAR" in text
    assert "display window (0,0)-(47,35) 48x36" in text
    status, stdout, _ = run(capsys, "info", path, "--json")
    data = json.loads(stdout)
    assert [p["name"] for p in data["layers"][0]["passes"]] == ["Combined", "Depth", "Position"]
    assert data["kind"] == "DEPTH" and data["camera"]["blender_camera"] == "Camera"


def test_info_on_single_layer_exr_and_ply(opened, tmp_path, capsys):
    status, stdout, err = run(capsys, "info", str(opened["root"] / "single_0001.exr"))
    assert status == 0, err
    assert "view layers: none (single-layer file)" in stdout
    assert re.search(r"^\s+\(no pass\)\s+R G B A\s+\w+$", stdout, re.M)
    assert "pass (auto): none found" in stdout and "color: R, G, B, A" in stdout
    assert run(capsys, "build", "--source", opened["pattern"], "--frames", "1", "--alpha",
               "-o", str(tmp_path / "c.ply"))[0] == 0
    status, stdout, _ = run(capsys, "info", str(tmp_path / "c.ply"))
    assert status == 0 and "element vertex" in stdout and "uchar alpha" in stdout and "comment: frame 1" in stdout
