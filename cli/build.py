"""``depth_cloud build``, the Blender side: frames -> PointSets -> PLY files, a .blend or USD.

Reuses the shared pipeline (``glue.build.checked_point_set`` for the numbers,
``glue.build.build_cloud_object`` for datablocks); every output is written atomically
(``core.fileio.atomic_output``). Per-frame policy:

* input file missing -> reported on its progress line, skipped, exit status 3 at the end
  (0 with ``--allow-missing``); if *every* frame is missing the run fails (a wrong pattern);
* no usable pixel (``InvalidDepthError``) -> an empty cloud is written, with a warning
  (fails only if every frame is empty: then the settings are wrong, and no file is left
  for those frames, so a farm's rerun fails again instead of skipping them as done);
* an output that cannot be written -> one line naming the output path (exit status 1);
* any other error (unreadable/damaged file, unknown channel, missing camera...) -> stop at
  once with one line naming the frame, the file and the problem (exit status 1).
"""
from __future__ import annotations

import contextlib
import os
import time

import bpy
import numpy as np

from ..core.diagnostics import Diagnostics, strict_error
from ..core.errors import DepthCloudError, InvalidDepthError, SettingsError, SourceFileError
from ..core.fileio import atomic_output
from ..core.frames import frame_ranges_text
from ..core.output.ply import write_ply
from ..core.points.inputs import SourceSpec
from ..core.points.pointset import PointSet
from ..glue import build as build_glue
from ..glue import source as source_glue
from ..glue.frames import scene_frames
from ..glue.images import abspath
from .common import blender_quiet, rel_path, resolve_scene, size_text
from .parser import EXIT_FAILURE, EXIT_MISSING, EXIT_OK, UsageError
from .plan import output_format, plan_outputs, select_frames


# ------------------------------------------------------------------ inputs
def camera_option(args):
    """The camera object ``--camera`` names, or None (then: the settings' camera when the
    source comes from them, else the file's or the scene camera; ``glue.source``)."""
    if args.camera:
        ob = bpy.data.objects.get(args.camera)
        cams = ", ".join(o.name for o in bpy.data.objects if o.type == 'CAMERA') or "none"
        if ob is None:
            raise UsageError(f"--camera {args.camera!r}: no object of that name in this file (cameras: {cams})")
        if ob.type != 'CAMERA':
            raise UsageError(f"--camera {args.camera!r} is a {ob.type.lower()}, not a camera (cameras: {cams})")
        return ob
    return None


def source_from_args(args, scene):
    """What to read (``glue.source.Source``): the scene's settings overridden by the given
    options, or, with ``--source``, the options alone. ``--poses`` first keys a camera along a
    captured path and makes its frames the settings' source; ``--intrinsics`` makes a camera."""
    try:
        from .captured import camera_from_args, poses_from_args
        args.pose_warnings = poses_from_args(args, scene)
        camera = camera_from_args(args, scene) or camera_option(args)
        return source_glue.resolve(scene, args.source or None, args.color, camera, args.clip,
                                   source_name="--source",
                                   **{name: getattr(args, name) for name in source_glue.READING_OPTIONS})
    except SettingsError as err:
        raise UsageError(str(err)) from err


def _missing_input(spec: SourceSpec, frame: int):
    """The first input file of ``frame`` that does not exist, or None."""
    main, color = spec.paths(frame)
    for path in (main, color):
        if path and not os.path.exists(path):
            return path
    return None


# ------------------------------------------------------------------ outputs
def _ply_comments(spec: SourceSpec, frame: int, point_set) -> list:
    """Nothing machine- or time-dependent: the same frame gives the same bytes anywhere."""
    main, color = spec.paths(frame)
    out = ["generator Depth Cloud", f"frame {frame}", f"source {os.path.basename(main)}"]
    if color:
        out.append(f"color_source {os.path.basename(color)}")
    if point_set.meta.get("view"):
        out.append(f"view {point_set.meta['view']}")  # multi-view EXRs: the eye it was built from
    out.append("colors sRGB-encoded from scene-linear")
    return out


def usd_available() -> bool:
    """Whether this Blender has its bundled USD module (``pxr``)."""
    from ..glue.output.usd_bake import import_pxr
    try:
        import_pxr()
    except DepthCloudError:
        return False
    return True


