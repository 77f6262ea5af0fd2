"""Cryptomatte manifests and coverage, index/channel masks, normals and named passes (no Blender).

Files are written with OpenEXR here; the Blender tests check the same against Cycles renders.
"""
import json

import numpy as np
import OpenEXR
import pytest

from depth_cloud.core.camera.model import CameraModel
from depth_cloud.core.errors import ChannelError, InvalidDepthError, SettingsError, SourceFileError
from depth_cloud.core.exr import cryptomatte
from depth_cloud.core.output import ply
from depth_cloud.core.points.inputs import SourceSpec
from depth_cloud.core.points.passes import read_frame_passes
from depth_cloud.core.points.unproject import unproject

H, W = 4, 6


def _f(bits):
    return np.array([bits], np.uint32).view(np.float32)[0]


def _write(path, channels, header=None):
    hdr = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    hdr.update(header or {})
    with OpenEXR.File(hdr, {k: np.ascontiguousarray(v, np.float32) for k, v in channels.items()}) as f:
        f.write(str(path))
    return str(path)


def _camera():
    return CameraModel(cam_to_world=np.eye(4), width=W, height=H, lens=50.0)


def test_layers_parse_header_ranks_and_manifest_problems(tmp_path):
    names = [f"L.CryptoObject0{i}.{c}" for i in range(2) for c in "rgba"] + ["L.CryptoMaterial00.r",
                                                                          "L.CryptoMaterial00.g", "odd_crypto00.R",
                                                                          "odd_crypto00.G"]
    (tmp_path / "side.json").write_text(json.dumps({"m1": "00000001"}))
    header = {"cryptomatte/aaa/name": "L.CryptoObject", "cryptomatte/aaa/manifest": '{"Cube":"a8fce865"}',
              "cryptomatte/bbb/name": "L.CryptoMaterial", "cryptomatte/bbb/manif_file": "side.json",
              "cryptomatte/ccc/name": "L.CryptoAsset", "cryptomatte/ccc/manifest": "{not json"}
    layers = {lay.name: lay for lay in cryptomatte.layers(header, names, str(tmp_path / "x.exr"))}
    obj = layers["L.CryptoObject"]
    assert obj.manifest == {"Cube": 0xA8FCE865}
    assert obj.ranks == [("L.CryptoObject00.r", "L.CryptoObject00.g"), ("L.CryptoObject00.b", "L.CryptoObject00.a"),
                         ("L.CryptoObject01.r", "L.CryptoObject01.g"), ("L.CryptoObject01.b", "L.CryptoObject01.a")]
    assert layers["L.CryptoMaterial"].manifest == {"m1": 1}
    assert layers["L.CryptoAsset"].manifest is None and "not valid JSON" in layers["L.CryptoAsset"].manifest_problem
    assert layers["odd_crypto"].manifest is None and "no manifest" in layers["odd_crypto"].manifest_problem
    assert obj.matches("object") and obj.matches("CryptoObject") and obj.matches("l.cryptoobject")


def test_ids_compare_as_bit_patterns_not_float_values(tmp_path):
    """-0.0 (0x80000000) equals 0.0 as a float; an id of 0x80000000 must not select empty
    pixels whose id is 0. Neighbouring bit patterns are different ids."""
    neg_zero, a, b = 0x80000000, 0x3F800000, 0x3F800001  # b is the next float after 1.0
    r0 = np.zeros((H, W), np.float32)
    r0[0] = _f(neg_zero)
    r0[1] = _f(a)
    r0[2] = _f(b)
    g0 = np.ones((H, W), np.float32)
    manifest = json.dumps({"negzero": f"{neg_zero:08x}", "one": f"{a:08x}", "next": f"{b:08x}"})
    path = _write(tmp_path / "bits.exr", {"Z": np.full((H, W), 3.0), "c00.R": r0, "c00.G": g0,
                                           "c00.B": np.zeros((H, W)), "c00.A": np.zeros((H, W))},
                  {"cryptomatte/k/name": "c", "cryptomatte/k/manifest": manifest})
    for name, row in (("negzero", 0), ("one", 1), ("next", 2)):
        ps = unproject(read_frame_passes(SourceSpec(path=path, mask=(name,)), 1), _camera())
        assert set(ps.pixels[:, 1]) == {row}, name
        assert len(ps) == W


def test_names_wildcards_and_closest_suggestions():
    layer = cryptomatte.CryptoLayer(name="V.CryptoObject", manifest={"Suzanne": 1, "Suzanne.001": 2, "Tree": 3},
                                    ranks=[("a", "b")])
    assert cryptomatte.select_names(layer, ["Suz*"], "f.exr") == {"Suzanne": 1, "Suzanne.001": 2}
    assert cryptomatte.select_names(layer, ["Tree", "Suzanne"], "f.exr") == {"Tree": 3, "Suzanne": 1}
    with pytest.raises(SettingsError, match=r"'suzane' is not in the manifest .*closest: Suzanne"):
        cryptomatte.select_names(layer, ["suzane"], "f.exr")


