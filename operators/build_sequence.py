"""Build Sequence: a frame range of passes -> one playback object (lazy or preloaded) or one
keyed object per frame. Modal with a timer in the UI (progress bar, status text, Esc cancels
and leaves the scene as it was); synchronous with progress lines on stdout otherwise."""
from __future__ import annotations

import time

import bpy

from ._poll import source_ready
from ._report import attempt
from ._select import select_only


class DEPTH_CLOUD_OT_build_sequence(bpy.types.Operator):
    """Build the frame range's point clouds for playback (one object swapping frames) or as one keyed object per frame. Esc cancels"""  # noqa: E501 (the tooltip)

    bl_idname = "depth_cloud.build_sequence"
    bl_label = "Build Sequence"
    bl_options = {'REGISTER', 'UNDO'}

    _job = None
    _timer = None
    _progress = None

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return source_ready(cls, context, "build", "the EXR file (with a '#' frame pattern)")

    def _start(self, context):
        from ..glue import source
        from ..glue.sequence import build as sequence
        scene = context.scene

        def job():
            src = source.resolve(scene)
            return sequence.SequenceBuild(scene, src.spec, sequence.frame_range(scene),
                                          scene.depth_cloud.sequence.mode, src.camera, src.clip,
                                          frame_end=sequence.range_end_points(scene)[1])
        ok, self._job = attempt(self, job)
        if not ok:
            return False
        if self._job.memory:
            self.report({'INFO'}, self._job.memory)
        return True

    def _progress_line(self, frame):
        job = self._job
        return f"built frame {frame} ({job.done}/{job.total})"

    def execute(self, context: bpy.types.Context) -> set[str]:
        from ..glue.progress import Progress
        if not self._start(context):
            return {'CANCELLED'}
        job = self._job
        t0 = time.perf_counter()
        with Progress(context, "Depth Cloud", total=job.total) as progress:
            try:
                while not job.finished:
                    frame = job.step()
                    progress.step(job.done, self._progress_line(frame))
            except BaseException:
                job.cancel()
                raise
        return self._finish(context, time.perf_counter() - t0)

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        from ..core.diagnostics import counted
        if bpy.app.background or context.window is None:
            return self.execute(context)
        if not self._start(context):
            return {'CANCELLED'}
        if self._job.finished:  # lazy: nothing to build up front
            return self._finish(context, 0.0)
        from ..glue.progress import Progress
        wm = context.window_manager
        self._progress = Progress(context, "Depth Cloud", total=self._job.total)
        self._timer = wm.event_timer_add(0.001, window=context.window)
        wm.modal_handler_add(self)
        self._t0 = time.perf_counter()
        self._progress.step(0, f"building {counted(self._job.total, 'frame')}… (Esc to cancel)")
        return {'RUNNING_MODAL'}

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        job = self._job
        if event.type == 'ESC':
            job.cancel()
            self._end_modal(context)
            self.report({'WARNING'}, "Build Sequence cancelled; nothing was changed")
            return {'CANCELLED'}
        if event.type != 'TIMER':
            # Other input waits: an undo or a deletion in the middle would pull the scene out
            # from under the build. Esc cancels.
            return {'RUNNING_MODAL'}
        try:
            frame = job.step()
        except BaseException:
            job.cancel()
            self._end_modal(context)
            raise
        self._progress.step(job.done, f"{self._progress_line(frame)} (Esc to cancel)")
        if job.finished:
            self._end_modal(context)
            return self._finish(context, time.perf_counter() - self._t0)
        return {'RUNNING_MODAL'}

    def _end_modal(self, context):
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None
        if self._progress is not None:
            self._progress.end()
            self._progress = None

    def _finish(self, context, seconds):
        from ..core.diagnostics import counted
        job = self._job
        ok, result = attempt(self, job.commit, on_error=lambda _err: job.cancel())
        if not ok:
            return {'CANCELLED'}
        for level, message in job.summary():
            self.report({level}, message)
        if job.mode == 'KEYED':
            self.report({'INFO'}, f"Built {len(result.objects)} keyed frame objects in {result.name!r} "
                                  f"({seconds:.1f} s)")
        else:
            obj = result
            select_only(context, obj)
            built = f", {counted(job.preloaded, 'frame')} preloaded in {seconds:.1f} s" if job.mode == 'PRELOAD' else ""
            self.report({'INFO'}, f"Sequence {obj.name!r}: frames {obj.depth_cloud.sequence.frame_start}-"
                                  f"{obj.depth_cloud.sequence.frame_end}{built}")
        return {'FINISHED'}
