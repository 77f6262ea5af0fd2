"""Render Passes (and Render & Build): Combined + Z + Position of the current frame or a range
into self-describing multilayer EXRs in the cache folder."""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty

from ._poll import object_mode
from ._report import report_warnings, reports_errors
from ._select import select_only


class DEPTH_CLOUD_OT_render_passes(bpy.types.Operator):
    """Render the passes a point cloud needs (Combined, Z, Position) into one multilayer EXR per frame in the cache folder, with the frame's camera in the file header"""  # noqa: E501 (the tooltip)

    bl_idname = "depth_cloud.render_passes"
    bl_label = "Render Passes"
    bl_options = {'REGISTER', 'UNDO'}

    build: BoolProperty(name="Build", default=False, options={'SKIP_SAVE'},
                        description="Then build the point cloud of the current frame from the rendered files")

    @classmethod
    def description(cls, _context: bpy.types.Context, properties: bpy.types.OperatorProperties) -> str | None:
        if properties.build:
            return "Render the passes into the cache folder, then build the current frame's point cloud from them"
        return None

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        from ..core.errors import DepthCloudError
        from ..glue.output.render import check_can_render
        if context.scene is None:
            return False
        try:
            check_can_render(context.scene)  # the same checks as execute, with the same message
        except DepthCloudError as err:
            cls.poll_message_set(str(err))
            return False
        return object_mode(cls, context, "render")

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        from ..glue.output import render
        from ..glue.progress import Progress

        scene = context.scene
        out = scene.depth_cloud.output
        frames = render.frames_for(scene, out.render_frames, out.frames)
        render.check_can_render(scene)
        pattern = render.cache_pattern(scene, out.cache_dir)

        with Progress(context, "Depth Cloud", total=len(frames)) as progress:
            def rendered(done, total, frame, path, seconds):
                progress.step(done, f"rendered frame {frame} ({done}/{total}) in {seconds:.2f} s -> {path}")
            paths = render.render_frames(scene, frames, out.cache_dir, context.view_layer, rendered)
        self.report({'INFO'}, f"Rendered {len(paths)} frame(s) to {pattern}")
        report_warnings(self, getattr(paths, "warnings", ()))
        if self.build:
            return self._build(context, pattern, frames)
        return {'FINISHED'}

    def _build(self, context, pattern, frames):
        """Point the scene's source at the rendered files and build the current frame (a core
        error here is reported by ``execute``'s boundary, after the Rendered line)."""
        from ..glue.output import render

        ob, point_set = render.build_rendered(context.scene, pattern, frames)
        select_only(context, ob)
        report_warnings(self, point_set.meta.get("warnings", ()))  # what Build Point Cloud reports
        self.report({'INFO'}, f"Built {len(point_set):,} points from {point_set.meta['path']}")
        return {'FINISHED'}
