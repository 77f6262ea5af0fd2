"""Depth Cloud demo: no files needed.

Builds a small procedural scene, renders it with Cycles (Combined + Z + Position) into a
multilayer EXR, turns the render into a colored point cloud with Depth Cloud, then renders
the cloud from a second viewpoint so you can see the 3D result without opening Blender.

    bash tools/demo.sh            (or: <venv>/bin/python demo/demo.py [--out DIR])

Writes into out/: demo_frame.exr (the passes), demo_source.png (the original render),
demo_cloud.png (the cloud seen from 35 degrees to the side), demo_surface.png (the same in
Surface display mode) and demo_cloud.blend.
"""
import argparse
import math
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
from checkout import import_extension  # noqa: E402


def make_scene(bpy, size):
    """Colored primitives on a checkered floor, a sun, a camera; Cycles with the passes needed."""
    from mathutils import Vector

    from depth_cloud.glue import compat
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    r = scene.render
    r.engine = 'CYCLES'
    r.resolution_x, r.resolution_y, r.resolution_percentage = size[0], size[1], 100
    scene.cycles.samples = 16
    scene.cycles.device = 'CPU'
    r.filter_size = 0.01
    scene.view_settings.view_transform = 'Standard'
    vl = scene.view_layers[0]
    vl.use_pass_z = vl.use_pass_position = True
    world = bpy.data.worlds.new("World")
    world.color = (0.05, 0.06, 0.08)
    scene.world = world

    def mat(name, rgb, checker=False):
        m = bpy.data.materials.new(name)
        compat.enable_nodes(m)
        nodes = m.node_tree.nodes
        bsdf = nodes["Principled BSDF"]
        bsdf.inputs["Base Color"].default_value = (*rgb, 1)
        if checker:
            tex = nodes.new("ShaderNodeTexChecker")
            tex.inputs["Scale"].default_value = 8.0
            tex.inputs["Color1"].default_value = (0.8, 0.8, 0.75, 1)
            tex.inputs["Color2"].default_value = (0.15, 0.15, 0.2, 1)
            m.node_tree.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
        return m

    def add(op, material, **kw):
        op(**kw)
        bpy.context.object.data.materials.append(material)
        return bpy.context.object

    add(bpy.ops.mesh.primitive_plane_add, mat("Floor", (1, 1, 1), checker=True), size=8)
    add(bpy.ops.mesh.primitive_cube_add, mat("Red", (0.8, 0.1, 0.08)), size=1.2, location=(-1.2, 0.3, 0.6))
    add(bpy.ops.mesh.primitive_uv_sphere_add, mat("Green", (0.1, 0.7, 0.2)), radius=0.7, location=(0.6, 0.9, 0.7))
    add(bpy.ops.mesh.primitive_torus_add, mat("Blue", (0.1, 0.3, 0.9)), location=(1.3, -0.9, 0.3))
    add(bpy.ops.mesh.primitive_cone_add, mat("Gold", (0.9, 0.6, 0.1)), radius1=0.5, depth=1.4,
        location=(-0.3, -1.3, 0.7))
    bpy.ops.object.light_add(type='SUN', rotation=(0.7, 0.2, 0.8))
    bpy.context.object.data.energy = 3.5
    originals = [o for o in scene.objects]

    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    cam.location = (5.5, -6.0, 4.0)
    cam.rotation_euler = (Vector((0, 0, 0.5)) - cam.location).to_track_quat('-Z', 'Y').to_euler()
    cam.data.lens = 35
    scene.camera = cam
    return scene, originals


def set_output(scene, fmt):
    from depth_cloud.glue import compat
    s = scene.render.image_settings
    compat.set_image_format(s, fmt)
    if fmt == 'OPEN_EXR_MULTILAYER':
        s.color_depth = '32'
        s.exr_codec = 'ZIP'


def render(bpy, scene, path):
    scene.render.filepath = path
    scene.render.use_file_extension = False
    bpy.ops.render.render(write_still=True)


def main():
    ap = argparse.ArgumentParser(description="Depth Cloud demo")
    ap.add_argument("--out", default=os.path.join(REPO, "out"))
    ap.add_argument("--size", default="480x270")
    args = ap.parse_args(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:])
    os.makedirs(args.out, exist_ok=True)
    size = tuple(int(v) for v in args.size.split("x"))

    import bpy
    import_extension()
    from depth_cloud import api

    t0 = time.perf_counter()
    scene, originals = make_scene(bpy, size)
    exr = os.path.join(args.out, "demo_frame.exr")
    set_output(scene, 'OPEN_EXR_MULTILAYER')
    render(bpy, scene, exr)
    set_output(scene, 'PNG')
    render(bpy, scene, os.path.join(args.out, "demo_source.png"))
    print(f"rendered the passes in {time.perf_counter() - t0:.1f} s -> {exr}")

    t = time.perf_counter()
    cloud = api.build_point_cloud(scene, source=exr)
    print(f"built {len(cloud.data.points):,} points in {(time.perf_counter() - t) * 1e3:.0f} ms "
          f"(object '{cloud.name}')")

    # Look at the cloud from a second viewpoint, 35 degrees around the scene.
    for ob in originals:
        ob.hide_render = True
    viewer = bpy.data.objects.new("Viewer", scene.camera.data.copy())
    scene.collection.objects.link(viewer)
    a = math.radians(35)
    cam = scene.camera.matrix_world.translation
    viewer.location = (cam.x * math.cos(a) - cam.y * math.sin(a), cam.x * math.sin(a) + cam.y * math.cos(a),
                       cam.z + 1.5)
    from mathutils import Vector
    viewer.rotation_euler = (Vector((0, 0, 0.5)) - viewer.location).to_track_quat('-Z', 'Y').to_euler()
    scene.camera = viewer
    render(bpy, scene, os.path.join(args.out, "demo_cloud.png"))
    api.set_display([cloud], mode='SURFACE')  # the same pixels as a mesh: holes only where the camera saw nothing
    render(bpy, scene, os.path.join(args.out, "demo_surface.png"))
    api.set_display([cloud], mode='POINTS')
    bpy.ops.wm.save_as_mainfile(filepath=os.path.join(args.out, "demo_cloud.blend"))
    print(f"wrote {os.path.join(args.out, 'demo_source.png')}, demo_cloud.png and demo_surface.png "
          f"(the cloud seen 35 degrees to the side), total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
