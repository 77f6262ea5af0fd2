"""Check Camera, the Blender side: which camera a frame is built with, and the alternatives
only Blender can make (the camera at neighbouring frames, the other camera objects, the
camera the file carries vs the scene's). The measuring and the intrinsic/convention
alternatives are ``core/camera_check.py``."""
from __future__ import annotations

from ...core.camera import from_header as header_camera
from ...core.checks import camera_check as core_check
from ...core.diagnostics import CAMERA, STEREO
from ...core.errors import CameraError, ChannelError, DepthCloudError, SourceFileError
from ...core.images import read as depth_images
from .. import inputs
from ..camera import model as camera_glue
from ..source import camera_from_file

#: Neighbouring frames tried on each side when the camera does not fit.
FRAMES_AROUND = 3
#: Pixels a build compares (its check must cost little: ~2 ms at 1080p against 5-12 ms for the
#: full check's 20 000, bench/bench_camera_check.py); the full check runs only when this one fails.
BUILD_SAMPLES = 5000


def _samples(passes, max_samples=core_check.MAX_SAMPLES):
    if passes.depth is None:
        raise ChannelError(passes.path, "depth (Z) channel to check the camera with", passes.channels)
    planes = passes.position_planes
    if planes is None and passes.position is not None:
        planes = tuple(passes.position[..., k] for k in range(3))
    args = (passes.convention, passes.near, passes.far, passes.window, passes.frame_size, passes.path, max_samples)
    if planes is None and passes.position_rows is not None:  # a build's read: the pass's row bands only
        rows, planes = passes.position_rows
        return core_check.samples_from_rows(passes.depth, rows, planes, *args)
    if planes is None:
        if depth_images.is_depth_image(passes.path):
            raise SourceFileError(passes.path, "a depth image holds no world Position pass to check the camera "
                                               "against (the check needs an EXR with depth and Position)")
        raise ChannelError(passes.path, "world Position pass (Position.X/Y/Z) to check the camera against",
                           passes.channels)
    return core_check.samples_from_arrays(passes.depth, planes, *args)


def _camera_used(scene, passes, camera):
    """``(camera object or None, header model or None, header source)``: what
    ``glue.source.frame_camera`` uses (the explicit camera, else the file's camera, else the
    camera the file names, else the scene camera), told apart for the report."""
    try:
        header_model, source = header_camera.header_camera(passes.header, passes.frame_size, passes.path)
    except CameraError:
        header_model, source = None, None
    if camera is not None:
        return camera, header_model, source
    if header_model is not None:
        return None, header_model, source
    from ..source import camera_from_file
    named = camera_from_file(scene, passes)[1]
    return named if named is not None else scene.camera, None, None


def _blender_alternatives(scene, cam_obj, frame, size, frames_around):
    """Alternatives: ``cam_obj`` at ``frame ± 1..frames_around`` and every other camera at ``frame``."""
    out = []
    if cam_obj is not None:
        for k in range(1, int(frames_around) + 1):
            for f in (frame - k, frame + k):
                model = camera_glue.camera_model(cam_obj, scene, frame=f, size=size)
                when = f"{k} frame{'s' if k > 1 else ''} {'before' if f < frame else 'after'} {frame}"
                out.append(core_check.Alternative(core_check.FRAME, f"camera {cam_obj.name!r} at frame {f} ({when})",
                                                  model))
    for ob in scene.objects:
        if ob.type == 'CAMERA' and ob != cam_obj:
            out.append(core_check.Alternative(core_check.OTHER_CAMERA, f"camera {ob.name!r} (another camera object)",
                                              camera_glue.camera_model(ob, scene, frame=frame, size=size)))
    return out


def check_frame(scene, spec, frame: int, camera=None, frames_around: int = FRAMES_AROUND, passes=None):
    """The CameraCheckReport of ``frame`` of ``spec`` with ``camera`` (None: the camera a
    build would use). Raises a DepthCloudError naming the file when the frame has no depth or
    no Position pass, or when there is no camera."""
    passes = inputs.read_passes(spec, frame, full_position=True) if passes is None else passes
    cam_obj, header_model, source = _camera_used(scene, passes, camera)
    passes, model = inputs.frame_inputs(scene, spec, frame, camera, passes=passes)
    if model is None:
        raise CameraError(f"{passes.path}: no camera to check: set the scene camera or choose one in the "
                          "Depth Cloud settings")
    samples = _samples(passes)
    size = passes.frame_size
    if cam_obj is None:  # the file's own camera is used: compare the scene camera with it
        label = f"the file's own camera ({source})"
        alternatives = ()
        compare = None if scene.camera is None else core_check.Alternative(
            core_check.OTHER_CAMERA, f"scene camera {scene.camera.name!r}",
            camera_glue.camera_model(scene.camera, scene, frame, size=size))
    else:
        label = f"camera {cam_obj.name!r} at frame {frame}"
        alternatives = lambda: _blender_alternatives(scene, cam_obj, frame, size, frames_around)  # noqa: E731
        compare = None if header_model is None else core_check.Alternative(
            core_check.FILE_CAMERA, f"the file's own camera ({source})", header_model)
    return core_check.check_camera(samples, model, label, alternatives, compare)


def warning_for_build(scene, spec, frame, camera, passes, model):
    """One warning line when the camera a build uses does not explain the file's Position pass
    (checked only when the file has one next to its depth pass: cheap, on the row bands of it
    the build read), else None."""
    if model is None or passes.depth is None or (passes.position_planes is None and passes.position is None
                                                 and passes.position_rows is None):
        return None
    try:
        base = core_check.measure(_samples(passes, BUILD_SAMPLES), model)
    except DepthCloudError:
        return None  # nothing to compare (no pixel with both passes): the build reports its own problems
    if base.ok:
        return None
    try:
        summary = check_frame(scene, spec, frame, camera, passes=passes).summary()
    except DepthCloudError as err:  # an alternative could not be made (e.g. a broken camera object)
        summary = f"the camera does not match the Position pass ({base.text()}); the cause was not found ({err})"
    return f"{passes.path}: {summary} (Check Camera in the Depth Cloud panel has the details)"


def check_for_build(scene, spec, frame, camera, passes, model):
    """The camera check every build runs (panel, API, command line, every output): when the
    file has a Position pass next to its depth, the camera the build uses is measured against
    it (cheap: the row bands the build read).

    - The camera came from a NAME lookup (the file names it, the scene has an object of that
      name) and does not explain the pass: a name is a guess, so the build does not go on
      with it: :class:`CameraError` with the check's named cause.
    - Any other camera (chosen by the user, the scene camera): a ``camera`` diagnostic in
      ``passes.warnings``, and the build goes on.

    Returns ``(passes, model)``."""
    named = None
    if camera is None and model is not None:
        try:
            header_model, _source = header_camera.header_camera(passes.header, passes.frame_size, passes.path)
        except CameraError:
            header_model = None
        if header_model is None:
            named = camera_from_file(scene, passes)[1]
    mismatch = warning_for_build(scene, spec, frame, camera, passes, model)
    if not mismatch:
        return passes, model
    mono_eye = any(getattr(d, "kind", None) == STEREO for d in passes.warnings)
    if named is not None and not mono_eye:  # (a stereo eye built with the mono camera is warned as such)
        raise CameraError(f"{mismatch}; the file names camera {named.name!r} and this scene's object of that name "
                          "did not render it: choose the camera that did (--camera on the command line, camera= in "
                          "the API, the Camera setting in the panel)")
    passes.warnings.append(mismatch, CAMERA, source=passes.path)
    return passes, model
