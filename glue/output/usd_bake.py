"""Bake a frame range of clouds to one time-sampled ``UsdGeom.Points`` (.usdc) and load it back.

Conventions (usdview, Houdini, Blender): up axis Z, ``metersPerUnit`` = the scene's unit scale,
time codes = frame numbers, ``timeCodesPerSecond`` = ``framesPerSecond`` = the scene's fps.
One root ``Points`` prim (the default prim) holds, at each baked frame, ``points`` (world
space), ``widths`` (vertex: twice the point radius, i.e. the pixel's footprint, times a size
multiplier), ``primvars:displayColor`` (vertex, scene-linear RGB of the Combined pass) and
``extent``, plus ``normals`` (vertex, world space: the Normal pass) and one vertex primvar per
extra point attribute (a Cryptomatte ``coverage``, named passes/AOVs) when the frames carry
them. A frame whose file is missing (or holds no surface) gets empty arrays, so
nothing shows there. The file is written with the ``pxr`` module Blender bundles, saved
after every frame (the crate format appends, so memory stays at one frame), into a
temporary file moved in place at the end.

Loading goes through Blender's own USD importer, which makes a Point Cloud object with a
Mesh Sequence Cache modifier that streams the points from disk frame by frame.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import bpy
import numpy as np

from ...core.diagnostics import Diagnostics, as_diagnostic
from ...core.errors import ExportError, InvalidDepthError, OutputWriteError, SettingsError, SourceFileError
from ...core.fileio import output_problem
from ...core.points.inputs import SourceSpec
from ...core.sequence.reader_hold import readers_held
from .. import build, compat, inputs
from .render import cache_folder

#: Width (scene units, times the size multiplier) of points that have no footprint radius
#: (world position passes read without any camera).
FALLBACK_WIDTH = 0.01
COLOR_PRIMVAR = "displayColor"


@dataclass
class BakeResult:
    path: str
    frames: list = field(default_factory=list)  # frames baked with points
    empty: list = field(default_factory=list)  # frames baked empty (file missing or no surface)
    points: int = 0
    seconds: float = 0.0
    warnings: list = field(default_factory=Diagnostics)  # core/diagnostics.py


def import_pxr():
    """``(Gf, Sdf, Tf, Usd, UsdGeom, Vt)`` from Blender's bundled USD, or a clear error."""
    compat.expose_bundled_modules()  # a `pip install bpy` of 4.5+ keeps pxr off sys.path
    try:
        from pxr import Gf, Sdf, Tf, Usd, UsdGeom, Vt
    except ImportError as err:
        raise ExportError(f"USD support is not available in this Blender (the bundled 'pxr' module cannot be "
                          f"imported: {err})") from err
    return Gf, Sdf, Tf, Usd, UsdGeom, Vt


def default_usd_path(scene, folder: str) -> str:
    return os.path.join(cache_folder(folder), f"{bpy.path.clean_name(scene.name)}.usdc")


def usd_path(scene, path: str, folder: str) -> str:
    """The .usdc to write: ``path`` (made absolute), or ``<cache folder>/<scene>.usdc``."""
    path = (path or "").strip()
    if not path:
        return default_usd_path(scene, folder)
    if path.startswith("//") and not bpy.data.filepath:
        raise SettingsError(f"the USD file {path!r} is relative to the .blend file, which is not saved yet: "
                            "save the file or choose an absolute path")
    path = os.path.normpath(bpy.path.abspath(path))
    if not path.lower().endswith((".usdc", ".usd")):
        raise SettingsError(f"USD file {path!r}: the name must end with .usdc (binary USD)")
    return path


def prim_name(spec: SourceSpec, Tf) -> str:
    """The points prim's name, from the source file name (frame placeholders removed)."""
    return Tf.MakeValidIdentifier(inputs.source_stem(spec.path))


def _widths(point_set, size: float) -> np.ndarray:
    if point_set.radius is not None:
        return np.ascontiguousarray(point_set.radius * np.float32(2.0 * size), dtype=np.float32)
    return np.full(len(point_set), FALLBACK_WIDTH * size, dtype=np.float32)


