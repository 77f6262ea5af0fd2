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

import dataclasses
import json

import numpy as np

from ..errors import CameraError
from .model import CameraModel

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


def _where(path) -> str:
    """``"path: "`` to start a message, or nothing when the path is not known."""
    return f"{path}: " if path else ""


def camera_to_header(model: CameraModel) -> dict:
    """Header attributes describing ``model`` (string values)."""
    return {HEADER_CAMERA: json.dumps(model.to_dict(), separators=(",", ":"))}


#: Blender writes at most this many characters of the stamp note into an EXR header
#: (``render.stamp_note_text`` itself holds 767; the header gets the first 511).
NOTE_MAX_CHARS = 511

#: Short names used in the stamp note (expanded when read; long names are read too).
_NOTE_ALIASES = {
    "cam_to_world": "m", "width": "w", "height": "h", "projection": "p", "lens": "f", "sensor_width": "sw",
    "sensor_height": "sh", "sensor_fit": "fit", "shift_x": "sx", "shift_y": "sy", "ortho_scale": "os",
    "clip_start": "cs", "clip_end": "ce", "pixel_aspect_x": "ax", "pixel_aspect_y": "ay", "panorama": "pano",
}
_NOTE_PANO_ALIASES = {
    "type": "t", "fisheye_fov": "fov", "fisheye_lens": "fl", "latitude_min": "lat0", "latitude_max": "lat1",
    "longitude_min": "lon0", "longitude_max": "lon1", "central_cylindrical_radius": "cr",
    **{f"fisheye_polynomial_k{i}": f"k{i}" for i in range(5)},
    **{f"central_cylindrical_range_{a}_{b}": f"c{a}{i}" for a in "uv" for i, b in enumerate(("min", "max"))},
}
_NOTE_EXPAND = {v: k for k, v in _NOTE_ALIASES.items()}
_NOTE_PANO_EXPAND = {v: k for k, v in _NOTE_PANO_ALIASES.items()}
#: Fields a projection doesn't use (left out of the note).
_UNUSED = {"PERSP": ("ortho_scale",), "ORTHO": ("lens",), "PANO": ("lens", "ortho_scale")}


