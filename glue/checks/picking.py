"""Pick 3D Point, the Blender side: which source and frame an Image Editor image shows, the
Image Editor's view -> frame pixel, and placing the 3D cursor or an Empty at what it saw.
The pixel math is ``core/checks/picking.py``; the passes and the camera come from ``glue/inputs.py``."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace

import bpy

from ...core.checks import picking as core_pick
from ...core.errors import DepthCloudError, SettingsError
from ...core.frames import has_frame_placeholder
from ...core.points.inputs import SourceSpec
from .. import inputs, objects
from .. import source as source_glue
from ..images import abspath

EMPTY_COLLECTION = "Depth Cloud Picks"


@dataclass
class PickSource:
    """A frame of a source, ready to pick from (passes read once, camera evaluated once)."""

    spec: SourceSpec
    frame: int
    passes: object
    model: object
    cloud: str = ""
    #: ``(width, height, x0, y0)``: what the shown image covers in the frame (a render cropped
    #: to its border shows only the border region, which sits at its offset in the frame).
    shown_rect: tuple = ()

    @property
    def frame_size(self):
        return tuple(self.passes.frame_size)

    def at(self, column: int, row: int) -> core_pick.PickResult:
        return core_pick.pick(self.passes, self.model, column, row, self.frame, self.cloud)


def prepare(scene, spec: SourceSpec, frame: int, camera=None, cloud: str = "") -> PickSource:
    """Read ``frame`` of ``spec`` and evaluate its camera (errors name the file or setting)."""
    stored = inputs.read_passes(spec, int(frame))
    stored_size = tuple(stored.frame_size)
    passes, model = inputs.frame_inputs(scene, spec, int(frame), camera, passes=stored)
    if tuple(passes.frame_size) != stored_size:  # a cropped border render placed in its frame
        rect = (*stored_size, *passes.window)
    else:
        rect = (*stored_size, 0, 0)
    if not cloud:
        ob = objects.find_cloud_object(scene, spec, int(frame))
        cloud = ob.name if ob is not None else ""
    return PickSource(spec, int(frame), passes, model, cloud, rect)


def _candidates(scene):
    """``(spec, frame or None, camera, cloud name)``: every source this scene knows, sequences
    first (they remember their own reading options and camera), then built clouds, then the
    Depth Cloud settings. ``frame`` None: any frame of the pattern."""
    settings = scene.depth_cloud
    out = []
    for ob in scene.objects:
        s = ob.depth_cloud.sequence
        if s.is_sequence and s.source:
            out.append((source_glue.sequence_spec(s), None, s.camera, ob.name))
    settings_spec = None
    if settings.exr_path.strip():
        settings_spec = source_glue.settings_spec(settings)
    for ob in scene.objects:
        s = ob.depth_cloud
        if s.is_cloud and s.source:
            same = settings_spec is not None and settings_spec.path == s.source
            spec = replace(settings_spec, color_path=s.color_source) if same else \
                SourceSpec(path=s.source, color_path=s.color_source)
            out.append((spec, s.frame, settings.camera, ob.name))
    if settings_spec is not None:
        out.append((settings_spec, None, settings.camera, ""))
    return out


def image_path(image, image_user=None):
    """``(absolute path, frame of an image sequence or None)`` of an Image datablock, or
    ``(None, None)`` for images without a file (Render Result, generated)."""
    if image is None or image.source not in {'FILE', 'SEQUENCE'} or not image.filepath:
        return None, None
    path = os.path.normpath(bpy.path.abspath(image.filepath, library=image.library))
    frame = int(image_user.frame_current) if image.source == 'SEQUENCE' and image_user is not None else None
    return path, frame


def source_for_image(scene, image, image_user=None) -> PickSource:
    """The source and frame the shown ``image`` is: a file of a built sequence or cloud, of
    the Depth Cloud settings (depth/multilayer EXR or the separate color file), or any EXR
    read with the settings' options. Render Result: the settings' source at the current frame."""
    path, seq_frame = image_path(image, image_user)
    settings = scene.depth_cloud
    if path is None:
        if not settings.exr_path.strip():
            name = image.name if image is not None else "(no image)"
            raise SettingsError(f"image {name!r} has no file: open the render's EXR in the Image Editor, or set "
                                "the EXR in the Depth Cloud settings")
        src = source_glue.resolve(scene)  # the settings, with their camera
        return prepare(scene, src.spec, scene.frame_current, src.camera)
    for spec, frame, camera, cloud in _candidates(scene):
        for pattern in (spec.path, spec.color_path):
            found = core_pick.frame_from_path(pattern, path) if pattern else None
            if found is None:
                continue
            if seq_frame is not None:  # an image sequence shows its own frame
                found = seq_frame
            elif not has_frame_placeholder(pattern):  # one file for every frame
                found = frame if frame is not None else scene.frame_current
            if frame is not None and found != frame:
                continue  # a cloud built from another frame of the same pattern
            return prepare(scene, with_shown_view(spec, image, image_user, path), found, camera, cloud)
    if not path.lower().endswith(".exr"):
        raise SettingsError(f"{path}: this image is not a Depth Cloud source; set it as the color file in the "
                            "Depth Cloud settings, or show the render's EXR")
    kw = source_glue.reading_options(settings) if settings.exr_path.strip() else {}
    spec = with_shown_view(SourceSpec(path=abspath(path), **kw), image, image_user, path)
    frame = seq_frame if seq_frame is not None else core_pick.stamped_frame(path, scene.frame_current)
    return prepare(scene, spec, frame, settings.camera)


def with_shown_view(spec: SourceSpec, image, image_user, path: str) -> SourceSpec:
    """``spec`` reading the view (eye) the Image Editor shows when ``path`` is a multi-view
    EXR (``image_user.multilayer_view`` indexes Blender's list of the file's views; an image
    not shown as multi-view shows the first). Readers without view support (no
    ``SourceSpec.view``) cannot keep the eyes apart: a clear error instead of a mixed pick."""
    if not str(path).lower().endswith(".exr"):
        return spec
    from ...core.exr.header import read_exr_header
    views = core_pick.blender_view_names(p.attributes for p in read_exr_header(path).parts)
    if len([v for v in views if v]) < 2:
        return spec
    index = int(image_user.multilayer_view) if image_user is not None and image.is_multiview else 0
    view = views[index] if 0 <= index < len(views) else views[0]
    if "view" not in SourceSpec.__dataclass_fields__:
        raise SettingsError(f"{path}: a multi-view (stereo) EXR (views {', '.join(v for v in views if v)}): this "
                            f"version reads its views mixed, so the {view!r} view cannot be picked; pick from a "
                            "single-view file")
    return replace(spec, view=view)


def shown_size(image):
    """The size Blender shows ``image`` at (0 x 0 when it has not loaded it: multilayer EXRs
    in background sessions)."""
    try:
        return tuple(image.size) if image is not None else None
    except (AttributeError, RuntimeError):
        return None


def place(scene, result: core_pick.PickResult, target: str = 'CURSOR'):
    """Move the 3D cursor to ``result.world``, or add an Empty there; returns the Empty or None."""
    if target == 'CURSOR':
        scene.cursor.location = tuple(float(v) for v in result.world)
        return None
    if target != 'EMPTY':
        raise SettingsError(f"pick target {target!r} is unknown; expected 'CURSOR' or 'EMPTY'")
    ob = bpy.data.objects.new(f"Pick {result.column},{result.row}", None)
    ob.empty_display_type = 'PLAIN_AXES'
    ob.empty_display_size = 0.02 * result.depth if result.depth else 0.1
    ob.location = tuple(float(v) for v in result.world)
    ob["depth_cloud_pixel"] = (result.column, result.row)
    ob["depth_cloud_source"] = result.path
    ob["depth_cloud_frame"] = result.frame
    coll = bpy.data.collections.get(EMPTY_COLLECTION)
    if coll is None:
        coll = bpy.data.collections.new(EMPTY_COLLECTION)
    if coll.name not in scene.collection.children:
        scene.collection.children.link(coll)
    coll.objects.link(ob)
    return ob


# ---------------------------------------------------------------------- the Image Editor
def image_space(context):
    """The Image Editor space of ``context``, or None."""
    space = getattr(context, "space_data", None)
    return space if space is not None and space.type == 'IMAGE_EDITOR' else None


def source_in_context(context):
    """``(PickSource, image or None)``: the image the Image Editor shows, else the Depth Cloud
    settings' source at the current frame."""
    space = image_space(context)
    scene = context.scene
    if space is not None and space.image is not None:
        return source_for_image(scene, space.image, space.image_user), space.image
    if not scene.depth_cloud.exr_path.strip():
        raise SettingsError("no source: show the render in the Image Editor, or set the EXR in the Depth Cloud "
                            "settings")
    src = source_glue.resolve(scene)  # the settings, with their camera
    return prepare(scene, src.spec, scene.frame_current, src.camera), None


