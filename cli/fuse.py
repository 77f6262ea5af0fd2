"""``depth_cloud fuse``, the Blender side: many views -> one fused cloud (PLY or .blend).

Reuses the fusion pipeline of the operator and the API (``glue.fusion.run_fusion``) and the
PLY writer of ``build``; outputs are written atomically and existing ones are skipped unless
``--overwrite``.
"""
from __future__ import annotations

import os
import time

import bpy

from ..core.diagnostics import Diagnostics, strict_error
from ..core.fileio import atomic_output
from ..core.output.ply import write_ply
from ..glue.fusion import fuse as fusion_glue
from ..glue.images import abspath
from ..glue.source import READING_OPTIONS
from .common import blender_quiet, rel_path, resolve_scene, size_text
from .parser import EXIT_OK, UsageError
from .plan import output_format

#: The fusion options the command line offers (flags named after them).
FUSION_FLAGS = ("voxel_size", "min_views", "depth_tolerance", "neighbor_support", "outlier_neighbors",
                  "outlier_std_ratio", "max_incidence", "check_views", "workers")


def _options(args) -> dict:
    opts = {k: getattr(args, k) for k in READING_OPTIONS + FUSION_FLAGS if getattr(args, k, None) is not None}
    if args.all_outliers:
        opts["outliers_unconfirmed_only"] = False
    return opts


def _sources(args) -> dict:
    """The view source, as ``run_fusion`` takes it (see ``glue.fusion.collect_views``)."""
    files = args.files
    if files is not None and (args.cameras or args.camera_list) and len(files) == 1:
        files = abspath(files[0])  # one pattern pairing files with cameras ('{camera}' or '#')
    elif files is not None:
        files = [abspath(f) for f in files]
    cameras = None
    if args.cameras:
        cameras = [n.strip() for n in args.cameras.split(",") if n.strip()]
        cameras = cameras[0] if len(cameras) == 1 else cameras  # one name may be a collection
    return dict(source=abspath(args.source) if args.source else None, frames=args.frames, cameras=cameras,
                camera_list=abspath(args.camera_list) if args.camera_list else None, files=files,
                color=abspath(args.color) if args.color else None, camera=args.camera)


def run_fuse(args, console) -> int:
    t_start = time.perf_counter()
    scene = resolve_scene(args)
    if getattr(args, "poses", None) or getattr(args, "intrinsics", None):  # cameras from numbers
        from .captured import camera_from_args, poses_from_args
        for warning in poses_from_args(args, scene):  # non-unit quaternions, unused poses
            console.warning(warning)
        cam = camera_from_args(args, scene)
        if cam is not None:
            args.camera = cam.name
    fmt = output_format(args.output, args.format)
    if fmt not in ("ply", "blend"):
        raise UsageError(f"--output {args.output!r}: fuse writes one .ply or one .blend")
    output = abspath(args.output)
    if os.path.exists(output) and not args.overwrite:
        console.line(f"{console.prog}: skipped, {rel_path(output)} exists (--overwrite rebuilds)")
        return EXIT_OK

    def progress(fraction, message):
        console.line(f"[{100 * fraction:5.1f}%] {message} ({time.perf_counter() - t_start:.2f} s)")

    make_object = fmt == "blend"
    with blender_quiet(not args.verbose and make_object):
        ob, result, surface = fusion_glue.run_fusion(
            scene, clip=args.clip if args.clip is not None else True, make_object=make_object,
            surface=args.surface and make_object, surface_voxel_size=args.surface_voxel_size or 0.0,
            progress=progress, **_sources(args), **_options(args))
    points = result.point_set
    diags = Diagnostics(points.meta.get("warnings", ()))
    if getattr(args, "strict", False) and diags:
        raise strict_error(diags, "the fusion")
    for d in diags:
        console.warning(d)
    if fmt == "ply":
        size = write_ply(output, points, alpha=args.alpha, radius=args.radius,
                         comments=[f"Depth Cloud fusion, voxel {result.voxel_size:.6g}"])
    else:
        with atomic_output(output) as tmp:
            with blender_quiet(not args.verbose):
                status = bpy.ops.wm.save_as_mainfile(filepath=tmp, copy=True, check_existing=False)
            if 'FINISHED' not in status:
                raise UsageError(f"{output}: Blender could not save the .blend")
        size = os.path.getsize(output)
    stats = ", ".join(_stat_text(k, v) for k, v in result.stats.items() if isinstance(v, (int, float)))
    console.line(f"{console.prog}: fused {len(points):,} points -> {rel_path(output)} ({size_text(size)}) in "
                 f"{time.perf_counter() - t_start:.2f} s" + (f"; object {ob.name!r}" if ob is not None else "")
                 + console.warnings_text())
    if stats:
        console.line(f"{console.prog}: {stats}")
    return EXIT_OK


def _stat_text(name, value) -> str:
    """``time_prepare 0.03 s``, ``points 12,345``, ``voxel_size 0.00512``: rounded for people."""
    if isinstance(value, bool) or not isinstance(value, float):
        return f"{name} {value:,}" if isinstance(value, int) and not isinstance(value, bool) else f"{name} {value}"
    if name.startswith("time"):
        return f"{name} {value:.2f} s"
    return f"{name} {value:.4g}"