def _short(value, digits=7):
    """Floats to ``digits`` significant digits (7: 5e-8 relative, far below a pixel; angles
    and lens data are float32 in Blender anyway), integral ones as ints, recursively."""
    if isinstance(value, float):
        value = float(f"{value:.{digits}g}")
        return int(value) if value.is_integer() and abs(value) < 1e15 else value
    if isinstance(value, (list, tuple)):
        return [_short(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: _short(v, digits) for k, v in value.items()}
    return value


def _short_matrix(values):
    """Camera matrix: rotation to 7 digits, translation to 9 (exact float32: a camera far
    from the origin must keep its position to well under the depth of what it sees)."""
    return [_short(v, 9 if i % 4 == 3 else 7) for i, v in enumerate(values)]


def compact_camera_dict(model: CameraModel) -> dict:
    """:meth:`CameraModel.to_dict` without fields at their default value and with floats cut
    to 7 significant digits (9 for the camera position): what fits in a stamp note
    (:data:`NOTE_MAX_CHARS`).
    :meth:`CameraModel.from_dict` reads it back."""
    defaults = {f.name: f.default for f in dataclasses.fields(CameraModel)
                if f.default is not dataclasses.MISSING}
    out = {}
    for key, value in model.to_dict().items():
        if key in defaults and key != "projection" and value == defaults[key]:
            continue
        if key == "panorama" and not value:
            continue
        out[key] = _short_matrix(value) if key == "cam_to_world" else _short(value)
    return out


def camera_to_note(model: CameraModel, extra: dict | None = None) -> str:
    """Stamp-note text carrying the camera (and e.g. the depth convention) as JSON.

    Compact (see :func:`compact_camera_dict`) so it fits in Blender's stamp note; raises
    CameraError if it still would not (Blender would cut it and the JSON would be lost).
    """
    cam = compact_camera_dict(model)
    cam["cam_to_world"] = cam["cam_to_world"][:12]  # the last row is always 0 0 0 1
    for key in _UNUSED.get(model.projection, ()):
        cam.pop(key, None)
    pano = cam.get("panorama") or {}
    if pano.get("type") not in ("FISHEYE_EQUISOLID", "FISHEYE_LENS_POLYNOMIAL") and model.projection == "PANO":
        for key in ("sensor_width", "sensor_height", "sensor_fit"):  # only those lens models use the sensor
            cam.pop(key, None)
    if pano:
        cam["panorama"] = {_NOTE_PANO_ALIASES.get(k, k): v for k, v in pano.items()}
    payload = {"camera": {_NOTE_ALIASES.get(k, k): v for k, v in cam.items()}}
    payload.update(extra or {})
    text = NOTE_PREFIX + json.dumps(payload, separators=(",", ":"))
    if len(text) > NOTE_MAX_CHARS:
        raise CameraError(f"camera description is {len(text)} characters, more than the {NOTE_MAX_CHARS} "
                          "Blender keeps in the stamp note")
    return text


def _note_payload(header: dict) -> dict:
    note = _text(header.get("Note"))
    if not note or not note.startswith(NOTE_PREFIX):
        return {}
    try:
        payload = json.loads(note[len(NOTE_PREFIX):])
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _expand(data):
    """Undo the stamp note's abbreviations (short names, 3x4 matrix)."""
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object, got {type(data).__name__}")
    data = {_NOTE_EXPAND.get(k, k): v for k, v in data.items()}
    m = data.get("cam_to_world")
    if isinstance(m, list) and len(m) == 12:
        data["cam_to_world"] = list(m) + [0.0, 0.0, 0.0, 1.0]
    if isinstance(data.get("panorama"), dict):
        data["panorama"] = {_NOTE_PANO_EXPAND.get(k, k): v for k, v in data["panorama"].items()}
    return data


def camera_from_header(header: dict, path: str = "") -> CameraModel | None:
    """The camera a self-describing EXR carries, or None when it carries none."""
    raw = _text(header.get(HEADER_CAMERA))
    data = None
    if raw:
        try:
            data = json.loads(raw)
        except ValueError as err:
            raise CameraError(f"{_where(path)}header {HEADER_CAMERA!r} is not valid JSON ({err})") from err
    else:
        data = _note_payload(header).get("camera")
    if data is None:
        return None
    try:
        return CameraModel.from_dict(_expand(data))
    except (TypeError, KeyError, ValueError) as err:
        raise CameraError(f"{_where(path)}header camera is incomplete ({err})") from err


def convention_from_header(header: dict) -> tuple[str, float, float] | None:
    """``(convention, near, far)`` from the header (or the note), or None."""
    conv = _text(header.get(HEADER_CONVENTION))
    if conv:
        return conv, _float(header.get(HEADER_NEAR)) or 0.0, _float(header.get(HEADER_FAR)) or 0.0
    payload = _note_payload(header)
    if "convention" in payload:
        return payload["convention"], _float(payload.get("near")) or 0.0, _float(payload.get("far")) or 0.0
    return None


def blender_camera_name(header: dict) -> str | None:
    """Name of the camera object Blender recorded in the header (``Camera``)."""
    return _text(header.get(BLENDER_CAMERA_NAME)) or None


# ====================================================================== other renderers' cameras
#: OpenEXR's standard attributes (RenderMan conventions), written by RenderMan, Mantra, Arnold…
WORLD_TO_CAMERA = "worldToCamera"
WORLD_TO_NDC = "worldToNDC"
#: Nuke: a camera's ``world_matrix`` (16 numbers, row-major, translation in the last column),
#: ``focal`` and ``haperture``/``vaperture`` in mm, as shown in Foundry's Python Developers
#: Guide ("Metadata"). Nuke shows header keys with an ``exr/`` prefix; the file holds them without.
NUKE_CAMERA_PREFIXES = ("nuke/camera/", "exr/nuke/camera/")
#: Vendor keys that are recognised and reported but not used: their axis conventions are not
#: documented by the vendors (and differ between host applications).
UNDOCUMENTED_CAMERA_KEYS = {
    "V-Ray": ("cameraTransform", "cameraFov", "cameraFocalLength", "cameraAperture", "cameraProjection"),
    "Redshift": ("RSCameraTransform", "RSCameraFOV", "RSCameraAperture"),
}
#: Header cameras carry no clip range: keep every depth.
_NO_CLIP = (0.0, 1e30)
_TOL = 1e-4


def _matrix(value):
    """A header value as a finite float64 4x4 matrix, or None."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        text = _text(value).strip().strip("[]{}()")
        try:
            value = [float(v) for v in text.replace(",", " ").split()]
        except ValueError:
            return None
    try:
        m = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if m.size != 16:
        return None
    m = m.reshape(4, 4)
    return m if np.all(np.isfinite(m)) else None


def _float(value):
    try:
        v = float(_text(value) if isinstance(value, bytes) else value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _pixel_aspect(header) -> float:
    """EXR ``pixelAspectRatio`` (pixel width / height), 1 when absent or bad."""
    v = _float(header.get("pixelAspectRatio"))
    return v if v and v > 0 else 1.0


def standard_camera_matrices(header: dict) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(worldToCamera, worldToNDC)`` as float64 4x4 arrays (None where missing)."""
    return _matrix(header.get(WORLD_TO_CAMERA)), _matrix(header.get(WORLD_TO_NDC))


def camera_from_standard(header: dict, size: tuple[int, int], path: str = "") -> CameraModel | None:
    """Camera from OpenEXR's standard ``worldToCamera`` + ``worldToNDC`` (or None).

    Conventions (OpenEXR ``ImfStandardAttributes.h``, same as RenderMan): points are row
    vectors multiplied on the left (``p @ M``, translation in the last row); camera space is
    left-handed, +X right, +Y up, looking down +Z; NDC is ``(0, 0)`` at the top-left and
    ``(1, 1)`` at the bottom-right corner of the display window, after the perspective
    division. ``size`` is the display window ``(width, height)``.

    The result is a PERSP or ORTHO CameraModel with a horizontal sensor fit (a 36 mm sensor,
    the focal length and shift that reproduce the projection, the pixel aspect it implies).
    Projections that model can't represent (skew, rotated or mirrored image axes) raise.
    """
    w2c, w2n = standard_camera_matrices(header)
    if w2c is None or w2n is None:
        return None
    width, height = int(size[0]), int(size[1])
    where = _where(path)
    try:
        cam_to_rman = np.linalg.inv(w2c.T)  # column-vector camera -> world
        q = (np.linalg.inv(w2c) @ w2n).T  # column-vector camera -> NDC (homogeneous)
    except np.linalg.LinAlgError as err:
        raise CameraError(f"{where}header {WORLD_TO_CAMERA} cannot be inverted") from err
    # RenderMan camera space (left-handed, looks down +Z) -> Blender's (looks down -Z)
    cam_to_world = cam_to_rman @ np.diag([1.0, 1.0, -1.0, 1.0])
    w = q[3]
    if abs(w[2]) > abs(w[3]):
        projection, q = "PERSP", q / w[2]
        a, b, c, d = q[0, 0], q[0, 2], q[1, 1], q[1, 2]
        off = (q[0, 1], q[0, 3], q[1, 0], q[1, 3], q[3, 0], q[3, 1], q[3, 3])
    else:
        if w[3] == 0:
            raise CameraError(f"{where}header {WORLD_TO_NDC} has no usable projection (w row {w.tolist()})")
        projection, q = "ORTHO", q / w[3]
        a, b, c, d = q[0, 0], q[0, 3], q[1, 1], q[1, 3]
        off = (q[0, 1], q[0, 2], q[1, 0], q[1, 2], q[3, 0], q[3, 1], q[3, 2])
    scale = max(abs(a), abs(c), 1e-300)
    if max(abs(v) for v in off) > _TOL * scale:
        raise CameraError(f"{where}header {WORLD_TO_NDC} holds a skewed or rotated projection that a "
                          f"camera with lens, sensor and shift cannot represent")
    if not (a > 0 and c < 0):
        raise CameraError(f"{where}header {WORLD_TO_NDC} mirrors the image (NDC x must grow to the right and "
                          f"y downwards)")
    # x_pixel = a W xn + b W ; y_pixel = c H yn + d H  (xn, yn: x/z, y/z or x, y)
    ycor = -(a * width) / (c * height)  # pixel height / pixel width
    fields = dict(cam_to_world=cam_to_world, width=width, height=height, projection=projection,
                  sensor_fit="HORIZONTAL", shift_x=0.5 - b, shift_y=(d - 0.5) * height * ycor / width,
                  pixel_aspect_x=1.0, pixel_aspect_y=ycor, clip_start=_NO_CLIP[0], clip_end=_NO_CLIP[1])
    if projection == "PERSP":
        fields.update(sensor_width=36.0, lens=36.0 * a, sensor_height=36.0 * ycor * height / width)
    else:
        fields.update(ortho_scale=1.0 / a)
    return CameraModel(**fields)


def camera_to_standard(model: CameraModel) -> dict:
    """``{worldToCamera, worldToNDC}`` (float32 4x4, OpenEXR/RenderMan conventions) of a
    perspective or orthographic camera, e.g. to write them into an EXR header."""
    if model.projection not in ("PERSP", "ORTHO"):
        raise CameraError(f"{model.projection} cameras have no {WORLD_TO_NDC} matrix")
    flip = np.diag([1.0, 1.0, -1.0, 1.0])
    w2c = flip @ model.world_to_cam  # column-vector world -> RenderMan camera
    pix, dx, dy = model.view_plane()
    ycor = model.ycor
    a, b = 1.0 / (pix * model.width), 0.5 - dx / model.width
    c, d = -1.0 / (pix * ycor * model.height), 0.5 + dy / (ycor * model.height)
    near, far = model.clip_start, model.clip_end
    if not (0 < near < far < 1e29):
        near, far = 0.1, 1000.0
    if model.projection == "PERSP":  # NDC z: 0 at the near plane, 1 at the far plane
        zr = [0, 0, far / (far - near), -far * near / (far - near)]
        q = np.array([[a, 0, b, 0], [0, c, d, 0], zr, [0, 0, 1, 0]], dtype=np.float64)
    else:
        zr = [0, 0, 1 / (far - near), -near / (far - near)]
        q = np.array([[a, 0, 0, b], [0, c, 0, d], zr, [0, 0, 0, 1]], dtype=np.float64)
    # contiguous: the OpenEXR bindings ignore strides when writing a matrix (a .T view comes out transposed)
    return {WORLD_TO_CAMERA: np.ascontiguousarray(w2c.T, dtype=np.float32),
            WORLD_TO_NDC: np.ascontiguousarray((q @ w2c).T, dtype=np.float32)}


def _nuke_value(header, key):
    for prefix in NUKE_CAMERA_PREFIXES:
        if prefix + key in header:
            return header[prefix + key]
    return None


def camera_from_nuke(header: dict, size: tuple[int, int], path: str = "") -> CameraModel | None:
    """Camera from Nuke's ``nuke/camera/{matrix,focal,haperture}`` keys (or None).

    The matrix is the camera's world matrix (camera looks down -Z, +Y up, like Blender's);
    the horizontal aperture spans the image width; pixel aspect from ``pixelAspectRatio``.
    """
    m = _matrix(_nuke_value(header, "matrix"))
    focal = _float(_nuke_value(header, "focal"))
    hap = _float(_nuke_value(header, "haperture"))
    if m is None or focal is None or hap is None:
        return None
    if not (focal > 0 and hap > 0):
        raise CameraError(f"{_where(path)}Nuke camera focal ({focal}) and haperture ({hap}) "
                          "must be positive")
    vap = _float(_nuke_value(header, "vaperture")) or hap * size[1] / size[0]
    return CameraModel(cam_to_world=m, width=int(size[0]), height=int(size[1]), lens=focal, sensor_width=hap,
                       sensor_height=vap, sensor_fit="HORIZONTAL", pixel_aspect_x=_pixel_aspect(header),
                       pixel_aspect_y=1.0, clip_start=_NO_CLIP[0], clip_end=_NO_CLIP[1])


def header_camera(header: dict, size: tuple[int, int], path: str = "") -> tuple[CameraModel | None, str | None]:
    """``(CameraModel, source)`` of the camera an EXR header describes, or ``(None, None)``.

    Order: Depth Cloud's own camera (``depthCloud/camera`` or the stamp note), the standard
    ``worldToCamera``/``worldToNDC``, Nuke's ``nuke/camera/*``. ``size`` is the display
    window; the Depth Cloud camera keeps its own frame size.
    """
    model = camera_from_header(header, path)
    if model is not None:
        source = HEADER_CAMERA if _text(header.get(HEADER_CAMERA)) else f"Note ({NOTE_PREFIX})"
        return model, source
    model = camera_from_standard(header, size, path)
    if model is not None:
        return model, f"{WORLD_TO_CAMERA}/{WORLD_TO_NDC}"
    model = camera_from_nuke(header, size, path)
    if model is not None:
        return model, "nuke/camera/*"
    return None, None


def _describe_model(model: CameraModel) -> str:
    loc = ", ".join(f"{v:.4g}" for v in model.location)
    if model.projection == "PERSP":
        what = (f"perspective, lens {model.lens:.4g} mm on {model.sensor_width:.4g} mm "
                f"({model.sensor_fit.lower()} fit), shift ({model.shift_x:.4g}, {model.shift_y:.4g})")
    elif model.projection == "ORTHO":
        what = f"orthographic, scale {model.ortho_scale:.4g}, shift ({model.shift_x:.4g}, {model.shift_y:.4g})"
    else:
        pano = dict(model.panorama or {})
        kind = pano.pop("type", "?")
        what = f"panoramic {kind}" + (" (" + ", ".join(f"{k} {v:.4g}" for k, v in pano.items()) + ")" if pano else "")
    aspect = ("" if abs(model.ycor - 1) < 1e-6
              else f", pixel aspect {model.pixel_aspect_x:.4g}:{model.pixel_aspect_y:.4g}")
    return f"{what}{aspect}, {model.width}x{model.height}, at ({loc})"


def describe_cameras(header: dict, size: tuple[int, int] | None = None) -> list:
    """Human-readable lines about every camera description found in a header (for ``info``).

    ``size`` defaults to the header's display window. Lines say which description is used
    (the first usable one, in :func:`header_camera`'s order) and which are ignored and why.
    """
    if size is None:
        disp = header.get("displayWindow")
        try:
            (x0, y0), (x1, y1) = disp
            size = (int(x1) - int(x0) + 1, int(y1) - int(y0) + 1)
        except (TypeError, ValueError):
            size = (1, 1)
    lines, used = [], False

    def add(source, build):
        nonlocal used
        try:
            model = build()
        except CameraError as err:
            lines.append(f"{source}: unusable ({err})")
            return
        if model is None:
            return
        lines.append(f"{source}: {_describe_model(model)}" + ("" if used else "  [used]"))
        used = True

    if _text(header.get(HEADER_CAMERA)):
        add(HEADER_CAMERA, lambda: camera_from_header({HEADER_CAMERA: header[HEADER_CAMERA]}))
    if _note_payload(header).get("camera") is not None:
        add(f"Note ({NOTE_PREFIX})", lambda: camera_from_header({"Note": header["Note"]}))
    elif (_text(header.get("Note")) or "").startswith(NOTE_PREFIX) and not _note_payload(header):
        lines.append(f"Note ({NOTE_PREFIX}): not valid JSON ({len(_text(header['Note']))} characters; "
                     f"Blender keeps the first {NOTE_MAX_CHARS})")
    w2c, w2n = standard_camera_matrices(header)
    if w2c is not None and w2n is not None:
        add(f"{WORLD_TO_CAMERA}/{WORLD_TO_NDC}", lambda: camera_from_standard(header, size))
    elif w2c is not None or w2n is not None:
        have, miss = (WORLD_TO_CAMERA, WORLD_TO_NDC) if w2c is not None else (WORLD_TO_NDC, WORLD_TO_CAMERA)
        lines.append(f"{have}: found without {miss}: not enough to unproject")
    if any(_nuke_value(header, k) is not None for k in ("matrix", "focal", "haperture")):
        add("nuke/camera/*", lambda: camera_from_nuke(header, size) or _raise_incomplete("nuke/camera/*"))
    for vendor, keys in UNDOCUMENTED_CAMERA_KEYS.items():
        found = [k for k in keys if k in header]
        if found:
            lines.append(f"{vendor} camera keys ({', '.join(found)}): not used, their axis conventions are "
                         "not documented")
    conv = convention_from_header(header)
    if conv is not None:
        near_far = f" (near {conv[1]:g}, far {conv[2]:g})" if conv[1] or conv[2] else ""
        lines.append(f"depth convention: {conv[0]}{near_far}")
    name = blender_camera_name(header)
    if name:
        lines.append(f"Blender camera name: {name!r}" + ("" if used else " (looked up in the scene)"))
    if not lines:
        lines.append("no camera in the header")
    return lines


def _raise_incomplete(source):
    raise CameraError(f"{source} is incomplete (needs matrix, focal and haperture)")
