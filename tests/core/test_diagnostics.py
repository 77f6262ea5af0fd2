"""The diagnostics channel (core/diagnostics.py) and issue 23's core cases without Blender:
clip drops counted, NaN counted, Z-buffer without near/far refused unless the header says,
--alpha on deep points written once, OpenEXR's console noise captured."""
import os
import warnings

import numpy as np
import pytest

from depth_cloud.core import diagnostics as dg
from depth_cloud.core.camera.lists import camera_from_direction
from depth_cloud.core.camera.model import CameraModel
from depth_cloud.core.errors import SettingsError, StrictWarningError
from depth_cloud.core.points.passes import SourceSpec, read_frame_passes
from depth_cloud.core.points.unproject import unproject


def _camera(w=8, h=6, clip_end=100.0):
    m = camera_from_direction(np.array([0.0, 1.0, 0.0]), 2.0, (0, 0, 0))
    return CameraModel(cam_to_world=m, width=w, height=h, lens=35.0, clip_start=0.1, clip_end=clip_end)


def _write(path, z, header=None):
    import OpenEXR
    hdr = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage, **(header or {})}
    OpenEXR.File(hdr, {"Z": z.astype(np.float32)}).write(str(path))
    return str(path)


def test_diagnostics_are_typed_strings_kept_once():
    d = dg.Diagnostics()
    d.append("a.exr: something")
    d.append("a.exr: something")  # the same warning twice is one
    d.add(dg.CLIP, "a.exr: 3 of 9 pixels ...", source="a.exr")
    assert [x.kind for x in d] == [dg.WARNING, dg.CLIP] and d[1].source == "a.exr"
    assert d[0] == "a.exr: something" and "something" in d[0]  # still the text it always was
    framed = d.in_frame(12)
    assert framed[1].frame == 12 and framed[1].text() == "frame 12: a.exr: 3 of 9 pixels ..."
    assert dg.grouped_text(dg.Diagnostics([dg.Diagnostic(dg.CLIP, "x", frame=f) for f in (1, 2, 3)])) == [
        "frames 1-3: x (frame 1; the others alike)"]


def test_emit_warns_with_the_category_or_raises_when_strict():
    d = dg.Diagnostics(["one", "two"])
    with pytest.warns(dg.DepthCloudWarning) as rec:
        dg.emit(d)
    assert [str(w.message) for w in rec] == ["one", "two"]
    with pytest.raises(StrictWarningError, match=r"one \(and 1 more warning"):
        dg.emit(d, strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dg.emit(dg.Diagnostics(), strict=True)  # nothing to say: nothing raised


def test_clip_drops_are_counted_with_range_and_remedy(tmp_path):
    z = np.full((6, 8), 5.0, np.float32)
    z[0, :] = 150.0  # 8 pixels beyond the clip end 100
    z[1, :3] = 0.05  # 3 before the clip start 0.1
    z[2, 0] = np.nan
    z[5, :] = 1e10  # background: not counted
    path = _write(tmp_path / "c.exr", z)
    ps = unproject(read_frame_passes(SourceSpec(path), 1), _camera())
    clip = [w for w in ps.meta["warnings"] if w.kind == dg.CLIP]
    assert len(clip) == 1 and "11 of 48 pixels" in clip[0] and "0.1..100" in clip[0] and "--no-clip" in clip[0]
    nan = [w for w in ps.meta["warnings"] if w.kind == dg.NONFINITE]
    assert len(nan) == 1 and "1 NaN/inf pixels" in nan[0]
    assert len(ps) == 48 - 8 - 3 - 1 - 8 and ps.meta["clipped"] == 11
    assert not [w for w in unproject(read_frame_passes(SourceSpec(path), 1), _camera(), clip=False).meta["warnings"]
                if w.kind == dg.CLIP]


def test_zbuffer_without_near_far_is_refused_unless_the_header_stores_them(tmp_path):
    z = np.full((6, 8), 0.5, np.float32)
    path = _write(tmp_path / "zb.exr", z)
    spec = SourceSpec(path, convention="ZBUFFER", near=None, far=None)
    with pytest.raises(SettingsError, match="needs the near and far"):
        read_frame_passes(spec, 1)
    told = _write(tmp_path / "told.exr", z, {"depthCloud/depthConvention": "ZBUFFER", "depthCloud/near": "1",
                                             "depthCloud/far": "60"})
    passes = read_frame_passes(SourceSpec(told, convention="ZBUFFER", near=None, far=None), 1)
    assert (passes.near, passes.far) == (1.0, 60.0)


def test_alpha_property_once_for_points_with_an_alpha_attribute(tmp_path):
    from depth_cloud.core.output.ply import read_ply, write_ply
    from depth_cloud.core.points.pointset import PointSet
    n = 5
    a = np.linspace(0.2, 1.0, n).astype(np.float32)
    ps = PointSet(positions=np.zeros((n, 3), np.float32), pixels=np.zeros((n, 2), np.int32),
                  colors=np.c_[np.ones((n, 3), np.float32), a], attributes={"alpha": a})
    write_ply(str(tmp_path / "a.ply"), ps, alpha=True)
    v = read_ply(str(tmp_path / "a.ply"))["vertex"]
    assert list(v.dtype.names).count("alpha") == 1
    np.testing.assert_array_equal(v["alpha"], np.rint(a * 255).astype(np.uint8))


def test_library_noise_is_captured_and_temporary_paths_hidden():
    from depth_cloud.core.exr import noise as exr_noise
    with exr_noise.captured() as out:
        os.write(2, b"/dev/shm/depth_cloud_v0_ab12.exr: (EXR_ERR_CORRUPT_CHUNK) bad\n")
        os.write(1, b"Warning: Exception raised reading pixel data\n")
        print("through Python's stdout")
    text = "".join(out)
    assert "EXR_ERR_CORRUPT_CHUNK" in text and "Warning: Exception" in text and "through Python" in text
    assert exr_noise.first_message(text, "shot.exr") == "shot.exr: (EXR_ERR_CORRUPT_CHUNK) bad"


def test_other_threads_print_past_a_capture(capfd):
    """While a background read captures the library's noise, what another thread (the main
    thread's reports) prints through Python reaches the console; the reading thread's own
    prints stay captured; several captures at once nest."""
    import threading

    from depth_cloud.core.exr import noise as exr_noise
    inside, done = threading.Event(), threading.Event()
    got = []

    def reader():
        with exr_noise.captured() as out:
            with exr_noise.captured():
                inside.set()
                print("reader noise")
                assert done.wait(10)
        got.append("".join(out))

    thread = threading.Thread(target=reader)
    capfd.readouterr()
    thread.start()
    assert inside.wait(10)
    print("main report", flush=True)
    import sys
    print("main error", file=sys.stderr, flush=True)
    done.set()
    thread.join(10)
    out, err = capfd.readouterr()
    assert "main report" in out and "main error" in err
    assert "reader noise" not in out + err and "reader noise" in got[0]
