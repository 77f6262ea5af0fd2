"""Fuse Views: many depth maps and their cameras -> one cleaned Point Cloud object."""
from __future__ import annotations

import bpy

from ._poll import object_mode
from ._report import report_warnings, reports_errors
from ._select import select_only


def _source_problem(context):
    """Why the fusion source is incomplete, or None."""
    fs = context.scene.depth_cloud.fusion
    if fs.source == 'SEQUENCE' and not context.scene.depth_cloud.exr_path.strip():
        return "Set the EXR file pattern (with '#') in the Depth Cloud settings first"
    if fs.source == 'CAMERAS':
        if fs.cameras is None:
            return "Choose the collection of camera objects to fuse"
        if not fs.files.strip():
            return "Set the depth files of the cameras (path with {camera} or #)"
    if fs.source == 'CAMERA_LIST' and not fs.camera_list.strip():
        return "Choose the camera list file (JSON or CSV)"
    return None


class DEPTH_CLOUD_OT_fuse(bpy.types.Operator):
    """Fuse many depth maps seen by known cameras into one cleaned, oriented point cloud"""

    bl_idname = "depth_cloud.fuse"
    bl_label = "Fuse Views"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        if context.scene is None or not object_mode(cls, context, "fuse"):
            return False
        problem = _source_problem(context)
        if problem:
            cls.poll_message_set(problem)
            return False
        return True

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        from ..core.diagnostics import counted
        from ..core.fusion import FusionSettings
        from ..glue import source
        from ..glue.fusion import fuse as glue_fusion
        from ..glue.progress import Progress
        from ..props.fusion import fusion_options

        scene = context.scene
        fs = scene.depth_cloud.fusion
        settings = scene.depth_cloud
        problem = _source_problem(context)
        if problem:
            self.report({'ERROR'}, problem)
            return {'CANCELLED'}
        if fs.source == 'CAMERA_LIST':
            views = dict(camera_list=fs.camera_list, files=fs.files or None, color=fs.color_files or None)
        elif fs.source == 'CAMERAS':
            views = dict(cameras=fs.cameras, files=fs.files, color=fs.color_files or None)
        else:
            views = dict(frames=fs.frames)
        if fs.source != 'SEQUENCE' and settings.exr_path.strip():
            views["base"] = source.settings_spec(settings)  # the panel's reading options
        ob, result, _surface = glue_fusion.run_fusion(
            scene, clip=settings.clip, name=fs.output_name or "Fused Cloud", surface=fs.make_surface,
            surface_voxel_size=fs.surface_voxel_size, surface_radius=fs.surface_radius,
            progress=Progress(context, "Fusing"), settings=FusionSettings(**fusion_options(fs)), **views)
        select_only(context, ob)
        report_warnings(self, result.point_set.meta.get("warnings", ()))  # the views' warnings, once each
        st = result.stats
        self.report({'INFO'}, f"Fused {counted(st['views'], 'view')} into {counted(len(result.point_set), 'point')} "
                              f"(voxel {result.voxel_size:.4g}; removed {st['spikes_removed']:,} spikes, "
                              f"{st['inconsistent_removed']:,} inconsistent, {st['outliers_removed']:,} outliers) "
                              f"in {st['time_total']:.1f} s")
        return {'FINISHED'}
