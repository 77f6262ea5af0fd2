"""Bad input to the core raises a DepthCloudError naming the file or setting, never a bare
IndexError/ValueError/AttributeError from deep inside."""
import numpy as np
import pytest

from depth_cloud.core.camera.from_header import NOTE_PREFIX, camera_from_header, convention_from_header
from depth_cloud.core.camera.lists import parse_camera_list
from depth_cloud.core.errors import CameraError, DepthCloudError, SettingsError, SourceFileError
from depth_cloud.core.output.info import file_info
from depth_cloud.core.output.ply import read_ply
from depth_cloud.core.points.grid_mesh import surface_from_point_set
from depth_cloud.core.points.pointset import PointSet


def test_damaged_ply_headers_name_the_file(tmp_path):
    for i, header in enumerate([b"ply\nformat binary_little_endian 1.0\nelement vertex\nend_header\n",
                                b"ply\nformat binary_little_endian 1.0\nelement vertex many\nend_header\n",
                                b"ply\nformat\nend_header\n",
                                b"ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty float\nend_header\n",
                                b"ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty quad x\n"
                                b"end_header\n"]):
        path = tmp_path / f"bad{i}.ply"
        path.write_bytes(header + b"\0" * 16)
        with pytest.raises(SourceFileError, match=f"bad{i}.ply"):
            read_ply(path)


def test_info_of_a_folder_is_a_source_file_error(tmp_path):
    with pytest.raises(SourceFileError, match="not a file"):
        file_info(tmp_path)


def test_header_note_that_is_not_an_object_and_bad_near_far():
    for note in ("[1, 2]", "3", '"text"'):
        header = {"Note": NOTE_PREFIX + note}
        assert camera_from_header(header) is None
        assert convention_from_header(header) is None
    conv = convention_from_header({"depthCloud/depthConvention": "NORMALIZED", "depthCloud/near": "abc",
                                   "depthCloud/far": "12"})
    assert conv == ("NORMALIZED", 0.0, 12.0)
    conv = convention_from_header({"Note": NOTE_PREFIX + '{"convention": "NORMALIZED", "near": null, "far": "x"}'})
    assert conv == ("NORMALIZED", 0.0, 0.0)


def test_camera_list_with_a_non_numeric_distance():
    with pytest.raises(CameraError, match="camera 1: distance must be a number"):
        parse_camera_list({"cameras": [{"direction": [1, 0, 0], "distance": "far", "width": 8, "height": 8}]},
                          "cams.json")
    with pytest.raises(CameraError, match="distance must be a number"):
        parse_camera_list([{"direction": [1, 0, 0], "distance": [1, 2], "width": 8, "height": 8}], "cams.json")


def test_negative_surface_jump_is_a_settings_error():
    ps = PointSet(positions=np.zeros((1, 3), np.float32), colors=np.ones((1, 4), np.float32),
                  pixels=np.zeros((1, 2), np.int32), depth=np.ones(1, np.float32), image_size=(1, 1))
    with pytest.raises(SettingsError, match="max_jump"):
        surface_from_point_set(ps, None, max_jump=-1.0)
    assert issubclass(SettingsError, DepthCloudError)
