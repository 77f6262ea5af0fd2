"""Multi-view (stereo) EXRs: Blender's own stereo renders give one cloud per eye where that
eye's Position pass says, for every convergence mode and pivot, a single frame and a
sequence with playback; depth and color always come from the same view."""
import os

import numpy as np
import pytest
from test_sequence import displayed_points

from paths import OPENEXR_IMAGES
from scenes import add_camera, add_primitives, relative_errors, render, setup_render

BOUND = 5e-5


def stereo_scene(scene, mode='OFFAXIS', pivot='LEFT', interocular=0.2, convergence=4.0, views_format='STEREO_3D'):
    setup_render(scene, 64, 48)
    add_primitives(scene)
    cam = add_camera(scene, lens=40.0, shift_y=0.05)
    r = scene.render
    r.use_multiview = True
    r.views_format = views_format
    r.image_settings.views_format = 'MULTIVIEW'  # every view in one multilayer EXR
    st = cam.data.stereo
    st.convergence_mode, st.pivot = mode, pivot
    st.interocular_distance, st.convergence_distance = interocular, convergence
    return cam


def eye_truth(path, eye):
    """``(position (h,w,3), combined (h,w,4))`` of ``eye`` read straight with OpenEXR: a part
    whose ``view`` is the eye (Blender 5.x) or ``ViewLayer.<Pass>.<eye>.<c>`` (4.x)."""
    import OpenEXR
    f = OpenEXR.File(path, separate_channels=True)
    chans = {}
    for part in f.parts:
        view = part.header.get("view")
        for name, ch in part.channels.items():
            if view is not None:
                if view == eye:
                    chans[name] = ch.pixels
            elif f".{eye}." in name:
                chans[name.replace(f".{eye}.", ".")] = ch.pixels
            elif not any(f".{v}." in name for v in ("left", "right")):
                chans.setdefault(name, ch.pixels)  # a file of one view (Individual files)
    pos = np.stack([chans[f"ViewLayer.Position.{c}"] for c in "XYZ"], axis=-1).astype(np.float64)
    rgba = np.stack([chans[f"ViewLayer.Combined.{c}"] for c in "RGBA"], axis=-1).astype(np.float32)
    return pos, rgba


@pytest.mark.parametrize("mode,pivot", [('OFFAXIS', 'LEFT'), ('OFFAXIS', 'CENTER'), ('OFFAXIS', 'RIGHT'),
                                        ('PARALLEL', 'CENTER'), ('TOE', 'CENTER'), ('TOE', 'LEFT'),
                                        ('TOE', 'RIGHT')])
def test_each_eye_matches_its_own_position_pass(scene, tmp_path, mode, pivot):
    from depth_cloud import api
    stereo_scene(scene, mode, pivot)
    path = render(scene, str(tmp_path / "stereo.exr"))
    for eye in ("left", "right"):
        pos, rgba = eye_truth(path, eye)
        ps = api.unproject(scene, source=path, view=eye)
        err = relative_errors(ps, pos)
        assert len(ps) > 1000
        assert np.percentile(err, 99) <= BOUND, (eye, np.percentile(err, 99))
        np.testing.assert_array_equal(ps.colors, rgba[ps.pixels[:, 1], ps.pixels[:, 0]])
    # the default view is the file's first view, and the eyes really differ
    default = api.unproject(scene, source=path)
    left = api.unproject(scene, source=path, view="left")
    np.testing.assert_array_equal(default.positions, left.positions)
    assert np.percentile(relative_errors(left, eye_truth(path, "right")[0]), 99) > 100 * BOUND


@pytest.mark.parametrize("fit,size,ortho", [('VERTICAL', (64, 48), False), ('AUTO', (48, 64), False),
                                            ('HORIZONTAL', (48, 64), False), ('AUTO', (64, 48), True)])
def test_stereo_eyes_with_sensor_fit_portrait_and_ortho(scene, tmp_path, fit, size, ortho):
    """Off-axis eyes (their lens shift) with each sensor fit, a portrait frame, orthographic."""
    from depth_cloud import api
    cam = stereo_scene(scene, 'OFFAXIS', 'CENTER')
    cam.data.sensor_fit = fit
    if ortho:
        cam.data.type = 'ORTHO'
    scene.render.resolution_x, scene.render.resolution_y = size
    path = render(scene, str(tmp_path / "fit.exr"))
    for eye in ("left", "right"):
        ps = api.unproject(scene, source=path, view=eye)
        assert np.percentile(relative_errors(ps, eye_truth(path, eye)[0]), 99) <= BOUND


