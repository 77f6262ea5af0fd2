"""Rendering the passes a cloud needs into self-describing multilayer EXRs.

One multilayer EXR per frame, ``<cache folder>/<scene>_####.exr``, holding exactly the
Combined, Z and Position passes of one view layer, with the camera model of that frame in
the header (``depthCloud/camera`` JSON and ``depthCloud/depthConvention`` = PLANAR, see
``core.header_camera``). Blender's only way to add header text, the stamp note, is cut at 511
bytes (measured in 4.2 and 5.0.1), shorter than a camera model; so the saved file is
rewritten once with OpenEXR (``core.exr_write``), pixels and ZIP compression unchanged.

Everything borrowed from the scene is put back in ``finally``: render and image settings,
view layer pass flags, the frame. The user's compositor and sequencer are
switched off for the render (never edited), so no compositor setup is needed and none is
disturbed.

Blender limit worked around: 5.0.1 cannot write a multilayer EXR when the pixel aspect is
not 1:1 (OpenEXR refuses parts whose ``pixelAspectRatio`` differ: "Conflicting attributes
found for header"). The frame is therefore rendered into the Render Result with the
scene's own pixel aspect (the renderer's pixels are untouched) and saved with
``Image.save_render`` while the aspect is 1:1; the header rewrite then sets the true
``pixelAspectRatio`` on every part, and the header camera carries it too.
"""
from __future__ import annotations

import os
import time

import bpy
import numpy as np

from ...core.camera.from_header import HEADER_CONVENTION, camera_to_header
from ...core.diagnostics import Diagnostics
from ...core.errors import CameraError, DepthCloudError, ExportError, SettingsError
from ...core.exr.write import add_header_attributes
from ...core.frames import parse_frame_range, resolve_frame_path
from ...core.sequence.reader_hold import readers_held
from ...enums import DEFAULT_CACHE_DIR
from .. import compat
from ..camera import model as camera_glue
from ..frames import scene_frames
from ..validate import check_scene_settings

CYCLES = 'CYCLES'
SUPPORTED_ENGINES = (CYCLES,) + compat.EEVEE_IDS
#: View layer passes written: Combined (color), Z (planar depth), Position (world ground truth).
NEEDED_PASSES = ("use_pass_combined", "use_pass_z", "use_pass_position")
#: Flags on the view layer (and its engine settings) that add passes other than ours.
_EXTRA_PASS_FLAGS = ("denoising_store_passes", "pass_debug_sample_count", "pass_render_time")
_NOT_A_PASS = ("use_pass_cryptomatte_accurate",)
RENDER_RESULT = "Render Result"
FRAME_MODES = ('CURRENT', 'RANGE', 'CUSTOM')


# ----------------------------------------------------------------------------- settings
def _plain(value):
    """RNA values as comparable Python values (arrays become tuples)."""
    if hasattr(value, "__len__") and not isinstance(value, (str, set, frozenset)):
        try:
            return tuple(value)
        except TypeError:
            return value
    return value


def rna_values(struct) -> dict:
    """Writable, non-pointer property values of an RNA struct."""
    out = {}
    for prop in struct.bl_rna.properties:
        name = prop.identifier
        if name == "rna_type" or prop.is_readonly or prop.type in ('POINTER', 'COLLECTION'):
            continue
        out[name] = _plain(getattr(struct, name))
    return out


