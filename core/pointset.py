"""PointSet: what an unprojection produces, as plain arrays (no Blender types)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np


@dataclass
class PointSet:
    """Colored world-space points, one per valid source pixel.

    positions  (N, 3) float32, world space
    colors     (N, 4) float32, scene-linear RGBA
    pixels     (N, 2) int32, source pixel ``(column, row)`` in the frame, row 0 at the top
    depth      (N,) float32 planar camera depth, or None when no camera was involved
    radius     (N,) float32 radius of a sphere covering the pixel footprint at the point
               (``core.footprint.point_radius``; None without a camera)
    normals    (N, 3) float32 unit normals, or None (e.g. fused clouds carry them)
    attributes extra per-point arrays by name, e.g. ``views`` (int32) and ``confidence``
               (float32) of a fused cloud; written as point attributes of the same name
    """

    positions: np.ndarray
    colors: np.ndarray
    pixels: np.ndarray
    depth: np.ndarray | None = None
    radius: np.ndarray | None = None
    image_size: tuple = (0, 0)
    meta: dict = field(default_factory=dict)
    normals: np.ndarray | None = None
    attributes: dict = field(default_factory=dict)

    def __post_init__(self):
        n = len(self.positions)
        for f in ("colors", "pixels", "depth", "radius", "normals"):
            arr = getattr(self, f)
            if arr is not None and len(arr) != n:
                raise ValueError(f"PointSet.{f} has {len(arr)} rows, positions has {n}")
        for name, arr in self.attributes.items():
            if len(arr) != n:
                raise ValueError(f"PointSet attribute {name!r} has {len(arr)} rows, positions has {n}")

    def __len__(self) -> int:
        return len(self.positions)

    def subset(self, index: np.ndarray) -> PointSet:
        """A PointSet of the points selected by a boolean mask or an index array."""
        kw = {}
        for f in fields(self):
            v = getattr(self, f.name)
            kw[f.name] = v[index] if isinstance(v, np.ndarray) else v
        kw["attributes"] = {name: arr[index] for name, arr in self.attributes.items()}
        return replace(self, **kw)

    def pixel_grid(self, values: np.ndarray, fill: float, pad: int = 0) -> tuple[np.ndarray, tuple[int, int]]:
        """``(grid, (c0, r0))``: per-point ``values`` scattered over the bounding box of the
        points' pixels, widened by ``pad`` pixels all round (``fill`` where there is no point);
        ``grid[row - r0, col - c0]`` is the value of the point at frame pixel ``(col, row)``."""
        values = np.asarray(values)
        pix = self.pixels
        c0, r0 = (int(v) - pad for v in pix.min(axis=0))
        w, h = (int(v) + pad + 1 for v in pix.max(axis=0) - (c0, r0))
        grid = np.full((h, w), fill, dtype=values.dtype)
        grid[pix[:, 1] - r0, pix[:, 0] - c0] = values
        return grid, (c0, r0)

    @property
    def pixel_index(self) -> np.ndarray:
        """Flat index ``row * width + column`` of each point's source pixel."""
        return self.pixels[:, 1].astype(np.int64) * int(self.image_size[0]) + self.pixels[:, 0]
