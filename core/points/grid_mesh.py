"""Surface display: the pixel grid as a mesh that reproduces the image exactly.

Every pixel becomes one quad whose four corners lie on the rays through the pixel's
corners, so seen from the camera that rendered the passes the quads tile the frame exactly
(no gaps, no overlaps) and each pixel shows its own color. Neighbouring pixels on the same
surface share their corner vertices, so the mesh is one continuous surface when seen from
elsewhere; where the depth jumps between two pixels (relative jump above ``max_jump``) their
corners are *not* shared, so no face bridges a depth discontinuity.

The depth of a shared corner is the average of the continuous pixels around it, averaged
as inverse depth for perspective cameras (``1/z`` is affine across a plane in screen
space, so corners of flat surfaces land exactly on the surface) and as depth for
orthographic ones.

Without a flat image plane (no camera, panoramic cameras) the corners are the mean world
position of the continuous pixels around them instead; faces then follow the surface but
the tiling from the camera is only approximate.

Corner order of each quad is top-left, bottom-left, bottom-right, top-right in the image:
counter-clockwise as seen from the camera, so normals face it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..camera.model import ORTHOGRAPHIC, CameraModel
from ..errors import CameraError, SettingsError
from .filters import DEFAULT_MAX_JUMP, depth_jump
from .footprint import has_image_plane
from .gather import camera_to_world
from .pointset import PointSet

# A corner is shared by up to four pixels, its "slots": 0 = up-left, 1 = up-right,
# 2 = down-left, 3 = down-right of the corner.
_SLOT_OFFSETS = ((0, 0), (0, 1), (1, 0), (1, 1))  # (row, col) offsets into the padded grid
# Quad corners of pixel (r, c): (corner row offset, corner col offset, slot of the pixel there)
_QUAD = ((0, 0, 3), (1, 0, 1), (1, 1, 0), (0, 1, 2))  # TL, BL, BR, TR
_EDGES = ((0, 1), (2, 3), (0, 2), (1, 3))  # slot pairs sharing a pixel edge


@dataclass
class SurfaceMesh:
    """A quad mesh with one face per point of a PointSet (face ``i`` is point ``i``).

    vertices      (V, 3) float32 world positions of the pixel corners
    faces         (F, 4) int32 vertex indices per quad (TL, BL, BR, TR)
    uvs           (F*4, 2) float32 image coordinates per face corner (0..1, V up)
    welded        number of vertices shared by more than one face
    edges         (E, 2) int32 vertex pairs, each edge once
    corner_edges  (F*4,) int32 edge from each face corner to the next one
    """

    vertices: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray
    welded: int = 0
    edges: np.ndarray | None = None
    corner_edges: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.faces)

    @property
    def corner_count(self) -> int:
        return 4 * len(self.faces)


def surface_from_point_set(point_set: PointSet, camera: CameraModel | None,
                           max_jump: float = DEFAULT_MAX_JUMP) -> SurfaceMesh:
    """Triangulate (as quads) the PointSet's pixel grid; see the module docstring."""
    if not max_jump >= 0:
        raise SettingsError(f"surface depth jump (max_jump) must be >= 0, got {max_jump}")
    n = len(point_set)
    if n == 0:
        return SurfaceMesh(np.zeros((0, 3), np.float32), np.zeros((0, 4), np.int32), np.zeros((0, 2), np.float32))
    planar = has_image_plane(camera)
    if point_set.depth is None:
        raise CameraError("a surface needs the depth of each point: set the camera that rendered the passes")
    pix = point_set.pixels
    # Depth padded by one NaN pixel all round: pixel (r, c) is zp[r + 1, c + 1].
    zp, (c0, r0) = point_set.pixel_grid(np.asarray(point_set.depth, dtype=np.float32), np.nan, pad=1)
    c0, r0 = c0 + 1, r0 + 1
    h, w = zp.shape[0] - 2, zp.shape[1] - 2
    rows, cols = pix[:, 1] - r0, pix[:, 0] - c0
    slots_z = [zp[dr:dr + h + 1, dc:dc + w + 1] for dr, dc in _SLOT_OFFSETS]  # each (h+1, w+1)
    valid = [np.isfinite(z) for z in slots_z]

    # Which slots of each corner are on the same surface as slot s: a 4-bit mask per slot,
    # the connected component of s among the corner's pixels, joined through the four
    # edge-sharing pairs (diagonal pixels are joined only through a common neighbour, as
    # their depths differ twice as much on a slope). Components make the grouping
    # symmetric and transitive, so every pixel of a group names the same vertex.
    masks = [np.where(valid[s], np.uint8(1 << s), np.uint8(0)) for s in range(4)]
    joined = {(s, t): valid[s] & valid[t] & ~depth_jump(slots_z[s], slots_z[t], max_jump) for s, t in _EDGES}
    for _ in range(2):  # the 4-cycle has diameter 2
        for (s, t), same in joined.items():
            union = np.where(same, masks[s] | masks[t], 0).astype(np.uint8)
            masks[s] |= union
            masks[t] |= union

    # One vertex per distinct (corner, mask): slot s represents it if no earlier valid slot
    # at the same corner has the same mask.
    rep = []
    for s in range(4):
        r = valid[s].copy()
        for t in range(s):
            r &= ~(valid[t] & (masks[t] == masks[s]))
        rep.append(r)
    rep_stack = np.stack(rep, axis=-1)  # (h+1, w+1, 4), C order: corner-major, slot-minor
    flat = np.flatnonzero(rep_stack)  # vertex id order
    nverts = len(flat)
    ids = np.full(rep_stack.shape, -1, dtype=np.int32)
    ids.reshape(-1)[flat] = np.arange(nverts, dtype=np.int32)
    vid = []
    for s in range(4):
        v = ids[..., s]
        for t in range(s):
            take = (v < 0) & rep[t] & (masks[t] == masks[s]) & valid[s]
            v = np.where(take, ids[..., t], v)
        vid.append(v)

    # Vertex positions, from the representative slots in id order.
    cij = flat // 4
    ci, cj = cij // (w + 1), cij % (w + 1)
    mask_r = np.stack(masks, axis=-1).reshape(-1)[flat]
    if planar:
        vertices = _corner_positions_on_rays(camera, slots_z, mask_r, ci, cj, c0, r0)
    else:
        vertices = _corner_positions_mean(point_set, rows, cols, h, w, mask_r, ci, cj)

    faces = np.empty((n, 4), dtype=np.int32)
    for k, (dr, dc, slot) in enumerate(_QUAD):
        faces[:, k] = vid[slot][rows + dr, cols + dc]
    if (faces < 0).any():  # cannot happen: every pixel's own slot is valid
        raise RuntimeError("surface triangulation left a face corner without a vertex")

    width, height = point_set.image_size
    uvs = np.empty((n, 4, 2), dtype=np.float32)
    for k, (dr, dc, _slot) in enumerate(_QUAD):
        uvs[:, k, 0] = (pix[:, 0] + dc) / np.float32(width)
        uvs[:, k, 1] = 1.0 - (pix[:, 1] + dr) / np.float32(height)
    welded = int(np.count_nonzero(np.bincount(faces.reshape(-1), minlength=nverts) > 1))
    edges, corner_edges = _edges(faces, rows, cols, h, w)
    return SurfaceMesh(vertices=vertices, faces=faces, uvs=uvs.reshape(-1, 2), welded=welded,
                       edges=edges, corner_edges=corner_edges)