def pixel_for(source: PickSource, image, uv):
    """The frame pixel under image point ``uv`` (0..1, v up), or None outside the image."""
    width, height, x0, y0 = source.shown_rect
    pixel = core_pick.pixel_from_uv(uv[0], uv[1], (width, height), shown_size(image), source.passes.path)
    return None if pixel is None else (pixel[0] + x0, pixel[1] + y0)


def pick_and_place(scene, source: PickSource, pixel, target: str = 'SETTINGS') -> str:
    """Pick ``pixel`` of ``source``, move the cursor or add the Empty (``target``: 'CURSOR',
    'EMPTY' or 'SETTINGS' = the scene's pick settings); the result text, also kept in the
    settings for the panels. Errors (no surface, outside the image) before any change."""
    result = source.at(*pixel)
    settings = scene.depth_cloud.pick
    ob = place(scene, result, settings.target if target == 'SETTINGS' else target)
    text = result.text() + (f" -> {ob.name}" if ob is not None else " -> 3D cursor")
    settings.result = text
    return text


def main_region(area):
    """The Image Editor's image region (the one with the view), whatever region was clicked."""
    return next((r for r in area.regions if r.type == 'WINDOW'), None) if area is not None else None


def event_uv(region, event):
    """Image point (0..1, v up) under the mouse, or None when the mouse is not over ``region``:
    the Image Editor's own view mapping, so zoom and pan are followed exactly (NaN in a region
    never drawn, e.g. headless). Window coordinates, so it works whichever region started the
    pick (the sidebar's button)."""
    x, y = event.mouse_x - region.x, event.mouse_y - region.y
    if not (0 <= x < region.width and 0 <= y < region.height):
        return None
    return tuple(region.view2d.region_to_view(x, y))