# ------------------------------------------------------------------ run
def run_build(args, console) -> int:
    t_start = time.perf_counter()
    scene = resolve_scene(args)
    src = source_from_args(args, scene)
    for warning in getattr(args, "pose_warnings", ()):  # --poses: non-unit quaternions, unused poses
        console.warning(warning)
    spec, camera, clip = src.spec, src.camera, src.clip
    fmt = output_format(args.output, args.format)
    if fmt == "usd" and not usd_available():
        raise UsageError(f"--output {args.output!r}: USD output needs Blender's bundled USD module (pxr), "
                             f"which this Blender lacks; write .ply or .blend")
    all_frames = args.frames if args.frames is not None else scene_frames(scene)
    frames = select_frames(all_frames, args.chunk)
    output = abspath(args.output)
    plan = plan_outputs(fmt, output, frames, chunked=bool(args.chunk and args.chunk[1] > 1))

    chunk_text = f", chunk {args.chunk[0]}/{args.chunk[1]} of {frame_ranges_text(all_frames)}" if args.chunk else ""
    if not frames:
        console.line(f"{console.prog}: nothing to do: no frames{chunk_text}")
        return EXIT_OK
    console.line(f"{console.prog}: {len(frames)} frame(s) {frame_ranges_text(frames)}{chunk_text}"
                 f" from {rel_path(spec.path)} -> {rel_path(output)} ({fmt})")

    runner = _PlyRun if fmt == "ply" else _RangeRun
    state = runner(args, console, scene, spec, camera, clip, fmt, len(frames))
    for item_frames, path in plan:
        state.item(item_frames, path)
    return state.finish(time.perf_counter() - t_start)


class _Run:
    def __init__(self, args, console, scene, spec, camera, clip, fmt, total):
        self.args, self.console, self.scene, self.spec = args, console, scene, spec
        self.camera, self.clip, self.fmt, self.total = camera, clip, fmt, total
        self.done = 0
        self.written, self.skipped, self.missing, self.empty = [], [], [], []
        self.missing_paths = set()  # which inputs were missing: "main", "color"
        self.points = 0
        #: Outputs of empty frames, written only when the run does not fail (``_write_empties``).
        self.pending_empty = []

    def prefix(self, frame):
        self.done += 1
        width = len(str(self.total))
        return f"[{self.done:>{width}}/{self.total}] frame {frame}:"

    def point_set(self, frame):
        """The frame's PointSet, or None when an input file is missing (recorded)."""
        missing = _missing_input(self.spec, frame)
        if missing:
            self.missing.append(frame)
            self.note_missing(frame)
            return None, f"MISSING {rel_path(missing)}"
        try:
            with np.errstate(all="ignore"):
                point_set, _model = build_glue.checked_point_set(self.scene, self.spec, frame, self.camera,
                                                                   self.clip)
        except InvalidDepthError as err:
            self.empty.append((frame, str(err)))
            self.warn(frame, [f"empty cloud: {err}"])
            return _empty_point_set(), f"WARNING empty cloud: {err}"
        except DepthCloudError as err:
            raise _in_frame(err, frame) from err
        self.warn(frame, point_set.meta.get("warnings", ()))
        self.points += len(point_set)
        return point_set, None

    def warn(self, frame, warnings):
        """The frame's warnings: ``warning:`` lines on stderr, or (``--strict``) the run's failure
        before the frame is written."""
        diags = Diagnostics(warnings).in_frame(frame) if frame is not None else Diagnostics(warnings)
        if getattr(self.args, "strict", False):
            err = strict_error(diags, f"frame {frame}" if frame is not None else "the run")
            if err is not None:
                raise err
        for d in diags:
            self.console.warning(d)

    def note_missing(self, frame):
        main, color = self.spec.paths(frame)
        if main and not os.path.exists(main):
            self.missing_paths.add("main")
        if color and not os.path.exists(color):
            self.missing_paths.add("color")

    def finish(self, seconds) -> int:
        c = self.console
        bits = [f"{len(self.written)} written"]
        if self.skipped:
            bits.append(f"{len(self.skipped)} skipped (exist)")
        if self.empty:
            bits.append(f"{len(self.empty)} empty (frames {frame_ranges_text(f for f, _ in self.empty)})")
        if self.missing:
            bits.append(f"{len(self.missing)} missing (frames {frame_ranges_text(self.missing)})")
        c.line(f"{c.prog}: done in {seconds:.2f} s: {', '.join(bits)}; {self.points:,} points{c.warnings_text()}")
        if self.missing and len(self.missing) == self.total and not self.args.allow_missing:
            options = "--source, --color" if "color" in self.missing_paths else "--source"
            c.error(f"no input found: {self.missing_text()} for every frame "
                    f"({frame_ranges_text(self.missing)}); check {options} and --frames")
            return EXIT_FAILURE
        nonmissing = self.total - len(self.skipped) - len(self.missing)
        if nonmissing and len(self.empty) == nonmissing:
            self.remove_empty_outputs()
            c.error(f"every frame gave an empty cloud; first: {self.empty[0][1]}")
            return EXIT_FAILURE
        self.write_pending_empty()
        if self.missing and not self.args.allow_missing:
            c.error(f"{len(self.missing)} input frame(s) missing: {frame_ranges_text(self.missing)} "
                    f"(reported above; --allow-missing makes this exit 0)")
            return EXIT_MISSING
        return EXIT_OK

    def missing_text(self):
        """What is missing: the depth file, the color file or both (``--color nosuch.png``
        names the color file, not the depth file that exists)."""
        main, color = "main" in self.missing_paths, "color" in self.missing_paths
        if color and main:
            return f"{self.spec.path} and the color file {self.spec.color_path} are missing"
        if color:
            return f"the color file {self.spec.color_path} (--color) is missing (the depth file exists)"
        return f"{self.spec.path} is missing"

    def write_pending_empty(self):
        for write in self.pending_empty:
            write()
        self.pending_empty = []

    def remove_empty_outputs(self):
        """A failed run leaves no output a rerun would skip as done: the empty frames' files
        are not written (PLY) or are removed (a range output holding only empty frames)."""
        self.pending_empty = []
        for path in getattr(self, "empty_outputs", ()):
            with contextlib.suppress(OSError):
                os.remove(path)


