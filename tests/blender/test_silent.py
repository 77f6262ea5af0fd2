"""Issue 23, "nothing silent": every warning reaches the user (operator, command line, API)
and every mistake is named. Each test fails on the commit before the issue was worked on
(4b0cfe6); geometry is checked against Cycles' Position pass, counts against the file's
pixels."""
import os
import re
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

from paths import OPENEXR_IMAGES
from scenes import add_camera, add_primitives, read_ground_truth, render, setup_render, write_exr

DATA = OPENEXR_IMAGES  # ../shared/data/openexr-images beside the repository (tests/paths.py)
BOUND = 5e-5  # p99 |point - Position pass| <= 5e-5 x depth


def _data(*parts):
    path = os.path.join(DATA, *parts)
    if not os.path.isfile(path):
        pytest.skip(f"{path} is absent (../shared/data not present)")
    return path


def run(capsys, *argv):
    from depth_cloud import cli
    status = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def warning_lines(err):
    return [line for line in err.splitlines() if ": warning: " in line]


def error_lines(err):
    return [line for line in err.splitlines() if ": error: " in line]


@pytest.fixture
def shot(scene, tmp_path):
    """A Cycles render (Z, Position, Combined) by the camera named "Camera", at frame 1."""
    setup_render(scene, 48, 36)
    add_primitives(scene)
    cam = add_camera(scene, lens=35.0)
    scene.frame_set(1)
    path = render(scene, str(tmp_path / "render_0001.exr"))
    pos, z, rgba = read_ground_truth(path)
    return {"scene": scene, "cam": cam, "path": path, "pattern": str(tmp_path / "render_####.exr"),
            "pos": pos, "z": z, "rgba": rgba, "root": tmp_path}


# ------------------------------------------------------------------ 2. the camera trap
def test_named_camera_that_did_not_render_fails_on_every_surface(shot, capsys):
    """The file names camera "Camera"; this scene's "Camera" stands elsewhere. Before: exit 0,
    every point off, nothing printed (CLI PLY path), two numpy RuntimeWarnings (API).
    After: the build fails naming the mismatch on the CLI, the API and the operator; with the
    camera chosen explicitly it builds with one warning."""
    import bpy
    from test_bad_input import snapshot

    from depth_cloud import api
    scene, cam = shot["scene"], shot["cam"]
    cam.location = (-3.0, 4.0, 6.0)  # "another scene": an object of the same name, somewhere else
    out = shot["root"] / "out"
    status, stdout, err = run(capsys, "build", "--source", shot["pattern"], "--frames", "1",
                              "-o", out / "c_####.ply")
    assert status == 1, (stdout, err)
    (line,) = error_lines(err)
    assert "does not match the Position pass" in line and "'Camera'" in line and "render_0001.exr" in line
    assert not os.path.exists(out / "c_0001.ply")
    # the API: a typed error, and no numpy warning leaks
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(api.CameraError, match="does not match the Position pass"):
            api.unproject(scene, frame=1, source=shot["path"])
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]
    with warnings.catch_warnings(record=True) as caught:  # chosen: built, one DepthCloudWarning, no numpy noise
        warnings.simplefilter("always")
        api.unproject(scene, frame=1, source=shot["path"], camera=cam)
    assert [w.category for w in caught] == [api.DepthCloudWarning], [str(w.message) for w in caught]
    # the operator: ERROR, the scene as it was
    scene.depth_cloud.exr_path = shot["path"]
    before = snapshot()
    with pytest.raises(RuntimeError, match="does not match the Position pass"):
        bpy.ops.depth_cloud.build()
    assert snapshot() == before
    # chosen explicitly: built, with the warning on stderr, counted in the summary
    status, stdout, err = run(capsys, "build", "--source", shot["pattern"], "--frames", "1", "--camera", "Camera",
                              "-o", out / "c_####.ply")
    assert status == 0 and len(warning_lines(err)) == 1 and "does not match" in warning_lines(err)[0]
    assert "1 warning(s)" in stdout
    status, _, err = run(capsys, "build", "--source", shot["pattern"], "--frames", "1", "--camera", "Camera",
                         "--strict", "--overwrite", "-o", out / "s_####.ply")
    assert status == 1 and "strict" in error_lines(err)[0] and not os.path.exists(out / "s_0001.ply")


