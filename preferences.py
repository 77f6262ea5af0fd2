"""The add-on's preferences: what belongs to the machine, not to a scene (Blender's Preferences
› Add-ons › Depth Cloud, saved with the user's preferences, not in .blend files)."""
import bpy
from bpy.props import FloatProperty

from .glue.preferences import DEFAULT_CACHE_MB


class DepthCloudPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    cache_mb: FloatProperty(
        name="Cache Budget", default=DEFAULT_CACHE_MB, min=0.0, soft_max=65536.0, precision=1, step=100,
        description="Memory (MB) this Blender process keeps for sequence playback, shared by every scene "
                    "and file: decoded frames (16 bytes per point) and ready meshes; least recently shown "
                    "frames are dropped first")

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "cache_mb", text="Cache Budget (MB)")


classes = (DepthCloudPreferences,)