class BorrowedSettings:
    """Settings changed for the duration of a render and put back afterwards.

    ``set`` records a property's value the first time it is changed; ``keep`` snapshots a
    whole struct whose properties change each other (image format: switching the file
    format resets the color depth, codec…), restored with ``first`` properties first.
    ``restore`` puts everything back, last change first, and returns problems as text
    (it never raises, so it is safe in ``finally``).
    """

    def __init__(self):
        self._changes = []  # (owner, name, old value)
        self._structs = []  # (struct, values, first)

    def set(self, owner, name, value):
        old = _plain(getattr(owner, name))
        if old == _plain(value):
            return
        if not any(o == owner and n == name for o, n, _ in self._changes):
            self._changes.append((owner, name, old))
        setattr(owner, name, value)

    def keep(self, struct, first=()):
        self._structs.append((struct, rna_values(struct), tuple(first)))
        for prop in struct.bl_rna.properties:  # nested settings (color management) too
            if prop.type == 'POINTER' and prop.identifier != "rna_type":
                nested = getattr(struct, prop.identifier, None)
                if nested is not None and not isinstance(nested, bpy.types.ID):
                    self._structs.append((nested, rna_values(nested), ()))

    def restore(self) -> list:
        problems = []
        while self._changes:
            owner, name, old = self._changes.pop()
            try:
                setattr(owner, name, old)
            except (AttributeError, TypeError, ValueError, RuntimeError) as err:
                problems.append(f"could not restore {name} ({err})")
        for struct, values, first in self._structs:  # the format first, then its nested settings
            order = [n for n in first if n in values] + [n for n in values if n not in first]
            for name in order:
                try:
                    if _plain(getattr(struct, name)) != values[name]:
                        setattr(struct, name, values[name])
                except (AttributeError, TypeError, ValueError, RuntimeError) as err:
                    problems.append(f"could not restore {name} ({err})")
        self._structs.clear()
        return problems


def set_exr_multilayer(borrowed: BorrowedSettings, image_settings):
    """32-bit float multilayer EXR, ZIP (lossless; Blender and OpenEXR both read it)."""
    borrowed.keep(image_settings, first=("media_type", "file_format"))
    compat.set_image_format(image_settings, 'OPEN_EXR_MULTILAYER')
    image_settings.color_depth = '32'
    image_settings.exr_codec = 'ZIP'
    if hasattr(image_settings, "color_management"):
        image_settings.color_management = 'FOLLOW_SCENE'  # scene-linear Combined
    if hasattr(image_settings, "use_preview"):
        image_settings.use_preview = False  # no JPEG preview next to the EXR


def only_needed_passes(borrowed: BorrowedSettings, view_layer):
    """Combined, Z and Position on; every other pass flag off (AOVs and light groups, which
    have no switch, stay)."""
    owners = [view_layer] + [getattr(view_layer, n, None) for n in ("cycles", "eevee")]
    for owner in owners:
        if owner is None:
            continue
        for prop in owner.bl_rna.properties:
            name = prop.identifier
            if prop.type != 'BOOLEAN' or prop.is_readonly or name in _NOT_A_PASS:
                continue
            if name.startswith("use_pass_") or name in _EXTRA_PASS_FLAGS:
                borrowed.set(owner, name, owner is view_layer and name in NEEDED_PASSES)


# ----------------------------------------------------------------------------- paths and frames
def cache_folder(folder: str) -> str:
    """The cache folder as an absolute path; a clear error for a '//' path of an unsaved file."""
    folder = (folder or DEFAULT_CACHE_DIR).strip()
    if folder.startswith("//") and not bpy.data.filepath:
        raise SettingsError(f"the cache folder {folder!r} is relative to the .blend file, which is not saved yet: "
                            "save the file or choose an absolute Cache Folder")
    return os.path.normpath(bpy.path.abspath(folder))


def cache_pattern(scene, folder: str) -> str:
    """``<folder>/<scene>_####.exr``: the files ``render_frames`` writes."""
    return os.path.join(cache_folder(folder), f"{bpy.path.clean_name(scene.name)}_####.exr")


def frames_for(scene, mode: str, text: str = "") -> list:
    """Frames of a mode: 'CURRENT', 'RANGE' (the scene's start-end with its step) or
    'CUSTOM' (``text`` such as ``"1-240x3,300"``)."""
    if mode == 'CURRENT':
        return [scene.frame_current]
    if mode == 'RANGE':
        return scene_frames(scene)
    if mode == 'CUSTOM':
        return parse_frame_range(text, "output frames (output.frames)")
    raise SettingsError(f"frames {mode!r} unknown; expected one of {FRAME_MODES}")


