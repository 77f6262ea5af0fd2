"""Captured camera paths: COLMAP text models, TUM RGB-D trajectories and NeRF-style
``transforms.json``, read into Blender-axis camera-to-world matrices + pinhole intrinsics
(and written back, for tests and round trips). docs/depth_from_anywhere.md has each rule
with a worked example.

Axis rules (Blender cameras look down local -Z with +Y up):

* **COLMAP** ``images.txt``: ``QW QX QY QZ TX TY TZ`` is the *world-to-camera* rotation
  (Hamilton quaternion, scalar first) and translation in OpenCV camera axes (+X right, +Y
  down, +Z forward): ``x_cam = R(q) x_world + t``. Camera-to-world (Blender) =
  ``inv([R | t]) @ diag(1, -1, -1, 1)``. COLMAP's principal point counts from the image
  *corner* (the top-left pixel's centre is (0.5, 0.5)): OpenCV ``cx = cx_colmap - 0.5``.
* **TUM** ``timestamp tx ty tz qx qy qz qw``: the *camera-to-world* pose of the optical
  frame (OpenCV axes), quaternion scalar *last*. Camera-to-world (Blender) =
  ``[R(q) | t] @ diag(1, -1, -1, 1)``. Depth/color frames take the pose whose timestamp is
  nearest, within ``max_difference`` seconds (0.02 s as TUM's ``associate.py``).
* **transforms.json** (NeRF / instant-ngp / nerfstudio): ``transform_matrix`` is the
  camera-to-world matrix in OpenGL axes (-Z forward, +Y up) = Blender's, used as is;
  ``camera_angle_x`` (horizontal field of view, radians) gives ``fx = w / (2 tan(a / 2))``
  with the principal point at the image centre; ``fl_x, fl_y, cx, cy`` (nerfstudio) count
  the principal point from the image corner like COLMAP: OpenCV ``cx = cx_json - 0.5``.

A non-unit quaternion is normalised with a warning naming the file, line and its length.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import CameraError, SourceFileError
from .intrinsics import Intrinsics

#: OpenCV camera axes (+Z forward, +Y down) -> Blender's (-Z forward, +Y up), right-multiplied
CV_TO_BLENDER = np.diag([1.0, -1.0, -1.0, 1.0])
#: |1 - |q|| above this is warned about (the quaternion is normalised either way)
QUAT_TOLERANCE = 1e-6
#: TUM associate.py's default maximum time difference (seconds)
TUM_MAX_DIFFERENCE = 0.02


@dataclass
class PoseFrame:
    """One captured view: Blender-axis camera-to-world, intrinsics, its files."""

    name: str
    cam_to_world: np.ndarray
    intrinsics: Intrinsics | None = None
    depth: str = ""
    color: str = ""
    timestamp: float | None = None
    #: transforms.json without an image size: its intrinsics keys, completed by intrinsics_for_size
    pending: dict | None = None


@dataclass
class CapturedPath:
    """The frames of a pose file in order, with what was noticed while reading it."""

    frames: list
    source: str
    format: str
    warnings: list = field(default_factory=list)

    @property
    def intrinsics(self) -> Intrinsics | None:
        return next((f.intrinsics for f in self.frames if f.intrinsics is not None), None)


# ------------------------------------------------------------------ rotations
def quat_to_matrix(w: float, x: float, y: float, z: float) -> np.ndarray:
    """3x3 rotation of a unit Hamilton quaternion."""
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def matrix_to_quat(r: np.ndarray) -> tuple[float, float, float, float]:
    """``(w, x, y, z)`` of a 3x3 rotation, ``w >= 0``."""
    r = np.asarray(r, dtype=np.float64)
    t = np.trace(r)
    if t > 0:
        s = math.sqrt(t + 1.0) * 2
        q = (0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s)
    elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
        s = math.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2]) * 2
        q = ((r[2, 1] - r[1, 2]) / s, 0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s)
    elif r[1, 1] > r[2, 2]:
        s = math.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2]) * 2
        q = ((r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s)
    else:
        s = math.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1]) * 2
        q = ((r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s)
    q = np.asarray(q)
    q /= np.linalg.norm(q)
    return tuple(float(v) for v in (q if q[0] >= 0 else -q))


def _unit_quat(q, where: str, warnings: list) -> tuple:
    n = math.sqrt(sum(v * v for v in q))
    if not (n > 0 and math.isfinite(n)):
        raise CameraError(f"{where}: quaternion {list(q)} has no length")
    if abs(n - 1.0) > QUAT_TOLERANCE:
        warnings.append(f"{where}: quaternion {list(q)} has length {n:.9g}, not 1; normalised")
    return tuple(v / n for v in q)


def _num(x) -> str:
    return repr(float(x))


def _rigid(r: np.ndarray, t) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = r, t
    return m


def _numbers(bits, n, where, what):
    if len(bits) < n:
        raise SourceFileError(where, f"{what}: expected {n} values, got {len(bits)}: {' '.join(bits)!r}")
    try:
        vals = [float(b) for b in bits[:n]]
    except ValueError as err:
        raise SourceFileError(where, f"{what}: not a number in {' '.join(bits[:n])!r}") from err
    if not all(math.isfinite(v) for v in vals):
        raise SourceFileError(where, f"{what}: non-finite value in {' '.join(bits[:n])!r}")
    return vals


def _lines(path: str):
    if not os.path.isfile(path):
        raise SourceFileError(path, "pose file not found")
    try:
        with open(path, encoding="utf-8-sig") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as err:
        raise SourceFileError(path, f"cannot read pose file ({err})") from err
    for i, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if s and not s.startswith("#"):
            yield i, s


# ------------------------------------------------------------------ COLMAP
COLMAP_MODELS = {"SIMPLE_PINHOLE": 3, "PINHOLE": 4, "OPENCV": 8}


def read_colmap_cameras(path: str) -> dict:
    """``{camera_id: Intrinsics}`` of a COLMAP ``cameras.txt`` (OpenCV principal point)."""
    cams = {}
    for line, s in _lines(path):
        bits = s.split()
        where = f"{path}, line {line}"
        if len(bits) < 4:
            raise SourceFileError(path, f"line {line}: expected CAMERA_ID MODEL WIDTH HEIGHT PARAMS…, got {s!r}")
        cam_id, model = bits[0], bits[1].upper()
        if model not in COLMAP_MODELS:
            raise CameraError(f"{where}: camera model {model} is not supported (PINHOLE, SIMPLE_PINHOLE, or OPENCV "
                              "without distortion); undistort the images first (colmap image_undistorter)")
        w, h = _numbers(bits[2:4], 2, path, f"line {line} width height")
        p = _numbers(bits[4:], COLMAP_MODELS[model], path, f"line {line} {model} parameters")
        if model == "SIMPLE_PINHOLE":
            fx = fy = p[0]
            cx, cy = p[1], p[2]
        else:
            fx, fy, cx, cy = p[:4]
            if model == "OPENCV" and any(v != 0 for v in p[4:]):
                raise CameraError(f"{where}: OPENCV camera {cam_id} has distortion k1, k2, p1, p2 = {p[4:]}; a "
                                  "Blender camera is a pinhole: undistort the images first (colmap image_undistorter)")
        cams[cam_id] = Intrinsics(fx, fy, cx - 0.5, cy - 0.5, int(w), int(h), source=f"{where} (camera {cam_id})")
    if not cams:
        raise SourceFileError(path, "no camera in this cameras.txt")
    return cams


def read_colmap(images_txt: str, cameras_txt: str | None = None) -> CapturedPath:
    """A COLMAP text model (``images.txt`` + ``cameras.txt`` beside it), frames in image-name
    order. Each frame's ``depth``/``color`` is the image NAME (relative to COLMAP's image folder)."""
    cameras_txt = cameras_txt or os.path.join(os.path.dirname(images_txt), "cameras.txt")
    cams = read_colmap_cameras(cameras_txt)
    out = CapturedPath([], images_txt, "COLMAP")
    rows = list(_lines(images_txt))
    # images.txt alternates an image line and its 2D points line (which may be empty: then
    # _lines has skipped it). Image lines have 10 fields with a name at the end.
    i = 0
    while i < len(rows):
        line, s = rows[i]
        bits = s.split()
        i += 1
        if len(bits) < 10 or not bits[0].isdigit() or bits[8] not in cams:
            if len(bits) >= 10 and bits[0].isdigit() and bits[8] not in cams and not _all_numbers(bits[9:]):
                raise CameraError(f"{images_txt}, line {line}: camera id {bits[8]} is not in {cameras_txt} "
                                  f"(it has {', '.join(sorted(cams))})")
            continue  # a POINTS2D line
        where = f"{images_txt}, line {line}"
        qw, qx, qy, qz, tx, ty, tz = _numbers(bits[1:8], 7, images_txt, f"line {line} QW QX QY QZ TX TY TZ")
        q = _unit_quat((qw, qx, qy, qz), where, out.warnings)
        world_to_cv = _rigid(quat_to_matrix(*q), (tx, ty, tz))
        c2w = np.linalg.inv(world_to_cv) @ CV_TO_BLENDER
        name = " ".join(bits[9:])
        out.frames.append(PoseFrame(name=name, cam_to_world=c2w, intrinsics=cams[bits[8]], color=name))
        if i < len(rows) and not _is_image_line(rows[i][1], cams):
            i += 1  # its POINTS2D line
    if not out.frames:
        raise SourceFileError(images_txt, "no image in this images.txt")
    out.frames.sort(key=lambda f: f.name)
    return out


def _is_image_line(s: str, cams: dict) -> bool:
    bits = s.split()
    if len(bits) < 10 or not bits[0].isdigit() or bits[8] not in cams:
        return False
    try:
        [float(b) for b in bits[1:8]]
    except ValueError:
        return False
    return len(bits) >= 10 and not _all_numbers(bits[9:])


def _all_numbers(bits) -> bool:
    try:
        [float(b) for b in bits]
    except ValueError:
        return False
    return True


def write_colmap(folder: str, frames: list) -> tuple[str, str]:
    """Write ``cameras.txt`` and ``images.txt`` (one PINHOLE camera per distinct intrinsics)."""
    os.makedirs(folder, exist_ok=True)
    cam_ids, cam_lines, img_lines = {}, [], []
    for i, f in enumerate(frames, start=1):
        k = f.intrinsics
        key = (k.fx, k.fy, k.cx, k.cy, k.width, k.height)
        if key not in cam_ids:
            cam_ids[key] = len(cam_ids) + 1
            params = " ".join(_num(v) for v in (k.fx, k.fy, k.cx + 0.5, k.cy + 0.5))
            cam_lines.append(f"{cam_ids[key]} PINHOLE {k.width} {k.height} {params}")
        w2c = np.linalg.inv(np.asarray(f.cam_to_world) @ CV_TO_BLENDER)
        q = matrix_to_quat(w2c[:3, :3])
        t = w2c[:3, 3]
        img_lines.append(f"{i} {' '.join(_num(v) for v in (*q, *t))} {cam_ids[key]} {f.name}")
        img_lines.append("")
    cams = os.path.join(folder, "cameras.txt")
    imgs = os.path.join(folder, "images.txt")
    with open(cams, "w", encoding="utf-8") as fh:
        fh.write("# Camera list with one line of data per camera:\n#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n")
        fh.write("\n".join(cam_lines) + "\n")
    with open(imgs, "w", encoding="utf-8") as fh:
        fh.write("# IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME\n#   POINTS2D[] as (X, Y, POINT3D_ID)\n")
        fh.write("\n".join(img_lines) + "\n")
    return cams, imgs


# ------------------------------------------------------------------ TUM
def read_tum_trajectory(path: str) -> tuple[np.ndarray, list, list]:
    """``(timestamps, Blender camera-to-world matrices, warnings)`` of a TUM trajectory."""
    stamps, mats, warnings = [], [], []
    for line, s in _lines(path):
        bits = s.split()
        vals = _numbers(bits, 8, path, f"line {line} (timestamp tx ty tz qx qy qz qw)")
        t, tx, ty, tz, qx, qy, qz, qw = vals
        w, x, y, z = _unit_quat((qw, qx, qy, qz), f"{path}, line {line}", warnings)
        mats.append(_rigid(quat_to_matrix(w, x, y, z), (tx, ty, tz)) @ CV_TO_BLENDER)
        stamps.append(t)
    if not stamps:
        raise SourceFileError(path, "no pose in this trajectory")
    stamps = np.asarray(stamps)
    if np.any(np.diff(stamps) < 0):
        order = np.argsort(stamps, kind="stable")
        stamps, mats = stamps[order], [mats[i] for i in order]
    return stamps, mats, warnings


def read_tum_list(path: str) -> tuple[np.ndarray, list]:
    """``(timestamps, file paths)`` of a TUM ``depth.txt``/``rgb.txt`` (``timestamp filename``;
    names relative to the list's folder)."""
    base = os.path.dirname(os.path.abspath(path))
    stamps, files = [], []
    for line, s in _lines(path):
        bits = s.split()
        (t,) = _numbers(bits, 1, path, f"line {line} timestamp")
        if len(bits) < 2:
            raise SourceFileError(path, f"line {line}: expected 'timestamp filename', got {s!r}")
        stamps.append(t)
        files.append(os.path.normpath(os.path.join(base, " ".join(bits[1:]))))
    return np.asarray(stamps, dtype=np.float64), files


def associate(stamps_a, stamps_b, max_difference: float = TUM_MAX_DIFFERENCE, what_a: str = "depth frame",
              names_a=None, source: str = "") -> np.ndarray:
    """For each of ``stamps_a`` the index of the nearest of ``stamps_b`` (sorted); a
    SourceFileError naming every timestamp of ``a`` with no partner within ``max_difference``."""
    a = np.asarray(stamps_a, dtype=np.float64)
    b = np.asarray(stamps_b, dtype=np.float64)
    j = np.clip(np.searchsorted(b, a), 1, len(b) - 1) if len(b) > 1 else np.zeros(len(a), int)
    if len(b) > 1:
        left = np.abs(a - b[j - 1]) <= np.abs(b[j] - a)
        j = np.where(left, j - 1, j)
    diff = np.abs(b[j] - a)
    bad = np.flatnonzero(~(diff <= max_difference))
    if bad.size:
        shown = ", ".join(f"{a[i]:.6f}" + (f" ({os.path.basename(names_a[i])})" if names_a else "")
                          + f" nearest {b[j[i]]:.6f}" for i in bad[:5])
        raise SourceFileError(source or "trajectory",
                              f"{bad.size} {what_a}(s) have no partner within {max_difference} s: {shown}"
                              + (" …" if bad.size > 5 else "") + "; raise the tolerance or check the time bases")
    return j


def read_tum(trajectory: str, depth_list: str, intrinsics: Intrinsics, color_list: str = "",
             max_difference: float = TUM_MAX_DIFFERENCE) -> CapturedPath:
    """A TUM RGB-D sequence: every depth frame of ``depth_list`` with the nearest pose (and
    color frame) within ``max_difference`` seconds."""
    stamps, mats, warnings = read_tum_trajectory(trajectory)
    d_stamps, d_files = read_tum_list(depth_list)
    if not d_files:
        raise SourceFileError(depth_list, "no depth frame listed")
    pose_of = associate(d_stamps, stamps, max_difference, "depth frame", d_files, trajectory)
    colors = [""] * len(d_files)
    if color_list:
        c_stamps, c_files = read_tum_list(color_list)
        order = np.argsort(c_stamps, kind="stable")
        c_sorted = c_stamps[order]
        idx = associate(d_stamps, c_sorted, max_difference, "depth frame", d_files, color_list)
        colors = [c_files[order[i]] for i in idx]
    out = CapturedPath([], trajectory, "TUM", warnings)
    for k, (t, f) in enumerate(zip(d_stamps, d_files)):
        out.frames.append(PoseFrame(name=os.path.basename(f), cam_to_world=mats[pose_of[k]], intrinsics=intrinsics,
                                    depth=f, color=colors[k], timestamp=float(t)))
    return out


def write_tum(path: str, stamps, frames: list) -> None:
    """A TUM trajectory (``timestamp tx ty tz qx qy qz qw``) of the frames' cameras."""
    lines = ["# timestamp tx ty tz qx qy qz qw"]
    for t, f in zip(stamps, frames):
        m = np.asarray(f.cam_to_world) @ CV_TO_BLENDER
        w, x, y, z = matrix_to_quat(m[:3, :3])
        lines.append(f"{t:.6f} {_num(m[0, 3])} {_num(m[1, 3])} {_num(m[2, 3])} {_num(x)} {_num(y)} {_num(z)} {_num(w)}")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


# ------------------------------------------------------------------ transforms.json
def read_transforms(path: str) -> CapturedPath:
    """A NeRF-style ``transforms.json``: per-frame ``file_path`` (color; ``depth_file_path``
    when present) and ``transform_matrix``; intrinsics from ``fl_x/fl_y/cx/cy`` or
    ``camera_angle_x`` (top level or per frame) with ``w``/``h``."""
    if not os.path.isfile(path):
        raise SourceFileError(path, "transforms file not found")
    try:
        with open(path, encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as err:
        raise SourceFileError(path, f"not a readable JSON file ({err})") from err
    if not isinstance(data, dict) or not isinstance(data.get("frames"), list) or not data["frames"]:
        raise SourceFileError(path, "expected a JSON object with a non-empty 'frames' list")
    base = os.path.dirname(os.path.abspath(path))
    out = CapturedPath([], path, "TRANSFORMS")
    for i, fr in enumerate(data["frames"]):
        where = f"{path}, frame {i}"
        if not isinstance(fr, dict) or "transform_matrix" not in fr:
            raise SourceFileError(path, f"frame {i} has no transform_matrix")
        try:
            m = np.asarray(fr["transform_matrix"], dtype=np.float64).reshape(4, 4)
        except (TypeError, ValueError) as err:
            raise CameraError(f"{where}: transform_matrix must be 4x4 numbers ({err})") from err
        if not np.all(np.isfinite(m)) or not np.allclose(m[3], [0, 0, 0, 1], atol=1e-6):
            raise CameraError(f"{where}: transform_matrix must be finite with last row 0 0 0 1")
        rot = m[:3, :3]
        scale = np.linalg.norm(rot, axis=0)
        if np.any(np.abs(scale - 1.0) > 1e-4):
            out.warnings.append(f"{where}: transform_matrix axes have lengths {scale.round(6).tolist()}; "
                                "scale removed")
        m = m.copy()
        m[:3, :3] = rot / scale
        merged = {**data, **fr}
        intr = _json_intrinsics(merged, where)
        out.frames.append(PoseFrame(name=os.path.basename(str(fr.get("file_path", f"frame_{i}"))), cam_to_world=m,
                                    intrinsics=intr, color=_json_path(base, fr.get("file_path")),
                                    depth=_json_path(base, fr.get("depth_file_path")),
                                    pending=None if intr is not None else {
                                        k: merged[k] for k in ("fl_x", "fl_y", "cx", "cy", "camera_angle_x",
                                                               "camera_angle_y") if k in merged} | {"where": where}))
    return out


def _json_path(base: str, p) -> str:
    if not p:
        return ""
    p = os.path.normpath(os.path.join(base, str(p)))
    if not os.path.splitext(p)[1] and os.path.isfile(p + ".png"):
        p += ".png"  # the original NeRF files name images without their extension
    return p


def _json_intrinsics(d: dict, where: str) -> Intrinsics | None:
    w, h = d.get("w"), d.get("h")
    if w is None or h is None:
        if d.get("fl_x") is None and d.get("camera_angle_x") is None:
            raise CameraError(f"{where}: no intrinsics (fl_x/fl_y/cx/cy or camera_angle_x)")
        return None  # the image size comes from the depth files (intrinsics_for_size)
    return _intrinsics_with_size(d, int(w), int(h), where)


def _intrinsics_with_size(d: dict, w: int, h: int, where: str) -> Intrinsics:
    if d.get("fl_x") is not None:
        fx = float(d["fl_x"])
        fy = float(d.get("fl_y", fx))
        cx = float(d.get("cx", w / 2.0)) - 0.5
        cy = float(d.get("cy", h / 2.0)) - 0.5
        return Intrinsics(fx, fy, cx, cy, w, h, source=where)
    if d.get("camera_angle_x") is not None:
        a = float(d["camera_angle_x"])
        if not 0 < a < math.pi:
            raise CameraError(f"{where}: camera_angle_x must be between 0 and pi radians, got {a}")
        fx = 0.5 * w / math.tan(0.5 * a)
        fy = 0.5 * h / math.tan(0.5 * float(d["camera_angle_y"])) if d.get("camera_angle_y") is not None else fx
        return Intrinsics(fx, fy, (w - 1) / 2.0, (h - 1) / 2.0, w, h, source=where)
    raise CameraError(f"{where}: no intrinsics (fl_x/fl_y/cx/cy or camera_angle_x)")


def write_transforms(path: str, frames: list, extra: dict | None = None) -> None:
    """A ``transforms.json`` (fl_x/fl_y/cx/cy/w/h of the first frame's intrinsics)."""
    k = frames[0].intrinsics
    base = os.path.dirname(os.path.abspath(path))
    data = {"fl_x": k.fx, "fl_y": k.fy, "cx": k.cx + 0.5, "cy": k.cy + 0.5, "w": k.width, "h": k.height,
            "frames": []}
    for f in frames:
        fr = {"file_path": os.path.relpath(f.color, base) if f.color else f.name,
              "transform_matrix": np.asarray(f.cam_to_world, dtype=np.float64).tolist()}
        if f.depth:
            fr["depth_file_path"] = os.path.relpath(f.depth, base)
        data["frames"].append(fr)
    data.update(extra or {})
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)


# ------------------------------------------------------------------ frames to files
def match_depth_files(path: CapturedPath, depth_files: list | None) -> None:
    """Give each frame its depth file: ``depth_files`` in order (one per frame) when given.
    Fewer poses than depth files is an error naming the depth files left without a pose."""
    if depth_files is None:
        missing = [f.name for f in path.frames if not f.depth]
        if missing:
            raise SourceFileError(path.source, f"no depth file for frame(s) {', '.join(missing[:5])}"
                                               + (" …" if len(missing) > 5 else "") + ": give the depth files")
        return
    depth_files = list(depth_files)
    if len(depth_files) > len(path.frames):
        extra = [os.path.basename(p) for p in depth_files[len(path.frames):]]
        raise SourceFileError(path.source, f"{len(path.frames)} pose(s) for {len(depth_files)} depth images: no pose "
                                           f"for {', '.join(extra[:5])}" + (" …" if len(extra) > 5 else ""))
    if len(depth_files) < len(path.frames):
        path.warnings.append(f"{path.source}: {len(path.frames)} poses but {len(depth_files)} depth images; the "
                             f"poses after {path.frames[len(depth_files) - 1].name} are not used")
        del path.frames[len(depth_files):]
    for f, d in zip(path.frames, depth_files):
        f.depth = d


def intrinsics_for_size(path: CapturedPath, width: int, height: int) -> None:
    """Fill frames with no intrinsics from a size-less ``transforms.json`` and check every
    frame's intrinsics against the depth image size."""
    for f in path.frames:
        if f.intrinsics is None and f.pending is not None:  # transforms.json without w, h: the depth's size
            f.intrinsics = _intrinsics_with_size(f.pending, int(width), int(height), f.pending["where"])
        if f.intrinsics is None:
            raise CameraError(f"{path.source}: no intrinsics for frame {f.name}")
        f.intrinsics.check_size(width, height, f"depth image {f.depth}")
