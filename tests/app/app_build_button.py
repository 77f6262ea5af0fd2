"""Lane (window): Build Point Cloud run with real input (F3 search, typed, Enter), and a
screenshot of the viewport with the cloud.

The 3D Viewport looks through the camera at the hidden primitives; screenshot
``viewport_no_cloud``; F3, "Build Point Cloud", Enter (the mouse over the viewport); wait for the
cloud; screenshot ``viewport_cloud``. Saves the cloud's points and pixels (the driver checks
them on the Position pass) and the screen box the cloud projects to (where the screenshots
must differ).
"""
import os
import sys

import bpy
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # lane.py puts tests/ on the path too
import lane  # noqa: E402


def clouds(scene):
    return [o for o in scene.objects if o.depth_cloud.is_cloud]


def steps():
    from bpy_extras.view3d_utils import location_3d_to_region_2d

    from scenes import cloud_points
    scene = bpy.context.scene
    bpy.context.preferences.view.show_developer_ui = True  # F3 lists operators (not saved)
    area = lane.area_of('VIEW_3D')
    region = lane.region_of(area)
    rv3d = area.spaces.active.region_3d
    rv3d.view_perspective = 'CAMERA'
    area.spaces.active.overlay.show_overlays = False
    yield from lane.open_sidebar_tab(area)
    yield 1.0
    yield lane.shot("viewport_no_cloud")
    yield from lane.run_operator_search(area, "Build Point Cloud")
    yield from lane.wait_for(lambda: clouds(scene), 60, "the cloud of Build Point Cloud")
    yield 2.0
    yield lane.shot("viewport_cloud")
    ob = clouds(scene)[0]
    positions, pixels = cloud_points(ob.data)
    m = np.array(ob.matrix_world)
    world = positions.astype(np.float64) @ m[:3, :3].T + m[:3, 3]
    np.save(lane.out("ui_points.npy"), world)
    np.save(lane.out("ui_pixels.npy"), pixels)
    pts = [location_3d_to_region_2d(region, rv3d, p) for p in world[:: max(len(world) // 2000, 1)]]
    xy = np.array([lane.screen_xy(region, p.x, p.y) for p in pts if p is not None])
    lo, hi = xy.min(0), xy.max(0)
    lane.RESULT.update(points=len(world), cloud_rect=[int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1])],
                       viewport_rect=lane.region_rect(region), active=bpy.context.view_layer.objects.active.name)


lane.run(steps)
