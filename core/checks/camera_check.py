"""How well a camera explains a render: the depth pass unprojected with the camera against the
world Position pass of the same frame (plain numbers in, a report out; no Blender types).

Two measures per camera:

* **reprojection error** (pixels): each Position-pass point projected through the camera
  lands this far from the centre of the pixel that saw it (it is independent of the depth
  convention);
* **relative 3D error**: the depth pixel unprojected with the camera (and the depth
  convention) lands ``|Q - P|`` from the Position-pass point ``P``, divided by the point's
  distance from the camera.

When they are large the likely cause is found by *testing* alternatives, each a camera model
(and a depth convention) measured in the same way: the other sensor fits, the focal length
and shift (or orthographic scale) fitted to the Position pass by linear least squares, the
other depth conventions; Blender-side alternatives (the camera at neighbouring frames, other
camera objects, the camera the file carries) are built by the glue and passed in. The best
alternative that fits is named.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..camera.model import SENSOR_FITS, CameraModel
from ..camera.projections import ORTHOGRAPHIC, PANORAMIC, PERSPECTIVE
from ..errors import ChannelError, InvalidDepthError, SettingsError
from ..points import depth as depth_mod
from ..points.unproject import pixel_to_world

#: A camera explains the render when the median reprojection error is at most this (pixels) …
MAX_REPROJECTION_PX = 0.5
#: … and the median relative 3D error at most this (fraction of the distance from the camera).
MAX_RELATIVE_3D = 1e-3
#: Pixels used (evenly spread over the valid ones): enough for stable percentiles, a few ms.
MAX_SAMPLES = 20000

# The causes an alternative can name.
FRAME = "FRAME"
OTHER_CAMERA = "OTHER_CAMERA"
FILE_CAMERA = "FILE_CAMERA"
SENSOR_FIT = "SENSOR_FIT"
LENS = "LENS"
SHIFT = "SHIFT"
LENS_AND_SHIFT = "LENS_AND_SHIFT"
CONVENTION = "CONVENTION"
CAUSES = (FRAME, OTHER_CAMERA, FILE_CAMERA, SENSOR_FIT, LENS, SHIFT, LENS_AND_SHIFT, CONVENTION)


@dataclass(frozen=True)
class CheckSamples:
    """The pixels a check compares: frame coordinates, the Position-pass point and the raw
    depth value of each (with the convention the depth is read in)."""

    path: str
    frame_size: tuple
    cols: np.ndarray  # (n,) int, frame columns
    rows: np.ndarray  # (n,) int, frame rows from the top
    position: np.ndarray  # (n, 3) float64 world positions (Position pass)
    depth: np.ndarray  # (n,) float64 raw stored depth
    convention: str = depth_mod.PLANAR
    near: float = 0.0
    far: float = 0.0
    valid_pixels: int = 0  # pixels with both passes (estimated from the rows/columns looked at)

    def __len__(self):
        return len(self.cols)


def _planes(position) -> list:
    if isinstance(position, (tuple, list)):
        return [np.asarray(p) for p in position]
    return [np.asarray(position)[..., k] for k in range(3)]


def samples_from_arrays(depth, position, convention=depth_mod.PLANAR, near=0.0, far=0.0, window=(0, 0),
                        frame_size=None, path="", max_samples=MAX_SAMPLES) -> CheckSamples:
    """Samples of a frame from its raw depth (h, w) and Position pass (h, w, 3) (or a tuple
    of the X, Y, Z planes) over the same data window at ``window`` in the frame."""
    depth = np.asarray(depth)
    planes = _planes(position)
    if depth.ndim != 2 or any(p.shape != depth.shape for p in planes):
        raise ChannelError(path, f"Position pass of the depth's size {depth.shape[::-1]}",
                           [f"Position {planes[0].shape[::-1]}"])
    h, w = depth.shape
    return _sampled(depth, planes, np.arange(h), h, convention, near, far, window, frame_size, path, max_samples)


def samples_from_rows(depth, rows, position, convention=depth_mod.PLANAR, near=0.0, far=0.0, window=(0, 0),
                      frame_size=None, path="", max_samples=MAX_SAMPLES) -> CheckSamples:
    """Samples of a frame from its raw depth (h, w) and the Position pass read only in some
    rows: ``rows`` (n,) (ascending, within the data window) and their X, Y, Z planes (n, w)
    (a tuple, or an (n, w, 3) array); the same pixels, conventions and validity rules as
    :func:`samples_from_arrays`, spread over those rows' pixels."""
    depth = np.asarray(depth)
    rows = np.asarray(rows, dtype=np.int64)
    planes = _planes(position)
    h = depth.shape[0] if depth.ndim == 2 else 0
    if depth.ndim != 2 or rows.ndim != 1 or any(p.shape != (len(rows), depth.shape[1]) for p in planes) or \
            (len(rows) and (rows.min() < 0 or rows.max() >= h)):
        raise ChannelError(path, f"Position pass rows of the depth's width {depth.shape[1:]} inside its "
                                 f"{h} rows", [f"Position {planes[0].shape[::-1]} at rows {rows[:3]}…"])
    return _sampled(depth[rows], planes, rows, h, convention, near, far, window, frame_size, path, max_samples)


