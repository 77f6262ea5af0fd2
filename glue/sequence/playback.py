"""Sequence playback: one Mesh object shows the current frame's points.

The frame-change handler (``handlers.py``) calls :func:`on_frame_change`, which for every
sequence object of the scene writes the frame's points into the object's Mesh (displayed as
points by the "Mesh to Points" modifier, see ``datablock.write_mesh_points``). Frames come
from a memory-bounded LRU cache of compact frames (``core.framecache``); a frame not in the
cache is built from its files on first visit, with its EXR usually decoded ahead on a
background thread. No operator is called (safe during renders), nothing reads
``context.window``, and a frame that cannot be built shows no points and is reported once.

Players and the cache are keyed by the sequence's ``uid`` (saved on the object), never by
object names.
"""
from __future__ import annotations

import os
import sys
import traceback
from dataclasses import replace

import bpy
import numpy as np

from ...core.errors import CameraError, DepthCloudError
from ...core.images import read as depth_images
from ...core.points.inputs import SourceSpec
from ...core.points.passes import read_frame_passes
from ...core.sequence.framecache import (
    DEFAULT_RADIUS,
    CachedFrame,
    FrameCache,
    Prefetcher,
    decode_colors,
    decode_normals,
)
from .. import datablock, inputs, memory, preferences
from ..frames import is_stepping
from ..source import reading_options, sequence_spec
from . import frame_meshes

MB = 1024 * 1024
DEFAULT_BUDGET_MB = 2048
#: Frames read ahead of the playhead: at least this many, and at least one per read-ahead
#: worker (the add-on preferences' Read-Ahead Workers), so that no worker idles.
READ_AHEAD = 2

class PlaybackState:
    """Everything playback keeps for the process, in one place with one reset (a file opened,
    the extension unregistered): the frame cache, the players, failures reported once."""

    def __init__(self):
        self.cache = FrameCache(DEFAULT_BUDGET_MB * MB)
        self.players: dict = {}  # sequence uid -> Player
        self.rendering = False  # a render runs (render_init .. render_complete/cancel)
        self.unexpected_reported: set = set()  # (uid, error type, message) reported once
        self.scratch = {"colors": np.empty((0, 4), np.float32), "radius": np.empty(0, np.float32),
                        "normals": np.empty((0, 3), np.float32)}

    def reset(self):
        """Forget every sequence: players (read-ahead stopped), cached frames, reported failures."""
        for uid in list(self.players):
            reset(uid)
        self.cache.clear()
        self.unexpected_reported.clear()


_state = PlaybackState()
_EMPTY = (np.empty((0, 3), np.float32), np.empty((0, 4), np.float32), np.empty(0, np.float32))


def cache() -> FrameCache:
    """The one cache shared by all sequences (its budget is the add-on preferences' Cache Budget)."""
    return _state.cache


class Player:
    """Playback state of one sequence (by uid): shown frames, failures, read-ahead."""

    def __init__(self, uid: str, signature: tuple):
        self.uid = uid
        self.signature = signature
        self.shown: dict = {}  # Mesh session_uid -> frame it holds (None: no points)
        self.failed: dict = {}  # frame -> (message, file stat when it failed)
        self.reports: list = []  # (frame, message), each failure reported once
        self.prefetcher: Prefetcher | None = None
        self.last_frame = None
        self.builds = 0
        self.read_ahead_hits = 0

    def stop(self):
        if self.prefetcher is not None:
            self.prefetcher.stop()
            self.prefetcher = None


def set_rendering(on: bool) -> bool:
    """Renders in progress (render_init .. render_complete/cancel) use the build's detail;
    True when that changed."""
    changed = _state.rendering != bool(on)
    _state.rendering = bool(on)
    return changed


def spec_of(obj, scene=None) -> SourceSpec:
    """What ``obj`` plays back; in the viewport (not while rendering) at the scene's
    *Viewport Detail* when that is coarser than the build's detail."""
    spec = sequence_spec(obj.depth_cloud.sequence)
    coarse = scene.depth_cloud.sequence.viewport_detail if scene is not None and not _state.rendering else 1
    return replace(spec, detail=coarse) if coarse > spec.detail else spec


