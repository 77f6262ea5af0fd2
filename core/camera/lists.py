"""Camera list files: many viewpoints as plain numbers (JSON or CSV).

A camera list names the cameras that rendered a set of depth maps, optionally with the
depth (and color) file of each. Every camera is given in one of three ways:

* ``cam_to_world``: the 4x4 camera-to-world matrix (row-major, translation in the last
  column), or ``world_to_cam`` (its inverse, the "extrinsics" of many tools);
* ``location`` + ``look_at`` (+ optional ``up``);
* ``direction`` + ``distance`` (+ ``centroid``, default the origin): the *view direction*
  form of the classic "N depth maps around an object" setups.

View direction rule (``direction`` form): ``direction`` points **from the centroid toward
the camera**; the camera sits at ``centroid + distance * normalize(direction)`` and looks at
the centroid. Look-at rule (both ``look_at`` and ``direction`` forms): the camera's up (image
+Y) is the world up vector projected onto the image plane; the world up is ``up`` when
given, else world +Z, except when the view is (anti)parallel to Z (``|forward . Z| > 1 -
1e-6``), where it is world +Y. These are Blender's conventions: a camera looks down its
local -Z axis with +Y up (as ``to_track_quat('-Z', 'Y')``).

``convention`` says how the matrices' axes are meant: ``"BLENDER"`` (default; also OpenGL:
camera looks along -Z, +Y up) or ``"OPENCV"`` (OpenCV/COLMAP: camera looks along +Z, +Y down,
+X right); OPENCV matrices are converted by flipping the camera's Y and Z axes.

Intrinsics are any :class:`~.camera.CameraModel` field (``width``, ``height``,
``projection``, ``lens``, ``sensor_width``, ``sensor_height``, ``sensor_fit``, ``shift_x``,
``shift_y``, ``ortho_scale``, ``clip_start``, ``clip_end``, ``pixel_aspect_x``,
``pixel_aspect_y``), or ``fov`` (degrees, Blender's camera angle along the sensor-fit axis),
or pinhole pixels ``fx, fy, cx, cy`` (OpenCV meaning: pixel centres at integer coordinates,
origin at the top-left pixel's centre). ``width``/``height`` may be left out: the depth
file's size is used.

JSON::

    {"convention": "BLENDER",
     "defaults": {"lens": 30, "width": 128, "height": 128},
     "centroid": [0, 0, 0], "distance": 1.5,
     "cameras": [{"name": "v01", "depth": "v01.exr", "direction": [1, 1, 1]},
                 {"depth": "v02.exr", "cam_to_world": [[1,0,0,0],[0,1,0,0],[0,0,1,3],[0,0,0,1]]}]}

(a bare list of camera objects is accepted too; top-level keys other than ``cameras`` and
``convention`` are defaults for every camera).

CSV: one camera per row, a header row naming the columns: ``name``, ``depth``, ``color``,
``frame``, ``convention``, the 16 matrix entries ``m00 … m33`` (camera-to-world, row-major),
or ``dir_x, dir_y, dir_z`` with ``distance`` and optional ``centroid_x/y/z``, or
``loc_x/y/z`` with ``look_x/y/z``; optional ``up_x/y/z``; and intrinsics columns as above.
Empty cells are "not given". Relative file paths are relative to the list file's folder.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..errors import CameraError
from .model import CameraModel

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike

BLENDER = "BLENDER"
OPENCV = "OPENCV"
CONVENTIONS = (BLENDER, OPENCV)

#: When ``|forward . Z|`` exceeds this, the world up is +Y instead of +Z.
PARALLEL_LIMIT = 1.0 - 1e-6

_MODEL_FIELDS = ("width", "height", "projection", "lens", "sensor_width", "sensor_height", "sensor_fit",
                 "shift_x", "shift_y", "ortho_scale", "clip_start", "clip_end", "pixel_aspect_x", "pixel_aspect_y")
_INTRINSIC_EXTRA = ("fov", "fx", "fy", "cx", "cy")
_POSE_KEYS = ("cam_to_world", "world_to_cam", "direction", "distance", "centroid", "location", "look_at", "up")
_ENTRY_KEYS = ("name", "depth", "color", "frame", "convention")
_STRING_FIELDS = ("projection", "sensor_fit", "name", "depth", "color", "convention")

# axis flip between OpenCV (+Z forward, +Y down) and Blender (-Z forward, +Y up) cameras
_CV_TO_BLENDER = np.diag([1.0, -1.0, -1.0, 1.0])


def look_at(location: ArrayLike, target: ArrayLike, up: ArrayLike | None = None) -> np.ndarray:
    """Camera-to-world matrix of a camera at ``location`` looking at ``target`` (Blender axes).

    Up rule: ``up`` when given, else world +Z, or world +Y when the view is (anti)parallel
    to Z.
    """
    loc = np.asarray(location, dtype=np.float64).reshape(3)
    forward = np.asarray(target, dtype=np.float64).reshape(3) - loc
    norm = np.linalg.norm(forward)
    if not np.isfinite(norm) or norm == 0:
        raise CameraError(f"camera at {loc.tolist()} cannot look at its own location")
    forward /= norm
    if up is None:
        up = (0.0, 1.0, 0.0) if abs(forward[2]) > PARALLEL_LIMIT else (0.0, 0.0, 1.0)
    up = np.asarray(up, dtype=np.float64).reshape(3)
    right = np.cross(forward, up)
    rn = np.linalg.norm(right)
    if not rn > 1e-12:
        raise CameraError(f"up vector {up.tolist()} is parallel to the view direction {forward.tolist()}")
    right /= rn
    cam_up = np.cross(right, forward)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = right, cam_up, -forward, loc
    return m


def camera_from_direction(direction: ArrayLike, distance: float, centroid: ArrayLike = (0.0, 0.0, 0.0),
                          up: ArrayLike | None = None) -> np.ndarray:
    """Camera-to-world matrix of the *view direction* form: the camera sits at
    ``centroid + distance * normalize(direction)`` and looks at ``centroid``."""
    d = np.asarray(direction, dtype=np.float64).reshape(3)
    n = np.linalg.norm(d)
    if not np.isfinite(n) or n == 0:
        raise CameraError(f"view direction {d.tolist()} has no length")
    if not (np.isfinite(distance) and distance > 0):
        raise CameraError(f"distance to the centroid must be positive, got {distance}")
    c = np.asarray(centroid, dtype=np.float64).reshape(3)
    return look_at(c + float(distance) * d / n, c, up)


def dodecahedron_directions() -> np.ndarray:
    """The 20 unit vectors to the vertices of a regular dodecahedron (the classic
    "20 depth maps" viewpoints), shape (20, 3)."""
    phi = (1.0 + math.sqrt(5.0)) / 2.0
    v = [(x, y, z) for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]
    for a in (-1, 1):
        for b in (-1, 1):
            v += [(0.0, a / phi, b * phi), (a / phi, b * phi, 0.0), (a * phi, 0.0, b / phi)]
    out = np.asarray(v, dtype=np.float64)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def intrinsics_to_model_fields(width: int, height: int, fx: float, fy: float | None = None,
                               cx: float | None = None, cy: float | None = None,
                               sensor_width: float = 36.0) -> dict:
    """CameraModel fields of a pinhole camera given in pixels (OpenCV meaning)."""
    fy = fx if fy is None else fy
    cx = (width - 1) / 2.0 if cx is None else cx
    cy = (height - 1) / 2.0 if cy is None else cy
    if not (fx > 0 and fy > 0):
        raise CameraError(f"focal lengths in pixels must be positive, got fx={fx}, fy={fy}")
    ycor = fx / fy
    return dict(sensor_fit="HORIZONTAL", sensor_width=float(sensor_width), lens=float(fx) * sensor_width / width,
                shift_x=(width / 2.0 - 0.5 - cx) / width, shift_y=ycor * (cy + 0.5 - height / 2.0) / width,
                pixel_aspect_x=1.0, pixel_aspect_y=ycor)


@dataclass
class CameraEntry:
    """One camera of a list: its pose and intrinsics (built into a CameraModel once the
    frame size is known) and the files it rendered, if the list names them."""

    name: str
    cam_to_world: np.ndarray
    intrinsics: dict = field(default_factory=dict)
    depth: str = ""
    color: str = ""
    frame: int | None = None
    source: str = ""  # where it was defined, for messages ("cams.json, camera 3")

    @property
    def size(self) -> tuple[int, int] | None:
        w, h = self.intrinsics.get("width"), self.intrinsics.get("height")
        return (int(w), int(h)) if w and h else None

    def model(self, size: tuple[int, int] | None = None) -> CameraModel:
        """The CameraModel for a frame of ``size`` (width, height); the list's own size when
        ``size`` is None."""
        if size is None:
            size = self.size
            if size is None:
                raise CameraError(f"{self.source}: no image size (give width and height, or a depth file)")
        width, height = int(size[0]), int(size[1])
        fields_ = {k: v for k, v in self.intrinsics.items() if k in _MODEL_FIELDS}
        fields_["width"], fields_["height"] = width, height
        if "fx" in self.intrinsics:
            fields_.update(intrinsics_to_model_fields(
                width, height, self.intrinsics["fx"], self.intrinsics.get("fy"), self.intrinsics.get("cx"),
                self.intrinsics.get("cy"), float(self.intrinsics.get("sensor_width", 36.0))))
        elif "fov" in self.intrinsics:
            fov = float(self.intrinsics["fov"])
            if not 0 < fov < 180:
                raise CameraError(f"{self.source}: fov must be between 0 and 180 degrees, got {fov}")
            fit = fields_.get("sensor_fit", "AUTO")
            sensor = float(fields_.get("sensor_height" if fit == "VERTICAL" else "sensor_width",
                                       24.0 if fit == "VERTICAL" else 36.0))
            fields_["lens"] = sensor / (2.0 * math.tan(math.radians(fov) / 2.0))
        try:
            return CameraModel(cam_to_world=self.cam_to_world, **fields_)
        except (TypeError, ValueError) as err:
            raise CameraError(f"{self.source}: {err}") from err
        except CameraError as err:
            raise CameraError(f"{self.source}: {err}") from err


def _vector(value, n, what, where):
    try:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as err:
        raise CameraError(f"{where}: {what} must be {n} numbers ({err})") from err
    if arr.size != n or not np.all(np.isfinite(arr)):
        raise CameraError(f"{where}: {what} must be {n} finite numbers, got {value!r}")
    return arr


def _pose(d: dict, where: str) -> np.ndarray:
    conv = str(d.get("convention", BLENDER)).upper()
    if conv not in CONVENTIONS:
        raise CameraError(f"{where}: convention {d.get('convention')!r} is unknown; expected BLENDER or OPENCV")
    up = _vector(d["up"], 3, "up", where) if d.get("up") is not None else None
    if d.get("cam_to_world") is not None or d.get("world_to_cam") is not None:
        key = "cam_to_world" if d.get("cam_to_world") is not None else "world_to_cam"
        m = _vector(d[key], 16, f"{key} (a 4x4 matrix)", where).reshape(4, 4)
        if key == "world_to_cam":
            if abs(np.linalg.det(m)) < 1e-12:
                raise CameraError(f"{where}: world_to_cam matrix is singular")
            m = np.linalg.inv(m)
        if not np.allclose(m[3], [0, 0, 0, 1], atol=1e-6):
            raise CameraError(f"{where}: {key} last row must be 0 0 0 1 (row-major, translation in the last column)")
        rot = m[:3, :3]
        scale = np.linalg.norm(rot, axis=0)
        if np.any(scale < 1e-12):
            raise CameraError(f"{where}: {key} has a zero axis")
        m = m.copy()
        m[:3, :3] = rot / scale  # the renderer ignores the camera's scale
        return m @ _CV_TO_BLENDER if conv == OPENCV else m
    if d.get("direction") is not None:
        if d.get("distance") is None:
            raise CameraError(f"{where}: a view direction needs the distance to the centroid")
        centroid = _vector(d.get("centroid", (0, 0, 0)), 3, "centroid", where)
        return camera_from_direction(_vector(d["direction"], 3, "direction", where),
                                     _float(d["distance"], "distance", where), centroid, up)
    if d.get("location") is not None and d.get("look_at") is not None:
        return look_at(_vector(d["location"], 3, "location", where), _vector(d["look_at"], 3, "look_at", where), up)
    raise CameraError(f"{where}: no camera pose; give cam_to_world (or world_to_cam), direction + distance, "
                      "or location + look_at")


def _entry(d: dict, where: str, base_dir: str, index: int) -> CameraEntry:
    known = set(_MODEL_FIELDS) | set(_INTRINSIC_EXTRA) | set(_POSE_KEYS) | set(_ENTRY_KEYS)
    unknown = sorted(set(d) - known)
    if unknown:
        raise CameraError(f"{where}: unknown key(s) {', '.join(unknown)}")
    intr = {}
    for k in _MODEL_FIELDS + _INTRINSIC_EXTRA:
        if d.get(k) is None:
            continue
        v = d[k]
        if k in _STRING_FIELDS:
            intr[k] = str(v).upper()
        else:
            try:
                intr[k] = int(v) if k in ("width", "height") else float(v)
            except (TypeError, ValueError) as err:
                raise CameraError(f"{where}: {k} must be a number, got {v!r}") from err
            if k in ("width", "height") and float(v) != int(v):
                raise CameraError(f"{where}: {k} must be a whole number of pixels, got {v!r}")

    def _path(key):
        p = d.get(key)
        if not p:
            return ""
        p = os.path.expanduser(str(p))
        return os.path.normpath(p if os.path.isabs(p) or not base_dir else os.path.join(base_dir, p))

    frame = d.get("frame")
    try:
        frame = None if frame is None or frame == "" else int(frame)
    except (TypeError, ValueError) as err:
        raise CameraError(f"{where}: frame must be a whole number, got {frame!r}") from err
    entry = CameraEntry(name=str(d.get("name") or f"camera_{index + 1:03d}"), cam_to_world=_pose(d, where),
                        intrinsics=intr, depth=_path("depth"), color=_path("color"), frame=frame, source=where)
    if entry.size is not None:
        entry.model()  # validate intrinsics now, with a message naming the entry
    return entry


def parse_camera_list(data: dict | list, source: str = "<camera list>", base_dir: str = "") -> list:
    """Camera entries from parsed JSON (a dict with ``cameras``, or a list of cameras)."""
    if isinstance(data, list):
        defaults, cams = {}, data
    elif isinstance(data, dict):
        if "cameras" not in data or not isinstance(data["cameras"], list):
            raise CameraError(f"{source}: expected a 'cameras' list")
        defaults = {k: v for k, v in data.items() if k not in ("cameras", "defaults", "version")}
        if isinstance(data.get("defaults"), dict):
            defaults.update(data["defaults"])
        cams = data["cameras"]
    else:
        raise CameraError(f"{source}: expected a JSON object with 'cameras' or a list of cameras")
    if not cams:
        raise CameraError(f"{source}: the camera list is empty")
    out = []
    for i, cam in enumerate(cams):
        where = f"{source}, camera {i + 1}"
        if not isinstance(cam, dict):
            raise CameraError(f"{where}: expected an object, got {type(cam).__name__}")
        merged = dict(defaults)
        if any(k in cam for k in ("cam_to_world", "world_to_cam", "direction", "location")):
            for k in ("cam_to_world", "world_to_cam", "direction", "location", "look_at"):
                merged.pop(k, None)
        merged.update(cam)
        out.append(_entry(merged, where, base_dir, i))
    return out


_CSV_VECTORS = {"dir": "direction", "centroid": "centroid", "loc": "location", "look": "look_at", "up": "up"}


def parse_camera_csv(text: str, source: str = "<camera list>", base_dir: str = "",
                     defaults: dict | None = None) -> list:
    """Camera entries from CSV text (header row + one camera per row)."""
    reader = csv.reader(io.StringIO(text))
    rows = [r for r in reader if any(c.strip() for c in r) and not r[0].lstrip().startswith("#")]
    if len(rows) < 2:
        raise CameraError(f"{source}: expected a header row and at least one camera row")
    header = [h.strip().lower() for h in rows[0]]
    matrix_cols = [f"m{r}{c}" for r in range(4) for c in range(4)]
    vector_cols = {f"{p}_{a}": (key, i) for p, key in _CSV_VECTORS.items() for i, a in enumerate("xyz")}
    scalar_cols = set(_MODEL_FIELDS) | set(_INTRINSIC_EXTRA) | set(_ENTRY_KEYS) | {"distance"}
    unknown = [h for h in header if h not in scalar_cols and h not in vector_cols and h not in matrix_cols]
    if unknown:
        raise CameraError(f"{source}: unknown column(s) {', '.join(unknown)}")
    if len(set(header)) != len(header):
        raise CameraError(f"{source}: a column is named twice")
    out = []
    for line, row in enumerate(rows[1:], start=2):
        where = f"{source}, line {line}"
        if len(row) > len(header):
            raise CameraError(f"{where}: {len(row)} cells but the header has {len(header)} columns")
        cells = {h: row[i].strip() for i, h in enumerate(header) if i < len(row) and row[i].strip() != ""}
        d = dict(defaults or {})
        m = [cells.get(c) for c in matrix_cols]
        if any(v is not None for v in m):
            if any(v is None for v in m):
                raise CameraError(f"{where}: the matrix needs all 16 columns m00 … m33")
            d["cam_to_world"] = [_float(v, "matrix entry", where) for v in m]
        vectors = {}
        for col, (key, i) in vector_cols.items():
            if col in cells:
                vectors.setdefault(key, [None, None, None])[i] = _float(cells[col], col, where)
        for key, v in vectors.items():
            if any(x is None for x in v):
                raise CameraError(f"{where}: {key} needs its _x, _y and _z columns")
            d[key] = v
        for col in scalar_cols:
            if col in cells:
                d[col] = cells[col] if col in _STRING_FIELDS else _float(cells[col], col, where)
        out.append(_entry(d, where, base_dir, line - 2))
    return out


def _float(text, what, where):
    try:
        return float(text)
    except (TypeError, ValueError) as err:
        raise CameraError(f"{where}: {what} must be a number, got {text!r}") from err


def read_camera_list(path: str, defaults: dict | None = None) -> list:
    """Read a camera list file (``.json`` or ``.csv``) into :class:`CameraEntry` objects.
    ``defaults`` (dict) fills keys the file leaves out (e.g. width/height or lens)."""
    path = str(path)
    if not os.path.isfile(path):
        raise CameraError(f"{path}: camera list file not found")
    base = os.path.dirname(os.path.abspath(path))
    try:
        with open(path, encoding="utf-8-sig") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as err:
        raise CameraError(f"{path}: cannot read camera list ({err})") from err
    ext = os.path.splitext(path)[1].lower()
    if ext == ".csv":
        return parse_camera_csv(text, path, base, defaults)
    if ext != ".json":
        raise CameraError(f"{path}: camera lists are .json or .csv files")
    try:
        data = json.loads(text)
    except ValueError as err:
        raise CameraError(f"{path}: not valid JSON ({err})") from err
    if defaults:
        if isinstance(data, list):
            data = {"cameras": data}
        if isinstance(data, dict):
            data = {**defaults, **data}
    return parse_camera_list(data, path, base)


def camera_list_json(models: Sequence[CameraModel], depth_paths: Sequence[str] | None = None,
                     names: Sequence[str] | None = None, color_paths: Sequence[str] | None = None) -> dict:
    """A camera list (JSON-ready dict) describing CameraModels, e.g. to save Blender cameras."""
    cams = []
    for i, m in enumerate(models):
        d = {"name": names[i] if names else f"camera_{i + 1:03d}",
             "cam_to_world": np.asarray(m.cam_to_world, dtype=np.float64).tolist()}
        md = m.to_dict()
        for k in _MODEL_FIELDS:
            d[k] = md[k]
        if depth_paths:
            d["depth"] = str(depth_paths[i])
        if color_paths:
            d["color"] = str(color_paths[i])
        cams.append(d)
    return {"version": 1, "convention": BLENDER, "cameras": cams}
