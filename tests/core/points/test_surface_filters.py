"""Pure-core tests of footprints, surface triangulation and edge cleanup (no Blender).

Ground truth comes from the camera model's own projection (``CameraModel.project``) and
from the analytic planes the synthetic depth images are made of.
"""
import numpy as np
import pytest

from depth_cloud.core.camera.model import CameraModel
from depth_cloud.core.errors import SettingsError
from depth_cloud.core.points.filters import flying_pixel_mask, remove_flying_pixels
from depth_cloud.core.points.footprint import pixel_footprint, point_radius, radius_from_neighbours
from depth_cloud.core.points.grid_mesh import surface_from_point_set
from depth_cloud.core.points.inputs import FramePasses
from depth_cloud.core.points.unproject import unproject

W, H = 24, 18


def _camera(projection="PERSP", **kw):
    m = np.eye(4)
    # a camera somewhere, turned a little, so world and camera axes differ
    a = np.radians(25.0)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    m[:3, :3] = rot
    m[:3, 3] = (0.3, -1.2, 2.0)
    return CameraModel(cam_to_world=m, width=W, height=H, projection=projection, lens=30.0,
                       ortho_scale=5.0, **kw)


def _plane_depth(cam, a=0.04, b=-0.03, c=0.25):
    """Planar depth of the camera-space plane 1/z = a*x + b*y + c (perspective) or
    z = 4 + a*x*10 + b*y*10 (ortho), x/y the view-plane coordinates of pixel centres."""
    x = cam.plane_x(np.arange(W))[None, :]
    y = cam.plane_y(np.arange(H))[:, None]
    if cam.projection == "ORTHO":
        return (4.0 + 10 * a * x + 10 * b * y).astype(np.float32)
    return (1.0 / (a * x + b * y + c)).astype(np.float32)


def _passes(z, color=None):
    if color is None:
        color = np.random.default_rng(1).random((H, W, 4)).astype(np.float32)
        color[..., 3] = 1
    return FramePasses(path="synthetic.exr", frame_size=(W, H), depth=z, depth_channel="Z", color=color)


CAMERAS = {
    "persp": dict(),
    "persp_shift_vertical": dict(shift_x=0.1, shift_y=-0.05, sensor_fit="VERTICAL"),
    "persp_nonsquare": dict(pixel_aspect_x=1.0, pixel_aspect_y=1.7),
    "ortho": dict(projection="ORTHO"),
    "ortho_nonsquare": dict(projection="ORTHO", pixel_aspect_x=2.0, pixel_aspect_y=1.0),
}


@pytest.mark.parametrize("name", sorted(CAMERAS))
def test_surface_quads_tile_the_frame_exactly(name):
    cam = _camera(**CAMERAS[name])
    ps = unproject(_passes(_plane_depth(cam)), cam)
    surf = surface_from_point_set(ps, cam)
    assert len(surf) == len(ps) == W * H
    # one continuous plane: every inner corner is shared, so (W+1)(H+1) vertices
    assert len(surf.vertices) == (W + 1) * (H + 1)
    x, y, d = cam.project(surf.vertices[surf.faces.reshape(-1)])
    x, y = x.reshape(-1, 4), y.reshape(-1, 4)
    c, r = ps.pixels[:, 0:1].astype(np.float64), ps.pixels[:, 1:2].astype(np.float64)
    want_x = c + np.array([0, 0, 1, 1])
    want_y = r + np.array([0, 1, 1, 0])
    err = max(np.abs(x - want_x).max(), np.abs(y - want_y).max())
    print(f"{name}: max corner reprojection error {err:.2e} px")
    assert err < 2e-3
    assert (d > 0).all()


@pytest.mark.parametrize("projection", ["PERSP", "ORTHO"])
def test_surface_of_a_plane_lies_on_the_plane(projection):
    cam = _camera(projection=projection)
    z = _plane_depth(cam)
    ps = unproject(_passes(z), cam)
    surf = surface_from_point_set(ps, cam)
    # the plane through three world points of the unprojected pixel centres
    p0, p1, p2 = (ps.positions[i].astype(np.float64) for i in (0, W - 1, -1))
    n = np.cross(p1 - p0, p2 - p0)
    n /= np.linalg.norm(n)
    dist = np.abs((surf.vertices.astype(np.float64) - p0) @ n)
    inner = np.bincount(surf.faces.reshape(-1), minlength=len(surf.vertices)) == 4
    assert inner.sum() == (W - 1) * (H - 1)
    print(f"{projection}: max distance of inner corners to the plane {dist[inner].max():.2e}, "
          f"of frame-border corners {dist[~inner].max():.2e} (depth ~{np.median(z):.2f})")
    assert dist[inner].max() < 1e-4 * float(np.median(z))


