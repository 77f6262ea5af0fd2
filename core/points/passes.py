"""Which file holds which pass, and reading one frame's passes into aligned arrays."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from ..camera.from_header import convention_from_header
from ..diagnostics import Diagnostics
from ..errors import ChannelError, SettingsError, SizeMismatchError, SourceFileError, ViewError
from ..exr import color_window
from ..exr import read as exr
from ..images import read as depth_images
from . import attributes, deep, masks
from . import depth as depth_mod
from .colors import srgb_to_linear
from .inputs import AUTO, DEPTH, DISPLAY_REFERRED, POSITION, FramePasses, SourceSpec

if TYPE_CHECKING:
    from collections.abc import Callable

def file_convention(header: dict, channel: str) -> tuple[str, float, float, str | None]:
    """``(convention, near, far, source)`` the file itself implies for depth ``channel``:
    ``source`` is ``'header'`` (Depth Cloud header or stamp note; near/far 0 when not
    stored), ``'channel'`` (a ``…distance`` channel: ray distance) or None (the file says
    nothing: planar Z)."""
    stored = convention_from_header(header)
    if stored is not None and stored[0] in depth_mod.CONVENTIONS:
        return (*stored, "header")
    if channel.lower().endswith("distance"):
        return depth_mod.RAY_DISTANCE, 0.0, 0.0, "channel"
    return depth_mod.PLANAR, 0.0, 0.0, None


def _guess_convention(spec: SourceSpec, header: dict, channel: str):
    if spec.convention != AUTO:
        if spec.near is None or spec.far is None:  # not given: only the file may say (never a silent default)
            return spec.convention, *_near_far_from_header(spec, header)
        return spec.convention, spec.near, spec.far
    conv, near, far, _ = file_convention(header, channel)
    return conv, near or _default(spec.near, 0.1), far or _default(spec.far, 100.0)


def _default(value, default):
    return default if value is None else value


def _near_far_from_header(spec: SourceSpec, header: dict) -> tuple:
    """``(near, far)`` of a NORMALIZED/ZBUFFER depth whose near/far were not given: the
    header's (Depth Cloud's ``depthCloud/near``/``far``), else a SettingsError: a guess would
    put every point off by a factor."""
    stored = convention_from_header(header)
    near, far = spec.near, spec.far
    if stored is not None and stored[1] != stored[2]:
        near = stored[1] if near is None else near
        far = stored[2] if far is None else far
    if near is None or far is None:
        missing = " and ".join(n for n, v in (("near", near), ("far", far)) if v is None)
        raise SettingsError(f"depth convention {spec.convention} needs the {missing} distance(s) the depth was "
                            f"mapped with, and {spec.path} does not store them: give --near/--far (command "
                            f"line), near=/far= (API) or the Near/Far settings")
    depth_mod.check_convention(spec.convention, near, far)
    return near, far


def read_frame_passes(spec: SourceSpec, frame: int,
                      image_reader: Callable[[str], np.ndarray] | None = None,
                      full_position: bool = False) -> FramePasses:
    """Read ``frame``'s passes as described by ``spec``.

    ``image_reader(path) -> (h, w, 4) float32`` reads display-referred images (PNG/JPG, rows
    top-down, values 0..1 as stored); Blender's glue provides one. Colors from such files are
    linearized from sRGB; EXR colors are taken as scene-linear.

    A world Position pass next to the depth pass is read for the camera check: only in row
    bands (``position_rows``: a build's check needs a few thousand pixels), or whole
    (``position_planes``) with ``full_position`` (Check Camera) or when its part is decoded
    anyway.
    """
    path, color_path = spec.paths(frame)
    if depth_images.is_depth_image(path):  # PNG, TIFF, .npy/.npz (core/depth_images.py)
        return _image_frame_passes(spec, path, color_path, image_reader)
    if not path.lower().endswith(".exr"):
        raise SourceFileError(path, "the depth/position source must be an OpenEXR (.exr) file or a depth image "
                                    f"({', '.join(depth_images.EXTENSIONS)})")
    picked = {}

    def choose(names):  # decide from the view's channel list which channels to decode
        try:
            picked.update(_pick_channels(spec, path, names, color_path is None))
        except ChannelError:
            return []  # raised again below, with the file's views for its hints
        return picked["read"] + (picked["check"] if full_position else [])

    def check_rows(names):  # called after choose: the Position pass of the camera check, in row bands
        return [] if full_position else picked.get("check", [])

    f = exr.read_exr(path, view=spec.view or None, channels=choose, bands=check_rows)
    if f.deep:  # deep samples (core/deep.py); read whole, never through the part readers
        attributes.refuse_deep(spec, f.path)  # masks and named passes are flat-pass features
        return _deep_frame_passes(spec, f, color_path, image_reader)
    names = f.names()
    if not picked:
        _pick_channels(spec, path, names, color_path is None, f.views)  # raises the ChannelError
    layer, depth_name, pos_names, kind, rgba = (picked[k] for k in ("layer", "depth", "position", "kind", "rgba"))

    main = depth_name if kind == DEPTH else pos_names[0]
    for name in [main] + (pos_names if kind == POSITION else []):
        if f.damage_error(name) is not None:  # the part holding it is damaged: say so
            raise f.damage_error(name)
    win = f.channels[main].data_window
    disp = f.display_window
    out = FramePasses(path=path, frame_size=exr.window_size(disp),
                      window=(win[0] - disp[0], win[1] - disp[1]), header=f.header, channels=names,
                      view=f.view, views=list(f.views), warnings=Diagnostics(f.warnings))
    if depth_name:
        out.depth = f.get(depth_name, win)
        if spec.depth_scale != 1.0:
            out.depth = depth_images.times(out.depth, spec.depth_scale)
        out.depth_channel = depth_name
        out.convention, out.near, out.far = _guess_convention(spec, f.header, depth_name)
    if kind == POSITION:
        out.position = np.stack([f.get(n, win) for n in pos_names], axis=-1)
        if spec.depth_scale != 1.0:
            out.position = depth_images.times(out.position, spec.depth_scale)
    elif pos_names and not any(f.damage_error(n) for n in pos_names):  # a damaged one is only warned about
        if all(n in f.channels for n in pos_names):
            out.position_planes = tuple(f.get(n, win) for n in pos_names)
        elif all(n in f.channels or n in f.bands for n in pos_names):
            out.position_rows = _position_rows(f, pos_names, win)

    if color_path is None:
        if rgba is None:
            out.warnings.append(f"{path}: no color channel found; points are white")
        else:
            out.color_planes = _rgba_planes(f, rgba, win)
            color_window.skip_uncolored(out, [f.channels[n].data_window for n in rgba if n], win,
                                        f"channel {rgba[0]!r}")
    else:
        out.color_path = color_path
        out.color = _read_color_file(color_path, spec, layer, out, image_reader)
    attributes.read_into(out, f, spec, layer, win, path)  # masks, normals, named passes
    return out


def _image_frame_passes(spec: SourceSpec, path: str, color_path, image_reader) -> FramePasses:
    """A frame whose depth (or world position) is a PNG/TIFF/NumPy file: stored values x
    ``spec.depth_scale``, invalid values made NaN (core/depth_images.py); the color, when
    given, is a separate file."""
    if spec.kind == AUTO:  # one channel (or gray) is depth; 3+ float channels a world position
        arr = depth_images.read_array(path, spec.depth_channel, image_reader)
        position = arr.shape[2] >= 3 and arr.dtype.kind == "f" and not depth_images.is_gray(arr)
    else:
        position = spec.kind == POSITION
        key = spec.position_channels if position else spec.depth_channel
        arr = depth_images.read_array(path, key, image_reader, position=position)
    values = depth_images.depth_plane(path, arr, position)
    values, invalid = depth_images.scaled(path, values, spec.depth_scale, spec.invalid_value)
    h, w = values.shape[:2]
    out = FramePasses(path=path, frame_size=(w, h), invalid_pixels=invalid * (3 if position else 1))
    if position:
        out.position = values
    else:
        out.depth = values
        out.depth_channel = os.path.basename(path)
        conv = depth_mod.PLANAR if spec.convention == AUTO else spec.convention
        out.convention, out.near, out.far = conv, spec.near, spec.far
    if color_path is None:
        out.warnings.append(f"{path}: a depth image holds no color; points are white (give a color file)")
    else:
        out.color_path = color_path
        out.color = _read_color_file(color_path, spec, "", out, image_reader)
    return out


def _position_rows(f: exr.ExrFile, names, win) -> tuple:
    """``(rows, planes)`` of the position channels ``names`` over ``win``: the rows every
    channel read in row bands has (a channel read whole gives the same rows)."""
    banded = {n: f.get_rows(n, win) for n in names if n in f.bands}
    rows = None
    for got_rows, _ in banded.values():
        rows = got_rows if rows is None else np.intersect1d(rows, got_rows)
    planes = []
    for n in names:
        if n in banded:
            got_rows, pixels = banded[n]
            planes.append(pixels if np.array_equal(got_rows, rows) else pixels[np.isin(got_rows, rows)])
        else:
            planes.append(f.get(n, win)[rows])
    return rows, tuple(planes)


def _pick_channels(spec: SourceSpec, path: str, names, color_in_file: bool, views=()) -> dict:
    """Which channels of ``names`` a build of ``spec`` uses: ``layer``, ``depth``, ``position``,
    ``kind``, ``rgba``, ``read`` (the names to decode) and ``check`` (a Position pass next to
    the depth, for the camera check; not in ``read``). Raises ChannelError for channels the
    settings ask for that are not there (``views``: the file's, for the hints)."""
    names = list(names)
    layer = spec.layer or next(iter(exr.view_layers(names)), "")
    if spec.layer and spec.layer not in exr.view_layers(names):
        if spec.layer in views:
            raise ChannelError(path, f"view layer {spec.layer!r} ({spec.layer!r} is a view of this multi-view file: "
                                     f"choose it as the View)", exr.view_layers(names), "view layers", noun="")
        layers = exr.view_layers(names)
        raise ChannelError(path, f"view layer {spec.layer!r}" + ("" if layers else " (the file has none)"),
                           layers or names, "view layers" if layers else "channels", noun="")

    depth_name = spec.depth_channel or exr.find_depth_channel(names, layer)
    if spec.depth_channel and spec.depth_channel not in names:
        raise ChannelError(path, f"depth channel {spec.depth_channel!r}{_other_view(views, spec.depth_channel)}",
                           names)
    pos_names = exr.find_position_channels(names, layer, spec.position_channels or None)
    if spec.position_channels and pos_names is None:
        raise ChannelError(path, f"position channels {spec.position_channels}.X, .Y and .Z (position prefix "
                                 f"{spec.position_channels!r})"
                                 f"{_other_view(views, spec.position_channels + '.X')}", names)

    kind = spec.kind
    if kind == AUTO:
        if not depth_name and not pos_names:
            raise ChannelError(path, "depth (Z) or world position (Position.X/Y/Z)", names)
        kind = DEPTH if depth_name else POSITION
    if kind == DEPTH and not depth_name:
        raise ChannelError(path, "depth (Z)", names)
    if kind == POSITION and not pos_names:
        raise ChannelError(path, "position (Position.X/Y/Z or P.X/Y/Z)", names)
    rgba = None
    if color_in_file:
        rgba = exr.find_color_channels(names, layer, spec.color_channels or None)
        if rgba is None and spec.color_channels:
            raise ChannelError(path, f"color channels {spec.color_channels}.R, .G and .B (color prefix "
                                     f"{spec.color_channels!r})"
                                     f"{_other_view(views, spec.color_channels + '.R')}", names)
    # a Position pass next to the depth is read too (``check``: in row bands, unless asked for
    # whole): builds check the camera against it (core/camera_check.py)
    check = list(pos_names or ()) if kind == DEPTH else []
    read = ([depth_name] if depth_name else []) + ([] if check else list(pos_names or ()))
    read += [n for n in (rgba or ()) if n]
    if masks.is_active(spec) or attributes.attribute_names(spec.attributes):
        read = list(names)  # masks and named passes find their channels in the whole view (core/attributes.py)
    elif spec.normals:  # the Normal pass becomes the points' normals (core/attributes.read_into)
        read += list(attributes.find_normal_channels(names, layer) or ())
    return {"layer": layer, "depth": depth_name, "position": pos_names, "kind": kind, "rgba": rgba, "read": read,
            "check": check}


def _other_view(views, name: str) -> str:
    """A hint when an override names a channel of another view (``left.Z``): views are chosen
    as the View, so that depth and color never come from different eyes."""
    bits = name.split(".")
    if views and len(bits) >= 2 and bits[-2] in views:
        base = ".".join(bits[:-2] + bits[-1:])
        return f" (that is {base!r} of view {bits[-2]!r}: choose view {bits[-2]!r} and name {base!r})"
    return ""


def _deep_frame_passes(spec: SourceSpec, f: exr.ExrFile, color_path, image_reader) -> FramePasses:
    """A deep file's frame: every sample in ``FramePasses.deep``, each pixel's front sample as
    its depth and color planes (core/deep.py)."""
    if spec.kind == POSITION:
        raise SettingsError(f"{f.path}: a deep file gives points from its depth samples; set the pass to Auto or "
                            "Depth (world position passes are not read from deep files)")
    read = deep.read_samples(spec, f, own_colors=color_path is None)
    if spec.depth_scale != 1.0:  # stored x scale = scene units, before the convention (as flat depth)
        read.samples.depth = depth_images.times(read.samples.depth, spec.depth_scale)
        if read.samples.depth_back is not None:
            read.samples.depth_back = depth_images.times(read.samples.depth_back, spec.depth_scale)
    out = FramePasses(path=f.path, frame_size=exr.window_size(f.display_window), window=read.window,
                      header=f.header, channels=read.names, depth_channel=read.depth_channel,
                      warnings=Diagnostics(read.warnings), deep=read.samples, view=f.view, views=list(f.views))
    out.convention, out.near, out.far = _guess_convention(spec, f.header, read.depth_channel)
    out.depth = np.full(read.samples.counts.shape, np.inf, np.float32)  # the frame's shape, set below
    if color_path is not None:  # a flat color file: each sample takes its pixel's color
        out.color_path = color_path
        flat = _read_color_file(color_path, spec, read.layer, out, image_reader).reshape(-1, 4)
        read.samples.colors = flat[read.samples.pixel]
    deep.set_front(out)
    return out


def _rgba_planes(f: exr.ExrFile, rgba, win) -> tuple:
    """``(R, G, B, A or None)`` (h, w) planes over ``win`` (0 outside a channel's data window:
    those pixels are skipped by ``color_window.skip_uncolored``, never built black)."""
    return tuple(f.get(name, win, fill=0.0) if name else None for name in rgba)


def _color_view(color_path: str, passes: FramePasses):
    """The view of a separate color EXR: the depth's view (a multi-view color file without it
    is an error, never another eye's colors); None for a color file of one view."""
    if not passes.view:
        return None
    views = exr.file_views(color_path)
    if views and passes.view not in views:
        raise ViewError(color_path, passes.view, views)
    return passes.view if views else None


def _read_color_file(color_path: str, spec: SourceSpec, layer: str, passes: FramePasses, image_reader):
    width, height = passes.frame_size
    h, w = passes.shape
    if color_path.lower().endswith(".exr"):
        found = {}

        def choose(names):
            found["rgba"] = exr.find_color_channels(names, spec.layer or next(iter(exr.view_layers(names)), ""),
                                                    spec.color_channels or None)
            return [n for n in found["rgba"] or () if n]

        cf = exr.read_exr(color_path, view=_color_view(color_path, passes), channels=choose)
        passes.warnings.extend(cf.warnings)
        rgba = found["rgba"]
        if rgba is None:
            raise ChannelError(color_path, "color (R/G/B) channels", cf.names())
        if cf.size != (width, height):
            raise SizeMismatchError(
                f"color file {color_path} is {cf.size[0]}x{cf.size[1]} but depth file {passes.path} "
                f"is {width}x{height}: both passes must come from the same render")
        disp = cf.display_window
        x0, y0 = passes.window
        win = (disp[0] + x0, disp[1] + y0, disp[0] + x0 + w - 1, disp[1] + y0 + h - 1)
        planes = _rgba_planes(cf, rgba, win)
        color_window.skip_uncolored(passes, [cf.channels[n].data_window for n in rgba if n], win,
                                    f"{color_path} ({rgba[0]})")
        return np.stack([p if p is not None else np.ones((h, w), np.float32) for p in planes], axis=-1)
    if not os.path.isfile(color_path):
        raise SourceFileError(color_path, "color file not found")
    if not color_path.lower().endswith(DISPLAY_REFERRED):
        raise SourceFileError(color_path,
                              f"unsupported color file type; use EXR or one of {', '.join(DISPLAY_REFERRED)}")
    if image_reader is None and not depth_images.is_depth_image(color_path):
        raise SourceFileError(color_path, "reading PNG/JPG colors needs an image reader (run inside Blender)")
    img = np.asarray(image_reader(color_path) if image_reader is not None else depth_images.read_display(color_path),
                     dtype=np.float32)
    if img.ndim != 3 or img.shape[2] < 3:
        raise SourceFileError(color_path, f"expected an RGB(A) image, got array of shape {img.shape}")
    if img.shape[:2] != (height, width):
        raise SizeMismatchError(
            f"color file {color_path} is {img.shape[1]}x{img.shape[0]} but depth file {passes.path} "
            f"is {width}x{height}: both passes must come from the same render")
    x0, y0 = passes.window
    img = img[y0:y0 + h, x0:x0 + w]
    out = np.ones((h, w, 4), dtype=np.float32)
    out[..., :3] = srgb_to_linear(img[..., :3])
    if img.shape[2] >= 4:
        out[..., 3] = img[..., 3]
    return out
