"""Which file holds which pass, and reading one frame's passes into aligned arrays."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from . import attributes, color_window, deep, exr, masks
from . import depth as depth_mod
from . import views as views_mod
from .colors import srgb_to_linear
from .diagnostics import Diagnostics
from .errors import ChannelError, SettingsError, SizeMismatchError, SourceFileError, ViewError
from .frames import resolve_frame_path
from .header_camera import convention_from_header
from .masks import mask_items

if TYPE_CHECKING:
    from collections.abc import Callable

DEPTH = "DEPTH"
POSITION = "POSITION"
AUTO = "AUTO"
KINDS = (AUTO, DEPTH, POSITION)


DISPLAY_REFERRED = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".tga", ".webp")


@dataclass(frozen=True)
class SourceSpec:
    """Where a frame's passes live and how to read them (path patterns may hold ``#``)."""

    path: str
    color_path: str = ""
    kind: str = AUTO
    convention: str = AUTO
    #: NORMALIZED/ZBUFFER: what the depth was mapped with; None: not given (then the file's
    #: header must say, else reading fails: never a silent 0.1/100).
    near: float | None = 0.1
    far: float | None = 100.0
    layer: str = ""
    depth_channel: str = ""
    color_channels: str = ""
    position_channels: str = ""
    #: build every Nth pixel (``core.detail``); 1 = every pixel
    detail: int = 1
    #: Multi-view (stereo) EXRs: the view to read, depth and color alike (empty: the file's default).
    view: str = ""
    # Masks, normals and passes kept as attributes (core/masks.py, core/attributes.py).
    mask: tuple = ()            # Cryptomatte names/wildcards, or indices/values of mask_pass
    mask_pass: str = ""         # "" = the Cryptomatte layer holding the names; CryptoMaterial, Object Index, an AOV…
    mask_threshold: float = 0.5
    normals: bool = True        # the Normal pass (when the file has one) becomes the points' normals
    attributes: tuple = ()      # passes/AOVs that become point attributes of the same name
    #: deep files (core/deep.py): 'ALL' samples or the 'FRONT' one of each pixel, minimum alpha
    deep_samples: str = "ALL"
    deep_min_alpha: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "mask", mask_items(self.mask))
        object.__setattr__(self, "attributes", mask_items(self.attributes))
        if not str(self.path).strip():
            raise SettingsError("no source file set: choose the EXR that holds the depth or position pass")
        if self.kind not in KINDS:
            raise SettingsError(f"source kind {self.kind!r} is unknown; expected one of {KINDS}")
        if self.convention != AUTO and self.near is not None and self.far is not None:
            depth_mod.check_convention(self.convention, self.near, self.far)
        from .detail import check_detail
        check_detail(self.detail)
        deep.check_options(self.deep_samples, self.deep_min_alpha)

    def paths(self, frame: int) -> tuple[str, str | None]:
        """``(depth_or_position_path, color_path_or_None)`` for ``frame``."""
        main = resolve_frame_path(self.path, frame)
        color = resolve_frame_path(self.color_path, frame) if str(self.color_path).strip() else None
        if self.view:  # Stereoscopy "Individual": the view's own file (shot_L.exr) when this one is not there
            main = _eye_file(main, self.view)
            color = _eye_file(color, self.view) if color else color
        return main, color


def _eye_file(path: str, view: str) -> str:
    """``path``, or the file of ``view``'s eye next to it when ``path`` does not exist or is
    the other eye's (``shot_R.exr`` with view 'left' -> ``shot_L.exr``, when that exists)."""
    eye = views_mod.individual_eye_path(path, view)
    if eye and os.path.exists(eye) and (not os.path.exists(path) or views_mod.is_individual_eye_file(
            path, next((v for v in views_mod.EYE_SUFFIXES if v != str(view).lower()), ""))):
        return eye
    return path


