"""Issue 24 ("never crash, never half-change"): each case the seeded fuzz found, as a plain
test. Bad settings and arguments are refused with one typed error naming them, before
anything in the scene (or on disk) changes."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from scenes import add_camera, write_exr

W, H = 40, 30


def have_pxr():
    try:
        import pxr  # noqa: F401
    except ImportError:
        return False
    return True


def snapshot():
    """Objects, datablocks and every Depth Cloud setting of the scene, as plain values."""
    import bpy
    kinds = ("objects", "pointclouds", "meshes", "collections", "node_groups", "materials", "images", "cameras",
             "cache_files", "scenes")
    state = {k: sorted(d.name for d in getattr(bpy.data, k)) for k in kinds}
    state["settings"] = settings_values(bpy.context.scene.depth_cloud)
    return state


def settings_values(group, path="dc"):
    out = {}
    for prop in group.bl_rna.properties:
        ident = prop.identifier
        if ident == "rna_type":
            continue
        value = getattr(group, ident)
        if prop.type == 'POINTER' and value is not None and not hasattr(value, "name_full"):
            out.update(settings_values(value, f"{path}.{ident}"))
        elif prop.type == 'COLLECTION':
            out[f"{path}.{ident}"] = len(value)
        else:
            if prop.type in ('FLOAT', 'INT', 'BOOLEAN') and getattr(prop, "is_array", False):
                value = tuple(value)
            if prop.type == 'POINTER':
                value = None if value is None else value.name_full
            out[f"{path}.{ident}"] = "nan" if isinstance(value, float) and math.isnan(value) else value
    return out


def plane_exr(path, depth=5.0, index=None):
    """A W x H depth + color EXR (a plane at ``depth``; ``inf`` = all background)."""
    z = np.full((H, W), depth, np.float32)
    rgb = np.linspace(0, 1, W * H, dtype=np.float32).reshape(H, W)
    ch = {"ViewLayer.Depth.Z": z, "ViewLayer.Combined.R": rgb, "ViewLayer.Combined.G": rgb[::-1].copy(),
          "ViewLayer.Combined.B": np.full((H, W), 0.5, np.float32), "ViewLayer.Combined.A": np.ones((H, W), np.float32)}
    if index is not None:
        ch["ViewLayer.IndexOB.X"] = index.astype(np.float32)
    return write_exr(str(path), ch)


@pytest.fixture
def plane(scene, tmp_path):
    scene.render.resolution_x, scene.render.resolution_y = W, H
    scene.render.resolution_percentage = 100
    add_camera(scene)
    path = plane_exr(tmp_path / "plane_0001.exr")
    scene.depth_cloud.exr_path = str(tmp_path / "plane_####.exr")
    scene.frame_set(1)
    return path


# ----------------------------------------------------------------------------- 1. empty USD bake
def test_empty_usd_bake_is_refused_and_nothing_loaded(scene, plane, tmp_path):
    import bpy
    pytest.importorskip("pxr", reason="this bpy wheel carries no pxr module (Blender 4.2's wheel)")

    from depth_cloud import api
    empty = plane_exr(tmp_path / "sky_0001.exr", depth=np.inf)
    target = tmp_path / "empty.usdc"
    before = snapshot()
    with pytest.raises(api.ExportError, match=r"empty\.usdc: not written: no point in frame 1 .*background"):
        api.bake_usd(scene, frames=[1], path=str(target), source=empty, load=True)
    assert not target.exists() and not any(p.name.endswith(".usdc") for p in tmp_path.iterdir())
    assert snapshot() == before
    # the operator: one ERROR, nothing loaded
    out = scene.depth_cloud.output
    scene.depth_cloud.exr_path = str(tmp_path / "sky_####.exr")
    out.usd_path, out.usd_load, out.bake_frames, out.frames = str(target), True, 'CUSTOM', "1"
    before = snapshot()
    with pytest.raises(RuntimeError, match="not written: no point"):
        bpy.ops.depth_cloud.bake_usd()
    assert snapshot() == before and not target.exists()


# ----------------------------------------------------------------------------- 2. huge frame ranges
def test_cli_huge_frame_range_is_a_usage_error(scene, plane, tmp_path):
    import io

    from depth_cloud import api
    err = io.StringIO()
    status = api.run_cli(["build", "--source", plane, "--frames", "1-3000000", "--output",
                          str(tmp_path / "c_####.ply")], stdout=io.StringIO(), stderr=err)
    assert status == 2, err.getvalue()
    assert "--frames" in err.getvalue() and "3,000,000 frames" in err.getvalue() and "2,500,000" in err.getvalue()


def test_cli_two_billion_frames_never_raises(scene, plane, tmp_path):
    import io

    from depth_cloud import api
    err = io.StringIO()
    status = api.run_cli(["build", "--frames", "1-2000000000", "--output", str(tmp_path / "c_####.ply")],
                         stdout=io.StringIO(), stderr=err)
    assert status == 2 and "limit" in err.getvalue()


def test_build_sequence_huge_custom_range_is_refused(scene, plane):
    import bpy
    s = scene.depth_cloud.sequence
    s.use_scene_range, s.mode = False, 'LAZY'
    s.frame_start, s.frame_end = -3_000_000, -1
    before = snapshot()
    with pytest.raises(RuntimeError, match=r"Build Sequence Start/End.*3,000,000 frames.*limit"):
        bpy.ops.depth_cloud.build_sequence()
    assert snapshot() == before


@pytest.mark.parametrize("field,setting", [("output", "frames")])
def test_output_frame_text_is_checked_before_expanding(scene, plane, field, setting):
    from depth_cloud.core.errors import SettingsError
    from depth_cloud.glue.output import render
    with pytest.raises(SettingsError, match=r"output frames.*limit"):
        render.frames_for(scene, 'CUSTOM', "1-3000000")


def test_api_frames_argument_is_bounded(scene, plane, tmp_path):
    from depth_cloud import api
    with pytest.raises(api.SettingsError, match="frames.*limit"):
        api.bake_usd(scene, frames=range(0, 3_000_000), path=str(tmp_path / "x.usdc"))
    with pytest.raises(api.SettingsError, match="fusion frames.*limit"):
        api.fuse_point_set(scene, frames="1-3000000")
    scene.depth_cloud.fusion.frames = "1-3000000"  # the panel's text field, same parser
    with pytest.raises(RuntimeError, match="fusion frames.*limit"):
        import bpy
        bpy.ops.depth_cloud.fuse()


# ----------------------------------------------------------------------------- 3. cache budget NaN
def test_cache_budget_nan_is_refused_before_the_sequence_exists(scene, plane):
    import bpy
    scene.depth_cloud.sequence.cache_mb = float("nan")
    before = snapshot()
    with pytest.raises(RuntimeError, match=r"cache_mb.*finite"):
        bpy.ops.depth_cloud.build_sequence()
    assert snapshot() == before


def test_cache_budget_nan_later_does_not_fail_every_frame(scene, plane, capsys, monkeypatch):
    """The budget is the add-on preferences' (the machine's): NaN set there by a script after the
    build gives the default budget, said once, and never a handler error per frame."""
    import bpy

    from depth_cloud.glue import preferences
    from depth_cloud.glue.sequence import playback
    assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
    monkeypatch.setattr(preferences.settings(), "cache_mb", float("nan"))
    playback.on_frame_change(scene)  # no exception
    playback.on_frame_change(scene)
    out = capsys.readouterr().out
    assert out.count("Cache Budget") == 1
    assert playback.cache().budget == int(preferences.DEFAULT_CACHE_MB * playback.MB)


# ----------------------------------------------------------------------------- 4. cancelled but changed
def float_settings(group, path="scene.depth_cloud"):
    """``(group, identifier, path)`` of every float setting of the scene's groups."""
    found = []
    for prop in group.bl_rna.properties:
        if prop.identifier == "rna_type":
            continue
        if prop.type == 'FLOAT' and not prop.is_array:
            found.append((group, prop.identifier, f"{path}.{prop.identifier}"))
        elif prop.type == 'POINTER':
            value = getattr(group, prop.identifier)
            if value is not None and not hasattr(value, "name_full"):
                found += float_settings(value, f"{path}.{prop.identifier}")
    return found


