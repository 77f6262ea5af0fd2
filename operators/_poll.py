"""Shared ``poll`` checks: each explains itself with ``poll_message_set``."""


def source_ready(cls, context, verb: str, what: str = "the EXR file") -> bool:
    """A scene whose Depth Cloud source is set, in Object Mode."""
    if context.scene is None:
        return False
    if not context.scene.depth_cloud.exr_path.strip():
        cls.poll_message_set(f"Set {what} of the depth or position pass first")
        return False
    return object_mode(cls, context, verb)


def object_mode(cls, context, verb: str) -> bool:
    """Object Mode, where operators add and replace objects."""
    if context.mode != 'OBJECT':
        cls.poll_message_set(f"Switch to Object Mode to {verb}")
        return False
    return True