def test_named_camera_that_rendered_builds_exactly_without_warning(shot, capsys):
    from depth_cloud.core.output.ply import read_ply
    out = shot["root"] / "ok"
    status, stdout, err = run(capsys, "build", "--source", shot["pattern"], "--frames", "1", "-o", out / "c_####.ply")
    assert status == 0 and not warning_lines(err), err
    v = read_ply(out / "c_0001.ply")["vertex"]
    got = np.stack([v["x"], v["y"], v["z"]], axis=1)
    pos, z = shot["pos"], shot["z"]
    truth = pos[z < 1e9]
    assert len(got) == len(truth)
    loc = np.array(shot["cam"].matrix_world.translation)
    err3 = np.linalg.norm(got - truth, axis=1) / np.linalg.norm(truth - loc, axis=1)
    assert np.percentile(err3, 99) < BOUND


# ------------------------------------------------------------------ 1 + 3. clip drops counted
def _clip_case(shot):
    cam = shot["cam"]
    z = shot["z"]
    surf = z[z < 1e9]
    cam.data.clip_end = float(np.median(surf))  # the camera's range set shorter after the render
    high = cam.data.clip_end * 1.02
    dropped = int(((surf > high)).sum())
    band = int(((surf > cam.data.clip_end * 0.99) & (surf <= high)).sum())
    return dropped, band, len(surf)


def test_clip_drops_are_counted_on_every_surface(shot, capsys):
    from depth_cloud import api
    scene = shot["scene"]
    dropped, band, total = _clip_case(shot)
    assert dropped > 100
    text = f"{dropped:,} of {48 * 36:,} pixels with a surface lie outside the camera's clip range"
    # the API: a DepthCloudWarning naming the count, the range and the remedy
    with pytest.warns(api.DepthCloudWarning, match=re.escape(text)) as rec:
        ps = api.unproject(scene, frame=1, source=shot["path"])
    assert "clip=False" in str(rec[0].message) and "--no-clip" in str(rec[0].message)
    assert len(ps) == total - dropped - band
    with pytest.raises(api.StrictWarningError, match=re.escape(text)):
        api.unproject(scene, frame=1, source=shot["path"], strict=True)
    for call in (api.unproject, api.build_point_cloud):  # the warning points at the script's own line
        with pytest.warns(api.DepthCloudWarning) as rec:
            call(scene, frame=1, source=shot["path"])
        assert rec[0].filename == __file__, (call.__name__, rec[0].filename)
    from test_bad_input import snapshot
    before = snapshot()
    with pytest.raises(api.StrictWarningError, match=re.escape(text)):
        api.build_point_cloud(scene, frame=1, source=shot["path"], strict=True)
    assert snapshot() == before  # strict: refused before the scene is touched
    with warnings.catch_warnings():
        warnings.simplefilter("error", api.DepthCloudWarning)  # scripts can make them errors
        assert len(api.unproject(scene, frame=1, source=shot["path"], clip=False)) == total
        before = snapshot()
        with pytest.raises(api.DepthCloudWarning):
            api.build_point_cloud(scene, frame=1, source=shot["path"])
        assert snapshot() == before  # the filter stopped the build before the scene was touched
    # the CLI, every output format: warning lines on stderr, counted; --strict fails
    out = shot["root"] / "out"
    for output in ("c_####.ply", "c.blend"):
        status, stdout, err = run(capsys, "build", "--source", shot["pattern"], "--frames", "1", "-o", out / output)
        assert status == 0, err
        (line,) = warning_lines(err)
        assert text in line and "--no-clip" in line and "frame 1" in line
        assert "1 warning(s)" in stdout.splitlines()[-1]
        status, stdout, err = run(capsys, "build", "--source", shot["pattern"], "--frames", "1", "--strict",
                                  "-o", out / ("strict_" + output))
        assert status == 1 and text in error_lines(err)[0]
        assert not os.path.exists(out / ("strict_" + output).replace("####", "0001"))
    status, stdout, err = run(capsys, "build", "--source", shot["pattern"], "--frames", "1", "--no-clip",
                              "-o", out / "n_####.ply")
    assert status == 0 and not warning_lines(err) and f"{total:,} points" in stdout


