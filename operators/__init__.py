"""Operators: thin; they read settings, call the glue and report errors."""

from .bake_usd import DEPTH_CLOUD_OT_bake_usd
from .build import DEPTH_CLOUD_OT_build
from .build_sequence import DEPTH_CLOUD_OT_build_sequence
from .captured_camera import DEPTH_CLOUD_OT_camera_from_intrinsics, DEPTH_CLOUD_OT_import_camera_path
from .check_camera import DEPTH_CLOUD_OT_check_camera
from .find_mask_names import DEPTH_CLOUD_OT_find_mask_names
from .fuse import DEPTH_CLOUD_OT_fuse
from .import_exr import DEPTH_CLOUD_OT_import_exr
from .pick_point import DEPTH_CLOUD_OT_pick_point
from .render_passes import DEPTH_CLOUD_OT_render_passes
from .set_view import DEPTH_CLOUD_OT_set_view

classes = (DEPTH_CLOUD_OT_build, DEPTH_CLOUD_OT_build_sequence, DEPTH_CLOUD_OT_render_passes,
           DEPTH_CLOUD_OT_bake_usd, DEPTH_CLOUD_OT_fuse, DEPTH_CLOUD_OT_check_camera, DEPTH_CLOUD_OT_pick_point,
           DEPTH_CLOUD_OT_find_mask_names, DEPTH_CLOUD_OT_set_view, DEPTH_CLOUD_OT_camera_from_intrinsics,
           DEPTH_CLOUD_OT_import_camera_path, DEPTH_CLOUD_OT_import_exr)
