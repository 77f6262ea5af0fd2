"""Lane (background): every codec, read by the extension inside this Blender (the host whose
OpenEXR 3.1 would crash the bundled module), never a crash.

The driver wrote ``codecs/*.exr`` from the lane's render (one file per codec, scanline and
tiled, half and float) plus damaged copies; this script reads each with the extension's
``read_exr`` and saves every channel (``codecs/<name>.npz``), or the typed error's message
(``RESULT["errors"]``). The driver compares the pixels with OpenEXR's own read outside Blender.
"""
import glob
import importlib
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # lane.py puts tests/ on the path too
import lane  # noqa: E402


def steps():
    pkg = lane.extension().__name__
    read_exr = importlib.import_module(pkg + ".core.exr.read").read_exr
    errors_mod = importlib.import_module(pkg + ".core.errors")
    host = importlib.import_module(pkg + ".core.exr.host")
    read, errors = [], {}
    for path in sorted(glob.glob(lane.out("codecs", "*.exr"))):
        name = os.path.splitext(os.path.basename(path))[0]
        try:
            f = read_exr(path)
        except errors_mod.DepthCloudError as err:
            errors[name] = str(err)
            continue
        np.savez(lane.out("codecs", name + ".npz"), **{c: f.get(c) for c in f.channels})
        read.append(name)
    lane.RESULT.update(read=read, errors=errors, host=host.host_report().reason)
    yield 0


lane.run(steps)
