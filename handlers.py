"""Application handlers: thin, persistent and removed on unregister.

``frame_change_post`` makes every sequence object show its frame (``glue.playback``); it
runs in viewport playback, scrubbing and F12 animation renders (it calls no operator and
reads no window). ``render_init``/``render_complete``/``render_cancel`` tell playback a render
(with ``render_pre``) is running (renders use the build's detail, the viewport its Viewport
Detail). ``load_post`` forgets the previous file's frames and makes sure the frame
handler is attached; ``save_pre`` puts the sequences' own meshes back in place of ready
frame meshes (``glue.frame_meshes``); ``undo_post``/``redo_post`` forget what the meshes showed.
"""
import bpy
from bpy.app.handlers import persistent


@persistent
def depth_cloud_frame_change(scene, depsgraph=None):
    from .glue.sequence import playback
    playback.on_frame_change(scene, depsgraph)


@persistent
def depth_cloud_load_post(*_args):
    from .glue.sequence import playback
    playback.after_load()
    _attach("frame_change_post", depth_cloud_frame_change)


@persistent
def depth_cloud_save_pre(*_args):
    from .glue.sequence import playback
    playback.before_save(bpy.data)


@persistent
def depth_cloud_undo_post(*_args):
    from .glue.sequence import playback
    playback.forget_shown()
    playback.drop_unused(bpy.data)


@persistent
def depth_cloud_render_init(scene=None, *_args):
    """render_init and render_pre: the first frame of an animation render is set before
    render_init, so sequence objects are shown again (at the render's detail) when a render
    starts."""
    from .glue.sequence import playback
    if playback.set_rendering(True) and isinstance(scene, bpy.types.Scene):
        playback.on_frame_change(scene)


@persistent
def depth_cloud_render_done(*_args):
    from .glue.sequence import playback
    playback.set_rendering(False)


HANDLERS = (
    ("frame_change_post", depth_cloud_frame_change),
    ("load_post", depth_cloud_load_post),
    ("load_factory_startup_post", depth_cloud_load_post),
    ("save_pre", depth_cloud_save_pre),
    ("undo_post", depth_cloud_undo_post),
    ("redo_post", depth_cloud_undo_post),
    ("render_init", depth_cloud_render_init),
    ("render_pre", depth_cloud_render_init),
    ("render_complete", depth_cloud_render_done),
    ("render_cancel", depth_cloud_render_done),
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


classes = ()


def on_register():
    for list_name, fn in HANDLERS:
        _attach(list_name, fn)


def on_unregister():
    for list_name, fn in HANDLERS:
        handlers = getattr(bpy.app.handlers, list_name)
        for old in [h for h in handlers if h is fn or _same(h, fn)]:
            handlers.remove(old)
    from .glue.sequence import playback
    playback.shutdown()
