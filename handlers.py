"""Application handlers: thin, persistent and removed on unregister.

``frame_change_post`` makes every sequence object show its frame (``glue.playback``); it
runs in viewport playback, scrubbing and F12 animation renders (it calls no operator and
reads no window). ``load_post`` forgets the previous file's frames and makes sure the frame
handler is attached; ``undo_post``/``redo_post`` forget what the meshes showed.
"""
import bpy
from bpy.app.handlers import persistent


@persistent
def depth_cloud_frame_change(scene, depsgraph=None):
    from .glue import playback
    playback.on_frame_change(scene, depsgraph)


@persistent
def depth_cloud_load_post(*_args):
    from .glue import playback
    playback.reset_all()
    _attach("frame_change_post", depth_cloud_frame_change)


@persistent
def depth_cloud_undo_post(*_args):
    from .glue import playback
    playback.forget_shown()
    playback.drop_unused(bpy.data)


HANDLERS = (
    ("frame_change_post", depth_cloud_frame_change),
    ("load_post", depth_cloud_load_post),
    ("load_factory_startup_post", depth_cloud_load_post),
    ("undo_post", depth_cloud_undo_post),
    ("redo_post", depth_cloud_undo_post),
)


def _same(a, b):
    return getattr(a, "__name__", None) == b.__name__ and getattr(a, "__module__", None) == b.__module__


def _attach(list_name, fn):
    handlers = getattr(bpy.app.handlers, list_name)
    if fn not in handlers:
        # a reloaded module leaves the previous function object behind: replace it
        for old in [h for h in handlers if _same(h, fn)]:
            handlers.remove(old)
        handlers.append(fn)


def register():
    for list_name, fn in HANDLERS:
        _attach(list_name, fn)


def unregister():
    for list_name, fn in HANDLERS:
        handlers = getattr(bpy.app.handlers, list_name)
        for old in [h for h in handlers if h is fn or _same(h, fn)]:
            handlers.remove(old)
    from .glue import playback
    playback.shutdown()