def _index_file(tmp_path):
    index = np.zeros((H, W), np.float32)
    index[:, :2], index[:, 2:4] = 1, 2
    normal = np.zeros((H, W, 3), np.float32)
    normal[..., 2] = 2.0  # not unit length: normalized per point
    normal[0, 0] = 0.0    # no normal at one pixel
    rough = np.arange(H * W, dtype=np.float32).reshape(H, W) / 100
    return _write(tmp_path / "idx.exr", {
        "Z": np.full((H, W), 3.0), "V.IndexOB.X": index, "V.Normal.X": normal[..., 0], "V.Normal.Y": normal[..., 1],
        "V.Normal.Z": normal[..., 2], "V.rough.X": rough, "V.tint.R": rough, "V.tint.G": rough * 2,
        "V.tint.B": rough * 3, "V.Vector.X": rough, "V.Vector.Y": rough, "V.Vector.Z": rough}), index, rough


def test_index_masks_normals_and_named_passes(tmp_path):
    path, index, rough = _index_file(tmp_path)
    ps = unproject(read_frame_passes(SourceSpec(path=path, mask=("2",), mask_pass="Object Index",
                                                attributes=("rough", "tint", "Vector")), 1), _camera())
    assert set(ps.pixels[:, 0]) == {2, 3} and len(ps) == 2 * H
    np.testing.assert_array_equal(ps.attributes["rough"], rough[ps.pixels[:, 1], ps.pixels[:, 0]])
    tint = ps.attributes["tint"]
    assert tint.shape == (len(ps), 4) and np.all(tint[:, 3] == 1.0)
    np.testing.assert_allclose(tint[:, 2], 3 * ps.attributes["rough"])
    assert ps.attributes["Vector"].shape == (len(ps), 3)
    np.testing.assert_allclose(ps.normals, np.tile([0, 0, 1], (len(ps), 1)))
    everything = unproject(read_frame_passes(SourceSpec(path=path), 1), _camera())
    assert everything.meta["normals_missing"] == 1 and np.all(everything.normals[0] == 0)
    # Records for PLY: the attributes follow the standard properties
    names = ply.point_records(ps).dtype.names
    assert names[-8:] == ("rough", "tint_r", "tint_g", "tint_b", "tint_a", "Vector_x", "Vector_y", "Vector_z")


def test_bad_masks_name_the_file_and_pass(tmp_path):
    path, _, _ = _index_file(tmp_path)
    with pytest.raises(SettingsError, match=r"idx.exr: no pixel of V.IndexOB.X has index 5; indices present: 0, 1, 2"):
        read_frame_passes(SourceSpec(path=path, mask=("5",), mask_pass="Object Index"), 1)
    with pytest.raises(ChannelError, match=r"idx.exr: no Cryptomatte layer to find mask names hero"):
        read_frame_passes(SourceSpec(path=path, mask=("hero",)), 1)
    with pytest.raises(ChannelError, match=r"mask pass 'Material Index'"):
        read_frame_passes(SourceSpec(path=path, mask=("1",), mask_pass="Material Index"), 1)
    with pytest.raises(InvalidDepthError, match=r"V.rough.X >= 2 selects no pixel \(values 0..0.23\)"):
        read_frame_passes(SourceSpec(path=path, mask_pass="rough", mask_threshold=2.0), 1)
    taken = _write(tmp_path / "taken.exr", {"Z": np.full((H, W), 3.0), "V.radius.X": np.zeros((H, W))})
    with pytest.raises(SettingsError, match=r"taken.exr: pass 'radius' cannot become attribute 'radius'"):
        read_frame_passes(SourceSpec(path=taken, attributes=("radius",)), 1)


def test_layer_without_manifest_is_refused(tmp_path):
    path = _write(tmp_path / "bare.exr", {"Z": np.full((H, W), 3.0), "ViewLayer.CryptoObject00.r": np.zeros((H, W)),
                                          "ViewLayer.CryptoObject00.g": np.zeros((H, W))})
    with pytest.raises(SourceFileError, match=r"bare.exr: no Cryptomatte layer with a manifest .*no manifest"):
        read_frame_passes(SourceSpec(path=path, mask=("Cube",)), 1)
    with pytest.raises(SourceFileError, match=r"'ViewLayer.CryptoObject' cannot be masked by name"):
        read_frame_passes(SourceSpec(path=path, mask=("Cube",), mask_pass="CryptoObject"), 1)


def test_mask_setting_strings_and_lists():
    assert SourceSpec(path="x.exr", mask="Cube, Tree*").mask == ("Cube", "Tree*")
    assert SourceSpec(path="x.exr", mask=["Cube,Sphere", " Tree "]).mask == ("Cube", "Sphere", "Tree")
    assert SourceSpec(path="x.exr").mask == ()


def test_deep_files_refuse_masks_and_attributes(tmp_path):
    """A deep EXR asked for a mask is an error naming the file, not a silently unmasked cloud."""
    from depth_cloud.core.points.deep import write_deep_exr
    counts = np.ones((H, W), np.uint32)
    z = np.full(H * W, 3.0, np.float32)
    path = write_deep_exr(str(tmp_path / "deep.exr"), counts, {"Z": z, "A": np.ones_like(z)})
    assert len(unproject(read_frame_passes(SourceSpec(path=path), 1), _camera())) == H * W
    for options in ({"mask": ("Cube",)}, {"attributes": ("rough",)}):
        with pytest.raises(SettingsError, match=r"deep.exr: .* cannot be read from a deep EXR"):
            read_frame_passes(SourceSpec(path=path, **options), 1)
