"""Cameras and conventions stored in EXR headers ("self-describing" renders).

Depth Cloud's own format: the string attribute ``depthCloud/camera`` holds the JSON of
:meth:`CameraModel.to_dict` (camera-to-world matrix, projection, lens, sensor and fit,
shift, clip, panorama settings, pixel aspect, frame size), and ``depthCloud/depthConvention``
(+ ``depthCloud/near``/``far``) the depth convention. Blender can only add text to its
headers through the stamp note (``Note``), so the same JSON is also accepted there behind
the prefix ``depthCloud:``.

Blender's own EXRs name the camera that rendered them in ``Camera`` (an object name).
"""
from __future__ import annotations

import json

from .camera import CameraModel
from .errors import CameraError

HEADER_CAMERA = "depthCloud/camera"
HEADER_CONVENTION = "depthCloud/depthConvention"
HEADER_NEAR = "depthCloud/near"
HEADER_FAR = "depthCloud/far"
NOTE_PREFIX = "depthCloud:"
BLENDER_CAMERA_NAME = "Camera"


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def camera_to_header(model: CameraModel) -> dict:
    """Header attributes describing ``model`` (string values)."""
    return {HEADER_CAMERA: json.dumps(model.to_dict(), separators=(",", ":"))}


def camera_to_note(model: CameraModel, extra: dict | None = None) -> str:
    """Stamp-note text carrying the camera (and e.g. the depth convention) as JSON."""
    payload = {"camera": model.to_dict()}
    payload.update(extra or {})
    return NOTE_PREFIX + json.dumps(payload, separators=(",", ":"))


def _note_payload(header: dict) -> dict:
    note = _text(header.get("Note"))
    if not note or not note.startswith(NOTE_PREFIX):
        return {}
    try:
        return json.loads(note[len(NOTE_PREFIX):])
    except ValueError:
        return {}


def camera_from_header(header: dict, path: str = "") -> CameraModel | None:
    """The camera a self-describing EXR carries, or None when it carries none."""
    raw = _text(header.get(HEADER_CAMERA))
    data = None
    if raw:
        try:
            data = json.loads(raw)
        except ValueError as err:
            raise CameraError(f"{path}: header {HEADER_CAMERA!r} is not valid JSON ({err})") from err
    else:
        data = _note_payload(header).get("camera")
    if data is None:
        return None
    try:
        return CameraModel.from_dict(data)
    except (TypeError, KeyError, ValueError) as err:
        raise CameraError(f"{path}: header camera is incomplete ({err})") from err


def convention_from_header(header: dict):
    """``(convention, near, far)`` from the header (or the note), or None."""
    conv = _text(header.get(HEADER_CONVENTION))
    if conv:
        return conv, float(header.get(HEADER_NEAR, 0.0) or 0.0), float(header.get(HEADER_FAR, 0.0) or 0.0)
    payload = _note_payload(header)
    if "convention" in payload:
        return payload["convention"], float(payload.get("near", 0.0)), float(payload.get("far", 0.0))
    return None


def blender_camera_name(header: dict) -> str | None:
    """Name of the camera object Blender recorded in the header (``Camera``)."""
    return _text(header.get(BLENDER_CAMERA_NAME)) or None
