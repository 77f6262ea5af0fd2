"""Make ``saved_by_0_1_0.blend``: a .blend saved by Depth Cloud 0.1.0 (the release before the
``props/`` and ``cli/`` packages) with every settings group set away from its defaults and one
built cloud, so ``tests/blender/test_old_blend.py`` can check that newer code opens it.

Run with the OLDEST supported Blender (a .blend saved by a newer Blender cannot be opened by an
older one), from the repository at the release to freeze:

    "$(bash tools/venv.sh 4.2)"/bin/python tests/data/make_saved_blend.py

It renders a 32x24 Cycles frame (``saved_by_0_1_0.exr``, Combined + Z + Position, kept next to
the .blend and referenced relative to it) and builds the cloud from it with the Build operator.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BLEND = os.path.join(HERE, "saved_by_0_1_0.blend")
EXR = os.path.join(HERE, "saved_by_0_1_0.exr")
FRAME = 3

# Every value differs from the property's default. Pointers are given by datablock name.
SCENE = dict(source_mode='MULTILAYER', exr_path="//saved_by_0_1_0.exr", color_path="//no_color_####.png",
             kind='DEPTH', convention='PLANAR', near=0.25, far=42.0, camera="Camera", layer="ViewLayer",
             depth_channel="ViewLayer.Depth.Z", color_channels="ViewLayer.Combined",
             position_channels="ViewLayer.Position", clip=False, show_channels=True)
DISPLAY = dict(mode='SURFACE', point_size=1.5, shading='LIT', surface_max_jump=0.125, cleanup_flying=True,
               cleanup_mode='EDGES', cleanup_max_jump=0.2, cleanup_min_alpha=0.0)
OUTPUT = dict(cache_dir="//passes_cache/", render_frames='CUSTOM', bake_frames='CUSTOM', frames="2-8x2",
              usd_path="//cloud.usdc", usd_size=2.5, usd_load=False)
SEQUENCE = dict(use_scene_range=False, frame_start=2, frame_end=9, frame_step=3, mode='KEYED', cache_mb=512.0,
                prefetch=False)
FUSION = dict(source='CAMERAS', frames="1-4", cameras="Views", files="//views/{camera}.exr",
              color_files="//views/{camera}_color.png", camera_list="//cameras.json", voxel_size=0.02,
              min_views=3, depth_tolerance=2.5, neighbor_support=3, remove_outliers=False, outlier_neighbors=8,
              outlier_std_ratio=3.0, max_incidence=math.radians(80.0), check_views=4, make_surface=True,
              surface_voxel_size=0.03, surface_radius=0.05, output_name="Fused Old")
# What the cloud object records (its sequence group stays at its defaults: a single-frame cloud).
CLOUD = dict(frame=FRAME, display_mode='SURFACE', image_width=32, image_height=24)
GROUPS = (("display", DISPLAY), ("output", OUTPUT), ("sequence", SEQUENCE), ("fusion", FUSION))
# cleanup_flying drops edge pixels: the cloud's point count is checked against the EXR itself.
CLEANUP_AT_BUILD = dict(cleanup_flying=False)


def _assign(group, values):
    import bpy
    for key, value in values.items():
        if key in ("camera",) and isinstance(value, str):
            value = bpy.data.objects[value]
        elif key == "cameras":
            value = bpy.data.collections[value]
        setattr(group, key, value)


@contextlib.contextmanager
def extension_scene():
    """The extension registered from this repository (as ``depth_cloud``) around a factory-empty
    scene, saved without a .blend1 beside it; the tests' helpers importable."""
    link_dir = tempfile.mkdtemp(prefix="dc_make_blend_")
    os.symlink(REPO, os.path.join(link_dir, "depth_cloud"))
    sys.path[:0] = [link_dir, os.path.join(REPO, "tests")]
    import bpy

    import depth_cloud
    depth_cloud.register()
    try:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        bpy.context.preferences.filepaths.save_version = 0  # no .blend1 beside it
        yield bpy.context.scene
    finally:
        depth_cloud.unregister()


def main():
    with extension_scene() as scene:
        import bpy

        from scenes import add_camera, add_primitives, render, setup_render
        scene.frame_current = FRAME
        setup_render(scene, 32, 24)
        add_primitives(scene)
        add_camera(scene)
        views = bpy.data.collections.new("Views")
        scene.collection.children.link(views)
        render(scene, EXR)
        bpy.ops.wm.save_as_mainfile(filepath=BLEND)  # so '//' paths resolve next to it
        s = scene.depth_cloud
        _assign(s, SCENE)
        _assign(s.display, {**DISPLAY, **CLEANUP_AT_BUILD, "mode": 'POINTS'})
        assert bpy.ops.depth_cloud.build() == {'FINISHED'}
        for name, values in GROUPS:
            _assign(getattr(s, name), values)  # display mode SURFACE makes the cloud's surface now
        cloud = next(o for o in scene.objects if o.depth_cloud.is_cloud)
        assert cloud.depth_cloud.display.surface is not None, "the Surface display mode made no surface"
        bpy.ops.wm.save_as_mainfile(filepath=BLEND, compress=True)
        print(f"saved {BLEND} ({os.path.getsize(BLEND)} bytes) by Blender {bpy.app.version_string}; "
              f"cloud {cloud.name!r} with {len(cloud.data.points)} points")


if __name__ == "__main__":
    main()
