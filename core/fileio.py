"""Atomic outputs: write to a temporary file in the target folder, then rename.

``os.replace`` within one folder (one file system) is atomic on POSIX and Windows, so readers
and farm retries only ever see a complete file or no file. A job killed mid-write leaves
at most a hidden ``.<name>.tmp-<pid>-<random><ext>`` file, never a half-written output.
"""
from __future__ import annotations

import contextlib
import os
import secrets

from .errors import OutputWriteError, SourceFileError


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
    (or KeyboardInterrupt) it is removed and ``path`` is left untouched. A file-system
    failure is an :class:`OutputWriteError` naming ``path`` (never the hidden temporary file)."""
    path = os.fspath(path)
    folder = os.path.dirname(path)
    if folder:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as err:
            raise OutputWriteError(f"{path}: cannot write the output: {output_problem(folder, err)}") from err
    tmp = temp_path_for(path)
    try:
        yield tmp
        if not os.path.isfile(tmp):
            raise FileNotFoundError(f"{tmp}: nothing was written for {path}")
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(err, OSError):
            raise OutputWriteError(f"{path}: cannot write the output: {output_problem(folder, err)}") from err
        raise


def output_problem(folder: str, err: OSError) -> str:
    """What stops writing into ``folder``, in the user's terms."""
    probe = os.path.abspath(folder or ".")
    while probe and not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if os.path.exists(probe) and not os.path.isdir(probe):
        return f"{probe} is a file, not a folder"
    if isinstance(err, PermissionError) or (os.path.isdir(probe) and not os.access(probe, os.W_OK)):
        return f"no permission to write in {probe}"
    if isinstance(err, FileNotFoundError) and not os.path.exists(folder or "."):
        return f"folder {folder} does not exist"
    return err.strerror or str(err) or type(err).__name__
