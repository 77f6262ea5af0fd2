"""Shared ``poll`` checks: each explains itself with ``poll_message_set``."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import bpy


def source_ready(cls: type[bpy.types.Operator], context: bpy.types.Context, verb: str,
                 what: str = "the EXR file") -> bool:
    """A scene whose Depth Cloud source is set, in Object Mode."""
    if context.scene is None:
        return False
    if not context.scene.depth_cloud.exr_path.strip():
        cls.poll_message_set(f"Set {what} of the depth or position pass first")
        return False
    return object_mode(cls, context, verb)


def object_mode(cls: type[bpy.types.Operator], context: bpy.types.Context, verb: str) -> bool:
    """Object Mode, where operators add and replace objects."""
    if context.mode != 'OBJECT':
        cls.poll_message_set(f"Switch to Object Mode to {verb}")
        return False
    return True
