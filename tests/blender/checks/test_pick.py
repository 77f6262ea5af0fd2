"""Pick 3D Point on a Cycles render shown in a real Image Editor area of the (window-less,
background) session: the 3D cursor lands within 5e-5 x depth of the Position pass.

What headless Blender allows, and so what is tested: ``bpy.ops`` in background never calls
``invoke`` (there is no event: Blender runs ``execute``), and an Image Editor region that was
never drawn has no view (``view2d.region_to_view`` gives NaN). So the operator's modal code,
``glue.picking.PickSession`` (its ``invoke`` makes one, its ``modal`` returns
``session.handle(context, event)``), is driven here with event-like objects in the real Image
Editor context; the click goes through ``handle`` when the view is valid and through
``session.click(context, uv)`` (what ``handle`` calls with the view's ``uv``) when it is NaN.
The operator itself is run with ``uv=`` (cursor and Empty targets) and with typed pixels.
"""
import math
import os
import re
import types

import numpy as np
import pytest

from scenes import add_camera, add_primitives, read_ground_truth, render, setup_render

BOUND = 5e-5
FRAME = 7


@pytest.fixture
def shot(scene, tmp_path):
    import bpy
    setup_render(scene, 64, 48)
    add_primitives(scene)
    add_camera(scene, lens=30.0, shift_x=0.05)
    scene.frame_set(FRAME)
    path = render(scene, str(tmp_path / f"shot_{FRAME:04d}.exr"))
    win = bpy.context.window_manager.windows[0]
    area = max(win.screen.areas, key=lambda a: a.width * a.height)
    area.type = 'IMAGE_EDITOR'
    region = next(r for r in area.regions if r.type == 'WINDOW')
    image = bpy.data.images.load(path)
    area.spaces.active.image = image
    pos, z, _rgba = read_ground_truth(path)
    return types.SimpleNamespace(path=path, win=win, area=area, region=region, image=image, pos=pos, z=z)


def _override(shot):
    import bpy
    return bpy.context.temp_override(window=shot.win, area=shot.area, region=shot.region)


def _surface_pixels(z, n=12, seed=1):
    rows, cols = np.nonzero(z < 1e9)
    pick = np.random.default_rng(seed).choice(len(rows), n, replace=False)
    # and the surface pixels nearest the four image corners (the view mapping's extremes)
    h, w = z.shape
    corners = [int(np.argmin((rows - r) ** 2 + (cols - c) ** 2)) for r, c in ((0, 0), (0, w), (h, 0), (h, w))]
    return [(int(cols[i]), int(rows[i])) for i in list(pick) + corners]


def _uv(col, row, shot, at=(0.5, 0.5)):
    """Image point (0..1, v up, as the Image Editor's view) inside pixel (col, row from the top)."""
    h, w = shot.z.shape
    return (col + at[0]) / w, (h - row - at[1]) / h


def _cursor_error(scene, shot, col, row):
    cursor = np.array(scene.cursor.location)
    return np.linalg.norm(cursor - shot.pos[row, col]) / shot.z[row, col]


def test_click_in_image_editor_places_cursor_on_the_surface(scene, shot):
    import bpy

    from depth_cloud import api
    from depth_cloud.glue.checks.picking import PickSession
    scene.depth_cloud.exr_path = str(shot.path).replace(f"{FRAME:04d}", "####")
    cloud = api.build_point_cloud(scene)  # the cloud the pixel belongs to
    view_ok = all(math.isfinite(v) for v in shot.region.view2d.region_to_view(10, 10))
    sidebar = next(r for r in shot.area.regions if r.type == 'UI')
    with bpy.context.temp_override(window=shot.win, area=shot.area, region=sidebar):
        assert PickSession(bpy.context).region == shot.region  # started from the sidebar's button
    errors = []
    for k, (col, row) in enumerate(_surface_pixels(shot.z)):
        with _override(shot):
            session = PickSession(bpy.context)
            assert session.header == PickSession.HINT
            reg = shot.region  # events carry window coordinates: region origin + inside
            inside = dict(mouse_x=reg.x + 5, mouse_y=reg.y + 5)
            move = types.SimpleNamespace(type='MOUSEMOVE', value='NOTHING', **inside)
            assert session.handle(bpy.context, move) == 'RUNNING_MODAL'
            wheel = types.SimpleNamespace(type='WHEELUPMOUSE', value='PRESS', **inside)
            assert session.handle(bpy.context, wheel) == 'PASS_THROUGH'  # zoom keeps working
            elsewhere = types.SimpleNamespace(type='LEFTMOUSE', value='PRESS', mouse_x=reg.x - 3, mouse_y=reg.y + 5)
            assert session.handle(bpy.context, elsewhere) == 'PASS_THROUGH'  # e.g. the sidebar's buttons
            uv = _uv(col, row, shot, at=(0.1 + 0.08 * (k % 10), 0.9 - 0.08 * (k % 10)))  # anywhere in the pixel
            if view_ok:  # a drawn Image Editor: the real mouse path
                x, y = reg.view2d.view_to_region(*uv, clip=False)
                click = types.SimpleNamespace(type='LEFTMOUSE', value='PRESS', mouse_x=reg.x + x, mouse_y=reg.y + y)
                state = session.handle(bpy.context, click)
            else:  # headless: the view maps to NaN, so a click there picks nothing and says so
                click = types.SimpleNamespace(type='LEFTMOUSE', value='PRESS', **inside)
                assert session.handle(bpy.context, click) == 'RUNNING_MODAL'
                assert "outside the image" in session.take_messages()[0][1]
                state = session.click(bpy.context, uv)
        assert state == 'FINISHED' and session.picked == (col, row)
        assert session.header is None  # header text cleared
        errors.append(_cursor_error(scene, shot, col, row))
        text = scene.depth_cloud.pick.result
        assert f"pixel ({col}, {row})" in text and f"frame {FRAME}" in text and repr(cloud.name) in text
        shown_depth = float(re.search(r"depth ([0-9.e+-]+)", text).group(1))
        assert abs(shown_depth - shot.z[row, col]) <= 1e-3 * shot.z[row, col]
    print(f"headless view: {not view_ok}; {len(errors)} picks, max error {max(errors):.2e} x depth")
    assert max(errors) <= BOUND


