"""Deep OpenEXR files (deep scanline and deep tiled): every sample becomes a point.

A deep pixel holds any number of samples, each with its own depth (``Z``, optionally
``ZBack``), premultiplied color and alpha. ``core.deep_read`` flattens the parts as
``core.exr`` reads them (sample counts and flat per-channel values); this module makes a
frame of them: which parts and channels (:func:`read_samples`), which samples become points
and where (:func:`unproject`).

What a deep frame gives (see docs/deep.md):

- every sample with a finite depth inside the clip range is one point at its ``Z`` along its
  pixel's ray (the same unprojection as flat depth: ``CameraModel.plane_x/plane_y`` and
  ``core.unproject.camera_to_world``);
- colors are straight (``RGB / A`` where ``A > 0``; samples with ``A == 0`` keep their RGB,
  additive light), alpha is the color's fourth component and the ``alpha`` attribute;
- attributes ``sample`` (index of the sample inside its pixel, file order), ``sample_count``
  (samples of that pixel) and, with ``ZBack``, ``thickness`` (planar ``ZBack - Z``);
- choices: all samples, the front (nearest) sample of each pixel, a minimum alpha.

For the consumers that need one depth per pixel (``pixel_to_world``, fusion's multi-view
checks), the frame's ``FramePasses.depth`` is the front sample's depth (``+inf`` where a pixel
has no sample) and its color planes the front sample's straight color; fusion adds the
samples behind it (:func:`behind_samples`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..camera.model import ORTHOGRAPHIC, PANORAMIC
from ..diagnostics import NONFINITE, Diagnostics
from ..errors import CameraError, ChannelError, InvalidDepthError
from ..exr import read as exr
from ..exr.deep_read import DeepSampleError
from . import depth as depth_mod
from .footprint import point_radius
from .gather import camera_to_world, clip_dropped, clip_text, frame_camera, note_clipped, valid_depth_mask
from .inputs import ALL, FRONT, SAMPLE_CHOICES, DeepSamples, check_deep_options  # noqa: F401 (deep.ALL …)
from .pointset import PointSet

SAMPLE_ATTRIBUTE = "sample"
SAMPLE_COUNT_ATTRIBUTE = "sample_count"
ALPHA_ATTRIBUTE = "alpha"
THICKNESS_ATTRIBUTE = "thickness"


# --------------------------------------------------------------------------- one frame
def straight_colors(r, g, b, a) -> np.ndarray:
    """(S, 4) float32 straight RGBA from premultiplied deep samples: RGB / A where A > 0."""
    n = len(r)
    out = np.empty((n, 4), np.float32)
    for i, v in enumerate((r, g, b)):
        out[:, i] = v
    out[:, 3] = 1.0 if a is None else a
    if a is not None:
        alpha = out[:, 3]
        pos = alpha > 0
        with np.errstate(invalid="ignore", over="ignore"):
            out[pos, :3] /= alpha[pos, None]
    return out


@dataclass
class DeepRead:
    """What :func:`read_samples` found: the samples and where they sit (``core.passes`` makes
    the frame's ``FramePasses`` of it)."""

    samples: DeepSamples
    names: list  # channel names of the parts used
    depth_channel: str
    layer: str
    window: tuple  # (x0, y0) of the data window in the frame
    warnings: list


def read_samples(spec, f, own_colors: bool = True) -> DeepRead:
    """The deep samples of ``f`` (an ``ExrFile`` with deep parts) as ``spec`` reads them;
    ``own_colors=False`` when a separate color file colors them."""
    path = f.path
    check_deep_options(spec.deep_samples, spec.deep_min_alpha)
    # the view read_exr chose (and checked): parts of that view and parts without one
    parts = [p for p in f.deep.values() if not f.view or p.view in ("", f.view)]
    owner = {}
    for p in parts:
        for name in p.channels:
            owner.setdefault(name, p)
    names = list(owner)
    label = ", ".join(repr(p.name) if p.name else str(p.index) for p in parts)
    layer = spec.layer or next(iter(exr.view_layers(names)), "")
    if spec.layer and spec.layer not in exr.view_layers(names):
        raise ChannelError(path, f"view layer {spec.layer!r} in deep part(s) {label}", exr.view_layers(names) or names)
    z_name = spec.depth_channel or exr.find_depth_channel(names, layer)
    if not z_name or z_name not in owner:
        raise ChannelError(path, f"depth ({spec.depth_channel or 'Z'}) channel in deep part(s) {label}", names)
    zpart = owner[z_name]

    def values(name):
        p = owner[name]
        if p is not zpart and not np.array_equal(p.counts, zpart.counts):
            raise DeepSampleError(path, f"deep part {p.index} ({p.name!r}), channel {name!r} has other sample "
                                        f"counts than the depth channel {z_name!r} of part {zpart.index} "
                                        f"({zpart.name!r})")
        return np.asarray(p.channels[name], dtype=np.float32)

    counts = zpart.counts
    h, w = counts.shape
    flat_counts = counts.reshape(-1)
    total = int(flat_counts.sum())
    pixel = np.repeat(np.arange(h * w, dtype=np.int64), flat_counts)
    starts = np.cumsum(flat_counts, dtype=np.int64) - flat_counts
    sample = (np.arange(total, dtype=np.int64) - np.repeat(starts, flat_counts)).astype(np.int32)
    prefix = z_name[:len(z_name) - len(exr.split_name(z_name)[2])]
    back_name = next((n for n in (f"{prefix}ZBack", f"{prefix}zback", f"{prefix}Zback") if n in owner), None)
    colors, warnings = None, Diagnostics()
    if own_colors:
        rgba = exr.find_color_channels(names, layer, spec.color_channels or None)
        if rgba is not None:
            colors = straight_colors(*(values(n) if n else None for n in rgba))
        elif spec.color_channels:
            raise ChannelError(path, f"color channels {spec.color_channels}.R, .G and .B (color prefix "
                                     f"{spec.color_channels!r})", names)
        else:
            warnings.append(f"{path}: no color channel found in the deep part(s) {label}; points are white")
    samples = DeepSamples(counts=counts, pixel=pixel, sample=sample, depth=values(z_name),
                          depth_back=values(back_name) if back_name else None, colors=colors, depth_channel=z_name,
                          parts=tuple(p.name or str(p.index) for p in parts), samples_mode=spec.deep_samples,
                          min_alpha=float(spec.deep_min_alpha))
    disp, win = f.display_window, zpart.data_window
    return DeepRead(samples=samples, names=names, depth_channel=z_name, layer=layer,
                    window=(win[0] - disp[0], win[1] - disp[1]), warnings=warnings)


def set_front(passes) -> None:
    """The flat view of a deep frame: ``passes.depth`` and ``color_planes`` of each pixel's
    front sample (see :func:`_front_depth`)."""
    _front_depth(passes)
    _front_colors(passes)


def nearest_per_pixel(pixel: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Indices of the nearest sample (smallest ``z``, first on ties) of each pixel; ``pixel``
    must be sorted (samples grouped by pixel). Pixels whose depths are all NaN give none."""
    if len(z) == 0:
        return np.empty(0, np.int64)
    starts = np.flatnonzero(np.r_[True, pixel[1:] != pixel[:-1]])
    front = np.fmin.reduceat(z, starts)
    cand = np.flatnonzero(z == np.repeat(front, np.diff(np.r_[starts, len(z)])))
    pc = pixel[cand]
    return cand[np.r_[True, pc[1:] != pc[:-1]]]


def _front_depth(passes) -> None:
    """``passes.depth``: the depth of each pixel's front (nearest) sample with at least the
    minimum alpha, as a flat frame (``+inf`` where a pixel has none); ``deep.front`` their
    indices."""
    d = passes.deep
    h, w = d.counts.shape
    candidates = np.arange(len(d))
    if d.min_alpha > 0 and d.colors is not None:
        candidates = np.flatnonzero(d.colors[:, 3] >= np.float32(d.min_alpha))
    front = candidates[nearest_per_pixel(d.pixel[candidates], d.depth[candidates])]
    z = np.full(h * w, np.inf, np.float32)
    z[d.pixel[front]] = d.depth[front]
    passes.depth = z.reshape(h, w)
    d.front = front


def _front_colors(passes) -> None:
    """``passes.color_planes``: the front samples' straight colors (0 where no sample)."""
    d = passes.deep
    front = d.front
    h, w = d.counts.shape
    if d.colors is not None:
        planes = []
        for k in range(4):
            plane = np.zeros(h * w, np.float32)
            plane[d.pixel[front]] = d.colors[front, k]
            planes.append(plane.reshape(h, w))
        passes.color_planes = tuple(planes)
        passes.color = None


def one_per_pixel(point_set):
    """``point_set`` itself when no two points share a pixel, else its front points (the
    nearest of each pixel): what needs one point per pixel (surfaces) takes these."""
    if len(point_set) == 0 or point_set.depth is None:
        return point_set
    index = point_set.pixel_index
    if int(np.bincount(index).max()) <= 1:
        return point_set
    order = np.lexsort((point_set.depth, index))
    first = order[np.r_[True, index[order][1:] != index[order][:-1]]]
    return point_set.subset(np.sort(first))


# --------------------------------------------------------------------------- points
def kept_samples(passes, camera, clip: bool = True):
    """``(index, z, pixels)`` of the samples that become points: finite planar depth ``z``
    (all samples) inside the clip range, alpha >= the minimum, each pixel's front one only
    with ``FRONT``; ``pixels`` (S, 2) int32 frame ``(column, row)`` of every sample."""
    d = passes.deep
    if camera.projection == PANORAMIC:
        raise CameraError(f"{passes.path}: deep files rendered by panoramic cameras are not supported yet")
    w = d.counts.shape[1]
    x0, y0 = passes.window
    rows, cols = np.divmod(d.pixel, w)
    z = _planar(d.depth, passes, camera, rows, cols)
    valid = valid_depth_mask(z, camera, clip)
    if d.min_alpha > 0 and d.colors is not None:
        valid &= d.colors[:, 3] >= np.float32(d.min_alpha)
    index = np.flatnonzero(valid)
    if d.samples_mode == FRONT:
        index = index[nearest_per_pixel(d.pixel[index], z[index])]
    pixels = np.empty((len(d), 2), np.int32)
    pixels[:, 0] = cols + x0
    pixels[:, 1] = rows + y0
    return index, z, pixels


def sample_positions(camera, pixels, z) -> np.ndarray:
    """World positions (N, 3) float32 at planar depths ``z`` along the rays of frame pixels
    ``pixels`` (N, 2) (column, row): the camera model's view plane, as flat depth uses it."""
    z = np.asarray(z, np.float32)
    px = camera.plane_x(pixels[:, 0]).astype(np.float32)
    py = camera.plane_y(pixels[:, 1]).astype(np.float32)
    if camera.projection != ORTHOGRAPHIC:
        px *= z
        py *= z
    return camera_to_world(camera, px, py, -z)


def behind_samples(passes, camera, clip: bool = True):
    """``(pixels, z, colors)`` of the kept samples that are not their pixel's front one (what a
    depth map of the frame does not hold): fusion adds them to a deep view's points."""
    index, z, pixels = kept_samples(passes, camera, clip)
    d = passes.deep
    is_front = np.zeros(len(d), bool)
    is_front[d.front] = True
    index = index[~is_front[index]]
    colors = d.colors[index] if d.colors is not None else np.ones((len(index), 4), np.float32)
    return pixels[index], z[index], colors


def unproject(passes, camera, clip: bool = True):
    """The PointSet of a deep frame: one point per kept sample (see the module doc)."""
    d = passes.deep
    camera = frame_camera(passes, camera)
    h, w = d.counts.shape
    index, z, all_pixels = kept_samples(passes, camera, clip)
    colors = d.colors
    clipped = clip_dropped(z, camera, clip, samples=True)
    if len(index) == 0:
        nonfinite = int((~np.isfinite(d.depth)).sum())
        if clipped:
            raise InvalidDepthError(f"{passes.path}: deep channel {d.depth_channel} holds no usable sample: "
                                    + clip_text(clipped, len(d), camera, "samples"))
        raise InvalidDepthError(
            f"{passes.path}: deep channel {d.depth_channel} holds no usable sample: all {len(d)} samples are "
            f"background, NaN/inf ({nonfinite}), outside the camera clip range"
            + (f" or below the minimum alpha {d.min_alpha:g}" if d.min_alpha > 0 else ""))
    zv = z[index]
    pixels = all_pixels[index]
    positions = sample_positions(camera, pixels, zv)
    attributes = {SAMPLE_ATTRIBUTE: d.sample[index],
                  SAMPLE_COUNT_ATTRIBUTE: d.counts.reshape(-1)[d.pixel[index]].astype(np.int32)}
    if colors is not None:
        out_colors = colors[index]
        attributes[ALPHA_ATTRIBUTE] = np.ascontiguousarray(out_colors[:, 3])
    else:
        out_colors = np.ones((len(index), 4), np.float32)
    if d.depth_back is not None:
        r, c = np.divmod(d.pixel[index], w)
        zb = _planar(d.depth_back[index], passes, camera, r, c)
        attributes[THICKNESS_ATTRIBUTE] = np.where(np.isfinite(zb), np.maximum(zb - zv, 0), 0).astype(np.float32)
    warnings = Diagnostics(passes.warnings)
    nonfinite = int((~np.isfinite(d.depth)).sum())
    if nonfinite:
        warnings.append(f"{passes.path}: {nonfinite:,} NaN/inf samples in {d.depth_channel} were skipped", NONFINITE,
                        source=passes.path)
    meta = {"path": passes.path, "color_path": passes.color_path, "channel": d.depth_channel,
            "convention": passes.convention, "pixels": int(h * w), "points": int(len(index)), "deep": True,
            "samples": int(len(d)), "deep_samples": d.samples_mode, "deep_min_alpha": d.min_alpha,
            "deep_parts": list(d.parts), "warnings": warnings, "nonfinite": nonfinite}
    note_clipped(meta, passes, clipped, len(d), camera, "samples")
    return PointSet(positions=positions, colors=out_colors, pixels=pixels, depth=zv,
                    radius=point_radius(camera, zv), image_size=tuple(passes.frame_size), meta=meta,
                    attributes=attributes)


def _planar(values, passes, camera, rows, cols) -> np.ndarray:
    """Per-sample planar depth of raw deep depths in the frame's convention."""
    conv = passes.convention
    if conv == depth_mod.RAY_DISTANCE:
        h, w = passes.deep.counts.shape
        x0, y0 = passes.window
        factor = depth_mod.ray_length_factor(camera, np.arange(x0, x0 + w), np.arange(y0, y0 + h))
        return (np.asarray(values, np.float32) / factor[rows, cols]).astype(np.float32)
    return depth_mod.to_planar(np.asarray(values, np.float32).reshape(1, -1), conv, camera, passes.near,
                               passes.far).reshape(-1)


# --------------------------------------------------------------------------- info
def sample_summary(path) -> list:
    """Per deep part: ``{'index', 'name', 'view', 'samples', 'pixels', 'min', 'max', 'empty'}``
    (samples per pixel over the data window). Reads the samples."""
    f = exr.read_exr(path)
    out = []
    for p in f.deep.values():
        c = p.counts
        out.append({"index": p.index, "name": p.name, "view": p.view, "samples": p.samples, "pixels": int(c.size),
                    "min": int(c.min()) if c.size else 0, "max": int(c.max()) if c.size else 0,
                    "empty": int(np.count_nonzero(c == 0))})
    return out


# --------------------------------------------------------------------------- writing
def sample_arrays(counts, values) -> np.ndarray:
    """The bindings' layout of one deep channel: an (h, w) object array of per-pixel arrays
    (None where a pixel has no sample), from ``counts`` (h, w) and flat ``values`` (S,)."""
    counts = np.asarray(counts)
    h, w = counts.shape
    flat = counts.reshape(-1)
    pieces = np.split(np.ascontiguousarray(values), np.cumsum(flat)[:-1])  # the bindings ignore strides
    # one more, empty, piece keeps numpy from stacking equal-length pieces into a 2D array
    out = np.empty(len(pieces) + 1, object)
    out[:] = pieces + [np.empty(0, np.float32)]
    out = out[:-1]
    out[flat == 0] = None
    return out.reshape(h, w)


def write_deep_exr(path, counts, channels: dict, tiled: bool = False, compression=None, header=None,
                   parts=None) -> str:
    """Write a deep EXR with the OpenEXR bindings (tests, benches, tools).

    ``counts`` (h, w) samples per pixel; ``channels`` name -> flat (S,) values (float32 or
    float16) in pixel order. ``parts``: a list of ``(name, counts, channels, header)`` for a
    multi-part file instead (``counts``/``channels`` are then ignored)."""
    OpenEXR = exr.import_openexr()
    compression = OpenEXR.ZIPS_COMPRESSION if compression is None else compression

    def part_header(extra):
        hdr = {"type": OpenEXR.deeptile if tiled else OpenEXR.deepscanline, "compression": compression}
        if tiled:
            tiles = OpenEXR.TileDescription()
            tiles.xSize = tiles.ySize = 16
            tiles.mode = OpenEXR.ONE_LEVEL
            hdr["tiles"] = tiles
        hdr.update(extra or {})
        return hdr

    if parts is None:
        f = OpenEXR.File(part_header(header), {n: sample_arrays(counts, v) for n, v in channels.items()})
    else:
        f = OpenEXR.File([OpenEXR.Part(part_header(hdr), {n: sample_arrays(c, v) for n, v in chans.items()}, name)
                          for name, c, chans, hdr in parts])
    f.write(str(path))
    return str(path)
