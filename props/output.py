"""Settings of the outputs (``scene.depth_cloud.output``): Render Passes and Bake to USD."""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, StringProperty

from ..enums import DEFAULT_CACHE_DIR

RENDER_FRAMES = [
    ('CURRENT', "Current Frame", "Render the current frame"),
    ('RANGE', "Scene Range", "Render the scene's frame range (start to end, with its step)"),
    ('CUSTOM', "Custom", "Render the frames listed in Frames, e.g. '1-240x3,300'"),
]
BAKE_FRAMES = [
    ('RANGE', "Scene Range", "Bake the scene's frame range (start to end, with its step)"),
    ('CUSTOM', "Custom", "Bake the frames listed in Frames, e.g. '1-240x3,300'"),
]


class DepthCloudOutputSettings(bpy.types.PropertyGroup):
    """Where rendered passes and USD point caches go (``scene.depth_cloud.output``)."""

    cache_dir: StringProperty(
        name="Cache Folder", subtype='DIR_PATH', default=DEFAULT_CACHE_DIR,
        description="Folder of the rendered passes, one multilayer EXR per frame named <scene>_####.exr")
    render_frames: EnumProperty(name="Render", items=RENDER_FRAMES, default='CURRENT')
    bake_frames: EnumProperty(name="Bake", items=BAKE_FRAMES, default='RANGE')
    frames: StringProperty(name="Frames", default="1-10",
                           description="Custom frames: 'START-END', 'START-ENDxSTEP', single frames, comma separated")
    usd_path: StringProperty(
        name="USD File", subtype='FILE_PATH', default="",
        description="The .usdc point cache to write (empty: <cache folder>/<scene>.usdc)")
    usd_size: FloatProperty(
        name="Point Size", default=1.0, min=0.001, soft_max=10.0,
        description="Multiplier of the point widths: at 1.0 a point is as wide as its pixel's footprint")
    usd_load: BoolProperty(name="Load After Bake", default=True,
                           description="Import the baked file with Blender's USD importer (streamed from disk)")


classes = (DepthCloudOutputSettings,)