class PointsWriter:
    """One ``UsdGeom.Points`` prim in a new stage, written one time sample at a time."""

    def __init__(self, path: str, name: str, frames, fps: float, meters_per_unit: float, source: str):
        self.pxr = import_pxr()
        Gf, Sdf, Tf, Usd, UsdGeom, Vt = self.pxr
        self.stage = Usd.Stage.CreateNew(path)
        if self.stage is None:
            raise ExportError(f"{path}: cannot create a USD file there")
        stage = self.stage
        UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
        UsdGeom.SetStageMetersPerUnit(stage, float(meters_per_unit))
        stage.SetStartTimeCode(float(min(frames)))
        stage.SetEndTimeCode(float(max(frames)))
        stage.SetTimeCodesPerSecond(float(fps))
        stage.SetFramesPerSecond(float(fps))
        stage.GetRootLayer().documentation = f"Depth Cloud point cache baked from {source}"
        self.points = UsdGeom.Points.Define(stage, Sdf.Path.absoluteRootPath.AppendChild(name))
        stage.SetDefaultPrim(self.points.GetPrim())
        self.points.SetWidthsInterpolation(UsdGeom.Tokens.vertex)
        self.color = UsdGeom.PrimvarsAPI(self.points).CreatePrimvar(
            COLOR_PRIMVAR, Sdf.ValueTypeNames.Color3fArray, UsdGeom.Tokens.vertex)

    def write_extras(self, frame: int, normals, attributes: dict, count: int):
        """Normals (N,3) or None, and extra attributes as vertex primvars, at ``frame``
        (empty arrays for the ones this frame lacks once they exist)."""
        Gf, Sdf, Tf, Usd, UsdGeom, Vt = self.pxr
        t = Usd.TimeCode(float(frame))
        if normals is not None:
            self.points.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
            self.has_normals = True
        if getattr(self, "has_normals", False):
            n = np.zeros((count, 3), np.float32) if normals is None else normals
            self.points.GetNormalsAttr().Set(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(n, np.float32)), t)
        self.extras = getattr(self, "extras", {})
        for name, values in attributes.items():
            values = np.asarray(values)
            if name not in self.extras:
                k = 1 if values.ndim == 1 else values.shape[1]
                integer = np.issubdtype(values.dtype, np.integer)
                vtype, array = ((Sdf.ValueTypeNames.IntArray, Vt.IntArray) if integer else
                                {1: (Sdf.ValueTypeNames.FloatArray, Vt.FloatArray),
                                 2: (Sdf.ValueTypeNames.Float2Array, Vt.Vec2fArray),
                                 3: (Sdf.ValueTypeNames.Vector3fArray, Vt.Vec3fArray),
                                 4: (Sdf.ValueTypeNames.Color4fArray, Vt.Vec4fArray)}[k])
                primvar = UsdGeom.PrimvarsAPI(self.points).CreatePrimvar(Tf.MakeValidIdentifier(name), vtype,
                                                                         UsdGeom.Tokens.vertex)
                self.extras[name] = (primvar, array, np.int32 if integer else np.float32, values.shape[1:])
        for name, (primvar, array, dtype, shape) in self.extras.items():
            values = attributes.get(name)
            if values is None:
                values = np.zeros((count, *shape), dtype)
            primvar.Set(array.FromNumpy(np.ascontiguousarray(values, dtype=dtype)), t)

    def write(self, frame: int, positions: np.ndarray, widths: np.ndarray, colors: np.ndarray):
        """One frame: ``positions`` (N,3), ``widths`` (N,), ``colors`` (N,3) float32."""
        Gf, Sdf, Tf, Usd, UsdGeom, Vt = self.pxr
        t = Usd.TimeCode(float(frame))
        pos = np.ascontiguousarray(positions, dtype=np.float32).reshape(-1, 3)
        self.points.GetPointsAttr().Set(Vt.Vec3fArray.FromNumpy(pos), t)
        self.points.GetWidthsAttr().Set(Vt.FloatArray.FromNumpy(np.ascontiguousarray(widths, np.float32)), t)
        self.color.Set(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(colors, dtype=np.float32).reshape(-1, 3)), t)
        lo = hi = (0.0, 0.0, 0.0)
        if len(pos):
            pad = float(widths.max()) * 0.5
            # per column: 15x faster than pos.min(axis=0) on (N, 3) float32
            lo = tuple(float(pos[:, k].min()) - pad for k in range(3))
            hi = tuple(float(pos[:, k].max()) + pad for k in range(3))
        self.points.GetExtentAttr().Set(Vt.Vec3fArray([Gf.Vec3f(*lo), Gf.Vec3f(*hi)]), t)

    def save(self):
        """Save what is written so far (crate files append: memory stays at one frame)."""
        if not self.stage.GetRootLayer().Save():
            raise ExportError(f"{self.stage.GetRootLayer().realPath}: USD could not save the file")

    def close(self):
        self.points = self.color = self.stage = None
        self.extras = {}


