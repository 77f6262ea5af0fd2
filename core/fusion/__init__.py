"""Multi-view fusion: many depth maps seen by known cameras -> one clean, oriented cloud.

Pipeline (all numpy, vectorized per view; no per-pixel Python):

1. **Per view** (:func:`prepare_view`): valid depth pixels; *spike removal* (a pixel needs
   support from its 3x3 neighbourhood: neighbours at the same depth, or opposite neighbour
   pairs whose midpoint predicts its depth, so steep but smooth surfaces keep their pixels);
   *normals* from the depth image gradients (cross product of the unprojected neighbours,
   the one-sided difference with the smaller depth jump on each axis, so normals do not
   bend across depth edges), oriented toward the camera.
2. **Multi-view consistency** (:func:`view_consistency`): every point of view *i* is
   projected into every other view *j*. Among the four pixel centres around the projection,
   view *j* **agrees** if one holds the point's depth within ``depth_tolerance * depth``;
   it **contradicts** (free-space violation) if the point lies in front of all four by more
   than the tolerance (or they are background: j saw through the point); otherwise the point
   is hidden from j (behind j's surface, or outside j's image) and j says nothing. The views
   that *should see* the point are those that agree or contradict. A point is kept when at
   least ``min(min_views, should_see)`` other views agree, i.e. with ``min_views`` agreeing
   views when that many should see it, and with no contradiction when fewer should.
   ``check_views`` limits each view to its most similar views (:func:`similar_views`).
3. **Voxel grid** (:func:`voxel_downsample`): points are merged per voxel (and per normal
   direction, so the two sides of a thin wall are not averaged together): position and color
   are averaged, normals summed and renormalized, the number of merged points kept.
4. **Statistical outlier removal** (:func:`statistical_outliers`): mean distance to the k
   nearest neighbours (exact grid k-NN of :mod:`.knn`, no scipy in Blender); points farther
   than ``mean + std_ratio * std`` are dropped. By default only points no other view
   confirmed are judged (plain SOR also eats real surface sampled sparsely at grazing angles).

Per point the result carries ``normals`` and the attributes ``views`` (number of views that
saw it consistently: its own plus the agreeing ones, max over merged points) and
``confidence`` (agreeing / should-see views, including its own, mean over merged points).
"""
from .consistency import Projector, compare_with_view, consistency_mask, similar_views, view_consistency
from .outliers import statistical_outliers
from .pipeline import fuse
from .prepare import PreparedView, camera_space_grid, depth_normals, neighbor_support, prepare_view
from .settings import FusionResult, FusionSettings
from .views import CONFIDENCE_ATTRIBUTE, SOURCE_VIEW_ATTRIBUTE, VIEWS_ATTRIBUTE, DepthView, view_from_passes
from .voxels import group_mean, normal_bucket, voxel_downsample, voxel_groups

__all__ = ["Projector", "compare_with_view", "consistency_mask", "similar_views", "view_consistency",
           "statistical_outliers", "fuse", "PreparedView", "camera_space_grid", "depth_normals", "neighbor_support",
           "prepare_view", "FusionResult", "FusionSettings", "CONFIDENCE_ATTRIBUTE", "SOURCE_VIEW_ATTRIBUTE",
           "VIEWS_ATTRIBUTE", "DepthView", "view_from_passes", "group_mean", "normal_bucket", "voxel_downsample",
           "voxel_groups"]
