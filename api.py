"""Python API for scripts and pipelines.

    from depth_cloud import api
    obj = api.build_point_cloud(bpy.context.scene, frame=12, source="//renders/shot_####.exr")
    points = api.unproject(scene, frame=12, source="//renders/shot_####.exr")  # a PointSet
    xyz = api.pixel_to_world(scene, 640, 360, frame=12, source="//renders/shot_####.exr")
    api.set_display(mode='SURFACE', lit=False)  # every cloud of the scene, live

``source`` is a path pattern (``#`` runs = frame number) of a multilayer EXR or of a
depth/position EXR; ``color=`` names a separate color file. Without ``source`` the scene's
Depth Cloud settings are used. Options: ``kind`` ('AUTO'|'DEPTH'|'POSITION'), ``convention``
('AUTO'|'PLANAR'|'RAY_DISTANCE'|'NORMALIZED'|'ZBUFFER'|'INVERSE'), ``near``, ``far``, ``layer``,
``depth_channel``, ``color_channels``, ``position_channels``, ``detail`` (every Nth pixel), ``view``
(multi-view EXRs: the view depth and color are read from, e.g. ``'left'``; default: the file's
default view), ``clip``; for deep EXRs
``deep_samples`` ('ALL'|'FRONT') and ``deep_min_alpha`` (docs/deep.md); masks and attributes
(docs/masks.md): ``mask`` (Cryptomatte names/wildcards, or indices of ``mask_pass``),
``mask_pass``, ``mask_threshold`` (0.5), ``normals`` (the Normal pass, default True),
``attributes`` (passes/AOVs kept as point attributes).
Bad input raises a subclass of :class:`DepthCloudError` naming the file, channel or setting.

Multi-view fusion (many depth maps + their cameras -> one cleaned cloud with normals)::

    obj = api.fuse(scene, source="//renders/view_####.exr", frames="1-20")      # animated camera
    obj = api.fuse(scene, cameras=bpy.data.collections["Views"], files="//renders/{camera}.exr")
    obj = api.fuse(scene, camera_list="//cameras.json", voxel_size=0.005, surface=True)
    result = api.fuse_point_set(scene, camera_list="//cameras.csv", files="//depth/view_##.exr")
    result.point_set.normals, result.point_set.attributes["views"], result.stats

Fusion options: ``voxel_size`` (0 = automatic), ``min_views``, ``depth_tolerance``
(fraction of the depth), ``neighbor_support``, ``outlier_neighbors`` (0 = off),
``outlier_std_ratio``, ``outliers_unconfirmed_only``, ``max_incidence`` (degrees),
``check_views`` (0 = all), ``split_normals``, ``workers``; plus the reading options above.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import TYPE_CHECKING, Any

import bpy
import numpy as np

from .api_args import checked, image_size, real
from .core import diagnostics as _diagnostics
from .core.camera.lists import read_camera_list as _read_camera_list
from .core.camera.model import CameraModel
from .core.diagnostics import DepthCloudWarning, Diagnostic, Diagnostics
from .core.errors import (
    CameraError,
    ChannelError,
    DepthCloudError,
    ExportError,
    FramePatternError,
    InvalidDepthError,
    OutputWriteError,
    SettingsError,
    SizeMismatchError,
    SourceFileError,
    StrictWarningError,
    ViewError,
)
from .core.fusion import FusionResult, FusionSettings
from .core.points.inputs import SourceSpec
from .core.points.pointset import PointSet
from .core.points.unproject import point_at_pixel
from .glue import build as _build
from .glue import source as _source
from .glue.camera import model as _camera
from .glue.images import abspath

if TYPE_CHECKING:  # names for the type hints only
    from collections.abc import Callable, Iterable, Sequence
    from os import PathLike
    from typing import TextIO

    import numpy as np

    from .core.checks.camera_check import CameraCheckReport
    from .glue.output.usd_bake import BakeResult

    FilePath = str | PathLike[str]
    Frames = str | int | Iterable[int]

#: What this module offers, in the order it is defined below.
__all__ = [
    # clouds from one frame
    "build_point_cloud", "unproject", "pixel_to_world", "check_camera", "camera_model", "source_spec",
    # how clouds look
    "set_display",
    # outputs: rendered passes and USD point caches (docs/render_and_usd.md)
    "render_passes", "bake_usd", "load_usd",
    # multi-view fusion (docs/fusion.md)
    "fuse", "fuse_point_set", "fusion_settings", "read_camera_list",
    # cameras from numbers: pinhole intrinsics, captured camera paths (docs/depth_from_anywhere.md)
    "camera_from_intrinsics", "import_camera_path",
    # the command line inside this session (docs/cli.md)
    "run_cli",
    # types
    "PointSet", "CameraModel", "SourceSpec", "FusionSettings", "FusionResult",
    # errors: every bad input raises a DepthCloudError subclass
    "DepthCloudError", "SourceFileError", "ChannelError", "SizeMismatchError", "InvalidDepthError", "CameraError",
    "SettingsError", "FramePatternError", "ExportError", "ViewError", "OutputWriteError", "StrictWarningError",
    # warnings: every result's diagnostics reach the caller as warnings.warn(..., DepthCloudWarning)
    "DepthCloudWarning", "Diagnostic", "Diagnostics",
]


@contextlib.contextmanager
def _quiet_numpy():
    """numpy's own floating-point RuntimeWarnings never reach the caller: what matters is
    counted and named in the result's diagnostics (NaN pixels, clipped points)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _scene_frame(scene: bpy.types.Scene | None, frame: int | None) -> tuple[bpy.types.Scene, int]:
    scene = scene if scene is not None else bpy.context.scene
    return scene, scene.frame_current if frame is None else int(frame)


