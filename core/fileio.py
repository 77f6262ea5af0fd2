"""Atomic outputs: write to a temporary file in the target folder, then rename.

``os.replace`` within one folder (one file system) is atomic on POSIX and Windows, so readers
and farm retries only ever see a complete file or no file. A job killed mid-write leaves
at most a hidden ``.<name>.tmp-<pid>-<random><ext>`` file, never a half-written output.
"""
from __future__ import annotations

import contextlib
import os
import secrets

from .errors import SourceFileError


def require_file(path) -> str:
    """``path`` as a string; :class:`SourceFileError` when it is missing or not a file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SourceFileError(path, "file not found" if not os.path.exists(path) else "not a file")
    return path


def temp_path_for(path) -> str:
    """A fresh temporary path next to ``path``; it keeps the extension (Blender needs ``.blend``)."""
    path = os.fspath(path)
    folder, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    return os.path.join(folder, f".{stem}.tmp-{os.getpid()}-{secrets.token_hex(4)}{ext}")


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path to write; on success it replaces ``path``, on any error
    (or KeyboardInterrupt) it is removed and ``path`` is left untouched."""
    path = os.fspath(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    tmp = temp_path_for(path)
    try:
        yield tmp
        if not os.path.isfile(tmp):
            raise FileNotFoundError(f"{tmp}: nothing was written for {path}")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