def _two_layers(cam):
    """A tilted background plane and a nearer rectangle (a depth jump of ~40 %)."""
    z = _plane_depth(cam)
    fg = np.zeros((H, W), bool)
    fg[5:12, 6:15] = True
    z = np.where(fg, z * 0.6, z).astype(np.float32)
    return z, fg


@pytest.mark.parametrize("projection", ["PERSP", "ORTHO"])
def test_no_face_bridges_a_depth_jump(projection):
    cam = _camera(projection=projection)
    z, fg = _two_layers(cam)
    ps = unproject(_passes(z), cam)
    surf = surface_from_point_set(ps, cam, max_jump=0.05)
    face_fg = fg[ps.pixels[:, 1], ps.pixels[:, 0]]
    fg_verts = set(np.unique(surf.faces[face_fg]).tolist())
    bg_verts = set(np.unique(surf.faces[~face_fg]).tolist())
    assert not fg_verts & bg_verts  # the two layers share no vertex
    # each layer is welded into one piece: vertex count = corners of its pixels
    assert len(fg_verts) == (7 + 1) * (9 + 1)
    # every corner lies at the depth of its own face's layer (within the plane's slope)
    _, _, dv = cam.project(surf.vertices)
    rel = np.abs(dv[surf.faces] - ps.depth[:, None]) / ps.depth[:, None]
    print(f"{projection}: max relative corner-to-pixel depth difference {rel.max():.3f}")
    assert rel.max() < 0.05
    # without a threshold the layers are bridged: the test above can fail
    bridged = surface_from_point_set(ps, cam, max_jump=np.inf)
    assert len(bridged.vertices) == (W + 1) * (H + 1)
    _, _, db = cam.project(bridged.vertices)
    assert (np.abs(db[bridged.faces] - ps.depth[:, None]) / ps.depth[:, None]).max() > 0.2


def test_surface_uvs_are_image_coordinates():
    cam = _camera()
    ps = unproject(_passes(_plane_depth(cam)), cam)
    surf = surface_from_point_set(ps, cam)
    uv = surf.uvs.reshape(-1, 4, 2)
    np.testing.assert_allclose(uv[:, 0, 0], ps.pixels[:, 0] / W, atol=1e-6)
    np.testing.assert_allclose(uv[:, 0, 1], 1 - ps.pixels[:, 1] / H, atol=1e-6)
    np.testing.assert_allclose(uv[:, 2, 0], (ps.pixels[:, 0] + 1) / W, atol=1e-6)
    np.testing.assert_allclose(uv[:, 2, 1], 1 - (ps.pixels[:, 1] + 1) / H, atol=1e-6)


def test_surface_without_camera_follows_the_points():
    cam = _camera()
    ps = unproject(_passes(_plane_depth(cam)), cam)
    surf = surface_from_point_set(ps, None)
    assert len(surf.vertices) == (W + 1) * (H + 1)
    # inner corners are the mean of the four pixel centres around them
    i, j = 5, 7
    idx = np.array([(i - 1) * W + j - 1, (i - 1) * W + j, i * W + j - 1, i * W + j])
    face = i * W + j  # pixel (row i, column j): its top-left corner
    np.testing.assert_allclose(surf.vertices[surf.faces[face, 0]], ps.positions[idx].mean(axis=0), atol=1e-5)


@pytest.mark.parametrize("name", ["persp", "persp_nonsquare", "ortho_nonsquare"])
def test_footprint_spans_one_pixel(name):
    cam = _camera(**CAMERAS[name])
    ps = unproject(_passes(_plane_depth(cam)), cam)
    fp = pixel_footprint(cam, ps.depth)
    right = cam.cam_to_world[:3, 0]
    up = cam.cam_to_world[:3, 1]
    x0, y0, _ = cam.project(ps.positions - 0.5 * fp[:, :1] * right + 0.5 * fp[:, 1:] * up)
    x1, y1, _ = cam.project(ps.positions + 0.5 * fp[:, :1] * right - 0.5 * fp[:, 1:] * up)
    np.testing.assert_allclose(x0, ps.pixels[:, 0], atol=2e-3)
    np.testing.assert_allclose(x1, ps.pixels[:, 0] + 1, atol=2e-3)
    np.testing.assert_allclose(y0, ps.pixels[:, 1], atol=2e-3)
    np.testing.assert_allclose(y1, ps.pixels[:, 1] + 1, atol=2e-3)
    np.testing.assert_allclose(point_radius(cam, ps.depth), np.sqrt(0.5) * fp.min(axis=1), rtol=1e-6)
    np.testing.assert_allclose(ps.radius, np.sqrt(0.5) * fp.min(axis=1), rtol=1e-6)


