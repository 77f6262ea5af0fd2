"""OpenEXR's console noise kept off the user's console: the C library prints a line to
stderr for every chunk it cannot decode, the bindings a warning on stdout (thousands for a damaged part, many naming the
temporary copy a part reader decodes). Those lines are captured here (file descriptor 2,
redirected while the library decodes) so that the typed error can quote the first one,
with temporary paths replaced by the user's file, instead of a console flood.

Pure Python; re-entrant and thread-safe (the part readers decode on several threads: the
first decode redirects, the last one puts stderr back). File descriptors are the process's,
but Python's ``sys.stdout``/``sys.stderr`` are routed by thread (:class:`_Router`): what a
thread inside a capture prints is captured, what any other thread prints (the main thread's
reports while the read-ahead decodes in the background) goes where it went before, past the
redirected descriptors.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
import threading

_lock = threading.RLock()
_local = threading.local()  # .depth: the captures this thread is inside
_depth = 0
_saved_fds = None
_sink = None
_saved_streams = None
_py_sink = None

#: Temporary copies the part readers decode (``core/exr_parts.py``).
_TEMP_PATH = re.compile(r"(/dev/shm|" + re.escape(tempfile.gettempdir()) + r")/depth_cloud_\w*?\.exr")


class _Router(io.TextIOBase):
    """``sys.stdout`` or ``sys.stderr`` while a capture is on: writes of threads inside a
    capture go to the capture, other threads' to the stream it replaced (through the saved
    descriptor when that stream wrote to fd 1 or 2, which the capture redirected)."""

    def __init__(self, saved, fd: int):
        super().__init__()
        self._saved, self._fd = saved, fd

    @property
    def encoding(self):
        return getattr(self._saved, "encoding", None) or "utf-8"

    def writable(self):
        return True

    def write(self, text):
        sink = _py_sink
        if getattr(_local, "depth", 0) and sink is not None:
            return sink.write(text)
        with _lock:  # the descriptors stay as they are while this writes
            saved_fd = None
            if _saved_fds is not None:
                with contextlib.suppress(Exception):
                    if self._saved.fileno() == self._fd:
                        saved_fd = _saved_fds[self._fd - 1]
            if saved_fd is None:
                return self._saved.write(text)
            os.write(saved_fd, str(text).encode(self.encoding, "replace"))
            return len(text)

    def flush(self):
        if not getattr(_local, "depth", 0):
            with _lock, contextlib.suppress(Exception):
                self._saved.flush()


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
            sys.stdout, sys.stderr = _Router(sys.stdout, 1), _Router(sys.stderr, 2)
            try:
                _sink = tempfile.TemporaryFile()
                _saved_fds = (os.dup(1), os.dup(2))
                os.dup2(_sink.fileno(), 1)
                os.dup2(_sink.fileno(), 2)
            except (OSError, ValueError):
                _sink, _saved_fds = None, None
        _depth += 1
        _local.depth = getattr(_local, "depth", 0) + 1
    try:
        yield out
    finally:
        with _lock:
            _depth -= 1
            _local.depth -= 1
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
