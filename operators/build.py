"""Build Point Cloud: the current frame's passes -> a Point Cloud object."""
from __future__ import annotations

import bpy

from ._poll import source_ready
from ._report import report_warnings, reports_errors
from ._select import select_only


class DEPTH_CLOUD_OT_build(bpy.types.Operator):
    """Build a colored point cloud from the current frame's depth (or position) and color passes"""

    bl_idname = "depth_cloud.build"
    bl_label = "Build Point Cloud"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return source_ready(cls, context, "build")

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        build_from_settings(self, context)
        return {'FINISHED'}


def build_from_settings(op: bpy.types.Operator, context: bpy.types.Context):
    """What Build Point Cloud does (shared with Import): the current frame's cloud from the
    scene's Depth Cloud settings, selected and active, reported through ``op``. Raises
    :class:`~..core.errors.DepthCloudError` on bad input, before the scene is changed."""
    from ..glue import build, source

    scene = context.scene
    src = source.resolve(scene)
    ob, point_set = build.build_cloud_object(scene, src.spec, scene.frame_current, src.camera, clip=src.clip)
    report_warnings(op, point_set.meta.get("warnings", ()))
    select_only(context, ob)
    meta = point_set.meta
    deep = f" ({meta['samples']:,} deep samples)" if meta.get("deep") else ""
    op.report({'INFO'}, f"Built {len(point_set):,} points from {meta['path']}{deep}")
    return ob