# ----------------------------------------------------------------------------- clouds from one frame
@checked
def source_spec(scene: bpy.types.Scene | None = None, source: FilePath | SourceSpec | None = None,
                color: FilePath | None = None, **options: Any) -> SourceSpec:
    """A SourceSpec from a path/SourceSpec and options, or from the scene's settings."""
    return _source.resolve(scene if scene is not None else bpy.context.scene, source, color, **options).spec


@checked
def build_point_cloud(scene: bpy.types.Scene | None = None, frame: int | None = None,
                      source: FilePath | SourceSpec | None = None, camera: bpy.types.Object | None = None,
                      color: FilePath | None = None, clip: bool = True, pixel_ids: bool | None = None,
                      strict: bool = False, **options: Any) -> bpy.types.Object:
    """Build (or rebuild in place) the Point Cloud object of ``frame``; returns the object.
    ``detail=N`` builds every Nth pixel; ``pixel_ids=True`` also stores the ``pixel`` and
    ``depth`` attributes (None: the scene's setting). Warnings (points clipped, NaN pixels,
    a camera that does not fit, ...) are ``warnings.warn(..., DepthCloudWarning)``;
    ``strict=True`` raises StrictWarningError instead, with the scene untouched."""
    scene, frame = _scene_frame(scene, frame)
    src = _source.resolve(scene, source, color, camera, clip, **options)
    def warn(diagnostics):  # before the scene is touched: an "error" filter leaves it as it was
        _diagnostics.emit(diagnostics, strict, f"frame {frame}")
    with _quiet_numpy():
        ob, _point_set = _build.build_cloud_object(scene, src.spec, frame, src.camera, src.clip, pixel_ids=pixel_ids,
                                                   strict=strict, on_warnings=warn)
    return ob


@checked
def unproject(scene: bpy.types.Scene | None = None, frame: int | None = None,
              source: FilePath | SourceSpec | None = None, camera: bpy.types.Object | None = None,
              color: FilePath | None = None, clip: bool = True, strict: bool = False, **options: Any) -> PointSet:
    """The frame's points as a PointSet (numpy arrays), without touching the scene. Its
    warnings are ``point_set.meta["warnings"]`` and ``warnings.warn(..., DepthCloudWarning)``
    (``strict=True``: StrictWarningError)."""
    scene, frame = _scene_frame(scene, frame)
    src = _source.resolve(scene, source, color, camera, clip, **options)
    with _quiet_numpy():
        point_set, _ = _build.checked_point_set(scene, src.spec, frame, src.camera, src.clip)
    _diagnostics.emit(point_set.meta.get("warnings", ()), strict, f"frame {frame}")
    return point_set