def _signature(obj, scene=None) -> tuple:
    s = obj.depth_cloud.sequence
    cam = s.camera.session_uid if s.camera is not None else None
    return (s.source, s.color_source, *reading_options(s).values(), cam, s.clip, spec_of(obj, scene).detail)


def player_for(obj, scene=None) -> Player:
    """The player of ``obj``'s sequence; a changed source (or detail: viewport against
    render) forgets its frames."""
    uid = obj.depth_cloud.sequence.uid
    sig = _signature(obj, scene)
    player = _state.players.get(uid)
    if player is None or player.signature != sig:
        if player is not None:
            reset(uid)
        player = _state.players[uid] = Player(uid, sig)
    return player


def player(uid: str) -> Player | None:
    return _state.players.get(uid)


def reset(uid: str):
    """Forget everything about sequence ``uid`` (cached frames, failures, read-ahead)."""
    old = _state.players.pop(uid, None)
    if old is not None:
        old.stop()
    _state.cache.discard_where(lambda key: key[0] == uid)


def reset_all():
    _state.reset()


def sequence_objects(scene):
    return [ob for ob in scene.objects if ob.type == 'MESH' and ob.depth_cloud.sequence.is_sequence]


def source_frame(settings, frame: int):
    """``(source_frame, exact)``: the sequence frame shown at scene ``frame`` (frames between
    steps hold the previous one), or ``(None, False)`` outside the range."""
    start, end, step = settings.frame_start, settings.frame_end, max(1, settings.frame_step)
    if frame < start or frame > end:
        return None, False
    held = frame - (frame - start) % step
    return held, held == frame


def apply_budget(scene=None):
    """The cache's budget from the add-on's preferences (the machine's, not the scene's). A
    value that is no size (NaN, inf, negative: set by a script) gives the default, said once;
    a frame-change handler never fails on it."""
    mb, raw = preferences.cache_budget_mb(), float(preferences.settings().cache_mb)
    if mb != raw and ("cache_mb", repr(raw)) not in _state.unexpected_reported:
        _state.unexpected_reported.add(("cache_mb", repr(raw)))
        print(f"Depth Cloud: Cache Budget (add-on preferences) is {raw}, not a size in MB; using {mb:g} MB",
              file=sys.stdout, flush=True)
    _state.cache.set_budget(int(mb * MB))


def read_ahead_workers() -> int:
    """The read-ahead's worker threads from the add-on's preferences (0 there: one per core,
    ``glue.preferences.automatic_workers``). A value that is no count (set by a script) gives
    the nearest count, said once; a frame-change handler never fails on it."""
    workers, as_set = preferences.read_ahead_workers()
    if not as_set:
        raw = repr(getattr(preferences.settings(), "read_ahead_workers", None))
        if ("read_ahead_workers", raw) not in _state.unexpected_reported:
            _state.unexpected_reported.add(("read_ahead_workers", raw))
            print(f"Depth Cloud: Read-Ahead Workers (add-on preferences) is {raw}, not a count from 0 (automatic) "
                  f"to {preferences.MAX_READ_AHEAD_WORKERS}; using {workers}", file=sys.stdout, flush=True)
    return workers