def bake(scene, spec: SourceSpec, frames, path: str, camera=None, clip: bool = True, size: float = 1.0,
         progress=None) -> BakeResult:
    """Write ``frames`` of ``spec`` (read and unprojected as Build does) to the .usdc ``path``.

    ``progress(done, total, frame, points, seconds)`` is called after each frame. Raises a
    DepthCloudError naming the file or setting; on failure an existing ``path`` is left as it
    was (the bake writes a temporary file moved in place at the end).
    """
    t_start = time.perf_counter()
    frames = sorted({int(f) for f in frames})
    if not frames:
        raise SettingsError("no frame to bake")
    if not size > 0:
        raise SettingsError(f"point size multiplier must be positive, got {size}")
    missing = [f for f in frames if not os.path.isfile(spec.paths(f)[0])]
    if len(missing) == len(frames):
        raise SourceFileError(spec.paths(frames[0])[0], f"file not found; none of the {len(frames)} frame(s) "
                                                        f"{frames[0]}-{frames[-1]} of {spec.path} exists")
    Gf, Sdf, Tf, Usd, UsdGeom, Vt = import_pxr()
    path = os.path.abspath(path)  # 'cache.usdc' is in the working folder (os.makedirs("") would fail)
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise OutputWriteError(f"{path}: cannot write the output: {output_problem(folder, err)}") from err
    tmp = os.path.join(folder, f".{os.path.splitext(os.path.basename(path))[0]}.partial.usdc")
    if os.path.exists(tmp):
        os.remove(tmp)
    result = BakeResult(path=path)
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (" …" if len(missing) > 20 else "")
        result.warnings.append(f"{len(missing)} frame(s) missing from {spec.path}, baked empty: {shown}")
    r = scene.render
    writer = None
    try:
        writer = PointsWriter(tmp, prim_name(spec, Tf), frames, r.fps / r.fps_base,
                              scene.unit_settings.scale_length, spec.path)
        for done, frame in enumerate(frames, 1):
            t0 = time.perf_counter()
            point_set = None
            if frame not in missing:
                try:
                    point_set, _model = build.checked_point_set(scene, spec, frame, camera, clip)
                except InvalidDepthError as err:  # a frame showing no surface is still a frame
                    result.warnings.append(as_diagnostic(str(err), frame=frame))
                else:  # the frame's own warnings (points clipped, NaN pixels...), marked with the frame
                    result.warnings.extend(Diagnostics(point_set.meta.get("warnings", ())).in_frame(frame))
            if point_set is None or len(point_set) == 0:
                writer.write(frame, np.empty((0, 3), np.float32), np.empty(0, np.float32), np.empty((0, 3), np.float32))
                writer.write_extras(frame, None, {}, 0)
                result.empty.append(frame)
            else:
                writer.write(frame, point_set.positions, _widths(point_set, size), point_set.colors[:, :3])
                writer.write_extras(frame, point_set.normals, point_set.attributes, len(point_set))
                result.frames.append(frame)
                result.points += len(point_set)
            writer.save()
            if progress is not None:
                progress(done, len(frames), frame, 0 if point_set is None else len(point_set),
                         time.perf_counter() - t0)
        if not result.frames:
            raise ExportError(empty_bake_message(path, spec, frames, result.warnings))
        writer.close()
        writer = None
        os.replace(tmp, path)
    except Tf.ErrorException as err:
        raise ExportError(f"{path}: USD could not write the point cache ({err})") from err
    except OSError as err:
        raise OutputWriteError(f"{path}: cannot write the point cache: {output_problem(folder, err)}") from err
    finally:
        if writer is not None:
            writer.close()
        if os.path.exists(tmp):
            os.remove(tmp)
    _reload_layer(Sdf, path)
    result.seconds = time.perf_counter() - t_start
    return result


