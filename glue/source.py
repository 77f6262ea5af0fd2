"""What a build reads and which camera it uses: the one resolver called by the API, the
operators, the command line, fusion and playback.

- :func:`resolve`: a path, a SourceSpec or nothing (then the scene's Depth Cloud settings),
  plus a color file and reading options -> :class:`Source` (SourceSpec, camera object, clip).
  With no source given, the settings' camera and clip apply too.
- :func:`settings_spec`: the SourceSpec of a settings group (the scene's build settings or
  what a sequence object plays back).
- :func:`frame_camera`: the camera of one frame's passes, in this order (the first that
  applies wins), and the passes placed in that camera's frame:

  1. an explicit Blender camera (the caller's, or the settings' camera via :func:`resolve`),
  2. Depth Cloud's own camera in the header (``depthCloud/camera`` or the stamp note),
  3. OpenEXR's standard ``worldToCamera``/``worldToNDC`` (then Nuke's ``nuke/camera/*``),
  4. the camera object Blender named in the header (``Camera``), found in this scene,
  5. the scene camera (none is needed for a world position pass).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace

from ..core.camera import from_header as header_camera
from ..core.diagnostics import OTHER_CAMERA, STEREO
from ..core.errors import CameraError, SettingsError
from ..core.points.inputs import SourceSpec
from .camera import model as camera_glue
from .images import abspath

#: How the passes are read: the SourceSpec fields besides the paths, with the same names in the
#: settings (scene and sequence object), the API's keyword options and the command line.
READING_OPTIONS = ("kind", "convention", "near", "far", "layer", "depth_channel", "color_channels",
                   "position_channels", "detail", "view", "deep_samples", "deep_min_alpha", "mask", "mask_pass",
                   "mask_threshold", "normals", "attributes", "depth_scale", "invalid_value")


#: Depth conventions that need the near/far distances the depth was mapped with.
MAPPED_CONVENTIONS = ("NORMALIZED", "ZBUFFER")


@dataclass(frozen=True)
class Source:
    """What to read (``spec``), the camera object chosen for it (None: from the file or the
    scene, see :func:`frame_camera`), whether to clip to the camera range, and whether it all
    came from the scene's settings."""

    spec: SourceSpec
    camera: object = None
    clip: bool = True
    from_settings: bool = False


def reading_options(props) -> dict:
    """The reading options of a settings group (``scene.depth_cloud``, ``object.depth_cloud.sequence``)."""
    return {name: getattr(props, name) for name in READING_OPTIONS}


def setting_value(spec: SourceSpec, name: str):
    """A SourceSpec field as the settings store it (lists such as ``mask`` as "a, b")."""
    value = getattr(spec, name)
    if name == "invalid_value":  # None: the default (a StringProperty stores it as "")
        return "" if value is None else repr(float(value))
    if value is None and name in ("near", "far"):  # not given (read from the header): the settings' default
        return 0.1 if name == "near" else 100.0
    return ", ".join(value) if isinstance(value, tuple) else value


def settings_spec(settings) -> SourceSpec:
    """The SourceSpec of the scene's Depth Cloud settings (``scene.depth_cloud``)."""
    color = settings.color_path if settings.source_mode == 'SEPARATE' else ""
    return SourceSpec(path=abspath(settings.exr_path), color_path=abspath(color), **reading_options(settings))


def sequence_spec(sequence) -> SourceSpec:
    """The SourceSpec of what a sequence object plays back (``object.depth_cloud.sequence``)."""
    return SourceSpec(path=abspath(sequence.source), color_path=abspath(sequence.color_source),
                      **reading_options(sequence))


def resolve(scene, source=None, color=None, camera=None, clip=None, source_name="a source", **options) -> Source:
    """What to read, and with which camera: ``source`` (a path pattern or a SourceSpec; None:
    the scene's Depth Cloud settings, whose camera and clip then apply unless given), ``color``
    (a separate color file), ``options`` (reading options; None values are ignored).
    ``source_name`` is how the caller's users give a source (the CLI's ``--source``), for the
    message when there is none."""
    from .validate import check_scene_settings
    check_scene_settings(scene)  # every number of the settings, before anything is made
    unknown = set(options) - set(READING_OPTIONS)
    if unknown:
        raise SettingsError(f"unknown option(s) {sorted(unknown)}; expected {', '.join(READING_OPTIONS)}")
    from_settings = source is None
    if isinstance(source, SourceSpec):
        spec = source
    elif from_settings:
        settings = scene.depth_cloud
        if not settings.exr_path.strip():
            raise SettingsError(f"no source: give {source_name} (e.g. renders/shot_####.exr) or set the EXR in scene "
                                f"{scene.name!r}'s Depth Cloud settings")
        spec = settings_spec(settings)
    else:
        spec = SourceSpec(path=abspath(str(source)))
    if color:
        spec = replace(spec, color_path=abspath(str(color)))
    overrides = {k: v for k, v in options.items() if v is not None}
    if not from_settings and overrides.get("convention") in MAPPED_CONVENTIONS:
        # a mapped depth with no near/far given: from the file's header, or refused (core.passes)
        overrides.setdefault("near", None)
        overrides.setdefault("far", None)
    if overrides:
        spec = replace(spec, **overrides)
    if from_settings:
        camera = camera if camera is not None else scene.depth_cloud.camera
        clip = scene.depth_cloud.clip if clip is None else clip
    return Source(spec, camera, True if clip is None else bool(clip), from_settings)


