"""The operator boundary: a core error becomes one ERROR report, and the operator cancels;
a result's warnings (``core/diagnostics.py``) become WARNING reports, once each."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    import bpy

    Execute = Callable[[Any, bpy.types.Context], set[str]]


def attempt(operator, work: Callable[[], Any], on_error: Callable[[Exception], None] | None = None):
    """``(True, work())``; or, when ``work`` raises a :class:`~..core.errors.DepthCloudError`,
    ``on_error(err)`` (a cleanup, a result field), one ERROR report, and ``(False, None)``. The
    boundary every operator step that can fail on bad input goes through."""
    from ..core.errors import DepthCloudError  # core pulls in numpy: not at enable time
    try:
        return True, work()
    except DepthCloudError as err:
        if on_error is not None:
            on_error(err)
        operator.report({'ERROR'}, str(err))
        return False, None


def reports_errors(execute: Execute) -> Execute:
    """Wrap an operator's ``execute``: a :class:`~..core.errors.DepthCloudError` raised inside
    it (its message names the file, channel or setting) is reported as one ERROR line and the
    operator returns ``{'CANCELLED'}``. The glue changes the scene only in its last step, so a
    failed build leaves the scene as it was."""

    # exactly (self, context): Blender checks the argument count of ``execute``
    @functools.wraps(execute)
    def boundary(self, context: bpy.types.Context) -> set[str]:
        ok, result = attempt(self, lambda: execute(self, context))
        return result if ok else {'CANCELLED'}

    return boundary


def report_warnings(operator, diagnostics) -> int:
    """Report a result's warnings (a ``Diagnostics`` or a list of texts) as WARNINGs, once:
    the same kind over many frames (a bake) is one report naming the frames. Returns how many
    reports were made."""
    from ..core.diagnostics import Diagnostics, grouped_text
    lines = grouped_text(Diagnostics(diagnostics))
    for text in lines:
        operator.report({'WARNING'}, text)
    return len(lines)
