"""How every Depth Cloud panel lays out its settings (shared by the panels; draws only)."""
from __future__ import annotations


def property_column(layout, align: bool = False):
    """A column of properties with their labels split off to the left, without animation
    decorators."""
    col = layout.column(align=align)
    col.use_property_split = True
    col.use_property_decorate = False
    return col


def section(layout, idname: str, title: str):
    """A collapsible section, closed until opened (``UILayout.panel``, Blender 4.1+: its open
    state lives with the region, not in the .blend); returns its body's property column, or None
    while it is closed."""
    header, body = layout.panel(idname, default_closed=True)
    header.label(text=title)
    return None if body is None else property_column(body)