def frame_camera(scene, passes, frame: int, camera=None, depsgraph=None):
    """``(FramePasses, CameraModel or None)``: the camera that rendered ``passes`` (the order
    above) and the passes placed in its frame (a cropped border render sits at the scene's
    border offset). None only for a world position pass with no camera to be found.
    ``depsgraph`` evaluates the camera in that depsgraph (frame-change handlers during renders)."""
    if camera is None:
        header_model, camera = camera_from_file(scene, passes)
        if header_model is not None:
            return _placed_for(scene, passes, header_model), header_model
    try:
        cam_obj = camera_glue.resolve_camera(scene, camera)
    except CameraError:
        if passes.position is None:
            raise
        return passes, None
    fw, fh, x0, y0 = camera_glue.crop_placement(scene, passes.frame_size)
    if (fw, fh) != tuple(passes.frame_size):
        passes = passes.placed_in_frame(fw, fh, x0, y0)
    return passes, camera_glue.camera_model(cam_obj, scene, frame=frame, depsgraph=depsgraph, size=passes.frame_size,
                                            view=camera_view(scene, passes))


def camera_view(scene, passes):
    """The render view whose camera made ``passes`` (multi-view files), else None. A multi-view
    file built in a scene without Stereoscopy uses the camera itself, with one warning."""
    if not passes.view:
        return _view_from_file_name(scene, passes.path)
    if not scene.render.use_multiview:
        passes.warnings.append(
            f"{passes.path}: view {passes.view!r} of a multi-view file is built with the scene's mono camera "
            f"(Stereoscopy is off in scene {scene.name!r}); turn it on with the settings that rendered the file "
            "for each eye's own camera", STEREO, source=passes.path)
        return None
    return passes.view


def _view_from_file_name(scene, path):
    """Stereoscopy with *Individual* files: Blender 5.x writes each eye to its own file
    (``shot_0001_L.exr``) with no view in the header; the render view whose file suffix ends
    the name is the one that rendered it."""
    if not scene.render.use_multiview:
        return None
    stem = os.path.splitext(os.path.basename(path))[0]
    for rv in scene.render.views:
        if rv.use and rv.file_suffix and stem.endswith(rv.file_suffix):
            return rv.name
    return None


def camera_from_file(scene, passes):
    """``(CameraModel or None, camera object or None)`` for a frame's passes (steps 2-4).

    A model when the header describes the camera (steps 2–3), else the Blender camera object
    the header names when this scene has it (step 4), else ``(None, None)``. A named camera
    missing from the scene adds a warning to ``passes.warnings``.
    """
    try:
        model, _source = header_camera.header_camera(passes.header, passes.frame_size, passes.path)
    except CameraError as err:
        raise CameraError(f"{err} (choose a camera in the Depth Cloud settings to ignore the file's camera)") from err
    if model is not None:
        return model, None
    name = header_camera.blender_camera_name(passes.header)
    if name:
        ob = scene.objects.get(name)
        if ob is not None and ob.type == 'CAMERA':
            return None, ob
        if scene.camera is not None:
            passes.warnings.append(f"{passes.path}: rendered by camera {name!r}, which is not in scene "
                                   f"{scene.name!r}; using the scene camera {scene.camera.name!r}", OTHER_CAMERA,
                                   source=passes.path)
    return None, None


def _placed_for(scene, passes, model):
    """The passes placed in the frame of a header camera."""
    full = (model.width, model.height)
    if tuple(passes.frame_size) == full:
        return passes
    fw, fh, x0, y0 = camera_glue.crop_placement(scene, passes.frame_size)
    if (fw, fh) != full:
        raise CameraError(f"{passes.path}: the camera in the header renders a {full[0]}x{full[1]} frame but the "
                          f"image is {passes.frame_size[0]}x{passes.frame_size[1]}")
    return passes.placed_in_frame(fw, fh, x0, y0)
