"""The one place that turns a Blender camera (at a given frame) into a core CameraModel."""
from __future__ import annotations

import numpy as np

from ...core.camera.model import CameraModel
from ...core.errors import CameraError
from ..frames import stepping


def render_frame_size(scene):
    """Blender's render size in pixels: ``resolution * percentage // 100`` (integer, as the
    renderer computes it)."""
    r = scene.render
    pct = r.resolution_percentage
    return (r.resolution_x * pct) // 100, (r.resolution_y * pct) // 100


def camera_matrix(cam_obj) -> np.ndarray:
    """Camera-to-world matrix as the renderer uses it: scale removed (columns normalized)."""
    m = np.array(cam_obj.matrix_world, dtype=np.float64)
    for k in range(3):
        n = np.linalg.norm(m[:3, k])
        if n == 0:
            raise CameraError(f"camera {cam_obj.name!r} has zero scale on axis {'XYZ'[k]}")
        m[:3, k] /= n
    return m


def resolve_camera(scene, camera=None):
    """The camera object to use: the given one, else the scene camera; a clear error if none."""
    cam = camera if camera is not None else scene.camera
    if cam is None:
        raise CameraError(f"scene {scene.name!r} has no camera: set the scene camera or choose one in "
                          "Depth Cloud settings")
    if cam.type != 'CAMERA':
        raise CameraError(f"object {cam.name!r} is a {cam.type.lower()}, not a camera")
    return cam


def camera_model(cam_obj, scene, frame=None, depsgraph=None, size=None, view=None) -> CameraModel:
    """CameraModel of ``cam_obj`` as the renderer saw it at ``frame`` (default: current).

    Evaluating another frame moves the scene there (so constraints, parents and drivers are
    evaluated exactly) and back again. ``size`` overrides the frame size (the stored pixels).
    ``view`` (a render view name such as ``'left'``) gives that eye's camera when the scene
    renders with Stereoscopy on (``glue/stereo.py``); None or a mono scene: the camera itself.
    """
    if frame is not None and int(frame) != scene.frame_current:
        current = (scene.frame_current, scene.frame_subframe)
        with stepping():  # a frame visited to evaluate the camera is not shown
            scene.frame_set(int(frame))
            try:
                return camera_model(cam_obj, scene, None, None, size, view)
            finally:
                scene.frame_set(current[0], subframe=current[1])
    if view and scene.render.use_multiview:
        from . import stereo  # the per-view camera, as Blender's renderer computes it
        cam_obj = stereo.view_camera_object(scene, cam_obj, view)
    if depsgraph is None:
        import bpy
        depsgraph = bpy.context.evaluated_depsgraph_get() if bpy.context.scene == scene else None
    ev = cam_obj.evaluated_get(depsgraph) if depsgraph is not None else cam_obj
    cam = ev.data
    r = scene.render
    width, height = size if size is not None else render_frame_size(scene)
    proj = cam.type
    panorama = {}
    if proj == 'PANO':
        from . import panorama as pano_glue  # panoramic camera support
        panorama = pano_glue.panorama_settings(cam)
    cam_to_world, shift_x = camera_matrix(ev), float(cam.shift_x)
    if view and scene.render.use_multiview:
        cam_to_world, shift_x = stereo.view_matrix_and_shift(scene, ev, view, cam_to_world)
    return CameraModel(
        cam_to_world=cam_to_world, width=int(width), height=int(height), projection=proj,
        lens=float(cam.lens), sensor_width=float(cam.sensor_width), sensor_height=float(cam.sensor_height),
        sensor_fit=cam.sensor_fit, shift_x=shift_x, shift_y=float(cam.shift_y),
        ortho_scale=float(cam.ortho_scale), clip_start=float(cam.clip_start), clip_end=float(cam.clip_end),
        pixel_aspect_x=float(r.pixel_aspect_x), pixel_aspect_y=float(r.pixel_aspect_y), panorama=panorama)


def crop_placement(scene, stored_size):
    """Where a stored image sits in the full render frame.

    Returns ``(frame_w, frame_h, x0, y0)`` (y0 from the top). A stored image the size of the
    full render is the frame itself; one the size of the scene's border region (border render
    with *Crop to Render Region*) sits at the border's offset, computed as Blender does
    (truncating ``border * size``). Any other size is taken as the full frame.
    """
    sw, sh = stored_size
    r = scene.render
    fw, fh = render_frame_size(scene)
    if (sw, sh) != (fw, fh) and r.use_border:
        xmin, xmax = int(r.border_min_x * fw), int(r.border_max_x * fw)
        ymin, ymax = int(r.border_min_y * fh), int(r.border_max_y * fh)
        if (xmax - xmin, ymax - ymin) == (sw, sh):
            return fw, fh, xmin, fh - ymax
    return sw, sh, 0, 0