def test_point_size_nan_cancels_with_nothing_added(scene, plane):
    import bpy
    scene.depth_cloud.display.point_size = float("nan")
    before = snapshot()
    with pytest.raises(RuntimeError, match=r"point_size.*finite"):
        bpy.ops.depth_cloud.build()
    assert snapshot() == before


def test_rebuild_with_nan_leaves_the_old_cloud_untouched(scene, plane):
    import bpy
    assert bpy.ops.depth_cloud.build() == {'FINISHED'}
    ob = next(o for o in scene.objects if o.type == 'POINTCLOUD')
    pos = np.empty(len(ob.data.points) * 3, np.float32)
    ob.data.attributes["position"].data.foreach_get("vector", pos)
    scene.depth_cloud.display.point_size = float("nan")
    with pytest.raises(RuntimeError, match="point_size"):
        bpy.ops.depth_cloud.build()
    after = np.empty_like(pos)
    ob.data.attributes["position"].data.foreach_get("vector", after)
    assert np.array_equal(pos, after) and ob.depth_cloud.points == len(pos) // 3


def test_every_float_setting_is_checked_before_the_scene_changes(scene, plane):
    """The mechanism, not special cases: NaN in EVERY float setting of the scene's groups is
    refused naming it, and nothing is built. (Blender clamps an assigned inf to the float
    range or the property's bounds; NaN passes every bound.)"""
    import bpy
    settings = float_settings(scene.depth_cloud)
    assert len(settings) >= 15
    for group, ident, path in settings:
        old = getattr(group, ident)
        setattr(group, ident, float("nan"))
        assert math.isnan(getattr(group, ident)), path
        before = snapshot()
        with pytest.raises(RuntimeError, match=rf"\({path}\) must be"):
            bpy.ops.depth_cloud.build()
        assert snapshot() == before, path
        setattr(group, ident, old)