def test_operator_uv_and_empty(scene, shot):
    """The operator with ``uv=`` (what a click gives). Undo: the operator is an undo step
    ('UNDO'); headless Blender has no undo stack (``ed.undo`` never polls), so undoing itself
    is not run here."""
    import bpy

    from depth_cloud.operators.pick_point import DEPTH_CLOUD_OT_pick_point
    assert 'UNDO' in DEPTH_CLOUD_OT_pick_point.bl_options
    col, row = _surface_pixels(shot.z, n=1)[0]
    with _override(shot):
        assert bpy.ops.depth_cloud.pick_point(uv=_uv(col, row, shot)) == {'FINISHED'}
    assert _cursor_error(scene, shot, col, row) <= BOUND
    cursor = tuple(scene.cursor.location)
    with _override(shot):
        assert bpy.ops.depth_cloud.pick_point(uv=_uv(col, row, shot), target='EMPTY') == {'FINISHED'}
    assert tuple(scene.cursor.location) == cursor  # an Empty instead of the cursor
    empty = bpy.data.objects[f"Pick {col},{row}"]
    assert empty.type == 'EMPTY' and tuple(empty["depth_cloud_pixel"]) == (col, row)
    assert np.linalg.norm(np.array(empty.location) - shot.pos[row, col]) / shot.z[row, col] <= BOUND
    with _override(shot):  # outside the image: a clear error, nothing added
        n = len(bpy.data.objects)
        with pytest.raises(RuntimeError, match="outside the image"):
            bpy.ops.depth_cloud.pick_point(uv=(1.2, 0.5), target='EMPTY')
        assert len(bpy.data.objects) == n


def test_typed_pixel_from_the_sidebar(scene, shot):
    import bpy
    col, row = _surface_pixels(shot.z, n=1, seed=5)[0]
    scene.depth_cloud.exr_path = shot.path
    scene.depth_cloud.pick.column, scene.depth_cloud.pick.row = col, row
    assert bpy.ops.depth_cloud.pick_point() == {'FINISHED'}  # no Image Editor: the settings' source
    assert _cursor_error(scene, shot, col, row) <= BOUND
    # a background pixel: a clear error, nothing moved
    before = tuple(scene.cursor.location)
    bg_rows, bg_cols = np.nonzero(shot.z >= 1e9)
    if len(bg_rows):
        scene.depth_cloud.pick.column, scene.depth_cloud.pick.row = int(bg_cols[0]), int(bg_rows[0])
        with pytest.raises(RuntimeError, match="has no surface"):
            bpy.ops.depth_cloud.pick_point()
        assert tuple(scene.cursor.location) == before
    with pytest.raises(RuntimeError, match="outside the stored image"):
        bpy.ops.depth_cloud.pick_point(column=64, row=0)


def test_image_that_is_no_source_is_named(scene, shot, tmp_path):
    import bpy
    png = str(tmp_path / "other.png")
    img = bpy.data.images.new("other", 8, 8)
    img.filepath_raw = png
    img.file_format = 'PNG'
    img.save()
    shot.area.spaces.active.image = bpy.data.images.load(png)
    with _override(shot):
        with pytest.raises(RuntimeError, match="other.png.*not a Depth Cloud source"):
            bpy.ops.depth_cloud.pick_point(uv=(0.5, 0.5))
    assert os.path.isfile(png)


