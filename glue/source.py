"""Cameras the pass files describe themselves (EXR headers), for frames built with no
camera chosen explicitly.

Resolution order (the first that applies wins):

1. an explicit Blender camera (the caller's, or the scene's Depth Cloud setting),
2. Depth Cloud's own camera in the header (``depthCloud/camera`` or the stamp note),
3. OpenEXR's standard ``worldToCamera``/``worldToNDC`` (then Nuke's ``nuke/camera/*``),
4. the camera object Blender named in the header (``Camera``), found in this scene,
5. the scene camera.

Steps 2–4 are here; 1 and 5 stay in ``glue.build.frame_inputs``.
"""
from __future__ import annotations

from ..core import metadata
from ..core.errors import CameraError


def camera_from_file(scene, passes):
    """``(CameraModel or None, camera object or None)`` for a frame's passes.

    A model when the header describes the camera (steps 2–3), else the Blender camera object
    the header names when this scene has it (step 4), else ``(None, None)``. A named camera
    missing from the scene adds a warning to ``passes.warnings``.
    """
    try:
        model, _source = metadata.header_camera(passes.header, passes.frame_size, passes.path)
    except CameraError as err:
        raise CameraError(f"{err} (choose a camera in the Depth Cloud settings to ignore the file's camera)") from err
    if model is not None:
        return model, None
    name = metadata.blender_camera_name(passes.header)
    if name:
        ob = scene.objects.get(name)
        if ob is not None and ob.type == 'CAMERA':
            return None, ob
        if scene.camera is not None:
            passes.warnings.append(f"{passes.path}: rendered by camera {name!r}, which is not in scene "
                                   f"{scene.name!r}; using the scene camera {scene.camera.name!r}")
    return None, None