# ----------------------------------------------------------------------------- 5. API argument types
@pytest.mark.parametrize("kwargs,argument", [
    ({"frame": float("nan")}, "frame"),
    ({"depth_channel": ("Z",)}, "depth_channel"),
    ({"camera": 5}, "camera"),
    ({"deep_min_alpha": {}}, "deep_min_alpha"),
    ({"near": [1, 2]}, "near"),
    ({"near": {}}, "near"),
    ({"convention": "PLANAR", "near": [1, 2]}, "near"),
    ({"frame": "1"}, "frame"),
    ({"clip": "yes"}, "clip"),
    ({"detail": 2.5}, "detail"),
    ({"source": 7}, "source"),
    ({"color": b"x.exr"}, "color"),
])
def test_api_arguments_of_the_wrong_type_name_the_argument(scene, plane, kwargs, argument):
    from depth_cloud import api
    kwargs = {"source": plane, **kwargs}
    before = snapshot()
    for fn in (api.build_point_cloud, api.unproject):
        with pytest.raises(api.SettingsError, match=rf"api\.{fn.__name__}: argument '{argument}' must be"):
            fn(scene, **kwargs)
    assert snapshot() == before


def test_pixel_to_world_with_a_missing_coordinate(scene, plane):
    from depth_cloud import api
    with pytest.raises(api.SettingsError, match=r"argument 'column' must be a whole number"):
        api.pixel_to_world(scene, None, 5, source=plane)
    with pytest.raises(api.SettingsError, match=r"argument 'row' must be a whole number"):
        api.pixel_to_world(scene, 3, float("inf"), source=plane)


def test_an_object_index_is_a_mask(scene, plane, tmp_path):
    from depth_cloud import api
    index = np.zeros((H, W), np.float32)
    index[5:15, 10:30] = 3
    path = plane_exr(tmp_path / "indexed.exr", index=index)
    points = api.unproject(scene, source=path, mask=3, mask_pass="Object Index")
    assert len(points) == 10 * 20
    assert len(api.unproject(scene, source=path, mask=[3, 0], mask_pass="Object Index")) == W * H


