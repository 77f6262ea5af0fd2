"""Lane (background): ``api.build_point_cloud`` on the lane's Cycles render, in this Blender.

Saves the cloud's positions and pixels (``api_points.npy``, ``api_pixels.npy``); the driver
checks them against the render's Position pass (p99 <= 5e-5 x depth).
"""
import os
import sys

import bpy
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # lane.py puts tests/ on the path too
import lane  # noqa: E402


def steps():
    from depth_cloud import api  # the alias the extension registers for scripts
    from scenes import cloud_points
    scene = bpy.context.scene
    ob = api.build_point_cloud(scene, frame=1, source=lane.out("render", "seq_0001.exr"), pixel_ids=True)
    positions, pixels = cloud_points(ob.data)
    m = np.array(ob.matrix_world)
    np.save(lane.out("api_points.npy"), positions.astype(np.float64) @ m[:3, :3].T + m[:3, 3])
    np.save(lane.out("api_pixels.npy"), pixels)
    lane.RESULT.update(points=len(positions), object=ob.name)
    yield 0


lane.run(steps)
