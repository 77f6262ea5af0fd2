"""Bake to USD: a frame range of clouds -> one time-sampled UsdGeom.Points .usdc, loaded back
through Blender's USD importer (streamed by a Mesh Sequence Cache modifier)."""
from __future__ import annotations

import bpy

from ._poll import source_ready
from ._report import report_warnings, reports_errors
from ._select import select_only


class DEPTH_CLOUD_OT_bake_usd(bpy.types.Operator):
    """Bake the frame range's point clouds to one USD point cache (.usdc) that Blender streams from disk and other applications can open"""  # noqa: E501 (the tooltip)

    bl_idname = "depth_cloud.bake_usd"
    bl_label = "Bake to USD"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return source_ready(cls, context, "bake")

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        from ..glue import source
        from ..glue.output import render, usd_bake
        from ..glue.progress import Progress

        scene = context.scene
        out = scene.depth_cloud.output
        src = source.resolve(scene)
        frames = render.frames_for(scene, out.bake_frames, out.frames)
        path = usd_bake.usd_path(scene, out.usd_path, out.cache_dir)

        with Progress(context, "Depth Cloud", total=len(frames)) as progress:
            def baked(done, total, frame, points, seconds):
                progress.step(done, f"baked frame {frame} ({done}/{total}), {points:,} points in {seconds:.2f} s")
            result = usd_bake.bake(scene, src.spec, frames, path, src.camera, src.clip, out.usd_size, baked)
            ob = usd_bake.load(context, path) if out.usd_load else None
        report_warnings(self, result.warnings)
        select_only(context, ob)
        self.report({'INFO'}, f"Baked {len(result.frames)} frame(s), {result.points:,} points, to {path} "
                              f"in {result.seconds:.1f} s")
        return {'FINISHED'}