def test_multiview_format_uses_each_views_camera(scene, tmp_path):
    """Views format Multi-View: each view renders through ``<camera><suffix>``."""
    import bpy

    from depth_cloud import api
    cam = stereo_scene(scene, views_format='MULTIVIEW')
    cam.name = "Cam"
    for suffix, dx in (("_L", -0.3), ("_R", 0.25)):
        other = bpy.data.objects.new("Cam" + suffix, cam.data.copy())
        scene.collection.objects.link(other)
        other.location, other.rotation_euler = cam.location, cam.rotation_euler
        other.location.x += dx
    scene.camera = bpy.data.objects["Cam_L"]
    path = render(scene, str(tmp_path / "mv.exr"))
    for eye in ("left", "right"):
        ps = api.unproject(scene, source=path, view=eye)
        assert np.percentile(relative_errors(ps, eye_truth(path, eye)[0]), 99) <= BOUND


def test_individual_files_per_eye(scene, tmp_path):
    """Views format Stereo 3D written as Individual files (``_L``/``_R``): 5.x records no view
    in them, 4.x a one-view ``multiView``; either way each file is its own eye."""
    import os

    from depth_cloud import api
    stereo_scene(scene, 'OFFAXIS', 'CENTER')
    scene.render.image_settings.views_format = 'INDIVIDUAL'
    scene.render.filepath = str(tmp_path / "ind.exr")
    scene.render.use_file_extension = False
    import bpy
    bpy.ops.render.render(write_still=True)
    for eye, suffix in (("left", "_L"), ("right", "_R")):
        path = str(tmp_path / f"ind{suffix}.exr")
        assert os.path.isfile(path), os.listdir(tmp_path)
        ps = api.unproject(scene, source=path)
        assert np.percentile(relative_errors(ps, eye_truth(path, eye)[0]), 99) <= BOUND


def test_mono_scene_warns_and_unknown_view_is_an_error(scene, tmp_path):
    from depth_cloud import api
    from depth_cloud.core.errors import ChannelError
    stereo_scene(scene)
    path = render(scene, str(tmp_path / "stereo.exr"))
    scene.render.use_multiview = False
    ps = api.unproject(scene, source=path, view="right")
    assert any("Stereoscopy is off" in w for w in ps.meta["warnings"])
    with pytest.raises(ChannelError, match=r"stereo\.exr: no view 'middle' in this file; its views: left, right"):
        api.unproject(scene, source=path, view="middle")
    assert len(scene.objects) == 5  # nothing was added


def test_stereo_sequence_plays_each_eye(scene, tmp_path):
    """A moving stereo camera rendered over 3 frames, built as a sequence of the right eye:
    every played frame matches that frame's right-eye Position pass."""
    import bpy

    from depth_cloud import api
    cam = stereo_scene(scene, 'OFFAXIS', 'CENTER')
    scene.frame_start, scene.frame_end = 1, 3
    for f, x in ((1, 4.0), (2, 4.4), (3, 4.9)):
        cam.location.x = x
        cam.keyframe_insert("location", frame=f)
    paths = {}
    for f in (1, 2, 3):
        scene.frame_set(f)
        paths[f] = render(scene, str(tmp_path / f"seq_{f:04d}.exr"))
    scene.depth_cloud.exr_path = str(tmp_path / "seq_####.exr")
    scene.depth_cloud.view = "right"
    assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
    ob = next(o for o in scene.objects if o.depth_cloud.sequence.is_sequence)
    assert ob.depth_cloud.sequence.view == "right"
    for f in (3, 1, 2):
        scene.frame_set(f)
        shown, _colors, _radius = displayed_points(ob)
        truth, _ = eye_truth(paths[f], "right")
        ps = api.unproject(scene, frame=f, source=paths[f], view="right")
        assert np.percentile(relative_errors(ps, truth), 99) <= BOUND
        assert len(shown) == len(ps) > 1000
        a = shown[np.lexsort(shown.T)]
        b = ps.positions[np.lexsort(ps.positions.T)]
        np.testing.assert_allclose(a, b, atol=1e-5)


def _view_buttons(context):
    """``[(text, depressed, view)]`` of the View buttons the Depth Cloud panel draws."""
    from depth_cloud.ui.panels import draw_settings
    from ui_recorder import Recorder

    class Buttons(Recorder):
        def operator(self, idname, **kw):
            if idname != "depth_cloud.set_view":
                return super().operator(idname, **kw)
            button = _Button(kw.get("text"), kw.get("depress"))
            self.drawn.append(button)
            return button

    class _Button:
        def __init__(self, text, depress):
            self.text, self.depress, self.view = text, depress, None

    drawn = []
    draw_settings(Buttons(drawn), context)
    return [(b.text, b.depress, b.view) for b in drawn if isinstance(b, _Button)]