@checked
def pixel_to_world(scene: bpy.types.Scene | None = None, column: int = 0, row: int = 0, frame: int | None = None,
                   source: FilePath | SourceSpec | None = None, camera: bpy.types.Object | None = None,
                   origin: str = 'top', color: FilePath | None = None, **options: Any) -> np.ndarray:
    """World position (numpy (3,)) of the surface seen at pixel ``(column, row)``.

    ``origin='top'`` counts rows from the top (EXR/numpy); ``'bottom'`` from the bottom as
    Blender's Image Editor does.
    """
    scene, frame = _scene_frame(scene, frame)
    src = _source.resolve(scene, source, color, camera, **options)
    if origin not in ('top', 'bottom'):
        raise SettingsError(f"origin must be 'top' or 'bottom', got {origin!r}")
    with _quiet_numpy():
        passes, model = _build.checked_frame_inputs(scene, src.spec, frame, src.camera)
        if origin == 'bottom':
            row = passes.frame_size[1] - 1 - int(row)
        return point_at_pixel(passes, model, column, row)


@checked
def check_camera(scene: bpy.types.Scene | None = None, frame: int | None = None,
                 source: FilePath | SourceSpec | None = None, camera: bpy.types.Object | None = None,
                 frames_around: int = 3, color: FilePath | None = None, **options: Any) -> CameraCheckReport:
    """How well ``camera`` (default: the camera a build would use) explains ``frame``'s
    render: the depth unprojected with it against the file's Position pass. Returns a
    ``CameraCheckReport``: ``.ok``, ``.measure`` (reprojection median/p99 in pixels, relative
    3D error median/p99), ``.cause`` (``'FRAME'``, ``'OTHER_CAMERA'``, ``'FILE_CAMERA'``,
    ``'LENS'``, ``'SHIFT'``, ``'LENS_AND_SHIFT'``, ``'SENSOR_FIT'``, ``'CONVENTION'`` or None),
    ``.explanation``, ``.best`` (the alternative that fits), ``.lines()``. Alternatives tried
    when it does not fit: the camera at ``frame ± 1..frames_around``, the other cameras of the
    scene, the file's own camera, the other sensor fits, the focal length and shift fitted to
    the Position pass, the other depth conventions. A frame without depth or Position pass
    raises ChannelError naming the file (docs/picking.md)."""
    from .glue.checks import camera_check as _check
    scene, frame = _scene_frame(scene, frame)
    src = _source.resolve(scene, source, color, camera, **options)
    with _quiet_numpy():
        return _check.check_frame(scene, src.spec, frame, src.camera, frames_around=frames_around)


@checked(size=image_size)
def camera_model(camera: bpy.types.Object | None = None, scene: bpy.types.Scene | None = None,
                 frame: int | None = None, size: tuple[int, int] | None = None) -> CameraModel:
    """The core CameraModel of a Blender camera object at ``frame``."""
    scene, frame = _scene_frame(scene, frame)
    return _camera.camera_model(_camera.resolve_camera(scene, camera), scene, frame=frame, size=size)


# ----------------------------------------------------------------------------- how clouds look
@checked(size=real(0.0))
def set_display(objects: Iterable[bpy.types.Object] | None = None, scene: bpy.types.Scene | None = None,
                mode: str | None = None, size: float | None = None, lit: bool | None = None,
                max_jump: float | None = None) -> list[bpy.types.Object]:
    """Change how clouds are drawn, live (no source file is read again).

    ``objects``: cloud objects (default: every cloud of ``scene``). ``mode``: 'POINTS',
    'SQUARES' (pixel squares) or 'SURFACE'; ``size``: footprint multiplier; ``lit``: diffuse
    instead of unlit colors; ``max_jump``: relative depth jump at which the surface opens.
    Arguments left None keep their value. Every object is checked before any changes: a
    cloud without a camera cannot show squares or a surface (CameraError). Returns the objects.
    """
    from .glue import display
    if objects is None:
        objects = display.cloud_objects(scene if scene is not None else bpy.context.scene)
    return display.apply_to_objects(objects, mode=mode, size=size, lit=lit, max_jump=max_jump)


