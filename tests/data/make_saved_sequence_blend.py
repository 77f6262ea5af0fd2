"""Make ``saved_before_rooms.blend``: a .blend saved by Depth Cloud before ``core/`` and ``glue/``
were grouped into wings (issue 21), holding a Lazy sequence of three frames with a moving camera
and the scene settings it was built with, so ``tests/blender/test_old_blend.py`` can check that
the code after the move opens it, plays it back and rebuilds it.

Run with the OLDEST supported Blender, from the repository at the release to freeze:

    "$(bash tools/venv.sh 4.2)"/bin/python tests/data/make_saved_sequence_blend.py

It renders three 32x24 Cycles frames (``saved_before_rooms_####.exr``: Combined + Z + Position,
referenced relative to the .blend) and builds them with the Build Sequence operator.
"""
from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BLEND = os.path.join(HERE, "saved_before_rooms.blend")
PATTERN = os.path.join(HERE, "saved_before_rooms_####.exr")
FRAMES = (1, 2, 3)
CAMERA_KEYS = {1: ((4.0, -5.0, 3.0), 35.0), 3: ((5.0, -3.2, 2.4), 45.0)}  # frame: (location, lens)
TARGET = (0.4, 0.3, 0.4)
SEQUENCE = dict(use_scene_range=True, mode='LAZY', cache_mb=256.0)


def frame_files():
    return [PATTERN.replace("####", f"{f:04d}") for f in FRAMES]


def main():
    sys.path.insert(0, HERE)
    from make_saved_blend import extension_scene
    with extension_scene() as scene:
        import bpy

        from scenes import add_camera, add_primitives, look_at_euler, setup_render
        setup_render(scene, 32, 24)
        add_primitives(scene)
        cam = add_camera(scene)
        for frame, (loc, lens) in CAMERA_KEYS.items():
            cam.location, cam.data.lens = loc, lens
            cam.rotation_euler = look_at_euler(loc, TARGET)
            cam.keyframe_insert("location", frame=frame)
            cam.keyframe_insert("rotation_euler", frame=frame)
            cam.data.keyframe_insert("lens", frame=frame)
        scene.frame_start, scene.frame_end = FRAMES[0], FRAMES[-1]
        for frame, path in zip(FRAMES, frame_files()):
            scene.frame_set(frame)
            scene.render.filepath = path
            bpy.ops.render.render(write_still=True)
        scene.frame_set(FRAMES[0])
        bpy.ops.wm.save_as_mainfile(filepath=BLEND)  # so '//' paths resolve next to it
        s = scene.depth_cloud
        s.exr_path = "//" + os.path.basename(PATTERN)
        for key, value in SEQUENCE.items():
            setattr(s.sequence, key, value)
        assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
        seq = [o for o in scene.objects if o.depth_cloud.sequence.is_sequence]
        assert len(seq) == 1
        scene.frame_set(2)
        bpy.ops.wm.save_as_mainfile(filepath=BLEND, compress=True)
        print(f"saved {BLEND} ({os.path.getsize(BLEND)} bytes) by Blender {bpy.app.version_string}; "
              f"sequence {seq[0].name!r}, frames {FRAMES}")


if __name__ == "__main__":
    main()
