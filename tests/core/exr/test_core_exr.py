"""Pure-core tests of EXR reading and unprojection on files written with OpenEXR."""
import numpy as np
import OpenEXR
import pytest

from depth_cloud.core import CameraModel, SourceSpec, read_frame_passes, unproject
from depth_cloud.core.errors import ChannelError, InvalidDepthError, SourceFileError
from depth_cloud.core.exr.read import find_color_channels, find_depth_channel, find_position_channels, read_exr


def write(path, parts):
    """parts: list of (header dict, {name: array})."""
    objs = []
    for i, (hdr, chans) in enumerate(parts):
        h = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
        h.update(hdr)
        if len(parts) > 1:
            h.setdefault("name", f"part{i}")
        # the bindings ignore numpy strides: always hand them contiguous arrays
        objs.append(OpenEXR.Part(h, {k: np.ascontiguousarray(v) for k, v in chans.items()}))
    OpenEXR.File(objs).write(str(path))
    return str(path)


def plane_scene(w=32, h=24):
    """A camera 5 units above the ground plane z=0 looking straight down: depth is 5 everywhere."""
    m = np.eye(4)
    m[:3, 3] = (0.3, -0.2, 5.0)
    return CameraModel(m, w, h, lens=30.0), np.full((h, w), 5.0, np.float32)


def test_multipart_half_and_channel_names(tmp_path):
    cam, z = plane_scene()
    rgb = np.random.default_rng(0).random((24, 32)).astype(np.float32)
    path = write(tmp_path / "mp.exr", [
        ({}, {"RL.Combined.R": rgb, "RL.Combined.G": rgb * 0.5, "RL.Combined.B": rgb * 0.25}),
        ({}, {"RL.Depth.Z": z.astype(np.float16)}),
    ])
    f = read_exr(path)
    assert find_depth_channel(f.names(), "RL") == "RL.Depth.Z"
    assert find_color_channels(f.names(), "RL") == ["RL.Combined.R", "RL.Combined.G", "RL.Combined.B", None]
    ps = unproject(read_frame_passes(SourceSpec(path), 1), cam)
    assert len(ps) == 24 * 32
    np.testing.assert_allclose(ps.positions[:, 2], 0.0, atol=1e-5)  # every point on the ground
    np.testing.assert_array_equal(ps.colors[:, 1], (rgb * 0.5)[ps.pixels[:, 1], ps.pixels[:, 0]])
    assert np.all(ps.colors[:, 3] == 1.0)


def test_data_window_inside_display_window(tmp_path):
    """A border render stored with a data window: pixels keep their frame coordinates."""
    cam, z = plane_scene()
    win = np.full((10, 12), 5.0, np.float32)
    path = write(tmp_path / "dw.exr", [({"dataWindow": ((4, 6), (15, 15)), "displayWindow": ((0, 0), (31, 23))},
                                        {"Z": win})])
    passes = read_frame_passes(SourceSpec(path), 1)
    assert passes.frame_size == (32, 24) and passes.window == (4, 6)
    ps = unproject(passes, cam)
    assert ps.pixels[:, 0].min() == 4 and ps.pixels[:, 1].max() == 15
    full = unproject(read_frame_passes(SourceSpec(write(tmp_path / "full.exr", [({}, {"Z": z})])), 1), cam)
    sel = (full.pixels[:, 0] >= 4) & (full.pixels[:, 0] <= 15) & (full.pixels[:, 1] >= 6) & (full.pixels[:, 1] <= 15)
    np.testing.assert_allclose(ps.positions, full.positions[sel], atol=1e-6)


def test_position_pass_and_background(tmp_path):
    pos = np.zeros((4, 5, 3), np.float32)
    pos[1:3, 1:4] = np.arange(18, dtype=np.float32).reshape(2, 3, 3) + 1
    path = write(tmp_path / "p.exr", [({}, {"P.X": pos[..., 0], "P.Y": pos[..., 1], "P.Z": pos[..., 2]})])
    assert find_position_channels(read_exr(path).names()) == ["P.X", "P.Y", "P.Z"]
    ps = unproject(read_frame_passes(SourceSpec(path), 1))
    assert len(ps) == 6
    np.testing.assert_array_equal(ps.positions, pos[1:3, 1:4].reshape(-1, 3))


def test_background_and_clip_are_dropped(tmp_path):
    cam, z = plane_scene()
    z[:5] = 1e10
    z[5, :4] = 0.05  # nearer than clip start (0.1)
    z[6, :3] = 2000.0  # beyond clip end (1000)
    ps = unproject(read_frame_passes(SourceSpec(write(tmp_path / "bg.exr", [({}, {"Z": z})])), 1), cam)
    assert len(ps) == 24 * 32 - 5 * 32 - 4 - 3


def test_errors_name_file_and_channels(tmp_path):
    path = write(tmp_path / "rgb.exr", [({}, {"R": np.ones((2, 2), np.float32)})])
    with pytest.raises(ChannelError, match=r"rgb\.exr: no depth .* channels found: R"):
        read_frame_passes(SourceSpec(path), 1)
    broken = tmp_path / "broken.exr"
    broken.write_bytes(open(path, "rb").read()[:40])
    with pytest.raises(SourceFileError, match="broken.exr"):
        read_exr(broken)
    cam, _ = plane_scene(2, 2)
    zpath = write(tmp_path / "bg.exr", [({}, {"Z": np.full((2, 2), 1e10, np.float32)})])
    with pytest.raises(InvalidDepthError, match="no usable pixel"):
        unproject(read_frame_passes(SourceSpec(zpath), 1), cam)