def _sampled(depth, planes, rows_of, height, convention, near, far, window, frame_size, path,
             max_samples) -> CheckSamples:
    """The samples of ``depth`` and ``planes`` (m, w), whose array row ``i`` is data-window row
    ``rows_of[i]`` of a window ``height`` rows high."""
    m, w = depth.shape
    # Look at every k-th row and column only, so a 1080p frame costs what a small one does.
    k = max(1, int(np.ceil(np.sqrt(m * w / (4.0 * max_samples)))))
    depth, planes, rows_of = depth[::k, ::k], [p[::k, ::k] for p in planes], rows_of[::k]
    hk, wk = depth.shape
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(depth) & (depth > 0) & (depth < depth_mod.BACKGROUND_DEPTH)
    zero = np.ones_like(valid)
    for p in planes:
        valid &= np.isfinite(p)
        zero &= p == 0
    valid &= ~zero  # Blender writes (0, 0, 0) where no surface was hit
    index = np.flatnonzero(valid)
    total = len(index)
    if total == 0:
        raise InvalidDepthError(f"{path}: no pixel has both a depth and a Position-pass value to compare")
    if total > max_samples:
        index = index[np.linspace(0, total - 1, max_samples).round().astype(np.int64)]
    rows, cols = np.divmod(index, wk)
    rows, cols = rows_of[rows], cols * k
    pos = np.stack([p.reshape(-1).take(index) for p in planes], axis=1).astype(np.float64)
    x0, y0 = window
    # pixels with both passes, estimated from the rows and columns looked at
    valid_pixels = int(round(total * k * k * height / max(m, 1)))
    return CheckSamples(path=path, frame_size=tuple(frame_size) if frame_size else (w, height), cols=cols + x0,
                        rows=rows + y0, position=pos, depth=depth.reshape(-1).take(index).astype(np.float64),
                        convention=convention, near=float(near), far=float(far), valid_pixels=valid_pixels)


@dataclass(frozen=True)
class Measure:
    """The errors of one camera (and depth convention) on the samples."""

    reprojection_median: float  # pixels
    reprojection_p99: float
    relative_median: float  # |unprojected depth - Position| / distance from the camera
    relative_p99: float

    @property
    def ok(self) -> bool:
        return self.reprojection_median <= MAX_REPROJECTION_PX and self.relative_median <= MAX_RELATIVE_3D

    @property
    def score(self) -> float:
        """One number to rank alternatives: each error relative to its bound, the worse one."""
        return max(self.reprojection_median / MAX_REPROJECTION_PX, self.relative_median / MAX_RELATIVE_3D)

    def text(self) -> str:
        return (f"reprojection median {self.reprojection_median:.3g} px, p99 {self.reprojection_p99:.3g} px; "
                f"3D error median {self.relative_median:.2e}, p99 {self.relative_p99:.2e} of the distance")


def measure(samples: CheckSamples, model: CameraModel, convention: str | None = None, near=None,
            far=None) -> Measure:
    """Errors of ``model`` on ``samples`` (depth read in ``convention`` with ``near``/``far``,
    default the samples')."""
    model = model.with_frame_size(*samples.frame_size) if (model.width, model.height) != tuple(samples.frame_size) \
        else model
    conv = samples.convention if convention is None else convention
    near = samples.near if near is None else near
    far = samples.far if far is None else far
    with np.errstate(all="ignore"):
        x, y, d = model.project(samples.position)
        reproj = np.hypot(x - (samples.cols + 0.5), y - (samples.rows + 0.5))
        reproj[~(np.isfinite(reproj) & (d > 0))] = np.inf  # behind the camera: no pixel at all
        q = pixel_to_world(model, samples.cols, samples.rows, samples.depth, conv, near, far)
        dist = np.linalg.norm(samples.position - model.location, axis=1)
        rel = np.linalg.norm(q - samples.position, axis=1) / np.maximum(dist, 1e-12)
        rel[~np.isfinite(rel)] = np.inf
    return Measure(float(np.median(reproj)), float(np.percentile(reproj, 99)), float(np.median(rel)),
                   float(np.percentile(rel, 99)))