def test_operator_reports_the_clip_warning_once(shot, capfd):
    import bpy
    dropped, _, _ = _clip_case(shot)
    shot["scene"].depth_cloud.exr_path = shot["path"]
    capfd.readouterr()
    assert bpy.ops.depth_cloud.build() == {'FINISHED'}
    out = capfd.readouterr().out
    lines = [line for line in out.splitlines() if "outside the camera's clip range" in line]
    assert len(lines) == 1 and f"{dropped:,} of" in lines[0] and "Warning" in lines[0], out


def test_usd_output_reports_warnings_and_strict_removes_it(shot, capsys, tmp_path):
    from depth_cloud.cli.build import usd_available
    if not usd_available():
        pytest.skip("this bpy has no USD module")
    dropped, _, _ = _clip_case(shot)
    status, stdout, err = run(capsys, "build", "--source", shot["pattern"], "--frames", "1",
                              "-o", tmp_path / "cache.usdc")
    assert status == 0, err
    assert any(f"{dropped:,} of" in line for line in warning_lines(err)) and "warning(s)" in stdout
    status, _, err = run(capsys, "build", "--source", shot["pattern"], "--frames", "1", "--strict",
                         "-o", tmp_path / "strict.usdc")
    assert status == 1 and not os.path.exists(tmp_path / "strict.usdc")


def test_deep_trunks_clip_range_is_named(scene, capsys, tmp_path):
    """Weta's deep Trunks (depths ~94-991) with a camera whose clip end is 100: before, 4,477 of
    49,152 samples kept, no word. After: the dropped samples counted with the range and
    --no-clip; the count is what --no-clip builds more."""
    path = _data("v2", "LowResLeftView", "Trunks.exr")
    cam = add_camera(scene, location=(0, 0, 0), target=(0, 0, -1), lens=35.0)
    cam.data.clip_start, cam.data.clip_end = 0.1, 100.0
    status, stdout, err = run(capsys, "build", "--source", path, "--frames", "1", "-o", tmp_path / "t_####.ply")
    assert status == 0, err
    kept = int(re.search(r"([\d,]+) points ->", stdout).group(1).replace(",", ""))
    (line,) = [w for w in warning_lines(err) if "clip range" in w]  # (and: the left eye with the mono camera)
    m = re.search(r"([\d,]+) of ([\d,]+) samples with a surface lie outside the camera's clip range 0.1..100", line)
    assert m and "--no-clip" in line, line
    status, stdout, _ = run(capsys, "build", "--source", path, "--frames", "1", "--no-clip",
                            "-o", tmp_path / "all_####.ply")
    everything = int(re.search(r"([\d,]+) points ->", stdout).group(1).replace(",", ""))
    assert int(m.group(1).replace(",", "")) == everything - kept > 40000


def test_deep_balls_with_nothing_in_range_names_range_and_remedy(scene, capsys, tmp_path):
    path = _data("v2", "LowResLeftView", "Balls.exr")
    cam = add_camera(scene, location=(0, 0, 0), target=(0, 0, -1), lens=35.0)
    cam.data.clip_end = 100.0
    status, _, err = run(capsys, "build", "--source", path, "--frames", "1", "-o", tmp_path / "b_####.ply")
    assert status == 1
    (line,) = error_lines(err)
    assert "clip range 0.1..100" in line and "--no-clip" in line


# ------------------------------------------------------------------ 3. NaN counts
def test_nan_pixels_are_counted_on_cli_and_api(shot, capsys):
    from depth_cloud import api
    z = shot["z"].copy()
    z[:10, :] = np.nan  # 480 NaN pixels
    rgba = shot["rgba"]
    channels = {f"ViewLayer.Combined.{c}": rgba[..., i] for i, c in enumerate("RGBA")}
    channels["ViewLayer.Depth.Z"] = z
    path = write_exr(str(shot["root"] / "nan_0001.exr"), channels, {"Camera": "Camera"})
    with pytest.warns(api.DepthCloudWarning, match="480 NaN/inf pixels"):
        api.unproject(shot["scene"], frame=1, source=path)
    status, _, err = run(capsys, "build", "--source", path, "--frames", "1", "-o", shot["root"] / "n_####.ply")
    assert status == 0 and any("480 NaN/inf pixels" in line for line in warning_lines(err)), err