# What the seeded fuzz (tests/fuzz/runner.py, seed 24) found on the starting commit besides the
# cases above: each call escaped as a plain TypeError/ValueError.
@pytest.mark.parametrize("name,kwargs,argument", [
    ("fuse_point_set", {"frames": range(1, 3), "deep_min_alpha": "1-3"}, "deep_min_alpha"),  # fuzz i=3
    ("bake_usd", {"size": (16, 12)}, "size"),  # i=9
    ("render_passes", {"frames": float("nan")}, "frames"),  # i=10
    ("set_display", {"size": [], "lit": True}, "size"),  # i=28
    ("pixel_to_world", {"row": 3, "frame": 3, "kind": float("nan")}, "kind"),  # i=82
    ("pixel_to_world", {"attributes": float("nan")}, "attributes"),  # i=82
    ("fuse_point_set", {"frames": float("inf")}, "frames"),  # i=120
])
def test_fuzz_findings_name_the_argument(scene, plane, tmp_path, name, kwargs, argument):
    from depth_cloud import api
    before = snapshot()
    with pytest.raises(api.SettingsError, match=rf"api\.{name}: argument '{argument}' must be"):
        getattr(api, name)(scene=scene, **kwargs)
    assert snapshot() == before


def test_fuzz_finding_read_camera_list_defaults(scene, tmp_path):
    """fuzz (long run, 4.2, seed 25) i=936: read_camera_list(path, defaults=[1, 2]) raised TypeError."""
    from depth_cloud import api
    path = tmp_path / "cams.json"
    path.write_text('{"cameras": []}')
    with pytest.raises(api.SettingsError, match=r"api\.read_camera_list: argument 'defaults' must be a dict"):
        api.read_camera_list(str(path), defaults=[1, 2])


def test_fuzz_finding_int_mask_in_a_bake(scene, plane, tmp_path):
    """fuzz i=8, i=141: ``mask=1`` in a bake raised TypeError; an index is a mask value."""
    from depth_cloud import api
    # the plane has no index pass (4.2's wheel has no pxr: the bake stops there, after the mask was read)
    with pytest.raises(api.ChannelError if have_pxr() else api.ExportError, match="Object Index|USD"):
        api.bake_usd(scene, frames=[1], path=str(tmp_path / "m.usdc"), source=plane, mask=1,
                     mask_pass="Object Index")


def test_fuzz_finding_set_display_on_objects_that_are_no_clouds(scene, plane):
    """fuzz (long run) i=394: set_display(objects=[camera, plane]) raised AttributeError."""
    import bpy

    from depth_cloud import api
    assert bpy.ops.depth_cloud.build() == {'FINISHED'}
    cloud = next(o for o in scene.objects if o.depth_cloud.is_cloud)
    before = snapshot()
    with pytest.raises(api.SettingsError, match="'Camera' is not a Depth Cloud object"):
        api.set_display([cloud, scene.camera], lit=False, max_jump=0.0)
    # 4.2 long run (seed 25) i=2355: objects=('Z',) raised AttributeError
    with pytest.raises(api.SettingsError, match="argument 'objects' must be a list of objects"):
        api.set_display(objects=('Z',))
    with pytest.raises(api.SettingsError, match="'Z' is not an object"):
        api.set_display(objects=(o for o in ('Z',)), lit=True)
    assert snapshot() == before


@pytest.mark.parametrize("text", ["*", "ViewLayer.Position", "[1, 2]", '{"width": 3}', '{"bogus": 1}'])
def test_fuzz_finding_damaged_stored_camera(scene, plane, capsys, text):
    """5.0 long run (seed 26) i=2523: a cloud's saved camera edited to '*' made every display
    change print a JSONDecodeError traceback; now one message naming the object."""
    import bpy

    from depth_cloud import api
    assert bpy.ops.depth_cloud.build() == {'FINISHED'}
    cloud = next(o for o in scene.objects if o.depth_cloud.is_cloud)
    cloud.depth_cloud.display.camera = text
    scene.depth_cloud.display.mode = 'SQUARES'  # the update callback
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "saved source camera" in scene.depth_cloud.display.message or \
        "unknown camera fields" in scene.depth_cloud.display.message
    with pytest.raises(api.CameraError):
        api.set_display([cloud], mode='SQUARES')


def test_fuzz_finding_camera_at_another_frame_builds_no_sequence_frame(scene, plane, tmp_path):
    """fuzz (long run) i=311: a failed bake left playback meshes of the frames it visited to
    evaluate the camera; a frame visited only for the camera is not shown."""
    import bpy

    from depth_cloud import api
    plane_exr(tmp_path / "plane_0002.exr", depth=6.0)
    plane_exr(tmp_path / "plane_0003.exr", depth=7.0)
    scene.frame_start, scene.frame_end = 1, 3
    scene.depth_cloud.sequence.mode = 'LAZY'
    assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
    before = snapshot()
    api.camera_model(scene.camera, scene, frame=2)
    api.camera_model(scene.camera, scene, frame=3)
    assert snapshot() == before


