"""Building a frame range: the work behind Build Sequence, one frame per step.

A :class:`SequenceBuild` never touches the scene before :meth:`commit`: frames are built into
staging (compact frames for playback, unlinked Point Cloud datablocks for keyed objects) while
the scene is stepped through the frames to evaluate each frame's camera, then put back on its
frame. :meth:`cancel` frees the staging and restores the frame, so a cancelled build leaves the
scene exactly as it was.
"""
from __future__ import annotations

import uuid

import bpy

from ...core.diagnostics import Diagnostics, as_diagnostic, grouped_text
from ...core.errors import DepthCloudError, SourceFileError
from ...core.frames import format_frames, frame_numbers, split_existing
from ...core.points.inputs import SourceSpec
from ...core.sequence.framecache import CachedFrame
from .. import build, compat, datablock, display, inputs, objects, preferences
from ..frames import stepping
from ..source import READING_OPTIONS, setting_value
from . import playback

LAZY, PRELOAD, KEYED = 'LAZY', 'PRELOAD', 'KEYED'
KEYED_TAG = "depth_cloud_keyed_source"


def frame_range(scene) -> list:
    """The frames Build Sequence builds: the scene range or the Start/End setting, with Step."""
    s = scene.depth_cloud.sequence
    where = "the scene's frame range" if s.use_scene_range else "Build Sequence Start/End (sequence.frame_start/end)"
    return frame_numbers(*range_end_points(scene), s.frame_step, setting=where)


def range_end_points(scene):
    s = scene.depth_cloud.sequence
    return (scene.frame_start, scene.frame_end) if s.use_scene_range else (s.frame_start, s.frame_end)


def sequence_name(spec: SourceSpec) -> str:
    return inputs.source_stem(spec.path) + (f"_{spec.view}" if spec.view else "")  # one sequence per eye


def find_sequence_object(scene, spec: SourceSpec):
    for ob in playback.sequence_objects(scene):
        s = ob.depth_cloud.sequence
        if s.source == spec.path and s.color_source == spec.color_path and s.view == spec.view:
            return ob
    return None


def find_keyed_collection(scene, spec: SourceSpec):
    for coll in bpy.data.collections:
        if coll.get(KEYED_TAG) == _keyed_tag(spec) and coll in scene.collection.children_recursive:
            return coll
    return None


def _keyed_tag(spec: SourceSpec) -> str:
    return spec.path + "|" + spec.color_path + (f"|{spec.view}" if spec.view else "")


def _store_settings(obj, spec: SourceSpec, camera, clip: bool, frames, missing, frame_end):
    s = obj.depth_cloud.sequence
    s.is_sequence = True
    if not s.uid:
        s.uid = uuid.uuid4().hex
    s.source, s.color_source = spec.path, spec.color_path
    for name in READING_OPTIONS:
        setattr(s, name, setting_value(spec, name))
    s.camera, s.clip = camera, clip
    s.frame_start, s.frame_end = frames[0], max(frames[-1], frame_end)
    s.frame_step = (frames[1] - frames[0]) if len(frames) > 1 else 1
    s.missing = format_frames(missing) if missing else ""


def _key_visibility(obj, frame: int, until: int, current: int):
    """Visible (viewport and render) from ``frame`` to ``until - 1``, hidden elsewhere; the
    keys have constant interpolation."""
    for hidden, at in ((True, frame - 1), (False, frame), (True, until)):
        obj.hide_viewport = obj.hide_render = hidden
        obj.keyframe_insert("hide_viewport", frame=at)
        obj.keyframe_insert("hide_render", frame=at)
    for fcurve in compat.object_fcurves(obj):
        if fcurve.data_path in ("hide_viewport", "hide_render"):
            for key in fcurve.keyframe_points:
                key.interpolation = 'CONSTANT'
    obj.hide_viewport = obj.hide_render = not (frame <= current < until)


KEYED_ADVICE = "play the sequence from the cache (mode Lazy or Preload)"


