"""Lane (window): File > Import > Depth Cloud (.exr) and the drag and drop handler.

1. F3 menu search "Depth Cloud (.exr)", Enter: Blender's file browser opens; the file chosen
   in it (frame 1), Enter with the mouse over the browser: the cloud is built (the driver
   checks it on the Position pass).
2. The FileHandler: registered, ``poll_drop`` true over the 3D Viewport only; the 12 frames
   dropped (the operator invoked with ``directory`` + ``files``, as Blender's drop does) make
   one 12-frame sequence.
"""
import os
import sys

import bpy
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # lane.py puts tests/ on the path too
import lane  # noqa: E402


def file_browser():
    for win in bpy.context.window_manager.windows:
        for area in win.screen.areas:
            if area.type == 'FILE_BROWSER':
                return win, area
    return None


def steps():
    from scenes import cloud_points
    scene = bpy.context.scene
    area = lane.area_of('VIEW_3D')
    yield from lane.run_operator_search(area, "Depth Cloud (.exr)")
    yield from lane.wait_for(lambda: file_browser() is not None, 20, "the file browser")
    yield 1.0
    win, browser = file_browser()
    params = browser.spaces.active.params
    params.directory = lane.out("render").encode()
    params.filename = "seq_0001.exr"
    yield 1.0
    yield lane.shot("import_browser")
    yield lane.xdo("mousemove", win.x + win.width // 2, lane.window().height - win.y - win.height // 2)
    yield 0.3
    yield lane.xdo("key", "Return")
    def clouds():
        return [o for o in scene.objects if o.depth_cloud.is_cloud]
    yield from lane.wait_for(clouds, 60, "the imported cloud")
    ob = clouds()[0]
    positions, pixels = cloud_points(ob.data)
    m = np.array(ob.matrix_world)
    np.save(lane.out("drop_points.npy"), positions.astype(np.float64) @ m[:3, :3].T + m[:3, 3])
    np.save(lane.out("drop_pixels.npy"), pixels)
    lane.RESULT["points"] = len(positions)

    handler = bpy.types.DEPTH_CLOUD_FH_import_exr
    with bpy.context.temp_override(window=lane.window(), area=area):
        assert handler.poll_drop(bpy.context), "poll_drop refuses the 3D Viewport"
    outliner = lane.area_of('OUTLINER')
    with bpy.context.temp_override(window=lane.window(), area=outliner):
        assert not handler.poll_drop(bpy.context), "poll_drop accepts the Outliner"
    names = [f"seq_{f:04d}.exr" for f in range(12, 0, -1)]
    with bpy.context.temp_override(window=lane.window(), area=area, region=lane.region_of(area)):
        result = bpy.ops.depth_cloud.import_exr('INVOKE_DEFAULT', directory=lane.out("render"),
                                                files=[{"name": n} for n in names])
    assert result == {'FINISHED'}, result
    seqs = [o for o in scene.objects if o.depth_cloud.sequence.is_sequence]
    assert len(seqs) == 1, [o.name for o in seqs]
    s = seqs[0].depth_cloud.sequence
    assert (s.frame_start, s.frame_end, s.frame_step) == (1, 12, 1), (s.frame_start, s.frame_end, s.frame_step)
    lane.RESULT["sequence"] = seqs[0].name
    yield 0.5


lane.run(steps)