@pytest.mark.parametrize("argv", ["info x.exr '", 'bake --chunk 1-3x0 "unbalanced', 5, [object()]])
def test_fuzz_finding_cli_text_that_is_not_a_command_line(scene, argv):
    """fuzz i=5, i=18: unbalanced quotes made run_cli raise ValueError."""
    import io

    from depth_cloud import api
    err = io.StringIO()
    assert api.run_cli(argv, stdout=io.StringIO(), stderr=err) == 2
    assert err.getvalue().count("\n") == 1


# ----------------------------------------------------------------------------- 6. color= in README
def test_color_argument_of_pixel_to_world_and_check_camera(scene, plane, tmp_path):
    from depth_cloud import api
    color = plane_exr(tmp_path / "color.exr")
    xyz = api.pixel_to_world(scene, 3, 4, source=plane, color=color)
    assert xyz.shape == (3,) and np.all(np.isfinite(xyz))
    with pytest.raises(api.ChannelError, match="Position"):  # the file has no Position pass
        api.check_camera(scene, source=plane, color=color)


# ----------------------------------------------------------------------------- 7. read-ahead vs Blender
@pytest.mark.parametrize("route", ["operator", "this Blender's"])
def test_no_background_read_while_blender_builds_a_cloud(scene, plane, monkeypatch, route):
    """Read-ahead threads run Python while ``bpy.ops`` releases the GIL; they are held while
    ``new_pointcloud`` applies its modifier (core/reader_hold.py). Where Blender has
    ``PointCloud.resize`` (5.3) a new cloud is sized without any operator (the GIL is never
    released); the operator route is still checked there, forced."""
    from depth_cloud.core.sequence import reader_hold
    from depth_cloud.glue import datablock
    seen = []
    import bpy
    real_apply = bpy.ops.object.modifier_apply

    class Ops:
        def modifier_apply(self, **kw):
            seen.append(reader_hold.state())
            return real_apply(**kw)

    monkeypatch.setattr(datablock.bpy.ops, "object", Ops(), raising=False)
    if route == "operator":
        monkeypatch.setattr(datablock.compat, "resize_pointcloud", lambda pc, count: False)
    pc = datablock.new_pointcloud("held", 10)
    assert len(pc.points) == 10
    if route == "operator" or "resize" not in bpy.types.PointCloud.bl_rna.functions:
        assert seen and seen[0][0] >= 1 and seen[0][1] == 0
    else:
        assert seen == []  # no operator ran: nothing to hold the readers for


def test_reader_waits_while_held():
    import threading

    from depth_cloud.core.sequence.framecache import Prefetcher
    from depth_cloud.core.sequence.reader_hold import readers_held
    started = threading.Event()

    def read(frame):
        started.set()
        return frame

    p = Prefetcher(read)
    try:
        with readers_held():
            p.want([1])
            assert not started.wait(0.3), "a frame was read while Blender's data was held"
        assert started.wait(10)
        assert p.take(1) == (1, None)
    finally:
        p.stop()


def test_frame_ranges_are_counted_before_they_are_expanded(dc):
    """In a child process limited to 1 GB of address space: two billion frames would need
    16 GB as a list; the range is refused before any list exists."""
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
            "sys.path.insert(0, sys.argv[1]); from depth_cloud.core.frames import parse_frame_range, frame_numbers\n"
            "from depth_cloud.core.errors import SettingsError, FramePatternError\n"
            "for call in (lambda: parse_frame_range('1-2000000000'), lambda: frame_numbers(-2147483648, -1),"
            " lambda: parse_frame_range('1-2000000,5-2000000')):\n"
            "    try: call()\n"
            "    except SettingsError as e: assert isinstance(e, FramePatternError); print('ok', e)\n")
    link = os.path.dirname(os.path.dirname(dc.__file__))
    run = subprocess.run([sys.executable, "-c", code, link], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.count("ok ") == 3, run.stdout + run.stderr
