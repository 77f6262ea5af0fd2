"""What an operator does with the object it made: select it, alone, and make it active."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import bpy


def select_only(context: bpy.types.Context, ob: bpy.types.Object | None) -> None:
    """Make ``ob`` the only selected object and the active one (nothing changes when ``ob`` is
    None or not in the view layer, e.g. in an excluded collection)."""
    view_layer = context.view_layer
    if ob is None or ob.name not in view_layer.objects:
        return
    for other in view_layer.objects.selected:
        other.select_set(False)
    ob.select_set(True)
    view_layer.objects.active = ob