# ----------------------------------------------------------------------------- outputs
@checked
def render_passes(scene: bpy.types.Scene | None = None, frames: Frames | None = None, folder: FilePath | None = None,
                  view_layer: bpy.types.ViewLayer | None = None,
                  progress: Callable[..., object] | None = None) -> list[str]:
    """Render Combined, Z and Position of ``frames`` (default: the current frame; a list,
    a range such as ``range(1, 49)`` or text ``"1-48x2"``) into one self-describing
    multilayer EXR per frame, ``<folder>/<scene>_####.exr`` (default folder: the scene's
    Cache Folder). Returns the paths. Every render setting is restored afterwards."""
    from .glue.frames import frame_list
    from .glue.output import render as _render
    scene = scene if scene is not None else bpy.context.scene
    folder = folder if folder is not None else scene.depth_cloud.output.cache_dir
    return _render.render_frames(scene, frame_list(frames, [scene.frame_current]), str(folder), view_layer, progress)


@checked(size=real(0.0, lo_open=True))
def bake_usd(scene: bpy.types.Scene | None = None, frames: Frames | None = None, path: FilePath | None = None,
             source: FilePath | SourceSpec | None = None, camera: bpy.types.Object | None = None,
             color: FilePath | None = None, clip: bool = True, size: float = 1.0, load: bool = False,
             progress: Callable[..., object] | None = None, strict: bool = False, **options: Any) -> BakeResult:
    """Bake ``frames`` (default: the scene's frame range) of ``source`` (default: the scene's
    Depth Cloud settings) to one time-sampled UsdGeom.Points ``.usdc`` at ``path`` (default:
    the scene's USD File setting, else ``<cache folder>/<scene>.usdc``). ``size`` multiplies
    the point widths. Returns the BakeResult (``path``, ``frames``, ``empty``, ``points``,
    ``warnings``); with ``load=True`` also loads it (see :func:`load_usd`). The warnings are
    also ``warnings.warn(..., DepthCloudWarning)`` (``strict=True``: StrictWarningError after
    the bake)."""
    from .glue.frames import frame_list, scene_frames
    from .glue.output import usd_bake
    scene = scene if scene is not None else bpy.context.scene
    out = scene.depth_cloud.output
    src = _source.resolve(scene, source, color, camera, clip, **options)
    target = usd_bake.usd_path(scene, str(path) if path is not None else out.usd_path, out.cache_dir)
    with _quiet_numpy():
        result = usd_bake.bake(scene, src.spec, frame_list(frames, scene_frames(scene)), target, src.camera,
                               src.clip, float(size), progress)
    _diagnostics.emit(result.warnings, strict, f"the bake of {target}")
    if load:
        load_usd(target, scene)
    return result


@checked
def load_usd(path: FilePath, scene: bpy.types.Scene | None = None) -> bpy.types.Object:
    """The object streaming the USD point cache ``path`` in ``scene`` (default: the current
    one), made by Blender's USD importer, or the existing one, reloaded."""
    from .glue.output import usd_bake
    scene = scene if scene is not None else bpy.context.scene
    if scene == bpy.context.scene:
        return usd_bake.load(bpy.context, abspath(str(path)))
    with bpy.context.temp_override(scene=scene, view_layer=scene.view_layers[0]):
        return usd_bake.load(bpy.context, abspath(str(path)))


# ----------------------------------------------------------------------------- fusion
@checked
def fuse(scene: bpy.types.Scene | None = None, source: FilePath | SourceSpec | None = None,
         frames: Frames | None = None, cameras: bpy.types.Collection | str | Sequence[bpy.types.Object] | None = None,
         camera_list: FilePath | None = None, files: str | Sequence[FilePath] | None = None,
         color: FilePath | None = None,
         camera: bpy.types.Object | None = None, clip: bool = True, name: str = "Fused Cloud", surface: bool = False,
         surface_voxel_size: float = 0.0, surface_radius: float = 0.0,
         progress: Callable[[float, str], object] | None = None, strict: bool = False,
         **options: Any) -> bpy.types.Object:
    """Fuse many depth maps (sources as in :func:`fuse_point_set`) into ONE Point Cloud object
    with ``normal``, ``views`` and ``confidence`` point attributes; fusing the same source
    again updates that object. With ``surface=True`` a mesh object with the "Depth Cloud
    Surface" Geometry Nodes modifier (Points to Volume -> Volume to Mesh) is made too; it is
    stored on the cloud as ``obj["depth_cloud_surface"]``. Returns the cloud object."""
    from .glue.fusion.fuse import run_fusion
    scene = scene if scene is not None else bpy.context.scene
    with _quiet_numpy():
        ob, result, surf = run_fusion(scene, source, frames, cameras, camera_list, files, color, camera, clip,
                                      name=name, surface=surface, surface_voxel_size=surface_voxel_size,
                                      surface_radius=surface_radius, progress=progress, **options)
    _diagnostics.emit(_diagnostics.of(result), strict, "the fusion")
    if surf is not None:
        ob["depth_cloud_surface"] = surf
    return ob


