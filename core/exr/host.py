"""Is it safe to import the bundled OpenEXR module into this process? (issue 22, part 1)

The extension bundles OpenEXR's Python wheel (OpenEXR 3.5, statically linked: its ``.so``
exports ~5,100 dynamic symbols, 181 of them the un-namespaced C functions ``exr_*`` of
OpenEXRCore). A process that already has an *older* OpenEXR loaded globally resolves some of
those symbols to its own copy: Debian 13's Blender 4.3 links the system's OpenEXR 3.1
(``/usr/lib/x86_64-linux-gnu/libOpenEXRCore-3_1.so.30``), and the wheel's first
``OpenEXR.File(..., header_only=True)`` there dies with SIGBUS (measured,
the shared BLENDER_NOTES.md, "A real Blender application"). Nothing Python can catch.

Measured here (``/proc/self/maps`` once the bpy module is imported, library versions asked from the
mapped library itself with ``exr_get_library_version``):

=================  =====================================================  ========  ======
process            OpenEXR libraries mapped before the wheel              version   result
=================  =====================================================  ========  ======
plain Python 3.11  none                                                   -         reads
bpy 4.2 wheel      bpy/lib/libOpenEXR.so.31, libOpenEXRCore.so.31,        3.2.4     reads
                   libIex.so.31, libIlmThread.so.31, libImath.so.30
bpy 5.3 wheel      bpy/lib/libOpenEXR.so.33, libOpenEXRCore.so.33, ...    3.4.10    reads
Debian Blender 4.3 /usr/lib/x86_64-linux-gnu/libOpenEXR-3_1.so.30,        3.1       SIGBUS
                   libOpenEXRCore-3_1.so.30 (BLENDER_NOTES)
=================  =====================================================  ========  ======

The rule (:func:`host_report`): the host is **unsafe** when an OpenEXRCore (or OpenEXR)
library other than the wheel's module is mapped and its version is older than 3.2 (the C
core's structures changed between 3.1 and 3.2; 3.2.4 and 3.4.10 read fine) or cannot be told
(neither the library answers ``exr_get_library_version`` nor its file name carries a
version: unknown is treated as unsafe). No maps file (macOS, Windows): safe, today's
behaviour. The decision is made once per process, before the module is first imported.

``DEPTH_CLOUD_EXR_READER`` overrides it: ``openexr`` (always the OpenEXR module), ``safe``
(never import it: core/exr_codecs.py decodes everything), ``auto`` (default: the rule).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ..errors import SettingsError

ENV = "DEPTH_CLOUD_EXR_READER"
CHOICES = ("auto", "openexr", "safe")
#: Oldest foreign OpenEXR measured to live beside the wheel (bpy 4.2's 3.2.4).
SAFE_FROM = (3, 2)
MAPS = "/proc/self/maps"
_LIB = re.compile(r"lib(OpenEXRCore|OpenEXR)(?:-(\d+)_(\d+))?\.so", re.IGNORECASE)


@dataclass
class HostReport:
    safe: bool
    reason: str
    #: foreign OpenEXR libraries mapped: path -> (major, minor, patch) or None (unknown)
    libraries: dict = field(default_factory=dict)
    forced: str = ""


def mapped_libraries(maps_text: str) -> list[str]:
    """Paths of OpenEXR/OpenEXRCore shared libraries in a ``/proc/<pid>/maps`` text (not the
    wheel's Python module, ``OpenEXR.cpython-*.so``)."""
    seen = []
    for line in maps_text.splitlines():
        bits = line.split(None, 5)
        if len(bits) < 6:
            continue
        path = bits[5].strip()
        name = os.path.basename(path)
        if _LIB.match(name) and path not in seen:
            seen.append(path)
    return seen


def _version_from_name(path: str):
    m = _LIB.match(os.path.basename(path))
    if m and m.group(2):
        return int(m.group(2)), int(m.group(3)), 0
    return None


def library_version(path: str):
    """``(major, minor, patch)`` of a mapped OpenEXR library: asked from its OpenEXRCore
    (``exr_get_library_version``, a C function every 3.x core has), else from the file name
    (``libOpenEXR-3_1.so.30``), else None."""
    core = path if "core" in os.path.basename(path).lower() else None
    if core is not None:
        try:
            import ctypes
            lib = ctypes.CDLL(path)  # already mapped: only a new handle, nothing runs
            fn = lib.exr_get_library_version
            a, b, c = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
            extra = ctypes.c_char_p()
            fn(ctypes.byref(a), ctypes.byref(b), ctypes.byref(c), ctypes.byref(extra))
            if a.value > 0:
                return a.value, b.value, c.value
        except (OSError, AttributeError, ValueError):
            pass
    return _version_from_name(path)


def decide(maps_text: str | None, versions=None) -> HostReport:
    """The rule on a maps text (None: no maps file). ``versions``: ``path -> version`` for
    tests; default :func:`library_version`."""
    if maps_text is None:
        return HostReport(True, "no /proc/self/maps (not Linux): the OpenEXR module is used")
    libs = {}
    for path in mapped_libraries(maps_text):
        libs[path] = versions(path) if versions is not None else library_version(path)
    if not libs:
        return HostReport(True, "no other OpenEXR library is loaded", libs)
    cores = {p: v for p, v in libs.items() if "core" in os.path.basename(p).lower()} or libs
    bad = {p: v for p, v in cores.items() if v is None or tuple(v[:2]) < SAFE_FROM}
    if bad:
        path, ver = next(iter(bad.items()))
        shown = ".".join(map(str, ver)) if ver else "unknown version"
        return HostReport(False, f"this process already has OpenEXR {shown} loaded ({path}); importing the "
                                 "bundled OpenEXR 3.5 module beside it crashes: EXRs are read by Depth Cloud's "
                                 "own decoders", libs)
    shown = ", ".join(f"{os.path.basename(p)} {'.'.join(map(str, v))}" for p, v in cores.items())
    return HostReport(True, f"OpenEXR already loaded is recent enough ({shown})", libs)


_REPORT: HostReport | None = None


def host_report(refresh: bool = False) -> HostReport:
    """This process's :class:`HostReport` (computed once; ``DEPTH_CLOUD_EXR_READER`` read
    every call)."""
    global _REPORT
    forced = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if forced not in CHOICES:
        raise SettingsError(f"{ENV}={forced!r} is unknown; expected one of {', '.join(CHOICES)}")
    if forced == "openexr":
        return HostReport(True, f"{ENV}=openexr", forced=forced)
    if forced == "safe":
        return HostReport(False, f"{ENV}=safe", forced=forced)
    if _REPORT is None or refresh:
        try:
            with open(MAPS, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError:
            text = None
        _REPORT = decide(text)
    return _REPORT


def openexr_safe() -> bool:
    """True when the bundled OpenEXR module may be imported into this process."""
    return host_report().safe