def _edges(faces, rows, cols, h, w):
    """Unique edges of the quads, from the grid: each face owns its right and bottom edge,
    and its left (top) edge unless the neighbour on that side has the same two vertices.
    Corner k's edge runs to corner k+1: left (TL-BL), bottom (BL-BR), right (BR-TR), top (TR-TL)."""
    n = len(faces)
    index = np.full((h + 2, w + 2), -1, dtype=np.int64)
    index[rows + 1, cols + 1] = np.arange(n)
    left_q = index[rows + 1, cols]
    up_q = index[rows, cols + 1]
    tl, bl, br, tr = faces[:, 0], faces[:, 1], faces[:, 2], faces[:, 3]
    has_l, has_u = left_q >= 0, up_q >= 0
    lq, uq = np.where(has_l, left_q, 0), np.where(has_u, up_q, 0)
    share_l = has_l & (tl == faces[lq, 3]) & (bl == faces[lq, 2])  # left neighbour's right edge
    share_u = has_u & (tl == faces[uq, 1]) & (tr == faces[uq, 2])  # upper neighbour's bottom edge
    right_id = np.arange(n, dtype=np.int64)
    bottom_id = n + right_id
    n_left = int((~share_l).sum())
    left_id = np.empty(n, dtype=np.int64)
    left_id[~share_l] = 2 * n + np.arange(n_left)
    left_id[share_l] = right_id[lq[share_l]]
    top_id = np.empty(n, dtype=np.int64)
    top_id[~share_u] = 2 * n + n_left + np.arange(int((~share_u).sum()))
    top_id[share_u] = bottom_id[uq[share_u]]
    edges = np.concatenate([np.stack([br, tr], 1), np.stack([bl, br], 1),
                            np.stack([tl, bl], 1)[~share_l], np.stack([tr, tl], 1)[~share_u]]).astype(np.int32)
    corner_edges = np.stack([left_id, bottom_id, right_id, top_id], axis=1).astype(np.int32).reshape(-1)
    return edges, corner_edges


