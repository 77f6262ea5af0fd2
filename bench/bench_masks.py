"""Cost of masks and pass attributes on a many-pass 1920x1080 frame (core read + unproject; run
with a bpy venv, which only provides the import of the checkout).

    python bench/bench_masks.py [--size 1920x1080] [--repeat 5]

A synthetic frame with Blender's multilayer names: Combined, Depth, Normal, Object Index, three
CryptoObject rank groups (12 channels, manifest in the header) and a value AOV, ZIP compressed.
Builds: unmasked; Cryptomatte mask of one object (~1/3 of the pixels); Object Index mask;
unmasked with the AOV as an attribute. Prints numbers only; nothing is asserted.
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import import_extension, synthetic_frame, timed  # noqa: E402

L = "ViewLayer"
IDS = {"Hero": 0x4A0F00D5, "Set": 0x3C123456, "Prop": 0x2B0A0B0C}


def write_many_pass_exr(path, w, h):
    import OpenEXR
    z, rgba = synthetic_frame(w, h)
    third = w // 3
    obj = np.full((h, w), 2.0, np.float32)
    obj[:, :third] = 1.0
    obj[:, 2 * third:] = 3.0
    chans = {f"{L}.Depth.Z": z, f"{L}.Object Index.X": obj, f"{L}.rough.X": (obj / 10).astype(np.float32)}
    for i, c in enumerate("RGBA"):
        chans[f"{L}.Combined.{c}"] = np.ascontiguousarray(rgba[..., i])
    chans[f"{L}.Normal.X"] = np.zeros((h, w), np.float32)
    chans[f"{L}.Normal.Y"] = np.zeros((h, w), np.float32)
    chans[f"{L}.Normal.Z"] = np.ones((h, w), np.float32)
    as_float = {k: np.array([v], np.uint32).view(np.float32)[0] for k, v in IDS.items()}
    names = np.array(["Hero", "Set", "Prop"])[(obj - 1).astype(int)]
    first = np.vectorize(as_float.get)(names).astype(np.float32)
    for g in range(3):
        for c in "rgba":
            chans[f"{L}.CryptoObject0{g}.{c}"] = np.zeros((h, w), np.float32)
    chans[f"{L}.CryptoObject00.r"] = first
    chans[f"{L}.CryptoObject00.g"] = np.ones((h, w), np.float32)
    hdr = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
           "cryptomatte/abc1234/name": f"{L}.CryptoObject", "cryptomatte/abc1234/hash": "MurmurHash3_32",
           "cryptomatte/abc1234/conversion": "uint32_to_float32",
           "cryptomatte/abc1234/manifest": json.dumps({k: f"{v:08x}" for k, v in IDS.items()})}
    with OpenEXR.File(hdr, {k: np.ascontiguousarray(v) for k, v in chans.items()}) as f:
        f.write(path)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    w, h = map(int, args.size.lower().split("x"))
    import_extension(register=False)
    from depth_cloud.core.camera.model import CameraModel
    from depth_cloud.core.points.inputs import SourceSpec
    from depth_cloud.core.points.passes import read_frame_passes
    from depth_cloud.core.points.unproject import unproject
    cam = CameraModel(cam_to_world=np.eye(4), width=w, height=h, lens=35.0)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_many_pass_exr(os.path.join(tmp, "many.exr"), w, h)
        cases = [("unmasked (normals from the Normal pass)", {}),
                 ("unmasked, normals off", {"normals": False}),
                 ("Cryptomatte mask 'Hero'", {"mask": ("Hero",)}),
                 ("Object Index mask 1", {"mask": ("1",), "mask_pass": "Object Index"}),
                 ("unmasked + AOV attribute 'rough'", {"attributes": ("rough",)})]
        print(f"{w}x{h}, {len(cases)} builds, median of {args.repeat} after warm-up (read + unproject):")
        for label, opts in cases:
            spec = SourceSpec(path=path, **opts)
            t_read, passes = timed(lambda spec=spec: read_frame_passes(spec, 1), args.repeat)
            t_unp, ps = timed(lambda passes=passes: unproject(passes, cam), args.repeat)
            print(f"  {label:<42} read {t_read * 1e3:6.1f} ms  unproject {t_unp * 1e3:6.1f} ms  "
                  f"{len(ps):>9,} points")


if __name__ == "__main__":
    main()