def _in_frame(err, frame):
    """The same error (same type) with its message prefixed by the frame number."""
    err.args = (f"frame {frame}: {err}",)
    return err


def _empty_point_set():
    return PointSet(positions=np.zeros((0, 3), np.float32), colors=np.zeros((0, 4), np.float32),
                    pixels=np.zeros((0, 2), np.int32), radius=np.zeros(0, np.float32))


class _PlyRun(_Run):
    def item(self, frames, path):
        frame = frames[0]
        t0 = time.perf_counter()
        if os.path.exists(path) and not self.args.overwrite:
            self.skipped.append(frame)
            self.console.line(f"{self.prefix(frame)} skipped, {rel_path(path)} exists (--overwrite rebuilds)")
            return
        point_set, note = self.point_set(frame)
        if point_set is None:
            self.console.line(f"{self.prefix(frame)} {note}")
            return
        if not len(point_set) and self.empty and self.empty[-1][0] == frame:
            # written at the end, unless every frame is empty (then the run fails, file-less)
            self.pending_empty.append(lambda: write_ply(path, point_set, alpha=self.args.alpha,
                                                        radius=self.args.radius,
                                                        comments=_ply_comments(self.spec, frame, point_set)))
            self.written.append(frame)
            self.console.line(f"{self.prefix(frame)} 0 points -> {rel_path(path)}  {note}")
            return
        size = write_ply(path, point_set, alpha=self.args.alpha, radius=self.args.radius,
                         comments=_ply_comments(self.spec, frame, point_set))
        self.written.append(frame)
        dt = time.perf_counter() - t0
        extra = f"  {note}" if note else ""
        self.console.line(f"{self.prefix(frame)} {len(point_set):,} points -> {rel_path(path)} "
                          f"({size_text(size)}, {dt:.2f} s){extra}")