def check_can_render(scene):
    """A clear error (and nothing changed) when the scene cannot render our passes."""
    if scene.render.engine not in SUPPORTED_ENGINES:
        raise SettingsError(f"render engine {scene.render.engine!r} cannot render the Z and Position passes: "
                            "switch the scene to Cycles or EEVEE")
    if scene.camera is None:
        raise CameraError(f"scene {scene.name!r} has no camera to render with")


# ----------------------------------------------------------------------------- rendering
def render_frames(scene, frames, folder: str = DEFAULT_CACHE_DIR, view_layer=None, progress=None) -> list:
    """Render ``frames`` of ``scene`` into ``<folder>/<scene>_####.exr``; returns the paths.

    ``progress(done, total, frame, path, seconds)`` is called after each frame. Raises a
    DepthCloudError (and changes nothing) on bad settings; every setting borrowed for the
    render is restored, also when a render fails or is interrupted.
    """
    check_scene_settings(scene)
    frames = [int(f) for f in frames]
    if not frames:
        raise SettingsError("no frame to render")
    check_can_render(scene)
    view_layer = view_layer or bpy.context.view_layer
    if view_layer is None or view_layer.name not in scene.view_layers:
        view_layer = scene.view_layers[0]
    pattern = cache_pattern(scene, folder)
    try:
        os.makedirs(os.path.dirname(pattern), exist_ok=True)
    except OSError as err:
        raise ExportError(f"{os.path.dirname(pattern)}: cannot create the cache folder ({err})") from err

    r = scene.render
    borrowed = BorrowedSettings()
    start = (scene.frame_current, scene.frame_subframe, scene.camera)
    paths = RenderedPaths()
    try:
        set_exr_multilayer(borrowed, r.image_settings)
        only_needed_passes(borrowed, view_layer)
        borrowed.set(r, "use_compositing", False)  # the user's compositor neither runs nor matters
        borrowed.set(r, "use_sequencer", False)  # sequencer strips would replace the render
        borrowed.set(r, "use_multiview", False)  # one view: one camera per file
        borrowed.set(r, "use_motion_blur", False)  # geometry passes of the frame's own instant
        borrowed.set(r, "use_crop_to_border", False)  # full frame: the header camera's frame
        borrowed.set(r, "use_stamp", False)  # never text burnt into the pixels
        for done, frame in enumerate(frames, 1):
            t0 = time.perf_counter()
            path = resolve_frame_path(pattern, frame)
            render_frame(scene, frame, view_layer, path)
            paths.append(path)
            if progress is not None:
                progress(done, len(frames), frame, path, time.perf_counter() - t0)
    finally:
        problems = borrowed.restore()
        scene.frame_set(start[0], subframe=start[1])
        if scene.camera != start[2]:  # camera markers switched it while stepping frames
            scene.camera = start[2]
        for problem in problems:  # the operator reports them (core/diagnostics.py)
            paths.warnings.append(problem)
    return paths