@dataclass
class FramePasses:
    """One frame's passes, cropped to the data window of the depth/position channels.

    ``window`` is ``(x0, y0)``: the column and row (from the top) of the arrays' first pixel
    inside the full frame of ``frame_size = (width, height)``.
    """

    path: str
    frame_size: tuple
    window: tuple = (0, 0)
    depth: np.ndarray | None = None  # raw stored values (h, w)
    depth_channel: str | None = None
    convention: str = depth_mod.PLANAR
    near: float = 0.1
    far: float = 100.0
    position: np.ndarray | None = None  # (h, w, 3)
    color: np.ndarray | None = None  # (h, w, 4) scene linear (see rgba(): EXR colors stay planes)
    color_path: str | None = None
    #: EXR colors as read: ``(R, G, B, A or None)`` planes (h, w), gathered per point without
    #: interleaving the whole image (10 ms at 1080p); ``rgba()`` stacks them when asked.
    color_planes: tuple | None = None
    #: A world Position pass found alongside the depth pass, read whole
    #: (``read_frame_passes(full_position=True)``, or when its part is decoded anyway): its
    #: ``(X, Y, Z)`` planes (h, w) over the same window, kept as read (no copy) so the camera
    #: can be checked against it (``core/camera_check.py``). None when the file has none, when
    #: only its row bands were read, or when the build reads positions.
    position_planes: tuple | None = None
    #: The same pass read only in row bands spread over the window (a build's camera check):
    #: ``(rows, (X, Y, Z))``, the rows (ascending, from the window's top) and their (n, w)
    #: planes; None when the pass was read whole or not at all.
    position_rows: tuple | None = None
    header: dict = field(default_factory=dict)
    channels: list = field(default_factory=list)
    warnings: list = field(default_factory=Diagnostics)  # core/diagnostics.py
    #: Multi-view files: the view read and the file's views (default first); None / [] otherwise.
    view: str | None = None
    views: list = field(default_factory=list)
    #: Pixels with depth/position but outside the color's data window: skipped (see color_window).
    no_color: int = 0
    no_color_nan: int = 0  # finite pixels made NaN by that (not counted again as NaN/inf)
    uncolored: object = None  # (h, w) bool: those pixels (core.detail subsamples it to recount)
    #: every ``step``-th pixel kept (``core.detail.at_detail``): array column ``i`` is frame
    #: column ``window[0] + offset + step * i`` (rows likewise)
    step: int = 1
    offset: int = 0

    def frame_columns(self) -> np.ndarray:
        """Frame column of each array column (int64)."""
        return self.window[0] + self.offset + self.step * np.arange(self.shape[1])

    def frame_rows(self) -> np.ndarray:
        """Frame row (from the top) of each array row (int64)."""
        return self.window[1] + self.offset + self.step * np.arange(self.shape[0])
    mask: object = None            # core.masks.PixelMask over the data window, or None
    normal: tuple | None = None    # world-space Normal pass: (X, Y, Z) (h, w) planes
    extra: dict = field(default_factory=dict)  # attribute name -> (h, w) / (h, w, k) pass pixels
    #: deep files: every sample (``core.deep.DeepSamples``); ``depth`` is then the front sample's
    deep: object = None

    @property
    def has_color(self) -> bool:
        return self.color is not None or self.color_planes is not None

    def rgba(self) -> np.ndarray | None:
        """The colors as one (h, w, 4) array (stacked once from EXR planes), or None."""
        if self.color is None and self.color_planes is not None:
            r = self.color_planes[0]
            self.color = np.stack([p if p is not None else np.ones_like(r) for p in self.color_planes], axis=-1)
        return self.color

    @property
    def shape(self) -> tuple[int, int]:
        arr = self.depth if self.depth is not None else self.position
        return arr.shape[:2]

    def placed_in_frame(self, width: int, height: int, x0: int, y0: int) -> FramePasses:
        """The same pixels placed at ``(x0, y0)`` inside a larger frame (crop renders)."""
        h, w = self.shape
        if x0 < 0 or y0 < 0 or x0 + w > width or y0 + h > height:
            raise SizeMismatchError(f"{self.path}: a {w}x{h} image cannot sit at ({x0}, {y0}) in a {width}x{height} "
                                    "frame")
        return replace(self, frame_size=(int(width), int(height)), window=(int(x0), int(y0)))


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
    if not path.lower().endswith(".exr"):
        raise SourceFileError(path, "the depth/position source must be an OpenEXR (.exr) file")
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
        out.depth_channel = depth_name
        out.convention, out.near, out.far = _guess_convention(spec, f.header, depth_name)
    if kind == POSITION:
        out.position = np.stack([f.get(n, win) for n in pos_names], axis=-1)
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
    if image_reader is None:
        raise SourceFileError(color_path, "reading PNG/JPG colors needs an image reader (run inside Blender)")
    img = np.asarray(image_reader(color_path), dtype=np.float32)
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
