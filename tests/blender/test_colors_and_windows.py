"""Colors (EXR linear, PNG/JPG sRGB-linearized, no channel swap) and border renders."""
import numpy as np
import pytest

from scenes import (
    add_camera,
    add_primitives,
    read_ground_truth,
    render,
    set_8bit_output,
    setup_render,
    write_exr,
)

BOUND = 5e-5


def _save_png(path, rgba_top_down, fmt='PNG'):
    """Save an 8-bit image with Blender (pixels given top-down, values 0..1 as stored)."""
    import bpy
    h, w, _ = rgba_top_down.shape
    img = bpy.data.images.new("tmp", w, h, alpha=True)
    img.pixels.foreach_set(np.ascontiguousarray(rgba_top_down[::-1], np.float32).ravel())
    img.filepath_raw = path
    img.file_format = fmt
    img.save()
    bpy.data.images.remove(img)
    return path


def test_png_channels_not_swapped_or_flipped(scene, tmp_path):
    """Known RGB pattern in a PNG: each point carries exactly its pixel's linearized color."""
    from depth_cloud import api
    from depth_cloud.core.points.colors import srgb_to_linear
    add_camera(scene)
    h, w = 12, 18
    pattern = np.zeros((h, w, 4), np.float32)
    pattern[..., 3] = 1.0
    pattern[: h // 2, : w // 3, 0] = 1.0          # top-left: red
    pattern[: h // 2, w // 3: 2 * w // 3, 1] = 1.0  # top-middle: green
    pattern[: h // 2, 2 * w // 3:, 2] = 1.0       # top-right: blue
    pattern[h // 2:, :, :3] = np.linspace(0, 1, w)[None, :, None] * [1.0, 0.5, 0.25]  # bottom: ramps
    pattern = np.round(pattern * 255) / 255
    png = _save_png(str(tmp_path / "pattern.png"), pattern)
    depth = write_exr(str(tmp_path / "depth.exr"), {"Z": np.full((h, w), 5.0, np.float32)})
    ps = api.unproject(scene, source=depth, color=png)
    assert len(ps) == h * w
    expected = pattern[ps.pixels[:, 1], ps.pixels[:, 0]]
    np.testing.assert_allclose(ps.colors[:, :3], srgb_to_linear(expected[:, :3]), atol=1e-6)
    red = (ps.pixels[:, 1] < h // 2) & (ps.pixels[:, 0] < w // 3)
    assert np.all(ps.colors[red, 0] == 1.0) and np.all(ps.colors[red, 1:3] == 0.0)


# PNG: every pixel within 8-bit rounding. JPEG is lossy (4:2:0 chroma subsampling smears the
# hard edges of a tiny render), so its typical pixel is checked: an un-linearized color would be
# off by tens of levels everywhere.
@pytest.mark.parametrize("fmt,percentile,tolerance", [("PNG", 99, 0.51 / 255), ("JPEG", 50, 2 / 255)])
def test_display_referred_color_is_linearized(scene, tmp_path, fmt, percentile, tolerance):
    """A PNG/JPG render of the Combined pass, linearized, matches the EXR's linear pixels."""
    from depth_cloud import api
    from depth_cloud.core.points.colors import linear_to_srgb
    setup_render(scene, 48, 36)
    add_primitives(scene)
    add_camera(scene)
    scene.render.dither_intensity = 0.0
    exr = render(scene, str(tmp_path / "frame.exr"))
    pos, z, rgba = read_ground_truth(exr)
    set_8bit_output(scene, fmt, jpeg_quality=100)
    img = render(scene, str(tmp_path / ("frame.jpg" if fmt == "JPEG" else "frame.png")))
    ps = api.unproject(scene, source=exr, color=img)
    truth = rgba[ps.pixels[:, 1], ps.pixels[:, 0], :3]
    diff = np.abs(linear_to_srgb(ps.colors[:, :3]) - linear_to_srgb(truth))
    print(f"{fmt}: max sRGB difference {diff.max() * 255:.2f}/255, mean {diff.mean() * 255:.3f}/255")
    assert np.percentile(diff, percentile) <= tolerance
    # red cube pixels stay red (no BGR swap)
    reddish = truth[:, 0] > 3 * truth[:, 2]
    stays_red = np.mean(ps.colors[reddish, 0] > ps.colors[reddish, 2]) if reddish.any() else 0.0
    assert stays_red >= (1.0 if fmt == "PNG" else 0.95)


def test_exr_color_stays_linear(scene, tmp_path):
    from depth_cloud import api
    setup_render(scene, 40, 30)
    add_primitives(scene)
    add_camera(scene)
    exr = render(scene, str(tmp_path / "frame.exr"))
    _, _, rgba = read_ground_truth(exr)
    color_only = write_exr(str(tmp_path / "color.exr"), {c: rgba[..., i] for i, c in enumerate("RGBA")})
    ps = api.unproject(scene, source=exr, color=color_only)
    np.testing.assert_array_equal(ps.colors, rgba[ps.pixels[:, 1], ps.pixels[:, 0]])


@pytest.mark.parametrize("crop", [True, False])
def test_border_render(scene, tmp_path, crop):
    """Border renders, cropped or not, unproject through the full frame's camera."""
    from depth_cloud import api
    setup_render(scene, 64, 48)
    add_primitives(scene)
    add_camera(scene, shift_x=0.07, lens=30.0)
    r = scene.render
    r.use_border, r.use_crop_to_border = True, crop
    r.border_min_x, r.border_max_x, r.border_min_y, r.border_max_y = 0.13, 0.71, 0.27, 0.88
    exr = render(scene, str(tmp_path / "border.exr"))
    pos, z, _ = read_ground_truth(exr)
    ps = api.unproject(scene, source=exr)
    assert len(ps) == int((z < 1e9).sum()) > 0
    if crop:
        assert z.shape != (48, 64)
        # points are addressed in the full frame: offset by the border
        assert ps.pixels[:, 0].min() >= int(0.13 * 64) and ps.pixels[:, 1].min() >= 48 - int(0.88 * 48)
        ox, oy = int(0.13 * 64), 48 - int(0.88 * 48)
        gt = pos[ps.pixels[:, 1] - oy, ps.pixels[:, 0] - ox]
    else:
        assert z.shape == (48, 64)
        gt = pos[ps.pixels[:, 1], ps.pixels[:, 0]]
    err = np.linalg.norm(ps.positions - gt, axis=1) / ps.depth
    print(f"border crop={crop}: {len(ps)} points, p99 {np.percentile(err, 99):.2e}")
    assert np.percentile(err, 99) <= BOUND