def keyed_memory(scene, spec: SourceSpec, frames, what: str = "Keyed Objects", advice: str = KEYED_ADVICE,
                 pixel_ids: bool | None = None) -> str:
    """What ``what`` (one datablock per frame of ``frames``) will take at most: every kept
    pixel of the first file's largest data window a point, at the spec's detail and the
    attribute setting (None: the scene's). Raises SettingsError, suggesting ``advice`` or a
    coarser detail, when that exceeds the machine's memory. Reads only the first file's header."""
    from ...core.exr.read import read_exr, window_size
    from ...core.sequence import memory
    path, _ = spec.paths(frames[0])
    head = read_exr(path, header_only=True)
    pixels = 0
    for header in head.headers:
        (x0, y0), (x1, y1) = header["dataWindow"]
        w, h = window_size((int(x0), int(y0), int(x1), int(y1)))
        pixels = max(pixels, w * h)
    ids = scene.depth_cloud.pixel_ids if pixel_ids is None else bool(pixel_ids)
    from ...core.exr.read import view_layers
    from ...core.points import attributes
    names = [c.name for header in head.headers for c in header.get("channels", ())]  # the one header read
    layer = spec.layer or next(iter(view_layers(names)), "")
    extra = attributes.extra_bytes_per_point(spec, names, layer)  # normals, named passes, coverage

    n_frames = len(frames)

    def total(detail, count=n_frames):
        return memory.datablock_estimate(memory.points_upper_bound(pixels, detail), count, ids, extra)

    return memory.check_fits(
        total(spec.detail), f"{what} of {len(frames)} frame{'s' if len(frames) != 1 else ''} "
                            f"({memory.describe(total(spec.detail, 1))} "
                            f"per frame at detail {spec.detail})",
        f"{advice} or build at a coarser detail (detail {spec.detail + 1}: "
        f"{memory.describe(total(spec.detail + 1))})")


