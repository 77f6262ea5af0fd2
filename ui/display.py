"""Display sub-panels: how clouds are drawn (live) and edge cleanup (at build)."""
from __future__ import annotations

from .layout import property_column
from .panels import sidebar_subpanels


def draw_display(layout, context):
    settings = context.scene.depth_cloud.display
    layout.row().prop(settings, "mode", expand=True)
    if settings.message:
        layout.label(text=settings.message, icon='ERROR')
    col = property_column(layout)
    if settings.mode == 'SURFACE':
        col.prop(settings, "surface_max_jump")
    else:
        col.prop(settings, "point_size")
    col.row().prop(settings, "shading", expand=True)
    box = layout.box()
    box.prop(settings, "cleanup_flying")
    sub = property_column(box)
    sub.active = settings.cleanup_flying
    sub.prop(settings, "cleanup_mode")
    sub.prop(settings, "cleanup_max_jump")
    property_column(box).prop(settings, "cleanup_min_alpha")
    box.label(text="Edge cleanup applies to the next build", icon='INFO')


classes = sidebar_subpanels("display", "Display", draw_display, closed=True)
