"""Lane (window): a 12-frame sequence built and played with Blender's animation player.

Build Sequence (the scene range, 1-12) in the 3D Viewport, then ``screen.animation_play`` in
the viewport; while it plays, a timer saves the shown cloud (evaluated points, and the pixel
each projects to through the camera of that frame) at a few frames. The driver checks each
saved cloud on its own frame's Position pass. Reports the frames played per second.
"""
import os
import sys
import time

import bpy
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # lane.py puts tests/ on the path too
import lane  # noqa: E402

SAMPLES = (3, 7, 12)
PLAY_SECONDS = 90.0  # at most: it stops once the sampled frames have been shown and frame 1 is back


def steps():
    from depth_cloud import api
    from scenes import shown_points
    scene = bpy.context.scene
    area = lane.area_of('VIEW_3D')
    area.spaces.active.region_3d.view_perspective = 'CAMERA'
    scene.depth_cloud.exr_path = lane.out("render", "seq_####.exr")
    override = dict(window=lane.window(), area=area, region=lane.region_of(area))
    scene.sync_mode = 'NONE'  # play every frame (no frame dropping): each one must show its own cloud
    fps_no_cloud = yield from playback_fps(override, 6.0)  # what software drawing of the UI allows
    t0 = time.time()
    with bpy.context.temp_override(**override):
        assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
    lane.RESULT["build_seconds"] = time.time() - t0
    obj = next(o for o in scene.objects if o.depth_cloud.sequence.is_sequence)
    scene.frame_set(1)
    yield 1.0
    w, h = scene.render.resolution_x, scene.render.resolution_y
    sampled, last = {}, scene.frame_current
    shown = []  # (time, frame) of every frame change the player made

    def count(scene, *_):
        shown.append((time.perf_counter(), scene.frame_current))
    bpy.app.handlers.frame_change_post.append(count)
    with bpy.context.temp_override(**override):
        bpy.ops.screen.animation_play()
    t0 = time.time()
    while time.time() - t0 < PLAY_SECONDS and not (len(sampled) == len(SAMPLES) and scene.frame_current == 1):
        frame = scene.frame_current
        if frame != last:
            last = frame
            if frame in SAMPLES and frame not in sampled:
                pts = shown_points(obj)
                x, y, _ = api.camera_model(scene.camera, scene, size=(w, h)).project(pts)
                np.save(lane.out(f"seq_points_{frame}.npy"), pts)
                np.save(lane.out(f"seq_pixels_{frame}.npy"), np.stack([np.floor(x), np.floor(y)], 1).astype(int))
                sampled[frame] = len(pts)
                if frame == SAMPLES[1]:
                    yield lane.shot("playing")
        yield 0.02
    with bpy.context.temp_override(**override):
        bpy.ops.screen.animation_cancel(restore_frame=False)
    bpy.app.handlers.frame_change_post.remove(count)
    seconds = shown[-1][0] - shown[0][0] if len(shown) > 1 else 0.0
    lane.RESULT.update(sampled=sampled, played=len(shown) - 1, seconds=seconds,
                       fps=(len(shown) - 1) / seconds if seconds else 0.0, fps_no_cloud=fps_no_cloud)


def playback_fps(override, seconds):
    """Steps: play the animation for ``seconds``; returns the frames shown per second."""
    times = []

    def count(_scene, *_):
        times.append(time.perf_counter())
    bpy.app.handlers.frame_change_post.append(count)
    with bpy.context.temp_override(**override):
        bpy.ops.screen.animation_play()
    yield seconds
    with bpy.context.temp_override(**override):
        bpy.ops.screen.animation_cancel(restore_frame=True)
    bpy.app.handlers.frame_change_post.remove(count)
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


lane.run(steps)
