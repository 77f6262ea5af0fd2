"""Memory a build will take, stated before it starts, and the machine's memory to check it
against (builds that keep one datablock per frame: Keyed Objects)."""
from __future__ import annotations

import os
import sys

from ..errors import SettingsError

MB = 1024 * 1024
#: bytes per point of a Depth Cloud datablock: position (12) + Col FLOAT_COLOR (16) + radius (4)
BYTES_PER_POINT = 32
#: with the ``pixel`` (INT32_2D, 8) and ``depth`` (FLOAT, 4) attributes
BYTES_PER_POINT_WITH_IDS = 44


def total_memory() -> int | None:
    """Physical memory of this machine in bytes, or None when it cannot be read."""
    if sys.platform == "win32":
        try:
            import ctypes

            class MEMORYSTATUSEX(ctypes.Structure):
                _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                            ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                            ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                            ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                            ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

            status = MEMORYSTATUSEX()
            status.dwLength = ctypes.sizeof(MEMORYSTATUSEX)
            if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
                return int(status.ullTotalPhys)
        except (AttributeError, OSError, ValueError):
            return None
        return None
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # sysconf names missing on this platform
        return None


def points_upper_bound(data_window_pixels: int, detail: int = 1) -> int:
    """Most points a frame can give: one per kept pixel of its data window."""
    n = int(detail)
    return int(data_window_pixels) if n == 1 else int(-(-int(data_window_pixels) // (n * n)))


def datablock_estimate(points_per_frame: int, frames: int, pixel_ids: bool = False, extra_per_point: int = 0) -> int:
    """Bytes of ``frames`` datablocks of ``points_per_frame`` points each (``extra_per_point``:
    the normals and named passes they carry, ``core.attributes.extra_bytes_per_point``)."""
    per_point = (BYTES_PER_POINT_WITH_IDS if pixel_ids else BYTES_PER_POINT) + int(extra_per_point)
    return int(points_per_frame) * int(frames) * per_point


def describe(nbytes: int) -> str:
    return f"{nbytes / MB:,.0f} MB" if nbytes < 10 * 1024 * MB else f"{nbytes / (1024 * MB):,.1f} GB"


def check_fits(nbytes: int, what: str, advice: str, total: int | None = None) -> str:
    """The one-line statement of ``what`` will take; SettingsError (with ``advice``) when it
    exceeds the machine's memory. Unknown machine memory: stated, not checked."""
    total = total_memory() if total is None else total
    if total is None:
        return f"{what} will take up to {describe(nbytes)} (machine memory unknown: not checked)"
    line = f"{what} will take up to {describe(nbytes)} of this machine's {describe(total)}"
    if nbytes > total:
        raise SettingsError(f"{what} would take up to {describe(nbytes)}, more than this machine's "
                            f"{describe(total)} of memory; {advice}")
    return line
