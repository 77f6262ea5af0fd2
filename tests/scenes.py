"""Small test scenes rendered with Cycles to make ground truth (Position pass)."""
from __future__ import annotations

import glob
import math
import os
import sys

import numpy as np


def add_bundled_modules():
    """Put the wheel's bundled ``pxr``/``OpenImageIO`` on sys.path (they are in real Blender)."""
    import bpy
    # ``bpy.__file__`` is the scripts' bpy package once imported: look under Blender's own
    # resource folder (``.../bpy/<version>``) too.
    patterns = [os.path.join(os.path.dirname(bpy.__file__), "*", "python", "lib", "python3*", "site-packages"),
                os.path.join(bpy.utils.resource_path('LOCAL'), "python", "lib", "python3*", "site-packages")]
    for site in sorted({s for p in patterns for s in glob.glob(p)}):
        if site not in sys.path:
            sys.path.append(site)


def set_exr_output(scene, multilayer=True, half=False):
    s = scene.render.image_settings
    from depth_cloud.glue import compat
    compat.set_image_format(s, 'OPEN_EXR_MULTILAYER' if multilayer else 'OPEN_EXR')
    s.color_depth = '16' if half else '32'
    s.exr_codec = 'ZIP'


def setup_render(scene, width=64, height=48, percentage=100, engine='CYCLES', position=True, samples=1):
    """Tiny, exact renders: 1 sample, a tiny box filter so pixel centres are sampled."""
    r = scene.render
    r.engine = engine
    r.resolution_x, r.resolution_y, r.resolution_percentage = width, height, percentage
    r.filter_size = 0.01
    if engine == 'CYCLES':
        scene.cycles.samples = samples
        scene.cycles.device = 'CPU'
        scene.cycles.use_denoising = False
        scene.cycles.pixel_filter_type = 'BOX'
        scene.cycles.filter_width = 0.01
    vl = scene.view_layers[0]
    vl.use_pass_z = True
    vl.use_pass_position = position
    scene.view_settings.view_transform = 'Standard'
    set_exr_output(scene)


def material(name, rgb):
    import bpy
    mat = bpy.data.materials.new(name)
    from depth_cloud.glue import compat
    compat.enable_nodes(mat)
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    if bsdf is not None:
        bsdf.inputs["Base Color"].default_value = (*rgb, 1.0)
    mat.diffuse_color = (*rgb, 1.0)
    return mat


def add_primitives(scene):
    """A cube, a sphere and a tilted plane in front of the origin, colored red/green/blue."""
    import bpy
    bpy.ops.mesh.primitive_cube_add(size=1.0, location=(0.0, 0.0, 0.5))
    bpy.context.object.data.materials.append(material("Red", (0.8, 0.05, 0.05)))
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.6, location=(1.4, 0.8, 0.6), segments=24, ring_count=12)
    bpy.context.object.data.materials.append(material("Green", (0.05, 0.7, 0.1)))
    bpy.ops.mesh.primitive_plane_add(size=6.0, location=(0.0, 0.0, 0.0))
    bpy.context.object.data.materials.append(material("Blue", (0.1, 0.2, 0.8)))
    bpy.ops.object.light_add(type='SUN', location=(2, -2, 5), rotation=(0.6, 0.2, 0.4))
    bpy.context.object.data.energy = 3.0


def add_camera(scene, location=(4.0, -5.0, 3.0), target=(0.4, 0.3, 0.4), ortho=False, **data):
    """A camera looking at ``target``; ``data`` sets camera data fields (lens, shift_x…)."""
    import bpy
    from mathutils import Vector
    cam_data = bpy.data.cameras.new("Camera")
    cam = bpy.data.objects.new("Camera", cam_data)
    scene.collection.objects.link(cam)
    cam.location = location
    direction = Vector(target) - Vector(location)
    cam.rotation_euler = direction.to_track_quat('-Z', 'Y').to_euler()
    if ortho:
        cam_data.type = 'ORTHO'
    for key, value in data.items():
        setattr(cam_data, key, value)
    scene.camera = cam
    return cam


def key_camera(cam, keys, target):
    """Keyframe ``cam`` looking at ``target``: ``keys`` holds ``(frame, location, lens)``."""
    for frame, loc, lens in keys:
        cam.location, cam.data.lens = loc, lens
        cam.rotation_euler = look_at_euler(loc, target)
        cam.keyframe_insert("location", frame=frame)
        cam.keyframe_insert("rotation_euler", frame=frame)
        cam.data.keyframe_insert("lens", frame=frame)
    return cam