class _RangeRun(_Run):
    """One output for the whole range: a .blend holding the clouds, or a USD point cache."""

    def item(self, frames, path):
        if os.path.exists(path) and not self.args.overwrite:
            self.skipped.extend(frames)
            self.console.line(f"frames {frame_ranges_text(frames)}: skipped, {rel_path(path)} exists "
                              f"(--overwrite rebuilds)")
            return
        if self.fmt == "blend":
            self._blend(frames, path)
        else:
            self._usd(frames, path)

    def _blend(self, frames, path):
        from ..glue.sequence.build import keyed_memory  # one datablock per frame: state it, refuse beyond the machine
        present = [f for f in frames if _missing_input(self.spec, f) is None]
        if present:
            try:
                self.console.line(keyed_memory(self.scene, self.spec, present, "the .blend's clouds",
                                               "write PLY or USD (one frame at a time)",
                                               getattr(self.args, "pixel_ids", None)))
            except SettingsError as err:
                raise UsageError(str(err)) from err
        built = []
        for frame in frames:
            t0 = time.perf_counter()
            missing = _missing_input(self.spec, frame)
            if missing:
                self.missing.append(frame)
                self.note_missing(frame)
                self.console.line(f"{self.prefix(frame)} MISSING {rel_path(missing)}")
                continue
            try:
                with blender_quiet(not self.args.verbose), np.errstate(all="ignore"):
                    ob, point_set = build_glue.build_cloud_object(self.scene, self.spec, frame, self.camera, self.clip,
                                                                  pixel_ids=getattr(self.args, "pixel_ids", None),
                                                                  strict=getattr(self.args, "strict", False))
            except InvalidDepthError as err:
                self.empty.append((frame, str(err)))
                self.warn(frame, [f"no cloud: {err}"])
                self.console.line(f"{self.prefix(frame)} WARNING no cloud: {err}")
                continue
            except DepthCloudError as err:
                raise _in_frame(err, frame) from err
            self.warn(frame, point_set.meta.get("warnings", ()))
            built.append(frame)
            self.points += len(point_set)
            self.console.line(f"{self.prefix(frame)} {len(point_set):,} points -> object {ob.name!r} "
                              f"({time.perf_counter() - t0:.2f} s)")
        if not built:
            return
        t0 = time.perf_counter()
        with atomic_output(path) as tmp:
            with blender_quiet(not self.args.verbose):
                result = bpy.ops.wm.save_as_mainfile(filepath=tmp, copy=True, check_existing=False)
            if 'FINISHED' not in result:
                raise SourceFileError(path, "Blender could not save the .blend")
        self.written.extend(built)
        self.console.line(f"saved {len(built)} cloud(s) -> {rel_path(path)} ({size_text(os.path.getsize(path))}, "
                          f"{time.perf_counter() - t0:.2f} s)")

    def _usd(self, frames, path):
        """Stream the range into one USD point cache with the baker the Bake operator uses
        (one frame in memory at a time; written to a temporary file moved in place)."""
        from ..glue.output import usd_bake
        present = []
        for frame in frames:
            missing = _missing_input(self.spec, frame)
            if missing:
                self.missing.append(frame)
                self.note_missing(frame)
                self.console.line(f"{self.prefix(frame)} MISSING {rel_path(missing)}")
            else:
                present.append(frame)
        if not present:
            return

        def progress(done, total, frame, points, seconds):
            self.points += points
            self.console.line(f"{self.prefix(frame)} {points:,} points ({seconds:.2f} s)")

        try:
            with np.errstate(all="ignore"):
                result = usd_bake.bake(self.scene, self.spec, present, path, self.camera, self.clip,
                                       progress=progress)
        except DepthCloudError as err:
            raise (_in_frame(err, present[0]) if len(present) == 1 else err) from err
        try:
            self.warn(None, result.warnings)
        except DepthCloudError:
            with contextlib.suppress(OSError):  # --strict: no doubtful cache left for a rerun to skip
                os.remove(path)
            raise
        self.empty.extend((f, f"frame {f}: no surface") for f in result.empty)
        self.written.extend(result.frames)
        if set(result.empty) >= set(present):
            self.empty_outputs = [*getattr(self, "empty_outputs", []), path]
        self.console.line(f"saved {len(present)} frame(s) -> {rel_path(path)} ({size_text(os.path.getsize(path))})")
