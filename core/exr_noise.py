"""OpenEXR's console noise kept off the user's console: the C library prints a line to
stderr for every chunk it cannot decode (thousands for a damaged part, many naming the
temporary copy a part reader decodes). Those lines are captured here (file descriptor 2,
redirected while the library decodes) so that the typed error can quote the first one,
with temporary paths replaced by the user's file, instead of a console flood.

Pure Python; re-entrant and thread-safe (the part readers decode on several threads: the
first decode redirects, the last one puts stderr back).
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading

_lock = threading.Lock()
_depth = 0
_saved_fd = None
_sink = None

#: Temporary copies the part readers decode (``core/exr_parts.py``).
_TEMP_PATH = re.compile(r"(/dev/shm|" + re.escape(tempfile.gettempdir()) + r")/depth_cloud_\w*?\.exr")


@contextlib.contextmanager
def captured():
    """Redirect fd 2 into a temporary file while the body runs; yields a list that holds the
    captured text once the outermost capture ends (empty when fd 2 cannot be redirected)."""
    global _depth, _saved_fd, _sink
    out: list = []
    with _lock:
        if _depth == 0:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            try:
                _sink = tempfile.TemporaryFile()
                _saved_fd = os.dup(2)
                os.dup2(_sink.fileno(), 2)
            except (OSError, ValueError):
                _sink, _saved_fd = None, None
        _depth += 1
    try:
        yield out
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved_fd is not None:
                os.dup2(_saved_fd, 2)
                os.close(_saved_fd)
                _saved_fd = None
                _sink.seek(0)
                out.append(_sink.read().decode("utf-8", "replace"))
                _sink.close()
                _sink = None


def first_message(text: str, path: str = "") -> str:
    """The first non-empty line of the library's output, temporary paths replaced by ``path``."""
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return clean(line, path)
    return ""


def clean(text: str, path: str = "") -> str:
    """``text`` with the temporary copies' paths replaced by ``path`` (or 'the file')."""
    return _TEMP_PATH.sub(path or "the file", str(text))


def count_lines(text: str) -> int:
    return sum(1 for line in (text or "").splitlines() if line.strip())