# ------------------------------------------------------------------ 3. Z-buffer without near/far
def _zbuffer_file(shot, name, header=None, near=1.0, far=60.0):
    z = shot["z"]
    zb = np.where(z < 1e9, (far + near - 2 * near * far / z) / (far - near) * 0.5 + 0.5, 1.0).astype(np.float32)
    rgba = shot["rgba"]
    channels = {f"ViewLayer.Combined.{c}": rgba[..., i] for i, c in enumerate("RGBA")}
    channels["ViewLayer.Depth.Z"] = zb
    return write_exr(str(shot["root"] / name), channels, header)


def test_zbuffer_without_near_far_is_refused_unless_the_header_says(shot, capsys):
    from depth_cloud import api
    from depth_cloud.core.output.ply import read_ply
    shot["cam"].data.clip_end = 60.0  # the z-buffer's background (1.0) is the far plane: no points there
    path = _zbuffer_file(shot, "zb_0001.exr")
    pattern = str(shot["root"] / "zb_####.exr")
    out = shot["root"] / "out"
    status, _, err = run(capsys, "build", "--source", pattern, "--frames", "1", "--convention", "ZBUFFER",
                         "-o", out / "z_####.ply")
    assert status == 1 and "near and far" in error_lines(err)[0] and "--near/--far" in error_lines(err)[0]
    with pytest.raises(api.SettingsError, match="near and far"):
        api.unproject(shot["scene"], frame=1, source=path, convention="ZBUFFER")
    truth = shot["pos"][shot["z"] < 1e9]
    loc = np.array(shot["cam"].matrix_world.translation)

    def p99(ply):
        v = read_ply(ply)["vertex"]
        got = np.stack([v["x"], v["y"], v["z"]], axis=1)
        return np.percentile(np.linalg.norm(got - truth, axis=1) / np.linalg.norm(truth - loc, axis=1), 99)
    status, _, err = run(capsys, "build", "--source", pattern, "--frames", "1", "--convention", "ZBUFFER",
                         "--near", "1", "--far", "60", "-o", out / "g_####.ply")
    assert status == 0, err
    assert p99(out / "g_0001.ply") < 1e-3  # half the precision of a [0,1] window depth
    # the header says: read from it
    _zbuffer_file(shot, "zh_0001.exr", {"depthCloud/depthConvention": "ZBUFFER", "depthCloud/near": "1",
                                        "depthCloud/far": "60", "Camera": "Camera"})
    status, _, err = run(capsys, "build", "--source", str(shot["root"] / "zh_####.exr"), "--frames", "1",
                         "--convention", "ZBUFFER", "-o", out / "h_####.ply")
    assert status == 0, err
    assert p99(out / "h_0001.ply") < 1e-3


# ------------------------------------------------------------------ 3. the command line's own mistakes
def test_missing_color_file_is_named(shot, capsys):
    status, _, err = run(capsys, "build", "--source", shot["pattern"], "--color", shot["root"] / "nosuch.png",
                         "--frames", "1", "-o", shot["root"] / "c_####.ply")
    (line,) = error_lines(err)
    assert status == 1 and "nosuch.png" in line and "color file" in line
    assert "render_####.exr is missing" not in line


def test_usd_into_the_working_folder(shot, capsys, monkeypatch):
    from depth_cloud.cli.build import usd_available
    if not usd_available():
        pytest.skip("this bpy has no USD module")
    work = shot["root"] / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for output in ("cache.usdc", "./cache2.usdc"):
        status, _, err = run(capsys, "build", "--source", shot["pattern"], "--frames", "1", "-o", output)
        assert status == 0, err
        assert os.path.getsize(work / os.path.basename(output)) > 1000


