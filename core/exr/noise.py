"""OpenEXR's console noise kept off the user's console: the C library prints a line to
stderr for every chunk it cannot decode, the bindings a warning on stdout (thousands for a damaged part, many naming the
temporary copy a part reader decodes). Those lines are captured here (file descriptor 2,
redirected while the library decodes) so that the typed error can quote the first one,
with temporary paths replaced by the user's file, instead of a console flood.

Pure Python; re-entrant and thread-safe (the part readers decode on several threads: the
first decode redirects, the last one puts stderr back).
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
import threading

_lock = threading.Lock()
_depth = 0
_saved_fds = None
_sink = None
_saved_streams = None
_py_sink = None

#: Temporary copies the part readers decode (``core/exr_parts.py``).
_TEMP_PATH = re.compile(r"(/dev/shm|" + re.escape(tempfile.gettempdir()) + r")/depth_cloud_\w*?\.exr")


@contextlib.contextmanager
def captured():
    """Redirect fds 1 and 2 (the library's errors, the bindings' warnings) into a temporary
    file while the body runs; yields a list that holds the captured text once the outermost
    capture ends (nothing when the fds cannot be redirected)."""
    global _depth, _saved_fds, _sink, _saved_streams, _py_sink
    out: list = []
    with _lock:
        if _depth == 0:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            # the bindings print their warnings through Python's sys.stdout (pybind11's print)
            _saved_streams, _py_sink = (sys.stdout, sys.stderr), io.StringIO()
            sys.stdout = sys.stderr = _py_sink
            try:
                _sink = tempfile.TemporaryFile()
                _saved_fds = (os.dup(1), os.dup(2))
                os.dup2(_sink.fileno(), 1)
                os.dup2(_sink.fileno(), 2)
            except (OSError, ValueError):
                _sink, _saved_fds = None, None
        _depth += 1
    try:
        yield out
    finally:
        with _lock:
            _depth -= 1
            said = ""
            if _depth == 0 and _saved_streams is not None:
                sys.stdout, sys.stderr = _saved_streams
                said = _py_sink.getvalue()
                _saved_streams, _py_sink = None, None
            if _depth == 0 and _saved_fds is not None:
                for fd, saved in zip((1, 2), _saved_fds):
                    os.dup2(saved, fd)
                    os.close(saved)
                _saved_fds = None
                _sink.seek(0)
                out.append(_sink.read().decode("utf-8", "replace"))
                _sink.close()
                _sink = None
            if said:
                out.append(said)


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
