"""The operator boundary: a core error becomes one ERROR report, and the operator cancels."""
from __future__ import annotations

import functools


def reports_errors(execute):
    """Wrap an operator's ``execute``: a :class:`~..core.errors.DepthCloudError` raised inside
    it (its message names the file, channel or setting) is reported as one ERROR line and the
    operator returns ``{'CANCELLED'}``. The glue changes the scene only in its last step, so a
    failed build leaves the scene as it was."""

    @functools.wraps(execute)
    def boundary(self, context):  # exactly (self, context): Blender checks the argument count
        from ..core.errors import DepthCloudError  # core pulls in numpy: not at enable time
        try:
            return execute(self, context)
        except DepthCloudError as err:
            self.report({'ERROR'}, str(err))
            return {'CANCELLED'}

    return boundary