def test_alpha_on_a_deep_file_is_one_field(scene, capsys, tmp_path):
    from depth_cloud.core.output.ply import read_ply
    from depth_cloud.core.points.deep import write_deep_exr
    add_camera(scene, location=(0, 0, 0), target=(0, 0, -1))
    h, w = 4, 6
    counts = np.full((h, w), 2, np.int32)
    n = int(counts.sum())
    rng = np.random.default_rng(3)
    a = rng.uniform(0.2, 1.0, n).astype(np.float32)
    channels = {"Z": rng.uniform(2, 9, n).astype(np.float32), "R": a * 0.5, "G": a * 0.25, "B": a * 0.1, "A": a}
    path = write_deep_exr(str(tmp_path / "deep_0001.exr"), counts, channels)
    status, _, err = run(capsys, "build", "--source", path, "--frames", "1", "--alpha", "-o", tmp_path / "d_####.ply")
    assert status == 0, err
    v = read_ply(tmp_path / "d_0001.ply")["vertex"]
    assert list(v.dtype.names).count("alpha") == 1 and len(v) == n
    np.testing.assert_array_equal(np.sort(v["alpha"]), np.sort(np.rint(a * 255).astype(np.uint8)))


def _left_z_max(path):
    import OpenEXR
    zs = []
    for part in OpenEXR.File(path, separate_channels=True).parts:
        view = part.header.get("view")
        for name, ch in part.channels.items():
            parts = name.split(".")
            if parts[-1] != "Z":
                continue
            if (view == "left") or (view is None and len(parts) == 2 and parts[0] == "left"):
                px = ch.pixels.astype(np.float32)
                zs.append(float(px[np.isfinite(px)].max()))
    return zs


@pytest.mark.parametrize("name", ["multipart.0001.exr", "singlepart.0001.exr"])
def test_info_stats_of_the_chosen_view(capsys, name):
    path = _data("Beachball", name)
    (left_max,) = _left_z_max(path)
    status, stdout, _ = run(capsys, "info", path, "--stats", "--view", "left")
    assert status == 0
    (line,) = [s for s in stdout.splitlines() if re.match(r"\s*stats (\S+\.)?Z:", s)]
    assert line.strip().endswith(f"..{left_max:g}"), (line, left_max)
    status, stdout, _ = run(capsys, "info", path, "--stats", "--view", "right")
    (line,) = [s for s in stdout.splitlines() if re.match(r"\s*stats (\S+\.)?Z:", s)]
    assert not line.strip().endswith(f"..{left_max:g}")


def test_info_of_many_files_prints_the_good_and_lists_the_bad(shot, capsys):
    bad = shot["root"] / "bad.exr"
    bad.write_bytes(b"not an exr at all")
    good2 = shot["root"] / "good2.exr"
    shutil.copy(shot["path"], good2)
    status, stdout, err = run(capsys, "info", shot["path"], bad, good2)
    assert status == 1
    assert stdout.count("OpenEXR") >= 2 and "render_0001.exr" in stdout and "good2.exr" in stdout
    assert "bad.exr" in err and "1 of 3" in err


def test_overwritten_pixel_data_gives_one_line_not_library_noise(shot, capfd):
    """The depth part's chunks overwritten (leaders kept, payloads garbage; not truncated):
    before, OpenEXR's lines per chunk, naming a temporary /dev/shm copy, and the bindings'
    warnings. After: the one error line."""
    from depth_cloud import api
    from depth_cloud.core.exr.parts import read_layout
    buf = open(shot["path"], "rb").read()
    layout = read_layout(shot["path"], buf)
    # Blender 5: the depth's own part; 4.x: the one part
    part = next(p for p in layout.parts if any(c[0].endswith("Depth.Z") for c in p.channels))
    offsets = sorted(int(o) for o in part.offsets)
    data = bytearray(buf)
    rng = np.random.default_rng(0)
    for k in range(len(offsets) - 1):
        lo, hi = offsets[k] + 8 + 16, offsets[k + 1]
        data[lo:hi] = bytes(rng.integers(0, 256, max(0, hi - lo), dtype=np.uint8))
    (shot["root"] / "over_0001.exr").write_bytes(bytes(data))
    capfd.readouterr()
    status = api.run_cli(["build", "--source", str(shot["root"] / "over_####.exr"), "--frames", "1",
                          "-o", str(shot["root"] / "o_####.ply")])
    captured = capfd.readouterr()
    noise = [line for line in (captured.err + captured.out).splitlines() if line.strip()]
    assert status == 1
    assert not [line for line in noise if "depth_cloud_" in line or "/dev/shm" in line], noise
    assert not [line for line in noise if "EXR_ERR" in line or line.startswith("Warning: Exception")], noise
    (line,) = [line for line in noise if ": error: " in line]
    assert "over_0001.exr" in line and "damaged" in line