def empty_bake_message(path: str, spec: SourceSpec, frames, warnings) -> str:
    """Why a bake whose every frame is empty is refused (nothing written, nothing loaded): a
    USD point cache without a single point is no cache, and Blender 5.0 crashes rendering one."""
    why = f" ({warnings[0]}" + (f"; and {len(warnings) - 1} more" if len(warnings) > 1 else "") + ")" \
        if warnings else ""
    span = f"frame {frames[0]}" if len(frames) == 1 else f"frames {frames[0]}-{frames[-1]}"
    return (f"{path}: not written: no point in {span} of {spec.path}; every pixel is background or outside "
            f"the clip range{why}")


def _reload_layer(Sdf, path: str):
    """Layers stay in USD's registry while anything holds them (Blender's cache reader does):
    reload a replaced file so its readers see the new bake."""
    layer = Sdf.Layer.Find(path)
    if layer is not None:
        layer.Reload(True)


# ----------------------------------------------------------------------------- loading back
def streaming_objects(scene, path: str) -> list:
    """Objects of ``scene`` whose Mesh Sequence Cache streams ``path``."""
    path = os.path.normpath(os.path.abspath(path))
    found = []
    for ob in scene.objects:
        for mod in ob.modifiers:
            cf = getattr(mod, "cache_file", None) if mod.type == 'MESH_SEQUENCE_CACHE' else None
            if cf is not None and os.path.normpath(bpy.path.abspath(cf.filepath, library=cf.library)) == path:
                found.append(ob)
                break
    return found


_IMPORT_OPTIONS = dict(
    set_frame_range=False,  # the scene's frame range is the user's
    import_points=True, import_cameras=False, import_lights=False, import_materials=False,
    import_meshes=False, import_curves=False, import_volumes=False, import_shapes=False,
    import_skeletons=False, import_blendshapes=False, create_collection=False, read_mesh_colors=True,
    read_mesh_attributes=True, scale=1.0,
    apply_unit_conversion_scale=False,  # the file's units are this scene's units
)


def load(context, path: str):
    """The object streaming ``path`` in the context's scene: an existing one (its cache
    reloaded) or a new one made by Blender's USD importer."""
    scene = context.scene
    if not os.path.isfile(path):
        raise SourceFileError(path, "USD file not found")
    existing = streaming_objects(scene, path)
    if existing:
        for ob in existing:
            for mod in ob.modifiers:
                if mod.type == 'MESH_SEQUENCE_CACHE' and mod.cache_file is not None:
                    mod.cache_file.filepath = mod.cache_file.filepath  # reopen the rewritten file
        return existing[0]
    known = set(bpy.ops.wm.usd_import.get_rna_type().properties.keys())
    options = {k: v for k, v in _IMPORT_OPTIONS.items() if k in known}
    before = set(bpy.data.objects)
    try:
        with readers_held():  # GIL released during the operator: core/reader_hold.py
            result = bpy.ops.wm.usd_import(filepath=path, **options)
    except RuntimeError as err:
        result, problem = (), f"Blender's USD importer failed ({err})"
    else:
        problem = "Blender's USD importer made no point cloud object"
    new = [ob for ob in bpy.data.objects if ob not in before]
    clouds = [ob for ob in new if ob.type == 'POINTCLOUD']
    if 'FINISHED' not in result or not clouds:
        for ob in new:  # whatever a failed import made: the scene stays as it was
            bpy.data.objects.remove(ob)
        raise ExportError(f"{path}: {problem}")
    return clouds[0]