class PickSession:
    """What the Pick 3D Point operator does between invoke and the click: the source is read
    once; mouse moves show the hovered pixel's depth and world position in the header; a left
    click picks ('FINISHED'); Esc / right click cancel; the Image Editor's navigation passes
    through. :meth:`handle` returns the operator state; :meth:`take_messages` what to report."""

    HINT = "Pick 3D Point: click a pixel (zoom and pan as usual) | Esc / right-click: cancel"
    NAVIGATION = {'MIDDLEMOUSE', 'WHEELUPMOUSE', 'WHEELDOWNMOUSE', 'TRACKPADPAN', 'TRACKPADZOOM', 'NDOF_MOTION',
                  'NUMPAD_PLUS', 'NUMPAD_MINUS', 'NUMPAD_PERIOD', 'HOME', 'NUMPAD_1', 'NUMPAD_2', 'NUMPAD_4',
                  'NUMPAD_8', 'WINDOW_DEACTIVATE', 'TIMER'}

    def __init__(self, context, target: str = 'SETTINGS'):
        self.source, self.image = source_in_context(context)
        self.region = main_region(context.area)
        if self.region is None:
            raise SettingsError("Pick 3D Point needs an Image Editor showing the render")
        self.target = target
        self.picked = None
        self.messages = []
        self.header = self.HINT
        self._show(context, self.HINT, status=True)

    def _show(self, context, text, status=False):
        self.header = text
        if context.area is not None:
            context.area.header_text_set(text)
        if status and context.workspace is not None:
            context.workspace.status_text_set(text)

    def end(self, context):
        self.header = None
        if context.area is not None:
            context.area.header_text_set(None)
        if context.workspace is not None:
            context.workspace.status_text_set(None)

    def take_messages(self):
        out, self.messages = self.messages, []
        return out

    def hover_text(self, uv) -> str:
        try:
            pixel = pixel_for(self.source, self.image, uv)
            return self.HINT if pixel is None else f"Pick 3D Point: {self.source.at(*pixel).text()}"
        except DepthCloudError as err:
            return f"Pick 3D Point: {err}"

    def click(self, context, uv) -> str:
        """Pick at image point ``uv``: 'FINISHED', or 'RUNNING_MODAL' with a warning when
        there is nothing to pick there (outside the image, background)."""
        try:
            pixel = pixel_for(self.source, self.image, uv)
            if pixel is None:
                self.messages.append(('WARNING', f"image point ({uv[0]:.4g}, {uv[1]:.4g}) is outside the image: "
                                                 "click on the image"))
                return 'RUNNING_MODAL'
            text = pick_and_place(context.scene, self.source, pixel, self.target)
        except DepthCloudError as err:
            self.messages.append(('WARNING', f"{err}; click another pixel, or Esc"))
            return 'RUNNING_MODAL'
        self.picked = pixel
        self.end(context)
        self.messages.append(('INFO', text))
        return 'FINISHED'

    def handle(self, context, event) -> str:
        if event.type in {'ESC', 'RIGHTMOUSE'} and event.value == 'PRESS':
            self.end(context)
            return 'CANCELLED'
        if event.type in self.NAVIGATION:
            return 'PASS_THROUGH'
        if event.type == 'MOUSEMOVE':
            uv = event_uv(self.region, event)
            self._show(context, self.HINT if uv is None else self.hover_text(uv))
            return 'RUNNING_MODAL'
        if event.type == 'LEFTMOUSE' and event.value == 'PRESS':
            uv = event_uv(self.region, event)
            return 'PASS_THROUGH' if uv is None else self.click(context, uv)  # the sidebar, the header
        return 'RUNNING_MODAL'