@dataclass(frozen=True)
class Alternative:
    """A hypothesis: ``model`` (read with ``convention``) instead of the checked camera."""

    cause: str
    label: str  # what differs, in the user's words
    model: CameraModel
    convention: str | None = None
    measure: Measure | None = None
    near: float | None = None  # with ``convention``: NORMALIZED / ZBUFFER fitted near and far
    far: float | None = None

    def measured(self, samples: CheckSamples) -> Alternative:
        if self.measure is not None:
            return self
        return replace(self, measure=measure(samples, self.model, self.convention, self.near, self.far))


@dataclass
class CameraCheckReport:
    """The result of a camera check (see the module docstring)."""

    path: str
    camera: str  # the checked camera, in words ("camera 'Camera' at frame 12")
    measure: Measure
    samples: int
    valid_pixels: int
    cause: str | None = None  # one of CAUSES when an alternative explains the render
    explanation: str = ""  # the named cause, or what was tried
    best: Alternative | None = None
    alternatives: list = field(default_factory=list)  # every Alternative tried, measured
    compared: Alternative | None = None  # the other camera always compared (file's vs scene's), measured
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.measure.ok

    def summary(self) -> str:
        """One line: fine, or the error and the likely cause."""
        if self.ok:
            return f"{self.camera} matches the Position pass ({self.measure.text()})"
        return f"{self.camera} does not match the Position pass ({self.measure.text()}): {self.explanation}"

    def to_dict(self) -> dict:
        """Plain numbers and text (for ``info --check-camera --json``)."""
        def alt(a):
            return None if a is None else {"cause": a.cause, "label": a.label,
                                           **({} if a.measure is None else vars(a.measure))}
        return {"path": self.path, "camera": self.camera, "ok": self.ok, **vars(self.measure),
                "samples": self.samples, "cause": self.cause, "explanation": self.explanation,
                "best": alt(self.best), "compared": alt(self.compared), "notes": list(self.notes)}

    def lines(self) -> list:
        out = [f"{self.path}: {self.samples} of ~{self.valid_pixels} pixels compared",
               f"{self.camera}: {self.measure.text()}",
               "matches" if self.ok else f"DOES NOT MATCH: {self.explanation}"]
        if self.compared is not None and self.compared.measure is not None:
            out.append(f"{self.compared.label}: {self.compared.measure.text()}")
        out.extend(self.notes)
        if not self.ok:
            for alt in sorted(self.alternatives, key=lambda a: a.measure.score)[:6]:
                out.append(f"  tried {alt.label}: {alt.measure.text()}")
        return out


# ---------------------------------------------------------------------- intrinsic alternatives
def _normalized_coords(samples: CheckSamples, model: CameraModel):
    """``(xn, yn, in_front)``: view-plane coordinates of the Position-pass points in the
    camera (x/depth, y/depth for perspective; x, y for orthographic)."""
    m = model.world_to_cam
    pc = samples.position @ m[:3, :3].T + m[:3, 3]
    depth = -pc[:, 2]
    front = depth > 1e-9
    if model.projection == ORTHOGRAPHIC:
        return pc[:, 0], pc[:, 1], front
    with np.errstate(divide="ignore", invalid="ignore"):
        return pc[:, 0] / depth, pc[:, 1] / depth, front