def _masked_sum(values, mask_r, ci, cj):
    """Sum over the slots named in each representative's mask (fixed slot order, so equal
    masks give bit-identical sums)."""
    acc = np.zeros(len(ci), dtype=np.float32)
    for t in range(4):
        inc = (mask_r >> t) & 1
        v = values[t][ci, cj]
        acc += np.where(inc == 1, v, np.float32(0))
    return acc


def _corner_positions_on_rays(camera, slots_z, mask_r, ci, cj, c0, r0):
    count = np.zeros(len(ci), dtype=np.float32)
    for t in range(4):
        count += ((mask_r >> t) & 1).astype(np.float32)
    if camera.projection == ORTHOGRAPHIC:
        z = _masked_sum(slots_z, mask_r, ci, cj) / count
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = [np.float32(1) / z for z in slots_z]
        z = count / _masked_sum(inv, mask_r, ci, cj)
    # Corner (i, j) of the grid is the frame point (c0 + j, r0 + i): the pixel-centre
    # formulas of the camera model at (column - 0.5, row - 0.5).
    x = camera.plane_x(np.arange(cj.max() + 1) + (c0 - 0.5)).astype(np.float32)[cj]
    y = camera.plane_y(np.arange(ci.max() + 1) + (r0 - 0.5)).astype(np.float32)[ci]
    if camera.projection != ORTHOGRAPHIC:
        x *= z
        y *= z
    return camera_to_world(camera, x, y, -z)


def _corner_positions_mean(point_set, rows, cols, h, w, mask_r, ci, cj):
    pos = np.zeros((h + 2, w + 2, 3), dtype=np.float32)
    pos[rows + 1, cols + 1] = point_set.positions
    out = np.zeros((len(ci), 3), dtype=np.float32)
    count = np.zeros(len(ci), dtype=np.float32)
    for t, (dr, dc) in enumerate(_SLOT_OFFSETS):
        inc = ((mask_r >> t) & 1).astype(np.float32)
        out += pos[ci + dr, cj + dc] * inc[:, None]
        count += inc
    return out / count[:, None]
