"""The add-on's preferences: what belongs to the machine, not to a scene (Blender's Preferences
› Add-ons › Depth Cloud, saved with the user's preferences, not in .blend files)."""
import bpy
from bpy.props import FloatProperty, IntProperty

from .glue.preferences import (
    AUTOMATIC_MAX_WORKERS,
    DEFAULT_CACHE_MB,
    DEFAULT_KEEP_MB,
    DEFAULT_READ_AHEAD_WORKERS,
    MAX_READ_AHEAD_WORKERS,
    automatic_workers,
)


class DepthCloudPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    cache_mb: FloatProperty(
        name="Cache Budget", default=DEFAULT_CACHE_MB, min=0.0, soft_max=65536.0, precision=1, step=100,
        description="Memory (MB) this Blender process keeps for sequence playback, shared by every scene "
                    "and file: decoded frames (16 bytes per point) and ready meshes; least recently shown "
                    "frames are dropped first")
    read_ahead_workers: IntProperty(
        name="Read-Ahead Workers", default=DEFAULT_READ_AHEAD_WORKERS, min=0, max=MAX_READ_AHEAD_WORKERS,
        soft_max=AUTOMATIC_MAX_WORKERS,
        description="Threads that decode the next frames' EXRs while a sequence plays for the first time "
                    f"(0 = Automatic: one per core, at most {AUTOMATIC_MAX_WORKERS}). Each reads one frame at a "
                    "time and holds it until it is shown; takes effect the next time a frame is read ahead")

    keep_memory_mb: FloatProperty(
        name="Keep Freed Memory", default=DEFAULT_KEEP_MB, min=0.0, max=2047.0, precision=0, step=100,
        description="Linux: memory (MB) Blender keeps when a cloud is freed instead of handing it back to the "
                    "system, so the next build or frame reuses it without page faults (tens of milliseconds "
                    "of a 1080p build on virtual machines). It grows with the clouds built, up to this "
                    "size; 0 leaves the system allocator as it is")

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "cache_mb", text="Cache Budget (MB)")
        layout.prop(self, "keep_memory_mb", text="Keep Freed Memory (MB)")
        row = layout.row()
        row.prop(self, "read_ahead_workers", text="Read-Ahead Workers")
        if self.read_ahead_workers == 0:
            row.label(text=f"Automatic: {automatic_workers()}")


classes = (DepthCloudPreferences,)