def fit_intrinsics(samples: CheckSamples, model: CameraModel):
    """``(model, pixel_aspect_ratio)``: ``model`` with the focal length (orthographic scale)
    and shift that best project the Position pass onto the pixel centres, keeping the pose,
    sensor and fit (linear least squares on ``x_pixel = a·xn + b``, ``y_pixel = c·yn + d``);
    the ratio is the fitted pixel height / width over the model's (1 = the same aspect).
    None when too few points are in front of the camera."""
    if model.projection == PANORAMIC:
        return None
    xn, yn, front = _normalized_coords(samples, model)
    if front.sum() < 8:
        return None
    xn, yn = xn[front], yn[front]
    xp = samples.cols[front] + 0.5
    yp = samples.rows[front] + 0.5
    try:
        (a, b), *_ = np.linalg.lstsq(np.stack([xn, np.ones_like(xn)], axis=1), xp, rcond=None)
        (c, d), *_ = np.linalg.lstsq(np.stack([yn, np.ones_like(yn)], axis=1), yp, rcond=None)
    except np.linalg.LinAlgError:
        return None
    if not (np.isfinite([a, b, c, d]).all() and a > 0 and c < 0):
        return None
    # The model: x = xn / pix + W/2 - dx ; y = (ycor H / 2 + dy - yn / pix) / ycor
    width, height = samples.frame_size
    model = model.with_frame_size(width, height)
    pix0, _, _ = model.view_plane()
    ycor = model.ycor
    pix = 1.0 / a
    viewfac = width if model.fitted_axis == "HORIZONTAL" else ycor * height
    dx = 0.5 * width - b
    dy = d * ycor - 0.5 * ycor * height
    scale = pix0 / pix  # > 1: the render was zoomed in (longer lens / smaller ortho scale)
    fields = dict(shift_x=dx / viewfac, shift_y=dy / viewfac)
    if model.projection == PERSPECTIVE:
        fields["lens"] = model.lens * scale
    else:
        fields["ortho_scale"] = model.ortho_scale / scale
    aspect = (-1.0 / (c * ycor)) / pix  # fitted pixel height over width, relative to the model's
    return replace(model, **fields), float(aspect)


def intrinsic_alternatives(samples: CheckSamples, model: CameraModel) -> list:
    """The other sensor fits, and the focal length / shift fitted to the Position pass."""
    out = []
    if model.projection == PANORAMIC:
        return out
    sized = model.with_frame_size(*samples.frame_size)
    for fit in SENSOR_FITS:
        alt = replace(sized, sensor_fit=fit)
        if fit != model.sensor_fit and not np.allclose(alt.view_plane(), sized.view_plane(), rtol=1e-9, atol=1e-12):
            out.append(Alternative(SENSOR_FIT, f"sensor fit {fit.title()} instead of {model.sensor_fit.title()}", alt))
    fitted = fit_intrinsics(samples, model)
    if fitted is not None:
        alt, aspect = fitted
        lens_changed = (abs(alt.lens / model.lens - 1) > 1e-3 if model.projection == PERSPECTIVE
                        else abs(alt.ortho_scale / model.ortho_scale - 1) > 1e-3)
        shift_changed = max(abs(alt.shift_x - model.shift_x), abs(alt.shift_y - model.shift_y)) > 5e-4
        what = (f"focal length {alt.lens:.4g} mm (camera has {model.lens:.4g} mm)" if model.projection == PERSPECTIVE
                else f"orthographic scale {alt.ortho_scale:.4g} (camera has {model.ortho_scale:.4g})")
        shift = f"shift ({alt.shift_x:.4g}, {alt.shift_y:.4g}) (camera has ({model.shift_x:.4g}, {model.shift_y:.4g}))"
        if abs(aspect - 1) > 2e-3:
            shift += f" (the fit also suggests pixels {aspect:.4g} times as high)"
        if lens_changed and shift_changed:
            out.append(Alternative(LENS_AND_SHIFT, f"{what} and {shift}", alt))
        elif lens_changed:
            out.append(Alternative(LENS, what, replace(alt, shift_x=model.shift_x, shift_y=model.shift_y)))
        elif shift_changed:
            out.append(Alternative(SHIFT, shift, replace(alt, lens=model.lens, ortho_scale=model.ortho_scale)))
    return out