def test_radius_from_neighbours_matches_footprint():
    cam = _camera()
    z = np.full((H, W), 5.0, np.float32)
    ps = unproject(_passes(z), cam)
    est = radius_from_neighbours(ps)
    # a fronto-parallel plane: neighbour spacing is the pixel footprint (up to the ray tilt)
    np.testing.assert_allclose(est, ps.radius, rtol=0.05)


def _flying_layers():
    cam = _camera()
    z, fg = _two_layers(cam)
    # anti-aliased silhouette: the column right of the rectangle holds depths halfway
    z = z.copy()
    z[5:12, 15] = 0.5 * (z[5:12, 14] + z[5:12, 16])
    return cam, z, fg


def test_flying_pixels_are_the_ones_between_surfaces():
    cam, z, fg = _flying_layers()
    mask = flying_pixel_mask(z, 0.05, "FLYING")
    expected = np.zeros_like(mask)
    expected[5:12, 15] = True
    np.testing.assert_array_equal(mask, expected)
    edges = flying_pixel_mask(z, 0.05, "EDGES")
    assert edges[expected].all() and edges[5:12, 6].all() and edges[5:12, 5].all()
    assert not edges[0, 0] and not edges[8, 10]


def test_remove_flying_pixels_on_point_set():
    cam, z, fg = _flying_layers()
    color = np.ones((H, W, 4), np.float32)
    color[5:12, 16, 3] = 0.4  # partly covered pixels (transparent film)
    ps = unproject(_passes(z, color), cam)
    out = remove_flying_pixels(ps, 0.05, "FLYING")
    assert len(out) == len(ps) - 7 and out.meta["flying_pixels"] == 7
    assert not ((out.pixels[:, 0] == 15) & (out.pixels[:, 1] >= 5) & (out.pixels[:, 1] < 12)).any()
    both = remove_flying_pixels(ps, 0.05, "FLYING", min_alpha=0.5)
    assert len(both) == len(ps) - 14
    alpha_only = remove_flying_pixels(ps, None, min_alpha=0.5)
    assert len(alpha_only) == len(ps) - 7
    # the arrays stay aligned
    np.testing.assert_array_equal(out.depth, z[out.pixels[:, 1], out.pixels[:, 0]])


def test_remove_flying_pixels_bad_settings():
    cam, z, fg = _flying_layers()
    ps = unproject(_passes(z), cam)
    with pytest.raises(SettingsError, match="mode"):
        remove_flying_pixels(ps, 0.05, "SOMETIMES")
    with pytest.raises(SettingsError, match="alpha"):
        remove_flying_pixels(ps, 0.05, min_alpha=2.0)
    with pytest.raises(SettingsError, match="depth jump"):
        remove_flying_pixels(ps, -1.0)


@pytest.mark.parametrize("max_jump", [0.05, 0.0, np.inf])
def test_surface_edges_are_unique_and_match_corners(max_jump):
    cam = _camera()
    z, _fg = _two_layers(cam)
    z[0, :3] = np.nan  # holes in the grid
    z[9, 9] = np.nan
    ps = unproject(_passes(np.where(np.isnan(z), 1e10, z).astype(np.float32)), cam)
    surf = surface_from_point_set(ps, cam, max_jump)
    key = np.sort(surf.edges, axis=1)
    assert len(np.unique(key, axis=0)) == len(key)  # every edge once
    # the edge of corner k joins corner k and corner k+1 of its face
    nxt = np.roll(surf.faces, -1, axis=1).reshape(-1)
    want = np.sort(np.stack([surf.faces.reshape(-1), nxt], 1), axis=1)
    np.testing.assert_array_equal(key[surf.corner_edges], want)
    # and all face sides are edges: the set of sides equals the set of edges
    assert len(np.unique(want, axis=0)) == len(key)
