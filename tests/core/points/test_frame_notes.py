"""The frame's notes (points, clipped, NaN/inf) of a depth build are counted among the pixels
that are no points only (core/points/unproject.py): the counts must equal a brute-force count
over every pixel, for every kind of pixel a depth pass holds."""
import numpy as np
import OpenEXR
import pytest

from depth_cloud.core import CameraModel, SourceSpec, read_frame_passes, unproject
from depth_cloud.core.diagnostics import CLIP, NONFINITE
from depth_cloud.core.points.gather import CLIP_TOLERANCE, FAR_PLANE_BAND


def _write(tmp_path, z):
    path = str(tmp_path / "notes.exr")
    h, w = z.shape
    chans = {"Z": z.astype(np.float32), **{c: np.full((h, w), 0.5, np.float32) for c in "RGB"}}
    OpenEXR.File([OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage},
                               chans)]).write(path)
    return path


def _brute(z, near, far):
    """(points, clipped, nonfinite) counted over every pixel, from the documented rules."""
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(z)
        points = (z >= near * (1 - CLIP_TOLERANCE)) & (z < far * (1 - FAR_PLANE_BAND)) & finite
        clipped = ((z > 0) & (z < near * (1 - CLIP_TOLERANCE))) | \
            ((z > far * (1 + 2 * FAR_PLANE_BAND)) & (z < 1e10))
    return int(points.sum()), int(clipped.sum()), int((~finite).sum())


@pytest.mark.parametrize("kinds", ["all points", "mixed", "no nan", "only nan and points"])
def test_frame_notes_equal_a_count_over_every_pixel(tmp_path, kinds):
    rng = np.random.default_rng(7)
    h, w = 37, 53
    z = rng.uniform(1.0, 50.0, (h, w)).astype(np.float32)
    if kinds != "all points":
        pick = rng.random((h, w))
        z[pick < 0.05] = np.nan
        if kinds != "only nan and points":
            z[(pick >= 0.05) & (pick < 0.08)] = np.inf
            z[(pick >= 0.08) & (pick < 0.12)] = 1e10  # background
            z[(pick >= 0.12) & (pick < 0.16)] = 0.05  # before the clip start
            z[(pick >= 0.16) & (pick < 0.20)] = 150.0  # beyond the clip end
            z[(pick >= 0.20) & (pick < 0.22)] = -3.0
            z[(pick >= 0.22) & (pick < 0.24)] = 99.5  # the far plane band (EEVEE's background)
        if kinds == "no nan":
            z[np.isnan(z)] = 7.0
    path = _write(tmp_path, z)
    cam = CameraModel(np.eye(4), w, h, clip_start=0.1, clip_end=100.0)
    ps = unproject(read_frame_passes(SourceSpec(path), 1), cam)
    points, clipped, nonfinite = _brute(z, 0.1, 100.0)
    assert len(ps) == ps.meta["points"] == points
    assert ps.meta["clipped"] == clipped
    assert ps.meta["nonfinite"] == nonfinite
    kinds_warned = {d.kind for d in ps.meta["warnings"]}
    assert (CLIP in kinds_warned) == bool(clipped)
    assert (NONFINITE in kinds_warned) == bool(nonfinite)
    if kinds == "mixed":
        assert clipped and nonfinite and points < z.size  # the case exercises every branch
