"""Import Depth Cloud (.exr): File > Import and drag and drop (``ui.file_handler``).

The dropped or chosen files are all checked before anything changes (a file that is no usable
EXR cancels the import with an ERROR naming it); then each single file is built by Build Point
Cloud and the numbered frames of one pattern by Build Sequence, with the scene's Depth Cloud
settings pointed at them (``glue.importing``): the same path as the panel's buttons.
"""
from __future__ import annotations

import bpy
from bpy.props import CollectionProperty, StringProperty

from ._poll import object_mode
from ._report import reports_errors
from .build import build_from_settings


class DEPTH_CLOUD_OT_import_exr(bpy.types.Operator):
    """Build point clouds from EXR render passes: one cloud per file, one sequence for the numbered frames of a pattern"""  # noqa: E501 (the tooltip)

    bl_idname = "depth_cloud.import_exr"
    bl_label = "Import Depth Cloud"
    bl_options = {'REGISTER', 'UNDO'}

    directory: StringProperty(subtype='DIR_PATH', options={'SKIP_SAVE', 'HIDDEN'})
    files: CollectionProperty(type=bpy.types.OperatorFileListElement, options={'SKIP_SAVE', 'HIDDEN'})
    filepath: StringProperty(subtype='FILE_PATH', options={'SKIP_SAVE', 'HIDDEN'})
    filter_glob: StringProperty(default="*.exr", options={'HIDDEN'})

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return context.scene is not None and object_mode(cls, context, "import")

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if self.directory and len(self.files):  # dropped files: build them now
            return self.execute(context)
        context.window_manager.fileselect_add(self)
        return {'RUNNING_MODAL'}

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        from ..glue import importing
        scene = context.scene
        items = importing.plan(importing.file_paths(self.directory, [f.name for f in self.files], self.filepath))
        for item in items:
            with importing.settings_for(scene, item):
                if not item.is_sequence:
                    build_from_settings(self, context)
                    continue
                interactive = context.window is not None and not bpy.app.background
                result = bpy.ops.depth_cloud.build_sequence('INVOKE_DEFAULT' if interactive else 'EXEC_DEFAULT')
                if 'CANCELLED' in result:
                    from ..core.errors import SourceFileError
                    raise SourceFileError(item.path, "Build Sequence was cancelled (see its report)")
        return {'FINISHED'}
