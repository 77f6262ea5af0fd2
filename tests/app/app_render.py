"""Lane step 1 (background): the shot every other lane test uses, rendered by this Blender.

Cycles renders 12 frames (320x180, a camera moving around the test primitives) to multilayer
EXRs with Combined, Depth and Position passes (``render/seq_0001.exr``…); the scene is saved
as ``scene.blend`` with Depth Cloud pointed at frame 1 and the primitives hidden in the
viewport (so a screenshot shows the cloud, not the meshes under it).
"""
import os
import sys

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # lane.py puts tests/ on the path too
import lane  # noqa: E402

W, H, FRAMES = 320, 180, 12


def steps():
    lane.extension()  # enabled by `blender --command extension install-file`
    from scenes import add_camera, add_primitives, key_camera, setup_render
    bpy.ops.wm.read_homefile(use_empty=True)  # keeps the preferences (the extension stays enabled)
    scene = bpy.context.scene
    setup_render(scene, W, H)
    add_primitives(scene)
    cam = add_camera(scene)
    key_camera(cam, [(1, (4.0, -5.0, 3.0), 35.0), (FRAMES, (5.4, -2.4, 2.6), 45.0)], (0.4, 0.3, 0.4))
    scene.frame_start, scene.frame_end = 1, FRAMES
    scene.render.fps = 24
    os.makedirs(lane.out("render"), exist_ok=True)
    scene.render.filepath = lane.out("render", "seq_####.exr")
    scene.render.use_file_extension = False
    bpy.ops.render.render(animation=True)
    missing = [f for f in range(1, FRAMES + 1) if not os.path.isfile(lane.out("render", f"seq_{f:04d}.exr"))]
    if missing:
        raise RuntimeError(f"Cycles did not write frames {missing}")
    scene.frame_set(1)
    for ob in scene.objects:
        if ob.type == 'MESH':
            ob.hide_set(True)
    settings = scene.depth_cloud
    settings.exr_path = lane.out("render", "seq_0001.exr")
    settings.pixel_ids = True
    lane.RESULT.update(width=W, height=H, frames=FRAMES)
    bpy.ops.wm.save_as_mainfile(filepath=lane.out("scene.blend"))
    yield 0


lane.run(steps)