# ------------------------------------------------------------------ 3. damaged parts, stereo
def test_skipped_damaged_part_is_warned_on_cli(shot, capsys):
    """Blender 5's multipart render cut inside a part the build does not need (Position): the
    build warns naming the part on the command line and in the API."""
    from depth_cloud import api
    from depth_cloud.core.exr.header import read_exr_header
    if len(read_exr_header(shot["path"]).parts) < 2:
        pytest.skip("this Blender writes single-part multilayer EXRs")
    data = open(shot["path"], "rb").read()
    scene = shot["scene"]
    api.unproject(scene, frame=1, source=shot["path"])  # the intact file: no warning
    for fraction in (0.99, 0.97, 0.95, 0.9, 0.85):
        cut = shot["root"] / "cut_0001.exr"
        cut.write_bytes(data[:int(len(data) * fraction)])
        try:
            with warnings.catch_warnings(record=True) as rec:
                warnings.simplefilter("always")
                api.unproject(scene, frame=1, source=str(cut))
        except api.DepthCloudError:
            continue
        skipped = [str(w.message) for w in rec if issubclass(w.category, api.DepthCloudWarning)
                   and "was skipped" in str(w.message)]
        assert len(skipped) == 1 and "truncated" in skipped[0]
        status, _, err = run(capsys, "build", "--source", str(shot["root"] / "cut_####.exr"), "--frames", "1",
                             "-o", shot["root"] / "x_####.ply", "--overwrite")
        assert status == 0 and any("was skipped" in line for line in warning_lines(err)), err
        return
    pytest.fail("no cut left the depth and color readable")


def test_stereo_eye_with_the_mono_camera_is_warned_on_cli(scene, capsys, tmp_path):
    path = _data("Beachball", "multipart.0001.exr")
    add_camera(scene, lens=35.0)
    status, _, err = run(capsys, "build", "--source", path, "--view", "left", "--frames", "1",
                         "-o", tmp_path / "s_####.ply")
    assert status == 0, err
    assert any("mono camera" in line and "Stereoscopy is off" in line for line in warning_lines(err)), err


def test_individual_stereo_files_accept_their_view(shot, capsys):
    """Stereoscopy > Individual writes shot_L.exr / shot_R.exr without views: View 'left'
    on shot_L.exr builds it; shot.exr with View 'left' finds shot_L.exr; shot_R.exr with View
    'left' finds shot_L.exr."""
    from depth_cloud import api
    root = shot["root"]
    left = root / "eye_0001_L.exr"
    shutil.copy(shot["path"], left)
    scene = shot["scene"]
    plain = api.unproject(scene, frame=1, source=str(left))
    for source in (left, root / "eye_0001.exr", root / "eye_0001_R.exr"):
        ps = api.unproject(scene, frame=1, source=str(source), view="left")
        assert ps.meta["path"] == str(left)
        np.testing.assert_array_equal(ps.positions, plain.positions)
    status, _, err = run(capsys, "build", "--source", root / "eye_####.exr", "--view", "left", "--frames", "1",
                         "-o", root / "e_####.ply")
    assert status == 0, err
    status, _, err = run(capsys, "info", left, "--view", "left")
    assert status == 0, err


# ------------------------------------------------------------------ 3. messages
def test_garbled_messages_are_rewritten(shot, capsys):
    from depth_cloud import api
    with pytest.raises(api.ChannelError) as err:
        api.unproject(shot["scene"], frame=1, source=shot["path"], color_channels="R,G")
    assert "'R,G'.R/G/B" not in str(err.value) and "R,G.R, .G and .B" in str(err.value)
    with pytest.raises(api.ChannelError) as err:
        api.unproject(shot["scene"], frame=1, source=shot["path"], mask="Cube")
    assert "Object Index) channel" not in str(err.value)
    from depth_cloud.core.errors import ChannelError
    msg = str(ChannelError("f.exr", "world Position pass (Position.X/Y/Z) to check the camera against", ["Z"]))
    assert "against channel" not in msg and "against; channels found: Z" in msg


