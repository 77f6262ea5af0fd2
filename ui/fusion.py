"""Fusion sub-panels (3D Viewport and Compositor sidebars): they only draw."""
from __future__ import annotations

from .layout import property_column
from .panels import sidebar_subpanels


def draw_fusion(layout, context):
    fs = context.scene.depth_cloud.fusion
    col = property_column(layout)
    col.prop(fs, "source")
    if fs.source == 'SEQUENCE':
        col.prop(fs, "frames")
        sub = col.column()
        sub.active = False
        sub.label(text="Files and camera: the Depth Cloud settings above", icon='INFO')
    elif fs.source == 'CAMERAS':
        col.prop(fs, "cameras")
        col.prop(fs, "files")
        col.prop(fs, "color_files")
    else:
        col.prop(fs, "camera_list")
        col.prop(fs, "files", text="Depth Files (optional)")
        col.prop(fs, "color_files")

    col.separator()
    col.prop(fs, "voxel_size")
    col.prop(fs, "min_views")
    col.prop(fs, "depth_tolerance")
    col.prop(fs, "check_views")
    col.prop(fs, "neighbor_support")
    col.prop(fs, "max_incidence")
    col.prop(fs, "remove_outliers")
    sub = col.column(align=True)
    sub.active = fs.remove_outliers
    sub.prop(fs, "outlier_neighbors")
    sub.prop(fs, "outlier_std_ratio")

    col.separator()
    col.prop(fs, "make_surface")
    sub = col.column(align=True)
    sub.active = fs.make_surface
    sub.prop(fs, "surface_voxel_size")
    sub.prop(fs, "surface_radius")
    col.prop(fs, "output_name")
    layout.operator("depth_cloud.fuse", icon='OUTLINER_OB_POINTCLOUD')


classes = sidebar_subpanels("fusion", "Multi-View Fusion", draw_fusion, closed=True)
