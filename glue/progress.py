"""Progress of long work, the one way every operator and pipeline shows it: Blender's progress
bar and status text in the UI, one line per step on stdout in background mode."""
from __future__ import annotations

import time

import bpy


class Progress:
    """``progress(fraction, message)`` for work measured in fractions (0..1; a background line
    shows the percentage and the time so far); ``progress.step(done, message)`` for work
    counted in ``total`` steps (frames; a background line is ``Depth Cloud: message``).
    ``callback(fraction, message)`` is also called by ``progress(...)``. :meth:`end` (or
    leaving a ``with`` block) removes the bar and the status text."""

    def __init__(self, context=None, label="Fusing", callback=None, total=None):
        self.label = label
        self.callback = callback
        self.wm = getattr(context, "window_manager", None) if context is not None else None
        self.workspace = getattr(context, "workspace", None) if context is not None else None
        self.background = bpy.app.background
        self.t0 = time.perf_counter()
        if self.wm is not None and not self.background:
            self.wm.progress_begin(0, 1000 if total is None else max(1, int(total)))

    def __call__(self, fraction, message):
        fraction = min(max(float(fraction), 0.0), 1.0)
        if self.callback is not None:
            self.callback(fraction, message)
        if self.background:
            print(f"Depth Cloud: {self.label}: {100 * fraction:5.1f}% {message} "
                  f"({time.perf_counter() - self.t0:.1f} s)", flush=True)
            return
        self._show(int(1000 * fraction), message)

    def step(self, done, message):
        """``done`` steps of ``total`` are finished; ``message`` says what the last one did."""
        if self.background:
            print(f"Depth Cloud: {message}", flush=True)
            return
        self._show(done, message)

    def _show(self, value, message):
        if self.wm is not None:
            self.wm.progress_update(value)
        if self.workspace is not None:
            self.workspace.status_text_set(f"{self.label}: {message}")

    def end(self):
        if self.wm is not None and not self.background:
            self.wm.progress_end()
        if self.workspace is not None and not self.background:
            self.workspace.status_text_set(None)

    def part(self, start, end):
        """A callback mapping 0..1 onto ``start..end`` of this progress."""
        return lambda f, m: self(start + (end - start) * f, m)

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.end()