def unit_suzanne():
    """Suzanne scaled to 1 m (largest dimension), with its bounding-box centre and diagonal."""
    import bpy
    from mathutils import Vector
    bpy.ops.mesh.primitive_monkey_add()
    ob = bpy.context.object
    s = 1.0 / max(ob.dimensions)
    ob.scale = (s, s, s)
    bpy.ops.object.transform_apply(scale=True)
    corners = np.array([ob.matrix_world @ Vector(c) for c in ob.bound_box])
    centroid = (corners.min(0) + corners.max(0)) / 2
    diag = float(np.linalg.norm(np.ptp(corners, axis=0)))
    return ob, centroid, diag


def set_8bit_output(scene, fmt, jpeg_quality):
    """Save renders as 8-bit display-referred RGB ``fmt`` ('PNG' or 'JPEG')."""
    from depth_cloud.glue import compat
    s = scene.render.image_settings
    compat.set_image_format(s, fmt)
    s.color_mode = 'RGB'
    if fmt == "JPEG":
        s.quality = jpeg_quality
    else:
        s.color_depth = '8'


def render(scene, path):
    """Render the current frame to ``path`` (multilayer EXR unless set otherwise)."""
    import bpy
    scene.render.filepath = path
    scene.render.use_file_extension = False
    bpy.ops.render.render(write_still=True)
    assert os.path.isfile(path), f"render did not write {path}"
    return path


def read_ground_truth(path, layer="ViewLayer"):
    """``(position (h,w,3), depth (h,w), combined (h,w,4))`` straight from the EXR."""
    from depth_cloud.core.exr.read import read_exr
    f = read_exr(path)
    pos = np.stack([f.get(f"{layer}.Position.{c}") for c in "XYZ"], axis=-1)
    z = f.get(f"{layer}.Depth.Z")
    rgba = np.stack([f.get(f"{layer}.Combined.{c}") for c in "RGBA"], axis=-1)
    return pos, z, rgba


def cloud_points(pc):
    """``(positions (n, 3) float32, pixels (n, 2) int32 as column, row)`` of a built Point Cloud
    datablock, read from its ``position`` and ``pixel`` attributes."""
    n = len(pc.points)
    positions = np.empty(n * 3, np.float32)
    pc.attributes['position'].data.foreach_get('vector', positions)
    pixels = np.empty(n * 2, np.int32)
    pc.attributes['pixel'].data.foreach_get('value', pixels)
    return positions.reshape(-1, 3), pixels.reshape(-1, 2)


def relative_errors(point_set, position_gt):
    """|point - Position pass| / depth, per point."""
    gt = position_gt[point_set.pixels[:, 1], point_set.pixels[:, 0]]
    return np.linalg.norm(point_set.positions.astype(np.float64) - gt, axis=1) / point_set.depth


def write_exr(path, channels: dict, header: dict | None = None, compression="ZIP"):
    """Write float32 channels (name -> (h, w) array) as a single-part EXR with OpenEXR."""
    import OpenEXR
    hdr = {"compression": getattr(OpenEXR, f"{compression}_COMPRESSION"), "type": OpenEXR.scanlineimage}
    hdr.update(header or {})
    with OpenEXR.File(hdr, {k: np.ascontiguousarray(v, dtype=v.dtype if v.dtype == np.float16 else np.float32)
                            for k, v in channels.items()}) as f:
        f.write(path)
    return path


def look_at_euler(location, target):
    from mathutils import Vector
    return (Vector(target) - Vector(location)).to_track_quat('-Z', 'Y').to_euler()


def angle(deg):
    return math.radians(deg)


def shown_points(obj):
    """World positions (N, 3) float64 of the points ``obj`` shows now (evaluated: a sequence's
    current frame); empty when it shows none."""
    import bpy
    dg = bpy.context.evaluated_depsgraph_get()
    for inst in dg.object_instances:
        ob = inst.object
        if ob.type == 'POINTCLOUD' and ob.original == obj:
            p = np.empty(len(ob.data.points) * 3, np.float32)
            ob.data.attributes['position'].data.foreach_get('vector', p)
            m = np.array(inst.matrix_world)
            return p.reshape(-1, 3).astype(np.float64) @ m[:3, :3].T + m[:3, 3]
    return np.empty((0, 3))
