"""Cameras from numbers: a camera from pinhole intrinsics, a keyed camera from a pose file."""
from __future__ import annotations

import bpy
from bpy.props import EnumProperty, FloatProperty, IntProperty, StringProperty

from ._report import reports_errors

POSE_FORMATS = (('AUTO', "Auto", "By file name: .json = transforms.json, images.txt = COLMAP, else TUM"),
                ('COLMAP', "COLMAP", "images.txt (+ cameras.txt beside it)"),
                ('TUM', "TUM RGB-D", "timestamp tx ty tz qx qy qz qw, with depth.txt (and rgb.txt)"),
                ('TRANSFORMS', "transforms.json", "NeRF / instant-ngp / nerfstudio"))


class DEPTH_CLOUD_OT_camera_from_intrinsics(bpy.types.Operator):
    """Create (or update the chosen) camera whose lens, sensor fit and shift reproduce pinhole intrinsics fx, fy, cx, cy
(pixels, OpenCV meaning) for an image of the given size"""

    bl_idname = "depth_cloud.camera_from_intrinsics"
    bl_label = "Camera from Intrinsics"
    bl_options = {'REGISTER', 'UNDO'}

    fx: FloatProperty(name="fx", default=500.0, min=1e-6, precision=4)
    fy: FloatProperty(name="fy", default=500.0, min=1e-6, precision=4)
    cx: FloatProperty(name="cx", default=319.5, precision=4)
    cy: FloatProperty(name="cy", default=239.5, precision=4)
    width: IntProperty(name="Width", default=0, min=0, description="Image width (0: the depth file's)")
    height: IntProperty(name="Height", default=0, min=0, description="Image height (0: the depth file's)")

    def invoke(self, context, event):
        return context.window_manager.invoke_props_dialog(self)

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        from ..core.camera.intrinsics import Intrinsics
        from ..glue import captured, source

        scene = context.scene
        settings = scene.depth_cloud
        w, h = self.width, self.height
        if not (w and h):
            spec = source.resolve(scene).spec
            w, h = captured.depth_size(spec.paths(scene.frame_current)[0], spec.depth_channel)
        intr = Intrinsics(self.fx, self.fy, self.cx, self.cy, w, h, source="Camera from Intrinsics")
        cam = captured.camera_from_intrinsics(scene, intr, settings.camera)
        settings.camera = cam
        self.report({'INFO'}, f"camera {cam.name!r}: lens {cam.data.lens:.6g} mm, shift "
                              f"{cam.data.shift_x:.6g}, {cam.data.shift_y:.6g} for {w}x{h}")
        return {'FINISHED'}


class DEPTH_CLOUD_OT_import_camera_path(bpy.types.Operator):
    """Key a camera along a captured path (COLMAP, TUM or transforms.json) and make its depth (and color) frames the
Depth Cloud source, for Build Sequence, playback, USD bake and fusion"""

    bl_idname = "depth_cloud.import_camera_path"
    bl_label = "Import Camera Path"
    bl_options = {'REGISTER', 'UNDO'}

    filepath: StringProperty(subtype='FILE_PATH')
    pose_format: EnumProperty(name="Format", items=POSE_FORMATS, default='AUTO')
    depth: StringProperty(name="Depth", subtype='FILE_PATH',
                          description="TUM: depth.txt; COLMAP/transforms.json: a depth pattern with # (frame i = the "
                                      "i-th image in name order) or empty (transforms.json depth_file_path)")
    color: StringProperty(name="Color", subtype='FILE_PATH',
                          description="TUM: rgb.txt; COLMAP: the image folder (default: beside images.txt)")
    intrinsics: StringProperty(name="Intrinsics", description="TUM: fx, fy, cx, cy in pixels (OpenCV)")
    tolerance: FloatProperty(name="Time Tolerance", default=0.02, min=0.0, description="TUM: max seconds between "
                                                                                      "a depth frame and its pose")
    frame_start: IntProperty(name="First Frame", default=1)

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {'RUNNING_MODAL'}

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        from ..glue import captured
        from ..glue.images import abspath

        scene = context.scene
        depth = abspath(self.depth) if self.depth else None
        fmt = self.pose_format if self.pose_format != 'AUTO' else captured.detect_format(self.filepath)
        intr = None
        if self.intrinsics.strip():
            from ..core.camera.intrinsics import parse_intrinsics
            size = captured.depth_size(_first_tum_depth(depth)) if fmt == 'TUM' and depth else (None, None)
            intr = parse_intrinsics(self.intrinsics, *size, source="Import Camera Path intrinsics")
        if depth and fmt != 'TUM' and '#' in depth:
            depth = _pattern_files(depth)
        cam, cap = captured.import_camera_path(scene, abspath(self.filepath), fmt, depth,
                                               abspath(self.color) if self.color else None, intr, self.tolerance,
                                               self.frame_start)
        for w in cap.warnings:
            self.report({'WARNING'}, w)
        self.report({'INFO'}, f"camera {cam.name!r} keyed on {len(cap.frames)} frames from {cap.format}")
        return {'FINISHED'}


def _first_tum_depth(depth_list: str) -> str:
    from ..core.camera.poses import read_tum_list
    return read_tum_list(depth_list)[1][0]


def _pattern_files(pattern: str) -> list:
    import glob
    import re
    return sorted(glob.glob(re.sub(r"#+", lambda m: "[0-9]" * len(m.group(0)), pattern)))


classes = (DEPTH_CLOUD_OT_camera_from_intrinsics, DEPTH_CLOUD_OT_import_camera_path)
