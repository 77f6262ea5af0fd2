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
               (may be given as :class:`PixelIndex`: made on first use, so builds that
               never look at them, the default 32 B/point cloud, do not pay for them)
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
            arr = self.__dict__["_pixels"] if f == "pixels" else getattr(self, f)
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

    def _gathered_at(self, shape: tuple, window: tuple, step: int, offset: int):
        """The :class:`PixelIndex` the points were gathered with from arrays of ``shape`` (h, w)
        at ``window`` holding every ``step``-th pixel from ``offset``, or None."""
        lazy = self.__dict__.get("_pixels")
        if isinstance(lazy, PixelIndex) and (lazy.height, lazy.width, lazy.x0, lazy.y0) == (
                shape[0], shape[1], window[0], window[1]) and lazy.step == step and \
                (step == 1 or lazy.offset == offset):
            return lazy
        return None

    def flat_index(self, shape: tuple, window: tuple, step: int = 1, offset: int = 0) -> np.ndarray | None:
        """Flat offsets of the points' pixels in arrays of ``shape`` (h, w) placed at
        ``window`` in the frame holding every ``step``-th pixel from ``offset``, when the points
        still carry the index they were gathered with there (:class:`PixelIndex`); else None
        (compute them from ``pixels``)."""
        lazy = self._gathered_at(shape, window, step, offset)
        return None if lazy is None else lazy.flat()

    def gathered_every_pixel(self, shape: tuple, window: tuple, step: int = 1, offset: int = 0) -> bool:
        """The points are every pixel, in order, of those arrays (gathered with no index)."""
        lazy = self._gathered_at(shape, window, step, offset)
        return lazy is not None and lazy.index is None

    @property
    def pixel_index(self) -> np.ndarray:
        """Flat index ``row * width + column`` of each point's source pixel."""
        return self.pixels[:, 1].astype(np.int64) * int(self.image_size[0]) + self.pixels[:, 0]


class PixelIndex:
    """The source pixels of points gathered at flat ``index`` (None: every pixel, in order) of
    an (h, w) array placed at ``(x0, y0)`` in the frame, every ``step``-th pixel from
    ``offset`` (``core.detail``): the (N, 2) int32 ``pixels`` array made only when used."""

    __slots__ = ("index", "width", "height", "x0", "y0", "step", "offset", "count")

    def __init__(self, index, width: int, height: int, x0: int, y0: int, step: int = 1, offset: int = 0):
        self.index, self.width, self.height = index, int(width), int(height)
        self.x0, self.y0, self.step, self.offset = int(x0), int(y0), int(step), int(offset)
        self.count = self.width * self.height if index is None else len(index)

    def __len__(self) -> int:
        return self.count

    def flat(self) -> np.ndarray:
        return np.arange(self.count, dtype=np.int64) if self.index is None else self.index

    def pixels(self) -> np.ndarray:
        rows, cols = np.divmod(self.flat(), self.width)
        return frame_pixels(cols, rows, self.x0, self.y0, self.step, self.offset)


def frame_pixels(cols, rows, x0: int, y0: int, step: int = 1, offset: int = 0) -> np.ndarray:
    """(N, 2) int32 frame pixels ``(column, row)`` of array columns and rows of an array at
    ``(x0, y0)`` holding every ``step``-th pixel from ``offset`` (``core.detail``)."""
    out = np.empty((len(cols), 2), dtype=np.int32)
    if step == 1:
        out[:, 0] = cols + x0
        out[:, 1] = rows + y0
    else:  # every Nth pixel: array index -> frame pixel
        out[:, 0] = cols * step + (x0 + offset)
        out[:, 1] = rows * step + (y0 + offset)
    return out


def _get_pixels(self) -> np.ndarray:
    value = self.__dict__["_pixels"]
    if isinstance(value, PixelIndex):
        value = self.__dict__["_pixels"] = value.pixels()
    return value


def _set_pixels(self, value) -> None:
    self.__dict__["_pixels"] = value


PointSet.pixels = property(_get_pixels, _set_pixels, doc="(N, 2) int32 source pixels (made on first use)")
