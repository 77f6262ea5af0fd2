"""Adding header attributes to existing EXRs: pixels, channels, part layout and compression
unchanged (no Blender needed)."""
import numpy as np
import OpenEXR
import pytest

from depth_cloud.core.exr.read import read_exr
from depth_cloud.core.exr.write import add_header_attributes


def _channels(names, h=20, w=30, seed=0):
    rng = np.random.default_rng(seed)
    return {n: rng.random((h, w)).astype(np.float32) * 100 for n in names}


def _multipart(path, compression=OpenEXR.ZIP_COMPRESSION):
    layout = {"ViewLayer.Combined": "RGBA", "ViewLayer.Depth": "Z", "ViewLayer.Position": "XYZ"}
    parts, pixels = [], {}
    for i, (name, leaves) in enumerate(layout.items()):
        ch = _channels([f"{name}.{c}" for c in leaves], seed=i)
        pixels.update(ch)
        parts.append(OpenEXR.Part({"compression": compression, "type": OpenEXR.scanlineimage}, ch, name=name))
    OpenEXR.File(parts).write(path)
    return pixels


@pytest.mark.parametrize("compression", ["ZIP", "PIZ", "ZSTD"])
def test_multipart_header_added_pixels_unchanged(tmp_path, compression):
    src, dst = str(tmp_path / "src.exr"), str(tmp_path / "dst.exr")
    pixels = _multipart(src, getattr(OpenEXR, f"{compression}_COMPRESSION"))
    add_header_attributes(src, dst, {"depthCloud/camera": '{"a": 1}' * 200}, pixel_aspect=2.0)
    f = read_exr(dst)
    assert sorted(f.names()) == sorted(pixels)
    for name, arr in pixels.items():
        np.testing.assert_array_equal(f.get(name), arr)
    assert len(f.headers) == 3
    for header in f.headers:
        assert header["depthCloud/camera"] == '{"a": 1}' * 200
        assert header["pixelAspectRatio"] == 2.0
        # ZSTD (which Blender cannot read) becomes ZIP; other codecs are kept
        assert str(header["compression"]).endswith(f"{'ZIP' if compression == 'ZSTD' else compression}_COMPRESSION")


def test_single_part_and_edit(tmp_path):
    src, dst = str(tmp_path / "src.exr"), str(tmp_path / "dst.exr")
    pixels = _channels(["R", "G", "B", "Z"])
    with OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}, dict(pixels)) as f:
        f.write(src)

    def edit(channels):
        channels["Z"][0, 0] = 1e10

    add_header_attributes(src, dst, {"k": "v"}, edit=edit)
    f = read_exr(dst)
    assert f.header["k"] == "v" and f.header["pixelAspectRatio"] == 1.0
    expected = pixels["Z"].copy()
    expected[0, 0] = 1e10
    np.testing.assert_array_equal(f.get("Z"), expected)
    np.testing.assert_array_equal(f.get("R"), pixels["R"])


def test_damaged_source_names_the_file(tmp_path):
    from depth_cloud.core.errors import SourceFileError
    bad = tmp_path / "bad.exr"
    bad.write_bytes(b"v/1\x01" + b"\0" * 64)
    with pytest.raises(SourceFileError, match="bad.exr"):
        add_header_attributes(str(bad), str(tmp_path / "out.exr"), {})
