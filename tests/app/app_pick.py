"""Lane (window): Pick 3D Point by real clicks in an Image Editor showing the render.

The 3D Viewport area becomes an Image Editor showing frame 1's EXR (fitted); with the mouse
over it, F3, "Pick 3D Point", Enter starts the pick; a real click on pixel PIXEL's centre
moves the 3D cursor. The driver checks the cursor against the Position pass at that pixel.
"""
import os
import sys

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # lane.py puts tests/ on the path too
import lane  # noqa: E402

PIXEL = (150, 110)  # column, row (0 at the top): the red cube in frame 1


def steps():
    scene = bpy.context.scene
    bpy.context.preferences.view.show_developer_ui = True  # F3 lists operators (not saved)
    area = lane.area_of('VIEW_3D')
    area.ui_type = 'IMAGE_EDITOR'
    image = bpy.data.images.load(lane.out("render", "seq_0001.exr"))
    area.spaces.active.image = image
    yield 1.0
    region = lane.region_of(area)
    with bpy.context.temp_override(window=lane.window(), area=area, region=region):
        bpy.ops.image.view_all(fit_view=True)
    yield 1.0
    w, h = scene.render.resolution_x, scene.render.resolution_y  # the multilayer image's size
    col, row = PIXEL
    rx, ry = region.view2d.view_to_region((col + 0.5) / w, 1.0 - (row + 0.5) / h, clip=False)
    x, y = lane.screen_xy(region, rx, ry)
    before = tuple(scene.cursor.location)
    yield from lane.run_operator_search(area, "Pick 3D Point")
    yield 0.5
    yield from lane.click(x, y)
    yield from lane.wait_for(lambda: tuple(scene.cursor.location) != before, 30, "the 3D cursor to move")
    yield lane.shot("pick")
    lane.RESULT.update(pixel=list(PIXEL), cursor=list(scene.cursor.location), screen=[x, y],
                       report=scene.depth_cloud.pick.result)


lane.run(steps)