def test_panel_view_choice_and_build_operator(scene, tmp_path):
    """The panel lists the file's views (default first); Set View stores the choice in the
    scene settings and Build Point Cloud builds that eye (undoable operators)."""
    import bpy

    from depth_cloud.glue.views import source_views
    stereo_scene(scene)
    path = render(scene, str(tmp_path / "st.exr"))
    settings = scene.depth_cloud
    settings.exr_path = path
    assert source_views(scene) == ["left", "right"]
    assert 'UNDO' in bpy.types.DEPTH_CLOUD_OT_set_view.bl_options
    assert _view_buttons(bpy.context) == [("left (default)", True, ""), ("right", False, "right")]
    assert bpy.ops.depth_cloud.set_view(view="right") == {'FINISHED'}
    assert settings.view == "right"
    assert _view_buttons(bpy.context) == [("left (default)", False, ""), ("right", True, "right")]
    assert bpy.ops.depth_cloud.build() == {'FINISHED'}
    ob = next(o for o in scene.objects if o.depth_cloud.is_cloud)
    pc = ob.data
    p = np.empty(len(pc.points) * 3, np.float32)
    pc.attributes["position"].data.foreach_get("vector", p)
    truth, _ = eye_truth(path, "right")
    from depth_cloud import api
    ps = api.unproject(scene, source=path, view="right")
    assert len(pc.points) == len(ps)
    np.testing.assert_allclose(p.reshape(-1, 3), ps.positions, atol=1e-6)
    assert np.percentile(relative_errors(ps, truth), 99) <= BOUND


def test_one_cloud_and_one_sequence_per_eye(scene, tmp_path):
    """Building each eye of the same file makes one object per eye; rebuilding an eye updates
    its own object. Sequences likewise."""
    import bpy

    from depth_cloud import api
    stereo_scene(scene)
    path = render(scene, str(tmp_path / "st_0001.exr"))
    left = api.build_point_cloud(scene, frame=1, source=str(tmp_path / "st_####.exr"), view="left")
    right = api.build_point_cloud(scene, frame=1, source=str(tmp_path / "st_####.exr"), view="right")
    again = api.build_point_cloud(scene, frame=1, source=str(tmp_path / "st_####.exr"), view="right")
    assert left != right and again == right
    assert (left.name, right.name) == ("st_0001_left", "st_0001_right")
    assert (left.depth_cloud.view, right.depth_cloud.view) == ("left", "right")
    settings = scene.depth_cloud
    settings.exr_path = str(tmp_path / "st_####.exr")
    scene.frame_start = scene.frame_end = 1
    for view in ("left", "right", "left"):
        settings.view = view
        assert bpy.ops.depth_cloud.build_sequence() == {'FINISHED'}
    seqs = sorted(o.depth_cloud.sequence.view for o in scene.objects if o.depth_cloud.sequence.is_sequence)
    assert seqs == ["left", "right"]
    del path


BEACHBALL = os.path.join(OPENEXR_IMAGES, "Beachball")


@pytest.mark.skipif(not os.path.isdir(BEACHBALL), reason="../shared/data/openexr-images/Beachball is not here "
                                                          "(a clone without the shared real files)")
@pytest.mark.parametrize("layout", ["multipart", "singlepart"])
def test_beachball_views_through_the_api(scene, layout):
    """A real stereo frame nobody here made, built in Blender per view with a scene camera:
    each view's valid-Z count and that view's colors (read with OpenEXR directly)."""
    import OpenEXR

    from depth_cloud import api
    cam = add_camera(scene, location=(0, 0, 0), target=(0, 0, -1))
    scene.render.resolution_x, scene.render.resolution_y = 2048, 1556
    path = os.path.join(BEACHBALL, f"{layout}.0001.exr")
    f = OpenEXR.File(path, separate_channels=True)
    for view in ("right", "left"):
        if layout == "multipart":
            parts = [p for p in f.parts if p.header.get("view") == view]
            z = next(p.channels["Z"].pixels for p in parts if "Z" in p.channels)
            rgba = next(np.stack([p.channels[c].pixels for c in "RGBA"], -1) for p in parts if "R" in p.channels)
            x0, y0 = next(p.header["dataWindow"][0] for p in parts if "Z" in p.channels)
        else:
            pre = "" if view == "right" else "left."
            part = f.parts[0]
            z = part.channels[pre + "Z"].pixels
            rgba = np.stack([part.channels[pre + c].pixels for c in "RGBA"], -1)
            x0, y0 = part.header["dataWindow"][0]
        z = z.astype(np.float32)
        ps = api.unproject(scene, source=path, view=view)
        valid = (z >= cam.data.clip_start) & (z <= cam.data.clip_end)
        assert len(ps) == int(valid.sum()) > 100_000
        np.testing.assert_array_equal(ps.colors, rgba.astype(np.float32)[ps.pixels[:, 1] - y0, ps.pixels[:, 0] - x0])
        assert any("mono camera" in w for w in ps.meta["warnings"])