def test_multi_view_file_picks_the_shown_view_or_says_it_cannot(scene, shot, tmp_path):
    """A two-view EXR made with OpenEXR (``multiView`` right, left; the eyes at depth 2 and 3):
    the pick reads the view the Image Editor shows (the first: Blender's ``multilayer_view`` is
    read-only), or, with a reader that keeps no views apart, refuses with a clear message."""
    import bpy
    import OpenEXR

    from depth_cloud.core.points.inputs import SourceSpec
    h, w = 48, 64
    z = np.full((h, w), 2.0, np.float32)
    ch = {"R": z * 0 + 0.5, "G": z * 0, "B": z * 0, "Z": z,
          "left.R": z * 0, "left.G": z * 0 + 0.5, "left.B": z * 0, "left.Z": z + 1.0}
    path = str(tmp_path / "stereo.exr")
    with OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
                       "multiView": ["right", "left"]}, ch) as f:
        f.write(path)
    image = bpy.data.images.load(path)
    shot.area.spaces.active.image = image
    with _override(shot):
        if "view" not in SourceSpec.__dataclass_fields__:
            with pytest.raises(RuntimeError, match="stereo.exr.*multi-view.*'right'"):
                bpy.ops.depth_cloud.pick_point(uv=(0.5, 0.5))
            return
        assert bpy.ops.depth_cloud.pick_point(uv=(0.5, 0.5)) == {'FINISHED'}
    assert "depth 2," in scene.depth_cloud.pick.result  # the shown (first) view's Z, not the left eye's 3


def test_image_sequence_picks_the_frame_it_shows(scene, shot, tmp_path):
    """The Image Editor showing the source as an image sequence: the frame it shows decides the
    file and the camera (the camera moves between the frames)."""
    import bpy
    cam = scene.camera
    paths = {}
    for frame, x in ((3, 3.5), (4, 4.5)):
        cam.location.x = x
        cam.keyframe_insert("location", frame=frame)
    for frame in (3, 4):
        scene.frame_set(frame)
        paths[frame] = render(scene, str(tmp_path / f"seq_{frame:04d}.exr"))
    scene.frame_set(3)
    scene.depth_cloud.exr_path = str(tmp_path / "seq_####.exr")
    image = bpy.data.images.load(paths[3])
    image.source = 'SEQUENCE'
    space = shot.area.spaces.active
    space.image = image
    space.image_user.frame_start = 3
    space.image_user.frame_duration = 2
    space.image_user.frame_current = 4
    pos, z, _ = read_ground_truth(paths[4])
    rows, cols = np.nonzero(z < 1e9)
    col, row = int(cols[len(cols) // 2]), int(rows[len(rows) // 2])
    h, w = z.shape
    with _override(shot):
        assert bpy.ops.depth_cloud.pick_point(uv=((col + 0.5) / w, (h - row - 0.5) / h)) == {'FINISHED'}
    assert "seq_0004.exr (frame 4)" in scene.depth_cloud.pick.result
    err = np.linalg.norm(np.array(scene.cursor.location) - pos[row, col]) / z[row, col]
    assert err <= BOUND


def test_cropped_border_render_maps_the_shown_crop(scene, shot, tmp_path):
    """A border render with Crop to Render Region shows only the border region: a click maps
    into it and the pixel is reported in the full frame (as the cloud's ``pixel`` attribute)."""
    import bpy
    r = scene.render
    r.use_border, r.use_crop_to_border = True, True
    r.border_min_x, r.border_max_x, r.border_min_y, r.border_max_y = 0.13, 0.71, 0.27, 0.88
    path = render(scene, str(tmp_path / "border.exr"))
    pos, z, _ = read_ground_truth(path)
    h, w = z.shape
    assert (h, w) != (48, 64)
    ox, oy = int(0.13 * 64), 48 - int(0.88 * 48)
    rows, cols = np.nonzero(z < 1e9)
    shot.area.spaces.active.image = bpy.data.images.load(path)
    for i in (0, len(rows) // 2, len(rows) - 1):
        col, row = int(cols[i]), int(rows[i])  # in the stored (cropped) image
        with _override(shot):
            assert bpy.ops.depth_cloud.pick_point(uv=((col + 0.5) / w, (h - row - 0.5) / h)) == {'FINISHED'}
        assert f"pixel ({col + ox}, {row + oy})" in scene.depth_cloud.pick.result
        assert np.linalg.norm(np.array(scene.cursor.location) - pos[row, col]) / z[row, col] <= BOUND
