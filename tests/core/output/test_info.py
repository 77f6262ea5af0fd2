"""``info`` (pure core): the raw header reader against the OpenEXR bindings, and the report."""
import json

import numpy as np
import pytest

from depth_cloud import cli
from depth_cloud.core.camera.from_header import camera_to_header
from depth_cloud.core.camera.model import CameraModel
from depth_cloud.core.errors import SourceFileError
from depth_cloud.core.exr.header import read_exr_header
from depth_cloud.core.output.info import file_info, format_info

OpenEXR = pytest.importorskip("OpenEXR")


def _camera():
    m = np.eye(4)
    m[:3, 3] = (1.0, -2.0, 3.0)
    return CameraModel(cam_to_world=m, width=10, height=8, lens=35.0, shift_x=0.1)


def _multipart(path):
    """Blender-5-style multi-part file: half color, float depth, a border data window,
    and a self-describing header (camera + convention)."""
    hdr = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
           "displayWindow": ((0, 0), (9, 7)), "dataWindow": ((2, 1), (6, 4)),
           "depthCloud/depthConvention": "RAY_DISTANCE", "Camera": "CamA"}
    hdr.update(camera_to_header(_camera()))
    color = {f"ViewLayer.Combined.{c}": np.full((4, 5), 0.5, np.float16) for c in "RGBA"}
    depth = {"ViewLayer.Depth.Z": np.full((4, 5), 3.0, np.float32)}
    parts = [OpenEXR.Part(dict(hdr), color, name="ViewLayer.Combined"),
             OpenEXR.Part(dict(hdr), depth, name="ViewLayer.Depth")]
    with OpenEXR.File(parts) as f:
        f.write(str(path))
    return str(path)


def _single(path, channels, header=None):
    hdr = {"compression": OpenEXR.PIZ_COMPRESSION, "type": OpenEXR.scanlineimage}
    hdr.update(header or {})
    with OpenEXR.File(hdr, channels) as f:
        f.write(str(path))
    return str(path)


def test_header_reader_matches_the_bindings(tmp_path):
    path = _multipart(tmp_path / "m.exr")
    ours = read_exr_header(path)
    theirs = OpenEXR.File(path, separate_channels=True)
    assert ours.multipart and len(ours.parts) == len(theirs.parts) == 2
    for mine, part in zip(ours.parts, theirs.parts):
        h = part.header
        assert mine.name == h["name"]
        lo, hi = h["dataWindow"]
        assert mine.data_window == (lo[0], lo[1], hi[0], hi[1])
        lo, hi = h["displayWindow"]
        assert mine.display_window == (lo[0], lo[1], hi[0], hi[1])
        types = {c.name: c.pixel_type for c in mine.channels}
        assert types == {n: {np.float16: "half", np.float32: "float"}[ch.pixels.dtype.type]
                         for n, ch in part.channels.items()}
        assert mine.attributes["depthCloud/depthConvention"] == h["depthCloud/depthConvention"]
        assert mine.attributes["compression"] == "ZIP"


def test_info_reports_layers_windows_camera_and_convention(tmp_path):
    info = file_info(_multipart(tmp_path / "m.exr"))
    assert [lay["name"] for lay in info["layers"]] == ["ViewLayer"]
    passes = {p["name"]: (p["channels"], p["types"]) for p in info["layers"][0]["passes"]}
    assert passes == {"Combined": (["R", "G", "B", "A"], ["half"] * 4), "Depth": (["Z"], ["float"])}
    assert info["display_window"]["size"] == [10, 8] and info["data_window"]["size"] == [5, 4]
    assert info["data_window"]["min"] == [2, 1]
    assert info["camera"]["blender_camera"] == "CamA"
    cam = info["camera"]["header_camera"]
    assert cam["projection"] == "PERSP" and cam["lens"] == 35.0 and cam["location"] == [1.0, -2.0, 3.0]
    assert info["depth_channel"] == "ViewLayer.Depth.Z" and info["convention"] == "RAY_DISTANCE"
    assert "header" in info["convention_reason"]
    text = "\n".join(format_info(info))
    for expected in ("view layers: ViewLayer", "Combined", "R G B A", "half", "Depth", "RAY_DISTANCE",
                     "(2,1)-(6,4) 5x4", "(0,0)-(9,7) 10x8", "border/crop", "CamA", "lens 35 mm"):
        assert expected in text, expected


def test_info_single_layer_and_stats(tmp_path):
    z = np.full((6, 8), 1e10, np.float32)
    z[2:4, 2:6] = np.linspace(0.1, 0.9, 8, dtype=np.float32).reshape(2, 4)
    path = _single(tmp_path / "s.exr", {"R": np.zeros((6, 8), np.float32), "G": np.zeros((6, 8), np.float32),
                                        "B": np.zeros((6, 8), np.float32), "Z": z})
    info = file_info(path)
    assert [lay["name"] for lay in info["layers"]] == [""]
    assert info["layers"][0]["passes"][0]["channels"] == ["R", "G", "B", "Z"]
    assert info["convention"] == "PLANAR" and "assumed" in info["convention_reason"]
    assert "  view layers: none (single-layer file)" in format_info(info)
    stats = file_info(path, stats=True)
    assert stats["stats"]["Z"]["background"] == 40 and stats["stats"]["Z"]["max"] == pytest.approx(0.9)
    assert "0..1" in stats["convention_reason"]


def test_damaged_and_foreign_files_are_named(tmp_path):
    good = _multipart(tmp_path / "m.exr")
    data = open(good, "rb").read()
    (tmp_path / "cut.exr").write_bytes(data[:60])
    with pytest.raises(SourceFileError, match="cut.exr: damaged EXR header"):
        read_exr_header(tmp_path / "cut.exr")
    (tmp_path / "x.exr").write_text("hello")
    with pytest.raises(SourceFileError, match="x.exr: not an OpenEXR"):
        file_info(tmp_path / "x.exr")
    with pytest.raises(SourceFileError, match="nope.exr: file not found"):
        file_info(tmp_path / "nope.exr")


def test_info_command_without_blender(tmp_path, capsys):
    path = _multipart(tmp_path / "m.exr")
    assert cli.main(["info", path, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["depth_channel"] == "ViewLayer.Depth.Z"
    pattern = str(tmp_path / "f_####.exr")
    _single(tmp_path / "f_0007.exr", {"Z": np.ones((2, 2), np.float32)})
    assert cli.main(["info", pattern, "--frame", "7"]) == 0
    assert "f_0007.exr" in capsys.readouterr().out
    assert cli.main(["info", pattern]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--frame" in err[0]
    assert cli.main(["info", str(tmp_path / "missing.exr")]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.exr: file not found" in err[0]


def test_info_describes_standard_header_camera(tmp_path):
    """`info` lists worldToCamera/worldToNDC cameras (as read by core.header_camera) and which is used."""
    import OpenEXR

    from depth_cloud.core import CameraModel
    from depth_cloud.core.camera.from_header import camera_to_standard
    from depth_cloud.core.output.info import file_info, format_info
    m = np.eye(4)
    m[:3, 3] = (1.0, 2.0, 3.0)
    hdr = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    hdr.update(camera_to_standard(CameraModel(m, 40, 30, lens=35.0)))
    path = str(tmp_path / "w2c.exr")
    OpenEXR.File(hdr, {"Z": np.ones((30, 40), np.float32)}).write(path)
    text = "\n".join(format_info(file_info(path)))
    assert "worldToCamera/worldToNDC: perspective, lens 35 mm" in text and "[used]" in text
