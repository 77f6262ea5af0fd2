"""Ready meshes: one Blender Mesh per cached sequence frame, swapped into the object.

Writing a cached frame into the one Mesh costs a copy per attribute (the evaluated copy
shares the arrays, so Blender copies them before they can be written) and first-touch page
faults; assigning ``obj.data`` a Mesh that already holds the frame costs neither. So, as far
as the cache budget allows (``core.framecache.FrameCache`` *extras*: they give way to the
compact frames first), each frame shown keeps its own Mesh, with no users while another
frame is on screen.

Safety rules:

* No Python reference to a ready Mesh is kept: a Mesh is found again by name and
  ``session_uid``; one that vanished (undo, file load, orphan purge, a rename) is forgotten
  and its frame written again, never an error.
* Ready meshes carry the ID property :data:`TAG`. Zero-user meshes are not written to .blend
  files; the one on screen is swapped for the sequence's own Mesh (``sequence.mesh``, which
  holds the same frame) before every save (``save_pre``), so saved files never hold a ready
  Mesh. Tagged meshes nobody tracks (brought back by undo, autosave recovery) are removed when
  nothing uses them.
* While a render runs, no Mesh is created or removed (removals wait for the render's end);
  frames are then written into the sequence's own Mesh as before.
* Material slots follow the Mesh on screen: a swapped-in Mesh takes its predecessor's list.
"""
from __future__ import annotations

import bpy

TAG = "depth_cloud_ready_frame"

class ReadyMeshes:
    """The ready meshes this process made, in one place with one reset (``forget_all``)."""

    def __init__(self):
        self.ready: dict = {}  # (uid, frame) -> (mesh name, session_uid)
        self.by_session: dict = {}  # session_uid -> (uid, frame)
        self.scan = False  # look for untracked tagged meshes at the next sweep
        self.doomed: list = []  # names (with session_uid) to remove once nothing uses them and no render runs


_meshes = ReadyMeshes()


def mesh_bytes(mesh) -> int:
    """Bytes of a ready Mesh's point attributes (what it counts against the cache budget)."""
    sizes = {'FLOAT_VECTOR': 12, 'FLOAT_COLOR': 16, 'FLOAT': 4, 'INT': 4, 'INT32_2D': 8, 'FLOAT2': 8,
             'BYTE_COLOR': 4, 'INT8': 1, 'BOOLEAN': 1, 'QUATERNION': 16}
    per_point = sum(sizes.get(a.data_type, 4) for a in mesh.attributes if a.domain == 'POINT')
    return per_point * len(mesh.vertices) + 1024


def _find(name, session_uid):
    mesh = bpy.data.meshes.get(name)
    if mesh is None or mesh.session_uid != session_uid:
        return None
    return mesh


def ready(key):
    """The ready Mesh of ``key`` (``(uid, frame)``), or None (never made, dropped, or vanished)."""
    item = _meshes.ready.get(key)
    if item is None:
        return None
    mesh = _find(*item)
    if mesh is None:
        forget(key)
    return mesh


def frame_of(mesh):
    """``(uid, frame)`` a tracked ready Mesh holds, or None."""
    if mesh is None:
        return None
    key = _meshes.by_session.get(mesh.session_uid)
    if key is None or _meshes.ready.get(key, (None,))[0] != mesh.name:
        return None
    return key


def new_mesh(name: str):
    mesh = bpy.data.meshes.new(name)
    mesh[TAG] = name
    return mesh


def is_ready_mesh(mesh) -> bool:
    return mesh is not None and mesh.get(TAG) is not None


def track(key, mesh):
    forget(key)
    _meshes.ready[key] = (mesh.name, mesh.session_uid)
    _meshes.by_session[mesh.session_uid] = key


def tracked_keys() -> list:
    """``(uid, frame)`` of every ready Mesh tracked now."""
    return list(_meshes.ready)


def forget(key):
    item = _meshes.ready.pop(key, None)
    if item is not None and _meshes.by_session.get(item[1]) == key:
        del _meshes.by_session[item[1]]
    return item


def release(key):
    """``FrameCache`` release callback: the frame's ready Mesh is no longer kept."""
    item = forget(key)
    if item is not None:
        _meshes.doomed.append(item)


def forget_all():
    """Stop tracking every ready Mesh (after undo or file load their datablocks may be other
    ones); the tagged meshes are removed by :func:`sweep` once unused."""
    _meshes.ready.clear()
    _meshes.by_session.clear()
    _meshes.doomed.clear()


def use(obj, mesh):
    """Show ``mesh`` in ``obj`` (material slots follow)."""
    old = obj.data
    if old == mesh:
        return
    if old is not None and [m for m in old.materials] != [m for m in mesh.materials]:
        mesh.materials.clear()
        for m in old.materials:
            mesh.materials.append(m)
    obj.data = mesh


def sweep(rendering: bool, scan: bool = False):
    """Remove dropped ready meshes nothing uses (never while rendering); ``scan`` (after undo
    or a file load) also removes every untracked tagged Mesh nothing uses."""
    _meshes.scan = _meshes.scan or scan
    if rendering:
        return
    doomed, _meshes.doomed[:] = list(_meshes.doomed), []
    for name, session_uid in doomed:
        mesh = _find(name, session_uid)
        if mesh is None:
            continue
        if mesh.users == 0:
            bpy.data.meshes.remove(mesh)
        else:
            _meshes.doomed.append((name, session_uid))  # on screen: removed once swapped away
    if not _meshes.scan:
        return
    _meshes.scan = False
    tracked = {item[1] for item in _meshes.ready.values()}
    for mesh in [m for m in bpy.data.meshes if m.users == 0 and is_ready_mesh(m)]:
        if mesh.session_uid not in tracked:
            bpy.data.meshes.remove(mesh)