@checked
def fuse_point_set(scene: bpy.types.Scene | None = None, source: FilePath | SourceSpec | None = None,
                   frames: Frames | None = None,
                   cameras: bpy.types.Collection | str | Sequence[bpy.types.Object] | None = None,
                   camera_list: FilePath | None = None, files: str | Sequence[FilePath] | None = None,
                   color: FilePath | None = None, camera: bpy.types.Object | None = None, clip: bool = True,
                   progress: Callable[[float, str], object] | None = None, strict: bool = False,
                   **options: Any) -> FusionResult:
    """Fuse many depth maps without touching the scene; returns a FusionResult
    (``.point_set`` with ``normals`` and ``attributes['views'/'confidence']``, ``.stats``).

    Views come from ONE of: ``camera_list`` (JSON/CSV path; depth files from the list or
    ``files``), ``cameras`` (a Collection, its name, or a list of camera objects) with
    ``files`` (a list, or a pattern with ``{camera}`` = object name and ``#`` = 1-based
    number), ``files`` alone (a list of EXRs that carry their camera in their header), or a
    sequence: ``source`` (pattern with ``#``; default: the scene's Depth Cloud settings) over
    ``frames`` ("1-20", a list, default: the scene's range) seen by ``camera`` (default: the
    scene camera). ``color`` is the color file pattern. ``progress(fraction, message)`` is
    called as the work goes (default: lines on stdout in background mode).
    """
    from .glue.fusion.fuse import run_fusion
    scene = scene if scene is not None else bpy.context.scene
    with _quiet_numpy():
        result = run_fusion(scene, source, frames, cameras, camera_list, files, color, camera, clip,
                            make_object=False, progress=progress, **options)[1]
    _diagnostics.emit(_diagnostics.of(result), strict, "the fusion")
    return result


#: A camera list file (JSON/CSV) -> CameraEntry list (``core.cameras_io.read_camera_list``), its
#: arguments checked as the other functions' are.
read_camera_list = checked(_read_camera_list)


@checked
def fusion_settings(settings: FusionSettings | None = None, **options: Any) -> FusionSettings:
    """FusionSettings from keyword options (validated; unknown names raise SettingsError)."""
    from .glue.fusion.fuse import fusion_settings as _settings
    return _settings(settings, **options)


# ----------------------------------------------------------------------------- cameras from numbers
def camera_from_intrinsics(scene: bpy.types.Scene | None = None, fx: float = 0.0, fy: float | None = None,
                           cx: float | None = None, cy: float | None = None, width: int | None = None,
                           height: int | None = None, camera: bpy.types.Object | None = None,
                           source: FilePath | None = None, frame: int | None = None,
                           name: str = "Intrinsics Camera") -> bpy.types.Object:
    """A camera (new, or ``camera`` updated) whose lens, sensor fit, shift (and the scene's
    resolution and pixel aspect) reproduce pinhole intrinsics ``fx, fy, cx, cy`` in pixels
    (OpenCV meaning: pixel centres at integer coordinates, origin top-left). ``width``/``height``
    default to the size of ``source``'s depth file at ``frame``; ``fy`` to ``fx``, ``cx``/``cy``
    to the image centre. Skew-free only; a principal point outside the image or a depth file
    of another size raises CameraError/SizeMismatchError naming the values."""
    from .core.camera.intrinsics import Intrinsics
    from .glue import captured
    scene, frame = _scene_frame(scene, frame)
    size = None
    if source is not None:
        spec = _source.resolve(scene, source).spec
        size = captured.depth_size(spec.paths(frame)[0], spec.depth_channel)
    w = width if width is not None else (size[0] if size else None)
    h = height if height is not None else (size[1] if size else None)
    if w is None or h is None:
        raise SettingsError("camera_from_intrinsics needs the image size: give width and height, or source")
    intr = Intrinsics(fx, fx if fy is None else fy, (w - 1) / 2.0 if cx is None else cx,
                      (h - 1) / 2.0 if cy is None else cy, w, h, source="camera_from_intrinsics")
    if size is not None:
        intr.check_size(*size, f"depth file {spec.paths(frame)[0]}")
    return captured.camera_from_intrinsics(scene, intr, camera, name)


