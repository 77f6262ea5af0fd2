"""The safe EXR reader (no OpenEXR module: core/exr_host.py, core/exr_safe.py) builds the same
cloud as the OpenEXR reader from a real Cycles render, written in several codecs; the bpy
wheel's process is a safe host (its own OpenEXR 3.2/3.4 beside the wheel)."""
import os
import shutil

import numpy as np
import pytest

from scenes import add_camera, add_primitives, cloud_points, read_ground_truth, relative_errors, render, setup_render


def _recode(src, dst, codec):
    """The render's parts rewritten by OpenEXR in another codec (headers kept)."""
    import OpenEXR
    f = OpenEXR.File(src, separate_channels=True)
    parts = []
    for part in f.parts:
        hdr = dict(part.header)
        hdr["compression"] = getattr(OpenEXR, f"{codec}_COMPRESSION")
        parts.append(OpenEXR.Part(hdr, {n: np.ascontiguousarray(c.pixels) for n, c in part.channels.items()}))
    OpenEXR.File(parts).write(dst)
    return dst


def test_bpy_process_is_a_safe_host(monkeypatch):
    from depth_cloud.core.exr import host as exr_host
    monkeypatch.delenv(exr_host.ENV, raising=False)
    report = exr_host.host_report(refresh=True)
    assert report.safe, report.reason
    assert any("bpy" in p and "OpenEXRCore" in p for p in report.libraries), report.libraries


@pytest.mark.parametrize("codec", ["ZIP", "PIZ", "RLE", "B44A"])
def test_forced_safe_reader_builds_the_same_cloud(scene, tmp_path, codec, monkeypatch):
    import bpy

    from depth_cloud.core.exr import host as exr_host
    setup_render(scene, 64, 40)
    add_primitives(scene)
    add_camera(scene, lens=35.0)
    src = render(scene, str(tmp_path / "render.exr"))
    path = src if codec == "ZIP" else _recode(src, str(tmp_path / f"render_{codec}.exr"), codec)
    pos, z, rgba = read_ground_truth(path)
    clouds = {}
    for mode in ("openexr", "safe"):
        monkeypatch.setenv(exr_host.ENV, mode)
        copy = str(tmp_path / f"{mode}.exr")  # a file of its own: no cache shared between the reads
        shutil.copyfile(path, copy)
        scene.depth_cloud.exr_path = copy
        scene.depth_cloud.pixel_ids = True
        assert bpy.ops.depth_cloud.build() == {'FINISHED'}
        ob = [o for o in scene.objects if o.depth_cloud.is_cloud][-1]
        pts, pix = cloud_points(ob.data)
        n = len(ob.data.points)
        cols = np.empty(n * 4, np.float32)
        ob.data.attributes['Col'].data.foreach_get('color', cols)
        clouds[mode] = (pts, pix, cols.reshape(-1, 4))
        bpy.data.objects.remove(ob)
    (p0, x0, c0), (p1, x1, c1) = clouds["openexr"], clouds["safe"]
    assert len(p0) == int((z < 1e9).sum()) > 0
    np.testing.assert_array_equal(p1, p0)
    np.testing.assert_array_equal(x1, x0)
    np.testing.assert_array_equal(c1, c0)
    if codec != "B44A":  # lossless: the render's own colors; B44A: what OpenEXR decodes, checked above
        np.testing.assert_array_equal(c1, rgba[x1[:, 1], x1[:, 0]])
    from depth_cloud import api
    monkeypatch.setenv(exr_host.ENV, "safe")
    ps = api.unproject(scene, source=path)
    assert np.percentile(relative_errors(ps, pos), 99) <= 5e-5
    assert os.environ[exr_host.ENV] == "safe"
