"""Lane (window): every panel of the extension drawn in the real UI, with no Python error.

1. The 3D Viewport sidebar's Depth Cloud tab as a user first sees it (secondary sub-panels
   closed): screenshot ``panels_first_view``, kept as docs/img/app_panel.png, and another after
   the mouse wheel over the sidebar: the driver checks nothing scrolled (it fits 1080p).
2. Every sub-panel opened (re-registered without DEFAULT_CLOSED, the Channels and Masks boxes
   unfolded) and drawn in the 3D Viewport (of the Modeling workspace: the Layout viewport keeps
   the closed state it showed), Compositor and Image Editor sidebars, each tab clicked and the
   sidebar scrolled with the mouse wheel so every panel comes into view. Each ``draw`` is counted.
"""
import functools
import os
import sys

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # lane.py puts tests/ on the path too
import lane  # noqa: E402


def _counted(cls, draws):
    original = cls.draw

    @functools.wraps(original)
    def draw(self, context):
        draws[cls.bl_idname] += 1
        return original(self, context)
    return draw


def steps():
    ui = lane.extension().ui
    panels = [c for c in ui.classes if issubclass(c, bpy.types.Panel)]
    draws = {c.bl_idname: 0 for c in panels}
    lane.RESULT["draws"] = draws
    scene = bpy.context.scene
    area = lane.area_of('VIEW_3D')
    yield from lane.open_sidebar_tab(area)
    yield 1.0
    sidebar = lane.region_of(area, 'UI')
    lane.RESULT["sidebar_rect"] = lane.region_rect(sidebar)
    # fits: the wheel over the sidebar's empty bottom scrolls nothing (the driver compares)
    yield lane.xdo("mousemove", *lane.screen_xy(sidebar, sidebar.width / 2, 12))
    yield 0.5
    yield lane.shot("panels_first_view")
    for _ in range(3):
        yield lane.xdo("click", "5")
        yield 0.3
    yield 0.5
    yield lane.shot("panels_first_view_wheeled")

    # every panel open, every box unfolded, each draw counted
    for cls in reversed(panels):
        bpy.utils.unregister_class(cls)
    for cls in panels:
        cls.bl_options = set(getattr(cls, "bl_options", set())) - {'DEFAULT_CLOSED'}
        cls.draw = _counted(cls, draws)
        bpy.utils.register_class(cls)
    scene.depth_cloud.show_channels = scene.depth_cloud.show_masks = True
    lane.window().workspace = bpy.data.workspaces["Modeling"]
    yield 1.0
    area = lane.area_of('VIEW_3D')
    yield from lane.open_sidebar_tab(area)
    yield from scroll_through(area, "panels_view3d_open")

    if bpy.app.version < (5, 0, 0):
        scene.use_nodes = True
    area.ui_type = 'CompositorNodeTree'
    yield 0.5
    yield from lane.open_sidebar_tab(area)
    yield from scroll_through(area, "panels_compositor_open")

    area.ui_type = 'IMAGE_EDITOR'
    area.spaces.active.image = bpy.data.images.load(lane.out("render", "seq_0001.exr"))
    yield 0.5
    yield from lane.open_sidebar_tab(area)
    yield from scroll_through(area, "panels_image_open")


def scroll_through(area, name):
    """Steps: a screenshot of the sidebar's top, then wheel down over it until its end has
    been in view (panels out of view are not drawn)."""
    yield 1.0
    yield lane.shot(name)
    ui = lane.region_of(area, 'UI')
    x, y = lane.screen_xy(ui, ui.width / 2, ui.height / 2)
    yield lane.xdo("mousemove", x, y)
    yield 0.2
    for _ in range(12):
        yield lane.xdo("click", "5")
        yield 0.3
    yield lane.shot(name + "_end")


lane.run(steps)
