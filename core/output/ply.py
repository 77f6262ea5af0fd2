"""PLY point clouds (binary little-endian), written with one structured numpy array.

Layout (what Open3D, CloudCompare, MeshLab and Blender's own importer read)::

    ply
    format binary_little_endian 1.0
    comment ...
    element vertex N
    property float x / y / z
    property float nx / ny / nz     (only when normals are given)
    property uchar red / green / blue   sRGB-encoded 0..255 (rounded)
    property uchar alpha            (optional; straight 0..255, not sRGB-encoded)
    property float radius           (when the PointSet has a footprint radius)
    property float|int <attribute>  per extra attribute (``PointSet.attributes``: a Cryptomatte
                                    ``coverage``, named passes/AOVs, a fused cloud's ``views``);
                                    vectors as ``<name>_x/_y/_z``, colors ``<name>_r/_g/_b/_a``,
                                    spaces in names become ``_``
    end_header

Colors in a PointSet are scene-linear; PLY readers expect display-referred 8-bit color, so
they are encoded with the sRGB transfer function (Blender's PLY importer decodes them back
with its default *sRGB* color option). Nothing time- or machine-dependent goes into the file,
so the same frame always gives the same bytes (chunked farm runs are byte-identical).
"""
from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

import numpy as np

from ..errors import SourceFileError
from ..fileio import atomic_output
from ..points.colors import linear_to_srgb

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..points.pointset import PointSet

PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "<i2", "int16": "<i2",
             "ushort": "<u2", "uint16": "<u2", "int": "<i4", "int32": "<i4", "uint": "<u4", "uint32": "<u4",
             "float": "<f4", "float32": "<f4", "double": "<f8", "float64": "<f8"}
_WRITE_TYPES = {"f4": "float", "u1": "uchar", "i4": "int", "f8": "double", "u2": "ushort", "i2": "short"}


def srgb8(colors: np.ndarray) -> np.ndarray:
    """Scene-linear RGB (N, >=3) -> sRGB-encoded uint8 (N, 3), rounded to nearest."""
    rgb = np.asarray(colors, dtype=np.float32)[:, :3]
    return np.rint(linear_to_srgb(rgb) * np.float32(255.0)).astype(np.uint8)


_SUFFIXES = {2: ("x", "y"), 3: ("x", "y", "z"), 4: ("r", "g", "b", "a")}


def attribute_fields(attributes) -> list:
    """``[(ply property, dtype, attribute name, component or None)]`` of extra attributes."""
    out = []
    for name, values in (attributes or {}).items():
        values = np.asarray(values)
        base = re.sub(r"\W", "_", str(name))
        kind = "<i4" if (np.issubdtype(values.dtype, np.integer) or values.dtype == bool) else "<f4"
        if values.ndim == 1:
            out.append((base, kind, name, None))
        else:
            suffixes = _SUFFIXES.get(values.shape[1]) or tuple(str(i) for i in range(values.shape[1]))
            out += [(f"{base}_{sfx}", kind, name, i) for i, sfx in enumerate(suffixes)]
    return out


def vertex_dtype(normals: bool = False, alpha: bool = False, radius: bool = False, extra=()) -> np.dtype:
    """The packed little-endian record of one vertex, in PLY property order."""
    fields = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    if normals:
        fields += [("nx", "<f4"), ("ny", "<f4"), ("nz", "<f4")]
    fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    if alpha:
        fields.append(("alpha", "u1"))
    if radius:
        fields.append(("radius", "<f4"))
    fields += [(prop, kind) for prop, kind, _, _ in extra]
    return np.dtype(fields)


def _comment(text: str) -> str:
    return "comment " + re.sub(r"[\r\n]+", " ", str(text)).strip()


def ply_header(count: int, dtype: np.dtype, comments: Iterable[str] = ()) -> bytes:
    lines = ["ply", "format binary_little_endian 1.0"]
    lines += [_comment(c) for c in comments]
    lines.append(f"element vertex {int(count)}")
    for name in dtype.names:
        field = dtype[name]
        lines.append(f"property {_WRITE_TYPES[f'{field.kind}{field.itemsize}']} {name}")
    lines.append("end_header")
    return ("\n".join(lines) + "\n").encode("utf-8")


