"""Sequence sub-panels (3D Viewport and Compositor): build settings, Build Sequence, and the
active sequence object's playback state."""
from __future__ import annotations

import bpy

from ..glue import preferences
from .layout import property_column
from .panels import sidebar_subpanels


def draw_sequence(layout, context):
    scene = context.scene
    s = scene.depth_cloud.sequence
    col = property_column(layout)
    col.prop(s, "mode")
    col.prop(s, "use_scene_range")
    sub = col.column(align=True)
    if s.use_scene_range:
        sub.prop(scene, "frame_start", text="Start")
        sub.prop(scene, "frame_end", text="End")
    else:
        sub.prop(s, "frame_start")
        sub.prop(s, "frame_end")
    sub.prop(s, "frame_step")
    if s.mode != 'KEYED':
        prefs = preferences.settings()
        if isinstance(prefs, bpy.types.AddonPreferences):  # the machine's budget, shown where it is set
            col.prop(prefs, "cache_mb", text="Cache (MB)")
        col.prop(s, "prefetch")
        col.prop(s, "viewport_detail")
    layout.operator("depth_cloud.build_sequence", icon='SEQUENCE')

    obj = context.active_object
    if obj is None or obj.type != 'MESH' or not obj.depth_cloud.sequence.is_sequence:
        return
    from ..glue import compat, datablock
    from ..glue.sequence import playback
    seq = obj.depth_cloud.sequence
    box = layout.box()
    box.label(text=f"{obj.name}: frames {seq.frame_start}-{seq.frame_end}"
                   + (f" step {seq.frame_step}" if seq.frame_step > 1 else ""), icon='POINTCLOUD_DATA')
    cache = playback.cache()
    player = playback.player(seq.uid)
    mine = [k for k in cache.keys() if k[0] == seq.uid]
    box.label(text=f"Cached: {len(mine)} frames, all sequences {cache.nbytes / playback.MB:.0f} of "
                   f"{cache.budget / playback.MB:.0f} MB")
    mod = obj.modifiers.get(datablock.POINTS_MODIFIER)
    if mod is not None and mod.node_group is not None:
        try:
            box.prop(*compat.modifier_input_property(mod, datablock.point_size_key(mod)), text="Point Size")
        except KeyError:
            pass
    if seq.missing:
        box.label(text=f"Missing at build: {seq.missing}", icon='ERROR')
    if player is not None and player.reports:
        for frame, message in player.reports[-3:]:
            box.label(text=f"Frame {frame}: {message}", icon='ERROR')


classes = sidebar_subpanels("sequence", "Sequence", draw_sequence)
