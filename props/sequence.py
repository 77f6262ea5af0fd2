"""Sequence settings saved in the .blend: what to build (``scene.depth_cloud.sequence``) and
what a sequence object plays back (``object.depth_cloud.sequence``)."""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from . import fields

MODES = [
    ('LAZY', "Lazy", "One object plays the sequence; each frame is built from its files the first time it "
                     "is shown, then kept in the cache"),
    ('PRELOAD', "Preload", "One object plays the sequence; every frame is built now (as far as the cache "
                           "budget allows) so playback never waits for files"),
    ('KEYED', "Keyed Objects", "One Point Cloud object per frame, its viewport and render visibility keyed, "
                               "grouped in a collection"),
]


class DepthCloudSequenceSettings(bpy.types.PropertyGroup):
    """How Build Sequence works in this scene (``scene.depth_cloud.sequence``)."""

    use_scene_range: BoolProperty(name="Scene Range", default=True,
                                  description="Build the scene's frame range (else Start/End below)")
    frame_start: IntProperty(name="Start", default=1, description="First frame to build")
    frame_end: IntProperty(name="End", default=250, description="Last frame to build")
    frame_step: IntProperty(name="Step", default=1, min=1, description="Build every Nth frame")
    mode: EnumProperty(name="Mode", items=MODES, default='LAZY')
    cache_mb: FloatProperty(name="Cache Budget", default=2048.0, min=0.0, soft_max=65536.0, precision=1, step=100,
                          description="Unused since the budget became the add-on's preference (Preferences › "
                                      "Add-ons › Depth Cloud); kept so files saved before still open")
    prefetch: BoolProperty(name="Read Ahead", default=True,
                           description="Decode the next frames' EXRs on a background thread during playback")
    viewport_detail: IntProperty(name="Viewport Detail", default=1, min=1, max=64,
                                 description="Play back every Nth pixel in the viewport (when coarser than the "
                                             "build's detail); renders use the build's detail")


class DepthCloudSequenceObject(bpy.types.PropertyGroup):
    """What a sequence object plays back (``object.depth_cloud.sequence``)."""

    is_sequence: BoolProperty(name="Is Depth Cloud Sequence", default=False)
    uid: StringProperty(name="Sequence ID", description="Identifies this sequence's cached frames")
    source: fields.source_path()
    color_source: fields.source_path("Color Source")
    kind: fields.kind()
    convention: fields.convention()
    near: fields.near()
    far: fields.far()
    layer: fields.layer()
    view: fields.view()
    depth_channel: fields.depth_channel()
    color_channels: fields.color_channels()
    position_channels: fields.position_channels()
    detail: fields.detail()
    mask: fields.mask()
    mask_pass: fields.mask_pass()
    mask_threshold: fields.mask_threshold()
    normals: fields.normals()
    attributes: fields.attributes()
    deep_samples: fields.deep_samples()
    deep_min_alpha: fields.deep_min_alpha()
    depth_scale: fields.depth_scale()
    invalid_value: fields.invalid_value()
    camera: fields.camera("Camera that rendered the passes (empty: the camera named in each file, else the "
                          "scene camera at that frame)")
    clip: fields.clip()
    frame_start: IntProperty(name="Start", default=1)
    frame_end: IntProperty(name="End", default=1)
    frame_step: IntProperty(name="Step", default=1, min=1)
    missing: StringProperty(name="Missing Frames", description="Frames whose files were missing at build time")
    mesh: PointerProperty(type=bpy.types.Mesh, name="Own Mesh",
                          description="The sequence's own Mesh, saved with the file (playback shows ready "
                                      "per-frame meshes in between)")


classes = (DepthCloudSequenceSettings, DepthCloudSequenceObject)
