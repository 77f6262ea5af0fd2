"""What an operator does with the object it made: select it, alone, and make it active."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import bpy


def select_only(context: bpy.types.Context, ob: bpy.types.Object | None) -> None:
    """Make ``ob`` the only selected object and the active one (nothing changes when ``ob`` is
    None or not in the view layer, e.g. in an excluded collection)."""
    if ob is None:
        return
    view_layer = context.view_layer
    try:  # select_set brings the view layer up to date with links made since ('in' alone does not)
        ob.select_set(True, view_layer=view_layer)
    except RuntimeError:  # not in the view layer
        return
    for other in view_layer.objects.selected:
        if other != ob:
            other.select_set(False)
    view_layer.objects.active = ob