class RenderedPaths(list):
    """The rendered files' paths, with ``warnings``: render settings that could not be put
    back (a ``core.diagnostics.Diagnostics``)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.warnings = Diagnostics()


def render_frame(scene, frame: int, view_layer, path: str):
    """Render one frame into the Render Result and save it as ``path`` (the scene's
    render and image settings already borrowed by ``render_frames``)."""
    r = scene.render
    scene.frame_set(int(frame))
    cam = scene.camera  # after frame_set: camera switches by markers are applied
    if cam is None:
        raise CameraError(f"scene {scene.name!r} has no camera at frame {frame}")
    model = camera_glue.camera_model(cam, scene)
    with readers_held():  # GIL released during the operator: core/reader_hold.py
        result = bpy.ops.render.render(write_still=False, layer=view_layer.name, scene=scene.name)
    if 'FINISHED' not in result:
        raise DepthCloudError(f"rendering frame {frame} of scene {scene.name!r} was cancelled")
    image = bpy.data.images.get(RENDER_RESULT)
    if image is None or image.type != 'RENDER_RESULT':
        raise DepthCloudError(f"rendering frame {frame} of scene {scene.name!r} left no Render Result")
    # Write next to the target and move it in place: readers never see a half-written file.
    folder, name = os.path.split(path)
    saved = os.path.join(folder, f".{name}.render.exr")
    final = os.path.join(folder, f".{name}.partial.exr")
    aspect = (r.pixel_aspect_x, r.pixel_aspect_y)
    try:
        if aspect[0] != aspect[1]:
            # Blender 5.0.1 cannot write multilayer EXRs with non-square pixels: save the
            # rendered pixels with a square aspect; the header gets the real one below.
            r.pixel_aspect_x = r.pixel_aspect_y = 1.0
        try:
            image.save_render(saved, scene=scene)
        except RuntimeError as err:
            raise ExportError(f"{path}: Blender could not write the render ({err})") from err
        finally:
            r.pixel_aspect_x, r.pixel_aspect_y = aspect
        header = camera_to_header(model)
        header[HEADER_CONVENTION] = "PLANAR"
        edit = _eevee_background(model) if r.engine in compat.EEVEE_IDS else None
        add_header_attributes(saved, final, header, pixel_aspect=aspect[0] / aspect[1], edit=edit)
        os.replace(final, path)
    except OSError as err:
        raise ExportError(f"{path}: cannot write the render ({err})") from err
    finally:
        for tmp in (saved, final):
            if os.path.exists(tmp):
                os.remove(tmp)
    return path



def _eevee_background(model):
    """EEVEE writes the far clip distance (up to ~1 % off, measured in 4.2 and 5.0.1) as the
    depth of pixels that hit nothing, where Cycles writes 1e10; its Position pass is exactly
    (0, 0, 0) there. Give those pixels Cycles' background depth, so the files of both
    engines read the same and no wall of points appears at the far plane."""
    from ...core.exr.read import find_depth_channel, find_position_channels, view_layers
    from ...core.points.depth import BACKGROUND_DEPTH

    def edit(pixels):
        names = list(pixels)
        layer = next(iter(view_layers(names)), "")
        z_name, pos_names = find_depth_channel(names, layer), find_position_channels(names, layer)
        if z_name is None or pos_names is None:
            return
        z = pixels[z_name]
        empty = (pixels[pos_names[0]] == 0) & (pixels[pos_names[1]] == 0) & (pixels[pos_names[2]] == 0)
        with np.errstate(invalid="ignore"):
            empty &= ~(z < 0.9 * model.clip_end)  # far plane (or inf/NaN), never a surface
        z[empty] = np.float32(BACKGROUND_DEPTH * 10)
    return edit


# ----------------------------------------------------------------------------- Render & Build
#: The scene's source settings Render & Build points at the rendered files.
RENDERED_SOURCE_FIELDS = ("source_mode", "exr_path", "convention", "layer", "depth_channel", "color_channels",
                          "position_channels")


def build_rendered(scene, pattern: str, frames):
    """Point the scene's Depth Cloud source at the files just rendered (``pattern``) and build
    the current frame (else the first of ``frames``); returns ``(object, PointSet)``. If the
    build fails the source settings are put back as they were and the error is raised."""
    from .. import build, source

    settings = scene.depth_cloud
    before = {name: getattr(settings, name) for name in RENDERED_SOURCE_FIELDS}
    settings.source_mode = 'MULTILAYER'
    relative = settings.output.cache_dir.strip().startswith("//")
    settings.exr_path = bpy.path.relpath(pattern) if relative else pattern
    settings.convention = 'AUTO'  # the files say PLANAR
    settings.layer = settings.depth_channel = settings.color_channels = settings.position_channels = ""
    frame = scene.frame_current if scene.frame_current in frames else frames[0]
    try:
        src = source.resolve(scene)
        return build.build_cloud_object(scene, src.spec, frame, src.camera, clip=src.clip)
    except DepthCloudError:
        for name, value in before.items():  # the settings stay as they were
            setattr(settings, name, value)
        raise