def _stat(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _report_once(player: Player, obj, frame: int, message: str, detail: str = ""):
    if (frame, message) in player.reports:
        return
    player.reports.append((frame, message))
    print(f"Depth Cloud: sequence {obj.name!r}, frame {frame}: {message}; showing no points for this frame",
          file=sys.stdout, flush=True)
    if detail:
        print(detail, file=sys.stderr, flush=True)


def own_mesh(obj):
    """The sequence's own Mesh (saved with the file; written when no ready Mesh may hold the
    frame). Files from before ready meshes: the object's Mesh becomes it."""
    s = obj.depth_cloud.sequence
    mesh = s.mesh
    if mesh is None:
        mesh = obj.data
        if frame_meshes.is_ready_mesh(mesh):
            if _state.rendering:  # nothing is created during renders: this Mesh stops being a ready one
                key = frame_meshes.frame_of(mesh)
                if key is not None:
                    frame_meshes.forget(key)
                    _state.cache.discard_extra(key)
                del mesh[frame_meshes.TAG]
                return mesh
            mesh = bpy.data.meshes.new(obj.name)
        if not _state.rendering:
            s.mesh = mesh
    return mesh


def _extra_bytes(n: int, normals, attributes) -> int:
    """What a ready Mesh of ``n`` points takes: position, Col, radius, normal, named passes."""
    per_point = 32 + (12 if normals is not None else 0)
    per_point += sum(4 * int(np.prod(np.shape(a)[1:])) for a in (attributes or {}).values())
    return per_point * n + 1024


def _mesh_to_write(obj, frame, n, normals, attributes):
    """A new ready Mesh for ``frame`` when the budget has room for it (never during renders),
    else the sequence's own Mesh."""
    uid = obj.depth_cloud.sequence.uid
    key = (uid, frame)
    room = n and not _state.rendering and _state.cache.put_extra(key, _extra_bytes(n, normals, attributes),
                                                                  frame_meshes.release)
    if room:
        mesh = frame_meshes.new_mesh(f"{obj.name} frame {frame}")
        frame_meshes.track(key, mesh)
        return mesh
    return own_mesh(obj)


def write_frame(obj, entry: CachedFrame | None, point_set=None, frame=None):
    """Write ``entry`` (None: no points) into a Mesh and show it in the object: positions,
    colors, radii, and the normals and named passes (``attributes``, a mask's ``coverage``)
    the frame has. A frame just built passes its PointSet too: its float arrays are written
    as they are (no decoding; ``frame`` is its source frame). The Mesh is a new ready Mesh of
    the frame when the cache budget has room for one (``glue.frame_meshes``), else the
    sequence's own Mesh."""
    if point_set is not None and len(point_set):
        n = len(point_set)
        radius = point_set.radius if point_set.radius is not None else np.full(n, DEFAULT_RADIUS, np.float32)
        mesh = _mesh_to_write(obj, frame, n, point_set.normals, point_set.attributes)
        datablock.write_mesh_points(mesh, point_set.positions, point_set.colors, radius,
                                    point_set.normals, point_set.attributes)
        frame_meshes.use(obj, mesh)
        return
    if entry is None or len(entry) == 0:
        mesh = own_mesh(obj)
        datablock.write_mesh_points(mesh, *_EMPTY)
        frame_meshes.use(obj, mesh)
        return
    n = len(entry)
    mesh = _mesh_to_write(obj, entry.frame, n, entry.normal_codes, entry.attributes)
    if len(_state.scratch["radius"]) < n:  # reused buffers: no page faults per frame
        _state.scratch["colors"] = np.empty((n, 4), np.float32)
        _state.scratch["radius"] = np.empty(n, np.float32)
    rgba = decode_colors(entry.colors, out=_state.scratch["colors"][:n])
    if entry.plane is not None and entry.plane[0].any():
        radius = _state.scratch["radius"][:n]
        np.dot(entry.positions, entry.plane[0], out=radius)
        radius += np.float32(entry.plane[1])
    else:
        radius = entry.radius()
    normals = None
    if entry.normal_codes is not None:
        if len(_state.scratch["normals"]) < n:
            _state.scratch["normals"] = np.empty((n, 3), np.float32)
        normals = decode_normals(entry.normal_codes, out=_state.scratch["normals"][:n])
    datablock.write_mesh_points(mesh, entry.positions, rgba, radius, normals, entry.attributes)
    frame_meshes.use(obj, mesh)


def _prefetch_ok(spec: SourceSpec) -> bool:
    color = spec.color_path.strip()
    if spec.path.lower().endswith(depth_images.PNG + depth_images.TIFF):
        return False  # may need Blender's image loader, which only runs on the main thread
    return not color or color.lower().endswith(".exr")


def _read_ahead(player: Player, obj, scene, frame: int):
    s = obj.depth_cloud.sequence
    if not scene.depth_cloud.sequence.prefetch:
        if player.prefetcher is not None:
            player.prefetcher.want(())
        return
    spec = spec_of(obj, scene)
    if not _prefetch_ok(spec):
        return
    workers = read_ahead_workers()
    if player.prefetcher is not None and player.prefetcher.workers != workers:
        player.stop()  # the preference changed: a new read-ahead with the new count
    step = max(1, s.frame_step)
    direction = -1 if (player.last_frame is not None and frame < player.last_frame) else 1
    ahead = []
    f = frame
    while len(ahead) < max(READ_AHEAD, workers):
        f += direction * step
        if f < s.frame_start or f > s.frame_end:
            break
        if (player.uid, f) not in _state.cache and f not in player.failed:
            ahead.append(f)
    if player.prefetcher is None:
        if not ahead:
            return
        player.prefetcher = Prefetcher(lambda f, spec=spec: read_frame_passes(spec, f), workers=workers)
    player.prefetcher.want(ahead)


_UNKNOWN = object()


def show(obj, scene, depsgraph=None, frame=None, allow_build=True):
    """Make ``obj`` show scene frame ``frame`` (default: current). Returns the source frame
    shown, or None when it shows no points."""
    s = obj.depth_cloud.sequence
    player = player_for(obj, scene)
    frame = scene.frame_current if frame is None else int(frame)
    target, exact = source_frame(s, frame)
    current = _holding(obj, player)
    entry = _state.cache.get((player.uid, target)) if target is not None else None  # a use, for the LRU order
    ready = frame_meshes.ready((player.uid, target)) if target is not None else None
    if target is not None and current == target:
        result = target  # the mesh already holds it (frames between steps hold the previous one)
    elif ready is not None:
        frame_meshes.use(obj, ready)  # linked duplicates share the Mesh: each object is pointed at it
        result = target
    elif entry is not None:
        write_frame(obj, entry)
        result = target
    elif target is not None and exact and allow_build and scene.frame_subframe == 0.0:
        # Built with the camera as evaluated now, at this very frame (never at subframes).
        point_set = _build_visit(player, obj, scene, target, depsgraph)
        write_frame(obj, None, point_set, target)
        result = target if point_set is not None else None
    else:
        if current is not None:
            write_frame(obj, None)
        result = None
    if frame_meshes.frame_of(obj.data) is None:
        player.shown[obj.data.session_uid] = result  # the own Mesh (or a vanished ready one)
    if exact:
        _read_ahead(player, obj, scene, target)
    player.last_frame = frame
    frame_meshes.sweep(_state.rendering)
    return result


def _holding(obj, player):
    """The source frame the object's Mesh holds (None: no points), or _UNKNOWN."""
    key = frame_meshes.frame_of(obj.data)
    if key is not None:
        return key[1] if key[0] == player.uid else _UNKNOWN
    return player.shown.get(obj.data.session_uid, _UNKNOWN)


def _build_visit(player: Player, obj, scene, target: int, depsgraph):
    with memory.heap_only():  # the frame's arrays reuse what earlier frames freed (glue/memory.py)
        return _visit(player, obj, scene, target, depsgraph)


def _visit(player: Player, obj, scene, target: int, depsgraph):
    path, _color = spec_of(obj, scene).paths(target)
    failed = player.failed.get(target)
    if failed is not None and failed[1] == _stat(path):
        return None  # same file as when it failed: already reported
    passes = None
    try:
        got = player.prefetcher.take(target) if player.prefetcher is not None else None
        if got is not None:
            passes, err = got
            player.read_ahead_hits += 1
            if err is not None:
                raise err
        s = obj.depth_cloud.sequence
        point_set, model = inputs.point_set_for_frame(scene, spec_of(obj, scene), target, s.camera, s.clip,
                                                     depsgraph=depsgraph, passes=passes)
    except CameraError as err:  # fixed in the scene, not in the file: tried again on every visit
        _report_once(player, obj, target, str(err))
        return None
    except DepthCloudError as err:
        player.failed[target] = (str(err), _stat(path))
        _report_once(player, obj, target, str(err))
        return None
    except Exception as err:  # an unexpected failure: reported once with its traceback, not per frame
        player.failed[target] = (repr(err), _stat(path))
        _report_once(player, obj, target, f"unexpected error {err!r}", traceback.format_exc())
        return None
    player.failed.pop(target, None)
    player.builds += 1
    _state.cache.put((player.uid, target), CachedFrame.from_point_set(target, point_set, model))
    return point_set


def on_frame_change(scene, depsgraph=None):
    """The frame-change handler's work: every sequence object of ``scene`` shows its frame."""
    if is_stepping():  # a frame visited to evaluate something, not to be shown
        return
    objects = sequence_objects(scene)
    if not objects:
        return
    apply_budget(scene)
    for obj in objects:
        if obj.data is None or not obj.depth_cloud.sequence.uid:
            continue
        try:
            show(obj, scene, depsgraph)
        except Exception as err:  # never a traceback per frame: report once per sequence and error
            _report_unexpected(obj, scene.frame_current, err)


def _report_unexpected(obj, frame: int, err: Exception):
    key = (obj.depth_cloud.sequence.uid, type(err).__name__, str(err))
    if key in _state.unexpected_reported:
        return
    _state.unexpected_reported.add(key)
    print(f"Depth Cloud: sequence {obj.name!r}, frame {frame}: unexpected error {err!r} while showing the frame "
          "(reported once)", file=sys.stdout, flush=True)
    print(traceback.format_exc(), file=sys.stderr, flush=True)


def forget_shown():
    """After undo/redo the meshes hold what the undo step saved: show again on next change.
    Ready meshes are forgotten too (their datablocks may be other ones now) and rebuilt from
    the cached frames; the tagged ones nothing uses are removed."""
    for p in _state.players.values():
        p.shown.clear()
    for key in _state.cache.extra_keys():
        _state.cache.discard_extra(key)
    frame_meshes.forget_all()
    frame_meshes.sweep(_state.rendering, scan=True)


def before_save(bpy_data):
    """``save_pre``: objects showing a ready Mesh show their own Mesh instead, holding the same
    frame (a copy sharing the arrays), so saved files never hold a ready Mesh."""
    for obj in bpy_data.objects:
        if obj.type != 'MESH' or not obj.depth_cloud.sequence.is_sequence:
            continue
        mesh = obj.data
        if not frame_meshes.is_ready_mesh(mesh):
            continue
        s = obj.depth_cloud.sequence
        old = s.mesh
        home = mesh.copy()
        del home[frame_meshes.TAG]
        mesh.user_remap(home)  # every object showing it (linked duplicates)
        for other in bpy_data.objects:
            if other.data == home:
                other.depth_cloud.sequence.mesh = home
        if old is not None and old != home:
            name = old.name
            if old.users == 0:
                bpy.data.meshes.remove(old)
                home.name = name


def drop_unused(bpy_data):
    """Forget sequences no object refers to any more (e.g. undone builds)."""
    alive = {ob.depth_cloud.sequence.uid for ob in bpy_data.objects if ob.depth_cloud.sequence.is_sequence}
    for uid in [u for u in _state.players if u not in alive]:
        reset(uid)
    _state.cache.discard_where(lambda key: key[0] not in alive)


def after_load():
    """``load_post``: the previous file's frames and ready meshes are gone; tagged meshes the
    loaded file brought (an autosave's undo memory) are removed when unused."""
    reset_all()
    frame_meshes.forget_all()
    frame_meshes.sweep(_state.rendering, scan=True)


def shutdown():
    """Unregistering: objects get their own Mesh back (no ready Mesh is left on screen, where a
    save without the extension would keep it), the cache and the ready meshes are freed."""
    if isinstance(bpy.data, bpy.types.BlendData):  # not the restricted data of startup
        before_save(bpy.data)
    reset_all()
    frame_meshes.forget_all()
    if isinstance(bpy.data, bpy.types.BlendData):
        frame_meshes.sweep(False, scan=True)