def _fitted_range(samples: CheckSamples, model: CameraModel):
    """``{convention: (near, far)}``: NORMALIZED and ZBUFFER ranges fitted by least squares to
    the Position pass's planar depth (``z = near + v (far - near)``; perspective Z-buffer:
    ``1/z = 1/near + v (1/far - 1/near)``), where the fit gives a valid range."""
    if model.projection == PANORAMIC:
        return {}
    sized = model.with_frame_size(*samples.frame_size)
    z = sized.project(samples.position)[2]
    v = samples.depth
    keep = np.isfinite(z) & (z > 0) & np.isfinite(v)
    if keep.sum() < 8 or np.ptp(v[keep]) <= 0:
        return {}
    z, v = z[keep], v[keep]
    design = np.stack([np.ones_like(v), v], axis=1)
    out = {}
    (a, b), *_ = np.linalg.lstsq(design, z, rcond=None)
    out[depth_mod.NORMALIZED] = (float(a), float(a + b))
    if model.projection == ORTHOGRAPHIC:
        out[depth_mod.ZBUFFER] = out[depth_mod.NORMALIZED]
    else:
        (c0, c1), *_ = np.linalg.lstsq(design, 1.0 / z, rcond=None)
        if c0 > 0 and c0 + c1 > 0:
            out[depth_mod.ZBUFFER] = (float(1.0 / c0), float(1.0 / (c0 + c1)))
    valid = {}
    for conv, (near, far) in out.items():
        try:
            depth_mod.check_convention(conv, near, far)
        except SettingsError:
            continue
        valid[conv] = (near, far)
    return valid


def convention_alternatives(samples: CheckSamples, model: CameraModel) -> list:
    """The same camera with the depth read as each other convention: planar Z, ray distance,
    inverse depth, and normalized / Z-buffer with the near and far fitted to the Position pass."""
    names = {depth_mod.PLANAR: "planar Z", depth_mod.RAY_DISTANCE: "ray distance", depth_mod.INVERSE: "inverse depth",
             depth_mod.NORMALIZED: "normalized", depth_mod.ZBUFFER: "Z-buffer"}
    was = names.get(samples.convention, samples.convention)
    out = [Alternative(CONVENTION, f"depth convention {names[c]} instead of {was}", model, c)
           for c in (depth_mod.PLANAR, depth_mod.RAY_DISTANCE, depth_mod.INVERSE) if c != samples.convention]
    for conv, (near, far) in _fitted_range(samples, model).items():
        if conv == depth_mod.NORMALIZED and abs(near) <= 1e-4 * abs(far) and abs(far - 1) <= 1e-4:
            continue  # near 0, far 1: numerically planar Z, which is tried (and named) as such
        out.append(Alternative(CONVENTION, f"depth convention {names[conv]} (near {near:.4g}, far {far:.4g}) instead "
                               f"of {was}", model, conv, near=near, far=far))
    return out


# ---------------------------------------------------------------------- the check
def check_camera(samples: CheckSamples, model: CameraModel, label: str = "", alternatives=(),
                 compare_with: Alternative | None = None) -> CameraCheckReport:
    """Measure ``model`` on ``samples``; when it does not fit, measure the intrinsic and
    convention alternatives and the given ones (other frames, cameras…; a list, or a callable
    returning one, called only when needed) and name the best that fits. ``compare_with``
    (the file's own camera when the scene's is checked, or the other way round) is always
    measured, and a note says whether the two agree."""
    base = measure(samples, model)
    report = CameraCheckReport(path=samples.path, camera=label or "the camera", measure=base, samples=len(samples),
                               valid_pixels=samples.valid_pixels)
    if compare_with is not None:
        report.compared = other = compare_with.measured(samples)
        if base.ok and other.measure.ok:
            report.notes.append(f"{other.label} agrees with {report.camera}")
        elif base.ok:
            report.notes.append(f"{other.label} does NOT match the render; {report.camera} does")
        elif other.measure.ok:
            report.notes.append(f"{other.label} matches the render")
    if base.ok:
        return report
    tried = []
    candidates = (list(alternatives() if callable(alternatives) else alternatives)
                  + intrinsic_alternatives(samples, model) + convention_alternatives(samples, model))
    if report.compared is not None:
        candidates.append(report.compared)
    for alt in candidates:
        tried.append(alt.measured(samples))
    report.alternatives = tried
    fits = [a for a in tried if a.measure.ok]
    if fits:
        best = min(fits, key=lambda a: a.measure.score)
        report.best, report.cause = best, best.cause
        report.explanation = f"likely cause: {best.label} fits ({best.measure.text()})"
    else:
        kinds = sorted({a.cause for a in tried})
        best = min(tried, key=lambda a: a.measure.score) if tried else None
        report.best = best
        report.explanation = ("no tested alternative explains it (tried: " + ", ".join(k.lower() for k in kinds) +
                              (f"; closest: {best.label}" if best is not None else "") + ")")
    return report
