"""The camera of one render view (Stereoscopy), as Blender's renderer computes it.

Follows Blender's ``BKE_camera_multiview_model_matrix`` / ``BKE_camera_multiview_shift_x`` /
``BKE_camera_multiview_render`` (``blenkernel/intern/camera.cc``), which Cycles and EEVEE use
for each view:

- *Stereo 3D* views format: the eye named ``left`` is the left eye, any other view the right.
  The eye is moved along the camera's local X by the interocular distance (half of it each
  way with the Center pivot; not at all for the eye the pivot is on). *Off-Axis* also shifts
  the lens horizontally so both eyes converge at the convergence distance; *Toe-in* rotates
  each eye about its local Y towards that point instead; *Parallel* only moves the eye.
- *Multi-View* format: each view renders through the camera object named like the scene
  camera with the view's camera suffix (``Camera_L``), unchanged.

Only called from ``glue/camera.py``, the one place a Blender camera becomes a CameraModel.
"""
from __future__ import annotations

import math

import numpy as np

from ...core.errors import CameraError

LEFT = "left"


def _render_view(scene, view: str):
    rv = scene.render.views.get(view)
    if rv is None:
        names = ", ".join(v.name for v in scene.render.views)
        raise CameraError(f"view {view!r} is not one of scene {scene.name!r}'s render views ({names}); "
                          "the file was rendered with other Stereoscopy views")
    return rv


def view_camera_object(scene, cam_obj, view: str):
    """The camera object a view renders through (Multi-View format: ``<camera><suffix>``)."""
    rv = _render_view(scene, view)
    if scene.render.views_format != 'MULTIVIEW' or not rv.camera_suffix:
        return cam_obj
    base = cam_obj.name
    for v in scene.render.views:  # Blender strips any view's suffix to find the base name
        if v.camera_suffix and base.endswith(v.camera_suffix):
            base = base[:-len(v.camera_suffix)]
            break
    ob = scene.objects.get(base + rv.camera_suffix)
    return ob if ob is not None and ob.type == 'CAMERA' else cam_obj


def view_matrix_and_shift(scene, ev_cam, view: str, cam_to_world: np.ndarray):
    """``(camera-to-world 4x4 without scale, shift_x)`` of ``view`` for the evaluated camera."""
    _render_view(scene, view)
    cam = ev_cam.data
    if scene.render.views_format != 'STEREO_3D':
        return cam_to_world, float(cam.shift_x)
    st = cam.stereo
    is_left = view == LEFT
    interocular, convergence = float(st.interocular_distance), float(st.convergence_distance)
    pivot, mode = st.pivot, st.convergence_mode
    if (pivot == 'LEFT' and is_left) or (pivot == 'RIGHT' and not is_left):
        return cam_to_world, float(cam.shift_x)
    fac = 0.5 if pivot == 'CENTER' else 1.0
    fac_signed = fac if is_left else -fac
    shift_x = float(cam.shift_x)
    if mode == 'OFFAXIS':
        shift_x += (interocular / float(cam.sensor_width)) * (float(cam.lens) / convergence) * fac_signed
    if mode != 'TOE':
        return cam_to_world @ _translate(-interocular * fac_signed), shift_x
    if pivot == 'CENTER':
        fac, fac_signed = -fac, -fac_signed
    angle = math.atan((interocular * 0.5) / convergence) / fac
    rot = _rot_y(angle * fac_signed)
    if pivot == 'CENTER':
        toe = rot.copy()
        toe[0, 3] = interocular * fac_signed
        return cam_to_world @ toe, shift_x
    return cam_to_world @ rot @ _translate(-interocular * fac_signed) @ rot, shift_x


def _translate(x: float) -> np.ndarray:
    m = np.eye(4)
    m[0, 3] = x
    return m


def _rot_y(angle: float) -> np.ndarray:
    """Blender's ``rotmat`` (column-major ``[0][2] = sin``): x' = cos x + sin z (row-vector
    storage), i.e. as a column-vector matrix ``[[c, 0, -s], [0, 1, 0], [s, 0, c]]``."""
    c, s = math.cos(angle), math.sin(angle)
    m = np.eye(4)
    m[0, 0], m[0, 2], m[2, 0], m[2, 2] = c, -s, s, c
    return m
