"""Fusion settings saved in the .blend (``scene.depth_cloud.fusion``)."""
from __future__ import annotations

import math

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

FUSION_SOURCES = [
    ('SEQUENCE', "Sequence Frames",
     "Frames of the Depth Cloud source (path with '#'), each seen by the camera as animated at that frame"),
    ('CAMERAS', "Camera Objects", "One depth file per camera object of a collection"),
    ('CAMERA_LIST', "Camera List File", "A JSON or CSV file of camera matrices or view directions"),
]


class DepthCloudFusionSettings(bpy.types.PropertyGroup):
    """Multi-view fusion settings of a scene."""

    source: EnumProperty(name="Views", items=FUSION_SOURCES, default='SEQUENCE',
                         description="Where the depth maps and their cameras come from")
    frames: StringProperty(name="Frames",
                           description="Frames to fuse, e.g. '1-20' or '1-240x3,300' (empty: the scene's frame range)")
    cameras: PointerProperty(name="Cameras", type=bpy.types.Collection,
                             description="Collection holding the camera objects (sorted by name)")
    files: StringProperty(name="Depth Files", subtype='FILE_PATH',
                          description="Depth (or multilayer) EXR of each camera: '{camera}' is replaced by the "
                                      "camera's name, '#' by its number (1, 2, …). For a camera list, empty: the "
                                      "files it names")
    color_files: StringProperty(name="Color Files", subtype='FILE_PATH',
                                description="Optional separate color files, with the same '{camera}' and '#' rules")
    camera_list: StringProperty(name="Camera List", subtype='FILE_PATH',
                                description="JSON or CSV list of cameras (4x4 camera-to-world matrices with "
                                            "intrinsics, or view directions with a distance to the centroid)")
    voxel_size: FloatProperty(name="Voxel Size", default=0.0, min=0.0, soft_max=1.0, precision=4, unit='LENGTH',
                              description="Points closer than this are merged (averaged). 0: automatic, the median "
                                          "pixel footprint of the points")
    min_views: IntProperty(name="Minimum Views", default=2, min=0, soft_max=10, max=256,
                           description="Other views that must agree on a point's depth (fewer if fewer views should "
                                       "see it; then none may contradict it). 0: no multi-view check")
    depth_tolerance: FloatProperty(name="Depth Tolerance", default=1.0, min=0.01, max=50.0, subtype='PERCENTAGE',
                                   description="Two depths agree when they differ by less than this percentage")
    neighbor_support: IntProperty(name="Spike Filter", default=2, min=0, max=8,
                                  description="Support a pixel needs from its 3x3 neighbours (same depth, or on a "
                                              "smooth slope through it) to count. 0: keep isolated pixels")
    remove_outliers: BoolProperty(name="Remove Outliers", default=True,
                                  description="Statistical outlier removal on points no other view confirmed")
    outlier_neighbors: IntProperty(name="Neighbors", default=16, min=1, max=128,
                                   description="Number of nearest neighbours whose mean distance is tested")
    outlier_std_ratio: FloatProperty(name="Std Ratio", default=2.0, min=0.1, max=20.0,
                                     description="Drop points whose mean neighbour distance exceeds the mean by "
                                                 "this many standard deviations")
    max_incidence: FloatProperty(name="Max Incidence", default=math.radians(90.0), min=math.radians(1.0),
                                 max=math.radians(90.0), subtype='ANGLE',
                                 description="Drop pixels that see the surface more grazing than this (90°: keep all)")
    check_views: IntProperty(name="Compare With", default=0, min=0, soft_max=32,
                             description="Check each view against this many most similar views (closest "
                                         "direction and position) instead of all others: faster for long "
                                         "sequences. 0: all other views")
    make_surface: BoolProperty(name="Surface", default=False,
                               description="Also make a mesh surface with Geometry Nodes (Points to Volume, "
                                           "Volume to Mesh)")
    surface_voxel_size: FloatProperty(name="Surface Voxel", default=0.0, min=0.0, soft_max=1.0, precision=4,
                                      unit='LENGTH', description="Volume voxel size of the surface (0: the cloud's)")
    surface_radius: FloatProperty(name="Surface Radius", default=0.0, min=0.0, soft_max=1.0, precision=4,
                                  unit='LENGTH',
                                  description="Radius of each point in the volume (0: 1.5 x the cloud's voxel size)")
    output_name: StringProperty(name="Name", default="Fused Cloud", description="Name of the fused cloud object")


def fusion_options(fs) -> dict:
    """A scene's fusion settings as keyword arguments of ``core.fusion.FusionSettings``.

    (A module function, not a method: a method on this PropertyGroup made Blender 4.2 crash
    at exit after unregistering.)"""
    return dict(voxel_size=fs.voxel_size, min_views=fs.min_views,
                depth_tolerance=fs.depth_tolerance / 100.0, neighbor_support=fs.neighbor_support,
                outlier_neighbors=fs.outlier_neighbors if fs.remove_outliers else 0,
                outlier_std_ratio=fs.outlier_std_ratio,
                max_incidence=min(90.0, math.degrees(fs.max_incidence)), check_views=fs.check_views)


classes = (DepthCloudFusionSettings,)
