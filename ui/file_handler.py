"""Drag and drop of EXR files onto the 3D Viewport, and File > Import > Depth Cloud (.exr):
both run ``depth_cloud.import_exr`` (``operators.import_exr``)."""
from __future__ import annotations

import bpy

from ..glue import compat

IMPORT_LABEL = "Depth Cloud (.exr)"


def draw_import_menu(menu, _context):
    menu.layout.operator("depth_cloud.import_exr", text=IMPORT_LABEL, icon='POINTCLOUD_DATA')


def accepts_drop(context) -> bool:
    """Drops onto the 3D Viewport build clouds (the Image and Node editors keep opening images)."""
    area = getattr(context, "area", None)
    return area is not None and area.type == 'VIEW_3D'


_Base = compat.file_handler_base()
if _Base is not None:
    class DEPTH_CLOUD_FH_import_exr(_Base):
        bl_idname = "DEPTH_CLOUD_FH_import_exr"
        bl_label = IMPORT_LABEL
        bl_import_operator = "depth_cloud.import_exr"
        bl_file_extensions = ".exr"

        @classmethod
        def poll_drop(cls, context):
            return accepts_drop(context)

    classes = (DEPTH_CLOUD_FH_import_exr,)
else:
    classes = ()


def register():
    bpy.types.TOPBAR_MT_file_import.append(draw_import_menu)


def unregister():
    bpy.types.TOPBAR_MT_file_import.remove(draw_import_menu)