class SequenceBuild:
    """Build ``frames`` of ``spec`` in ``mode`` (LAZY, PRELOAD or KEYED) step by step."""

    def __init__(self, scene, spec: SourceSpec, frames, mode=LAZY, camera=None, clip=True, frame_end=None):
        """``frame_end``: the last frame of the requested range (frames after the last built
        one hold it up to there, like frames between steps)."""
        if mode not in (LAZY, PRELOAD, KEYED):
            raise DepthCloudError(f"unknown sequence mode {mode!r}")
        self.scene, self.spec, self.mode, self.camera, self.clip = scene, spec, mode, camera, clip
        self.frames = list(frames)
        if not self.frames:
            raise DepthCloudError("no frame to build: the frame range is empty")
        self.frame_end = max(self.frames[-1], int(frame_end) if frame_end is not None else self.frames[-1])
        present, missing = split_existing(spec.path, self.frames)
        if spec.color_path.strip():
            present, missing_color = split_existing(spec.color_path, present)
            missing = sorted(missing + missing_color)
        if not present:
            first, _ = spec.paths(self.frames[0])
            raise SourceFileError(first, f"no file found for any of frames {format_frames(self.frames)} "
                                         f"(pattern {spec.path})")
        self.present, self.missing = present, missing
        #: the memory statement of a build that keeps a datablock per frame (KEYED), or ""
        self.memory = keyed_memory(scene, spec, present) if mode == KEYED else ""
        self.failed: list = []  # (frame, message)
        #: every built frame's warnings (``core.diagnostics``), reported once per kind by ``summary``
        self.diagnostics = Diagnostics()
        self.staged: list = []  # (frame, CachedFrame or PointCloud datablock, points)
        self.todo = list(present) if mode != LAZY else []
        self.total = len(self.todo)
        self.budget_full = False
        self._origin = (scene.frame_current, scene.frame_subframe)
        self._moved = False
        self._staged_bytes = 0
        self.preloaded = 0

    @property
    def done(self) -> int:
        return self.total - len(self.todo)

    @property
    def finished(self) -> bool:
        return not self.todo

    def step(self):
        """Build the next frame; returns it (None when nothing is left)."""
        if not self.todo:
            return None
        frame = self.todo.pop(0)
        scene = self.scene
        with stepping():
            if scene.frame_current != frame or scene.frame_subframe != 0.0:
                scene.frame_set(frame)
                self._moved = True
            try:
                point_set, model = build.checked_point_set(scene, self.spec, frame, self.camera, self.clip)
            except DepthCloudError as err:
                self.failed.append((frame, str(err)))
                return frame
        for d in point_set.meta.get("warnings", ()):
            self.diagnostics.append(as_diagnostic(d, frame=frame))
        if self.mode == PRELOAD:
            entry = CachedFrame.from_point_set(frame, point_set, model)
            budget = int(preferences.cache_budget_mb() * playback.MB)
            if self._staged_bytes + entry.nbytes > budget:
                self.budget_full = True
                self.todo.clear()  # the rest is built on first visit
                return frame
            self._staged_bytes += entry.nbytes
            self.staged.append((frame, entry, len(entry)))
        else:
            name = f"{sequence_name(self.spec)}_{frame:04d}"
            pc = datablock.pointcloud_from_point_set(point_set, name, scene, pixel_ids=scene.depth_cloud.pixel_ids)
            self.staged.append((frame, pc, len(point_set)))
        return frame

    def _restore_frame(self):
        if self._moved:
            with stepping():
                self.scene.frame_set(self._origin[0], subframe=self._origin[1])
            self._moved = False

    def cancel(self):
        """Drop everything built so far: the scene is as before the build started."""
        self._restore_frame()
        for _frame, item, _n in self.staged:
            if isinstance(item, bpy.types.ID):
                bpy.data.pointclouds.remove(item)
        self.staged.clear()
        self.todo.clear()

    def commit(self):
        """Put the result in the scene; returns the sequence object or the keyed collection."""
        self._restore_frame()
        if self.mode == KEYED:
            return self._commit_keyed()
        return self._commit_playback()

    def _commit_playback(self):
        scene, spec = self.scene, self.spec
        obj = find_sequence_object(scene, spec)
        if obj is None:
            name = sequence_name(spec)
            obj, _new = objects.put_cloud_data(scene, None, name, bpy.data.meshes.new(name))
            obj.depth_cloud.sequence.mesh = obj.data
        datablock.points_modifier(obj)
        _store_settings(obj, spec, self.camera, self.clip, self.frames, self.missing, self.frame_end)
        display.setup_points_display(obj, scene.depth_cloud.display)
        uid = obj.depth_cloud.sequence.uid
        playback.reset(uid)
        playback.apply_budget(scene)
        for frame, entry, _n in self.staged:
            self.preloaded += bool(playback.cache().put((uid, frame), entry))
        self.staged.clear()
        # Renders swap frames from the frame-change handler; the interface must not draw
        # the data while it changes (Blender's own advice for handlers that edit data).
        scene.render.use_lock_interface = True
        playback.show(obj, scene)
        return obj

    def _commit_keyed(self):
        scene, spec = self.scene, self.spec
        old = find_keyed_collection(scene, spec)
        if old is not None:
            for ob in list(old.objects):
                data = ob.data
                bpy.data.objects.remove(ob)
                if data is not None and data.users == 0 and isinstance(data, bpy.types.PointCloud):
                    bpy.data.pointclouds.remove(data)
            bpy.data.collections.remove(old)
        coll = bpy.data.collections.new(f"{sequence_name(spec)} Frames")
        coll[KEYED_TAG] = _keyed_tag(spec)
        objects.cloud_collection(scene).children.link(coll)
        built = [f for f, _item, _n in self.staged]
        step = (self.frames[1] - self.frames[0]) if len(self.frames) > 1 else 1
        for i, (frame, pc, n) in enumerate(self.staged):
            ob = bpy.data.objects.new(pc.name, pc)
            coll.objects.link(ob)
            s = ob.depth_cloud
            s.is_cloud, s.source, s.color_source, s.frame, s.points = True, spec.path, spec.color_path, frame, n
            until = min(frame + step, self.frame_end + 1)
            if i + 1 < len(built):
                until = min(until, built[i + 1])
            _key_visibility(ob, frame, until, scene.frame_current)
            display.setup_points_display(ob, scene.depth_cloud.display)
        self.staged.clear()
        return coll

    def summary(self) -> list:
        """``(level, message)`` lines for the operator's report."""
        lines = []
        if self.missing:
            lines.append(('WARNING', f"{len(self.missing)} frame(s) have no file and were skipped: "
                                     f"{format_frames(self.missing)} (pattern {self.spec.path})"))
        for frame, message in self.failed:
            lines.append(('WARNING', f"frame {frame} skipped: {message}"))
        for text in grouped_text(self.diagnostics):
            lines.append(('WARNING', text))
        if self.budget_full:
            budget = preferences.cache_budget_mb()
            lines.append(('WARNING', f"the cache budget ({budget:g} MB, add-on preferences) holds "
                                     f"{self.preloaded or len(self.staged)} preloaded frame(s); the others are built "
                                     f"when first shown"))
        return lines