def point_records(point_set: PointSet, normals: np.ndarray | None = None, alpha: bool = False,
                  radius: bool = True) -> np.ndarray:
    """The PointSet as a structured array of :func:`vertex_dtype` records (vectorized)."""
    if normals is None:
        normals = getattr(point_set, "normals", None)
    n = len(point_set)
    use_radius = radius and point_set.radius is not None
    extra = attribute_fields(getattr(point_set, "attributes", None))
    # an attribute named like a standard property (a deep file's 'alpha' with --alpha) is written once:
    # as that property
    standard = vertex_dtype(normals is not None, alpha, use_radius).names
    extra = [field for field in extra if field[0] not in standard]
    rec = np.empty(n, dtype=vertex_dtype(normals is not None, alpha, use_radius, extra))
    pos = np.asarray(point_set.positions, dtype=np.float32).reshape(n, 3)
    rec["x"], rec["y"], rec["z"] = pos[:, 0], pos[:, 1], pos[:, 2]
    if normals is not None:
        nrm = np.asarray(normals, dtype=np.float32).reshape(n, 3)
        rec["nx"], rec["ny"], rec["nz"] = nrm[:, 0], nrm[:, 1], nrm[:, 2]
    if point_set.colors is not None:
        rgb = srgb8(point_set.colors)
        rec["red"], rec["green"], rec["blue"] = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    else:
        rec["red"] = rec["green"] = rec["blue"] = 255
    if alpha:
        cols = point_set.colors
        a = np.ones(n, np.float32) if cols is None or cols.shape[1] < 4 else np.asarray(cols[:, 3], np.float32)
        rec["alpha"] = np.rint(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)
    if use_radius:
        rec["radius"] = np.asarray(point_set.radius, dtype=np.float32)
    for prop, _, name, comp in extra:
        values = np.asarray(point_set.attributes[name])
        rec[prop] = values if comp is None else values[:, comp]
    return rec


def _write_body(fh, records: np.ndarray) -> None:
    """Write the vertex records (separate so tests can interrupt a write halfway)."""
    fh.write(memoryview(np.ascontiguousarray(records)).cast("B"))


def write_ply(path: str | os.PathLike[str], point_set: PointSet, normals: np.ndarray | None = None,
              alpha: bool = False, radius: bool = True, comments: Iterable[str] = ()) -> int:
    """Write ``point_set`` to ``path`` atomically (temp file in the same folder, then rename);
    a failed or killed write never leaves a partial ``path``. Returns the bytes written."""
    records = point_records(point_set, normals=normals, alpha=alpha, radius=radius)
    header = ply_header(len(records), records.dtype, comments)
    with atomic_output(path) as tmp:
        with open(tmp, "xb") as fh:
            fh.write(header)
            _write_body(fh, records)
            fh.flush()
            os.fsync(fh.fileno())
    return len(header) + records.nbytes


# ------------------------------------------------------------------ reading
def read_ply_header(path: str | os.PathLike[str]) -> tuple[str, list, int, list[str]]:
    """``(format, elements, header_bytes, comments)``; elements is a list of
    ``(name, count, [(property, type), ...])``. Lists (faces) are kept as ``('list', ...)``."""
    path = os.fspath(path)
    try:
        fh = open(path, "rb")
    except OSError as err:
        raise SourceFileError(path, f"cannot open ({err.strerror or err})") from err
    with fh:
        if fh.readline().strip() != b"ply":
            raise SourceFileError(path, "not a PLY file")
        fmt, elements, comments = None, [], []
        size = 4
        for _ in range(100000):
            raw = fh.readline()
            if not raw:
                raise SourceFileError(path, "damaged PLY header (no end_header)")
            size += len(raw)
            words = raw.decode("ascii", "replace").split()
            if not words:
                continue
            try:
                if words[0] == "format":
                    fmt = words[1]
                elif words[0] in ("comment", "obj_info"):
                    comments.append(raw.decode("utf-8", "replace").strip()[len(words[0]) + 1:])
                elif words[0] == "element":
                    elements.append((words[1], int(words[2]), []))
                elif words[0] == "property" and elements:
                    elements[-1][2].append(tuple(words[1:]) if words[1] == "list" else (words[2], words[1]))
                elif words[0] == "end_header":
                    return fmt, elements, size, comments
            except (IndexError, ValueError) as err:
                raise SourceFileError(path, f"damaged PLY header line {raw.strip()[:80]!r}") from err
    raise SourceFileError(path, "damaged PLY header")


def read_ply(path: str | os.PathLike[str]) -> dict:
    """The vertex element of a binary little-endian PLY as a structured numpy array
    (``{'vertex': array, 'comments': [...]}``). Enough for checks and tools; other
    elements must come after the vertices."""
    fmt, elements, offset, comments = read_ply_header(path)
    if fmt != "binary_little_endian":
        raise SourceFileError(path, f"only binary_little_endian PLY can be read here, not {fmt}")
    if not elements or elements[0][0] != "vertex":
        raise SourceFileError(path, "PLY file has no vertex element first")
    _, count, props = elements[0]
    if any(p[0] == "list" for p in props):
        raise SourceFileError(path, "list properties in the vertex element are not supported")
    unknown = sorted({t for _, t in props} - set(PLY_TYPES))
    if unknown:
        raise SourceFileError(path, f"unknown PLY property type(s) {', '.join(unknown)}")
    dtype = np.dtype([(name, PLY_TYPES[t]) for name, t in props])
    data = np.fromfile(path, dtype=dtype, count=count, offset=offset)
    if len(data) != count:
        raise SourceFileError(path, f"PLY file is truncated: {len(data)} of {count} vertices")
    return {"vertex": data, "comments": comments}
