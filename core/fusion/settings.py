"""The fusion's settings (checked before any work) and its result."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import SettingsError
from ..points.pointset import PointSet

if TYPE_CHECKING:

    pass


@dataclass
class FusionSettings:
    """Fusion parameters (see the module docstring)."""

    voxel_size: float = 0.0          # 0: automatic (median pixel footprint of the points)
    min_views: int = 2               # agreeing other views needed (capped by views that should see); 0 = off
    depth_tolerance: float = 0.01    # relative: |depth difference| <= tolerance * depth
    neighbor_support: int = 2        # spike removal: support needed in the 3x3 neighbourhood; 0 = off
    outlier_neighbors: int = 16      # k of the statistical outlier removal; 0 = off
    outlier_std_ratio: float = 2.0   # drop points whose mean k-NN distance > mean + ratio * std
    outliers_unconfirmed_only: bool = True  # points confirmed by another view are never dropped
    max_incidence: float = 90.0      # degrees; drop points seen more grazing than this (90 = off)
    check_views: int = 0             # compare each view with its N most similar views; 0 = all others
    split_normals: bool = True       # keep opposite-facing surfaces in one voxel apart
    workers: int = 1                 # threads for the per-view work (0 = min(2, CPU count))

    def validate(self) -> FusionSettings:
        checks = [
            (self.voxel_size >= 0 and math.isfinite(self.voxel_size), "voxel size must be >= 0 (0 = automatic)"),
            (self.min_views >= 0, "minimum views must be >= 0 (0 = no multi-view filter)"),
            (0 < self.depth_tolerance < 1, "depth tolerance must be between 0 and 1 (a fraction of the depth)"),
            (0 <= self.neighbor_support <= 8, "neighbour support must be between 0 and 8"),
            (self.outlier_neighbors >= 0, "outlier neighbours must be >= 0 (0 = no outlier removal)"),
            (self.outlier_std_ratio > 0, "outlier standard-deviation ratio must be positive"),
            (0 < self.max_incidence <= 90, "maximum incidence angle must be in (0, 90] degrees"),
            (self.workers >= 0, "workers must be >= 0"),
            (self.check_views >= 0, "views to compare with must be >= 0 (0 = all)"),
        ]
        for ok, msg in checks:
            if not ok:
                raise SettingsError(f"fusion setting: {msg}")
        return self


@dataclass
class FusionResult:
    point_set: PointSet
    voxel_size: float
    stats: dict