def import_camera_path(scene: bpy.types.Scene | None = None, path: FilePath = "", format: str = "AUTO",
                       depth: FilePath | Sequence[FilePath] | None = None, color: FilePath | None = None,
                       intrinsics: Sequence[float] | str | None = None, tolerance: float = 0.02,
                       frame_start: int = 1, folder: FilePath | None = None, depth_scale: float | None = None,
                       invalid_value: float | str | None = None,
                       camera: bpy.types.Object | None = None) -> bpy.types.Object:
    """Key a camera along a captured path and make its frames the scene's Depth Cloud source.

    ``format``: 'AUTO' (by name), 'COLMAP' (``images.txt``; ``cameras.txt`` beside it),
    'TUM' (a trajectory; ``depth`` = its ``depth.txt``, ``color`` = ``rgb.txt``, ``intrinsics``
    = fx, fy, cx, cy, ``tolerance`` seconds), 'TRANSFORMS' (``transforms.json``). For COLMAP
    and transforms.json ``depth`` is the depth files in frame order (a list, or a ``#``
    pattern; default: transforms.json's ``depth_file_path``). The files are linked as
    ``depth_####.ext`` in ``folder`` (default ``depth_cloud_frames`` beside the pose file);
    frame ``frame_start + i`` is the i-th pose. Returns the camera object."""
    from .core.camera.intrinsics import parse_intrinsics
    from .glue import captured
    scene = scene if scene is not None else bpy.context.scene
    path = abspath(str(path))
    fmt = (format or "AUTO").upper()
    fmt = captured.detect_format(path) if fmt == "AUTO" else fmt
    if isinstance(depth, str) and "#" in depth and fmt != "TUM":
        import glob
        import re
        depth = sorted(glob.glob(re.sub(r"#+", lambda m: "[0-9]" * len(m.group(0)), abspath(depth))))
    elif isinstance(depth, str):
        depth = abspath(depth)
    elif depth is not None:
        depth = [abspath(str(d)) for d in depth]
    intr = None
    if intrinsics is not None:
        first = depth if not isinstance(depth, str) else None
        if fmt == "TUM" and isinstance(depth, str):
            from .core.camera.poses import read_tum_list
            first = read_tum_list(depth)[1][:1]
        size = captured.depth_size(first[0]) if first else (None, None)
        intr = parse_intrinsics(intrinsics, *size, source="import_camera_path intrinsics")
    cam, cap = captured.import_camera_path(scene, path, fmt, depth, abspath(str(color)) if color else None, intr,
                                           tolerance, frame_start, abspath(str(folder)) if folder else "",
                                           depth_scale, invalid_value, camera)
    _diagnostics.emit(cap.warnings, what=f"camera path {path}")  # DepthCloudWarning, like every result's
    return cam


# ----------------------------------------------------------------------------- command line
def run_cli(argv: Sequence[str] | str, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run a Depth Cloud command line inside this session and return its exit status, exactly
    as ``blender -b shot.blend -c depth_cloud ...`` would (for ``--python-expr`` users)::

        blender -b shot.blend --python-expr "import sys, depth_cloud.api as a; \
            sys.exit(a.run_cli(['build', '--frames', '1-240', '--output', 'out/cloud_####.ply']))"

    ``argv`` is a list of arguments (or one string, split like a shell). Errors print one line
    on ``stderr`` and give a non-zero status; nothing is raised.
    """
    from .cli import main
    return main(argv, stdout=stdout, stderr=stderr)
