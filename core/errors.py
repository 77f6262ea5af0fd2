"""Typed errors raised by the core and the Python API.

Every message names what the user must fix: the file, the channel or the setting.
Operators turn these into ``self.report({'ERROR'}, str(err))``; the CLI prints one line
and exits non-zero.
"""


class DepthCloudError(Exception):
    """Base class of every error Depth Cloud raises on bad input."""


class SourceFileError(DepthCloudError):
    """A pass file is missing, unreadable or damaged."""

    def __init__(self, path, problem):
        self.path = str(path)
        super().__init__(f"{self.path}: {problem}")


class ChannelError(DepthCloudError):
    """A wanted channel is not in the file; the message lists what was found."""

    def __init__(self, path, wanted, found, what: str = "channels", noun: str = " channel"):
        self.path = str(path)
        self.wanted = wanted
        self.found = sorted(found)
        shown = ", ".join(self.found[:40]) + (" …" if len(self.found) > 40 else "")
        # never "channel channel", nor a noun after a phrase ("... to check the camera against channel")
        noun = "" if any(w in wanted for w in ("channel", "layer", "pass", " to ", " in ", ")", "'")) else noun
        super().__init__(f"{self.path}: no {wanted}{noun}; {what} found: {shown or '(none)'}")


class SizeMismatchError(DepthCloudError):
    """Two passes that must cover the same pixels have different sizes."""


class InvalidDepthError(DepthCloudError):
    """The depth holds no usable pixel (all background, NaN/inf or outside the clip range)."""


class CameraError(DepthCloudError):
    """No camera, or a camera the projection model cannot represent."""


class SettingsError(DepthCloudError):
    """A setting is out of range or inconsistent (e.g. near >= far)."""


class FramePatternError(DepthCloudError):
    """A path pattern or a frame range cannot be resolved."""


class FrameRangeError(FramePatternError, SettingsError):
    """A frame range holds more frames than a range may (``core.frames.MAX_FRAMES``): both a
    frame-range error and a settings error, named by its setting."""


class ExportError(DepthCloudError):
    """An output (rendered passes, USD point cache) cannot be written or loaded."""


class ViewError(ChannelError):
    """A view asked for is not in a (multi-view) file; the message lists the file's views."""

    def __init__(self, path, view, views):
        DepthCloudError.__init__(self, f"{path}: no view {view!r} in this file; "
                                       + (f"its views: {', '.join(views)}" if views else
                                          "it is not a multi-view EXR (leave View empty)"))
        self.path, self.wanted, self.found = str(path), view, list(views)


class OutputWriteError(ExportError, OSError):
    """The file system refused an output (permission, a file where a folder should be, disk
    full). Also an OSError, as the failed write it reports."""


class StrictWarningError(DepthCloudError):
    """``strict=True`` (API) or ``--strict`` (command line): a result had a warning, which a
    strict run does not accept. ``diagnostics`` holds every warning (``core/diagnostics.py``)."""

    def __init__(self, message, diagnostics=()):
        super().__init__(message)
        self.diagnostics = list(diagnostics)
