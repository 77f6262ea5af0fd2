"""Blender panoramic camera settings -> the plain dict kept in ``CameraModel.panorama``."""
from __future__ import annotations

from ...core.camera import lens as core_panorama
from ...core.errors import CameraError


def panorama_settings(cam_data) -> dict:
    """Panorama settings of a Blender camera datablock (only those its type uses).

    The settings are properties of ``bpy.types.Camera`` in Blender 4.2–5.0 (they were on
    ``camera.cycles`` before 4.0). Types this Blender doesn't have never reach here;
    a type Depth Cloud doesn't know gives a clear error.
    """
    kind = getattr(cam_data, "panorama_type", None)
    if kind not in core_panorama.TYPES:
        raise CameraError(f"camera {cam_data.name!r}: panoramic type {kind!r} is not supported; "
                          f"supported: {', '.join(core_panorama.TYPES)}")
    out = {"type": kind}
    for key in core_panorama.USED[kind]:
        value = getattr(cam_data, key, None)
        if value is None:
            raise CameraError(f"camera {cam_data.name!r}: this Blender has no setting {key!r} for {kind}")
        out[key] = float(value)
    return out
