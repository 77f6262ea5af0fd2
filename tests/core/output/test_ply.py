"""PLY writing (pure core): layout readers rely on, sRGB colors, atomic writes."""
import os

import numpy as np
import pytest

from depth_cloud.core.output import ply
from depth_cloud.core.points.colors import srgb_to_linear
from depth_cloud.core.points.pointset import PointSet


def _point_set(n=5, radius=True, seed=0):
    rng = np.random.default_rng(seed)
    colors = np.ones((n, 4), np.float32)
    colors[:, :3] = rng.random((n, 3), dtype=np.float32)
    colors[:, 3] = rng.random(n, dtype=np.float32)
    return PointSet(positions=rng.normal(size=(n, 3)).astype(np.float32), colors=colors,
                    pixels=np.zeros((n, 2), np.int32), depth=None,
                    radius=rng.random(n, dtype=np.float32) if radius else None)


def _header_lines(path):
    with open(path, "rb") as fh:
        data = fh.read()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    return data[:end].decode("ascii").splitlines(), data[end:]


def test_layout_is_what_point_cloud_tools_read(tmp_path):
    ps = _point_set(7)
    path = tmp_path / "c.ply"
    size = ply.write_ply(path, ps, comments=["frame 3"])
    lines, body = _header_lines(path)
    assert lines == ["ply", "format binary_little_endian 1.0", "comment frame 3", "element vertex 7",
                     "property float x", "property float y", "property float z",
                     "property uchar red", "property uchar green", "property uchar blue",
                     "property float radius", "end_header"]
    assert len(body) == 7 * (3 * 4 + 3 + 4) and os.path.getsize(path) == size
    # decode the body by hand (little-endian, packed): positions and radius exactly
    rec = np.frombuffer(body, dtype=np.dtype([("p", "<f4", 3), ("c", "u1", 3), ("r", "<f4")]))
    np.testing.assert_array_equal(rec["p"], ps.positions)
    np.testing.assert_array_equal(rec["r"], ps.radius)
    # colors are sRGB-encoded 8-bit: decoding them gives the linear colors back within half a step
    decoded = srgb_to_linear(rec["c"] / 255.0)
    lo = srgb_to_linear(np.clip(rec["c"] - 0.5, 0, 255) / 255.0)
    hi = srgb_to_linear(np.clip(rec["c"] + 0.5, 0, 255) / 255.0)
    assert np.all((ps.colors[:, :3] >= lo - 1e-6) & (ps.colors[:, :3] <= hi + 1e-6))
    assert decoded.shape == (7, 3)


def test_srgb_encoding_known_values():
    lin = np.array([[0.0, 1.0, 0.5], [2.0, -1.0, 0.0031308], [0.18, 0.05, 0.9]], np.float32)
    # sRGB tables: linear 0.5 -> 188, 0.18 (mid grey) -> 118, 0.05 -> 63, 0.9 -> 243
    np.testing.assert_array_equal(ply.srgb8(lin), [[0, 255, 188], [255, 0, 10], [118, 63, 243]])


def test_alpha_and_normals_optional_properties(tmp_path):
    ps = _point_set(4)
    normals = np.tile(np.array([0, 0, 1], np.float32), (4, 1))
    path = tmp_path / "n.ply"
    ply.write_ply(path, ps, normals=normals, alpha=True)
    lines, body = _header_lines(path)
    props = [line.split()[-1] for line in lines if line.startswith("property")]
    assert props == ["x", "y", "z", "nx", "ny", "nz", "red", "green", "blue", "alpha", "radius"]
    v = ply.read_ply(path)["vertex"]
    np.testing.assert_array_equal(np.stack([v["nx"], v["ny"], v["nz"]], 1), normals)
    np.testing.assert_array_equal(v["alpha"], np.rint(ps.colors[:, 3] * 255).astype(np.uint8))
    # no radius in the PointSet (or radius=False): no radius property
    ply.write_ply(tmp_path / "r.ply", _point_set(3, radius=False))
    assert "property float radius" not in _header_lines(tmp_path / "r.ply")[0]
    ply.write_ply(tmp_path / "r2.ply", ps, radius=False)
    assert "property float radius" not in _header_lines(tmp_path / "r2.ply")[0]


def test_empty_cloud_is_a_valid_file(tmp_path):
    ps = _point_set(0)
    ply.write_ply(tmp_path / "e.ply", ps)
    lines, body = _header_lines(tmp_path / "e.ply")
    assert "element vertex 0" in lines and body == b""
    assert len(ply.read_ply(tmp_path / "e.ply")["vertex"]) == 0


def test_same_points_same_bytes(tmp_path):
    ply.write_ply(tmp_path / "a.ply", _point_set(50), comments=["frame 1"])
    ply.write_ply(tmp_path / "b.ply", _point_set(50), comments=["frame 1"])
    assert (tmp_path / "a.ply").read_bytes() == (tmp_path / "b.ply").read_bytes()


def test_comments_cannot_break_the_header(tmp_path):
    ply.write_ply(tmp_path / "c.ply", _point_set(2), comments=["source evil\nelement vertex 99"])
    lines, _ = _header_lines(tmp_path / "c.ply")
    assert lines.count("element vertex 2") == 1 and not any(line == "element vertex 99" for line in lines)
    assert len(ply.read_ply(tmp_path / "c.ply")["vertex"]) == 2


def _interrupted_body(fh, records):
    data = memoryview(records).cast("B")
    fh.write(data[:len(data) // 2])
    fh.flush()
    raise OSError("simulated crash halfway through the write")


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    monkeypatch.setattr(ply, "_write_body", _interrupted_body)
    with pytest.raises(OSError, match="simulated"):
        ply.write_ply(tmp_path / "out" / "c.ply", _point_set(100))
    assert os.listdir(tmp_path / "out") == []


def test_failed_overwrite_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "c.ply"
    ply.write_ply(path, _point_set(10, seed=1))
    before = path.read_bytes()
    monkeypatch.setattr(ply, "_write_body", _interrupted_body)
    with pytest.raises(OSError):
        ply.write_ply(path, _point_set(100, seed=2))
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["c.ply"]


def test_reader_refuses_truncated_and_foreign_files(tmp_path):
    path = tmp_path / "c.ply"
    ply.write_ply(path, _point_set(10))
    data = path.read_bytes()
    (tmp_path / "t.ply").write_bytes(data[:-5])
    with pytest.raises(Exception, match="truncated"):
        ply.read_ply(tmp_path / "t.ply")
    (tmp_path / "x.ply").write_bytes(b"solid stl\n")
    with pytest.raises(Exception, match="not a PLY"):
        ply.read_ply(tmp_path / "x.ply")