def test_check_camera_names_planar_z_read_as_ray_distance_planar(shot):
    from depth_cloud import api
    report = api.check_camera(shot["scene"], frame=1, source=shot["path"], convention="RAY_DISTANCE")
    assert not report.ok and report.cause == "CONVENTION"
    assert "planar Z" in report.explanation and "normalized" not in report.explanation, report.explanation


# ------------------------------------------------------------------ 4. python -m depth_cloud
def test_python_m_depth_cloud_runs_the_command_line(shot):
    import depth_cloud
    here = os.path.dirname(os.path.dirname(os.path.abspath(depth_cloud.__file__)))
    env = dict(os.environ, PYTHONPATH=here)

    def cli(*argv):
        return subprocess.run([sys.executable, "-m", "depth_cloud", *map(str, argv)], env=env, cwd=shot["root"],
                              capture_output=True, text=True, timeout=300)
    done = cli("info", shot["path"])
    assert done.returncode == 0 and "render_0001.exr" in done.stdout, done.stderr
    assert cli("info", shot["root"] / "nosuch.exr").returncode == 1
    assert cli().returncode == 2
    # the startup file's "Camera" did not render it: the trap, named (exit 1)
    done = cli("build", "--source", shot["pattern"], "--frames", "1", "-o", "m_####.ply")
    assert done.returncode == 1 and "does not match the Position pass" in done.stderr, done.stderr
    import bpy
    blend = shot["root"] / "shot.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    done = cli(blend, "build", "--source", shot["pattern"], "--frames", "1", "-o", "m_####.ply")
    assert done.returncode == 0, done.stderr
    assert os.path.getsize(shot["root"] / "m_0001.ply") > 1000


def test_fusion_carries_the_views_warnings_and_closes_the_camera_trap(shot, capsys):
    """Fusion of the render: the clip drops of its view reach the CLI (warning line, counted,
    --strict fails) and the API (DepthCloudWarning); a named camera that did not render it
    stops the fusion with the check's cause."""
    from depth_cloud import api
    dropped, _, _ = _clip_case(shot)
    out = shot["root"] / "fused"
    status, stdout, err = run(capsys, "fuse", "--source", shot["pattern"], "--frames", "1", "--min-views", "0",
                              "-o", out / "f.ply")
    assert status == 0, err
    assert any(f"{dropped:,} of" in line for line in warning_lines(err)) and "1 warning(s)" in stdout
    status, _, err = run(capsys, "fuse", "--source", shot["pattern"], "--frames", "1", "--min-views", "0",
                         "--strict", "-o", out / "s.ply")
    assert status == 1 and not os.path.exists(out / "s.ply")
    with pytest.warns(api.DepthCloudWarning, match=f"{dropped:,} of"):
        api.fuse_point_set(shot["scene"], source=shot["pattern"], frames=[1], min_views=0)
    shot["cam"].location = (-3.0, 4.0, 6.0)
    status, _, err = run(capsys, "fuse", "--source", shot["pattern"], "--frames", "1", "--min-views", "0",
                         "-o", out / "t.ply")
    assert status == 1 and "does not match the Position pass" in error_lines(err)[0]


def test_sequence_build_reports_each_kind_of_warning_once(shot):
    """Build Sequence (preloaded) of three frames that each drop points to the clip range: one
    WARNING line naming the frames, not one per frame."""
    from depth_cloud.glue import source
    from depth_cloud.glue.sequence import build as sequence
    for f in (2, 3):
        shutil.copy(shot["path"], shot["root"] / f"render_{f:04d}.exr")
    dropped, _, _ = _clip_case(shot)
    scene = shot["scene"]
    scene.depth_cloud.exr_path = shot["pattern"]
    job = sequence.SequenceBuild(scene, source.settings_spec(scene.depth_cloud), [1, 2, 3], 'PRELOAD',
                                 camera=shot["cam"])
    while not job.finished:
        job.step()
    job.commit()
    clip = [m for level, m in job.summary() if level == 'WARNING' and "clip range" in m]
    assert len(clip) == 1 and clip[0].startswith("frames 1-3:") and f"{dropped:,} of" in clip[0], job.summary()
