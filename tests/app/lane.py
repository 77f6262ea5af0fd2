"""Helpers for the lane scripts that run INSIDE the real Blender (``blender [-b] --python app_x.py
-- --out DIR``), started by ``driver.py``.

A script is a generator of steps, run by :func:`run` from ``bpy.app.timers`` (in a window) or
straight through (``-b``). A step yields a number (seconds to wait, Blender keeps drawing) or a
:class:`Request`: something the driver does from outside (real X input with ``xdotool``, a
screenshot of the screen), waited for. What the script measured goes to ``RESULT`` and arrays
to ``out()`` files; the driver checks them against the render's Position pass.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback

import bpy

_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS not in sys.path:  # the tests' helpers (scenes.py)
    sys.path.append(_TESTS)
_ARGS = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
OUT = _ARGS[_ARGS.index("--out") + 1] if "--out" in _ARGS else "/lane/out"
NAME = _ARGS[_ARGS.index("--name") + 1] if "--name" in _ARGS else "lane"
RESULT: dict = {}
REQUEST_TIMEOUT = 60.0
_counter = [0]


def out(*parts: str) -> str:
    return os.path.join(OUT, *parts)


def extension():
    """The installed extension package (``bl_ext.user_default.depth_cloud``)."""
    for name in ("bl_ext.user_default.depth_cloud", "depth_cloud"):
        if name in sys.modules:
            return sys.modules[name]
    raise RuntimeError("the Depth Cloud extension is not enabled in this Blender")


class Request:
    """Something the driver does outside Blender; the step waits until it is done."""

    def __init__(self, **data):
        self.data = data


def xdo(*args) -> Request:
    """Real input: ``xdotool ARGS`` (e.g. ``xdo("mousemove", 100, 200, "click", 1)``)."""
    return Request(action="xdotool", args=[str(a) for a in args])


def shot(name: str) -> Request:
    """A screenshot of the whole screen (``import -window root``) into ``out("shots", name + ".png")``."""
    return Request(action="screenshot", name=name)


def click(x: int, y: int, button: int = 1):
    """Steps: move the mouse to screen pixel (x, y), let Blender see the move, then click.
    (One ``xdotool mousemove X Y click 1`` is too fast: the press arrives before Blender has
    handled the move, on whatever was under the mouse before.)"""
    yield xdo("mousemove", x, y)
    yield 0.2
    yield xdo("click", button)
    yield 0.3


def window():
    return bpy.context.window_manager.windows[0]


def area_of(kind: str):
    for area in window().screen.areas:
        if area.type == kind:
            return area
    raise RuntimeError(f"no {kind} area in the screen")


def region_of(area, kind: str = 'WINDOW'):
    return next(r for r in area.regions if r.type == kind)


def screen_xy(region, x: float, y: float) -> tuple[int, int]:
    """Screen pixel of region coordinates (Blender: origin bottom-left; X: top-left). The
    window sits at the screen's top-left corner (Xvfb, no window manager)."""
    return int(round(region.x + x)), int(round(window().height - (region.y + y)))


def region_rect(region) -> list[int]:
    """``[x, y, width, height]`` of a region on the screen (top-left origin)."""
    x, y = screen_xy(region, 0, region.height)
    return [x, y, region.width, region.height]


def redraw():
    for area in window().screen.areas:
        area.tag_redraw()


def open_sidebar_tab(area, category: str = "Depth Cloud"):
    """Steps: show ``area``'s sidebar and click its ``category`` tab. The tabs are a vertical
    strip at the sidebar's right edge whose places Python cannot read (and
    ``Region.active_panel_category`` is read-only in 4.3): click down the strip until the tab
    shown is ``category``."""
    area.spaces.active.show_region_ui = True
    yield 1.0  # the sidebar slides open: its width is final after the animation
    for from_top in range(20, 700, 16):
        ui = region_of(area, 'UI')
        if ui.active_panel_category == category:
            return
        yield from click(*screen_xy(ui, ui.width - 10, ui.height - from_top))
    ui = region_of(area, 'UI')
    if ui.active_panel_category != category:
        raise RuntimeError(f"no {category!r} tab in the sidebar of the {area.type} area "
                           f"(tab shown: {ui.active_panel_category!r})")


def run_operator_search(area, text: str):
    """Steps: F3 (Blender's search) with the mouse over ``area``, type ``text``, press Enter:
    an operator run as a user runs it from the keyboard."""
    sx, sy = screen_xy(area, area.width / 2, area.height / 2)
    yield xdo("mousemove", sx, sy)
    yield 0.3
    yield xdo("key", "F3")
    yield 1.0
    yield xdo("type", "--delay", "60", text)
    yield 1.5
    yield xdo("key", "Return")
    yield 0.5


def wait_for(condition, seconds: float, what: str):
    """Steps: wait until ``condition()`` is true (checked every 0.2 s) or fail naming ``what``."""
    end = time.time() + seconds
    while not condition():
        if time.time() > end:
            raise RuntimeError(f"timed out after {seconds:.0f} s waiting for {what}")
        yield 0.2


def _finish(ok: bool, error: str = ""):
    RESULT["ok"] = ok
    if error:
        RESULT["error"] = error
        print(f"LANE {NAME} FAILED:\n{error}", flush=True)
    with open(out(f"result_{NAME}.json"), "w") as fh:
        json.dump(RESULT, fh, indent=1, default=str)
    print(f"LANE {NAME} {'done' if ok else 'failed'}", flush=True)


def _request(req: Request) -> str:
    _counter[0] += 1
    os.makedirs(out("requests"), exist_ok=True)
    path = out("requests", f"{NAME}_{os.getpid()}_{_counter[0]:04d}.json")
    with open(path + ".tmp", "w") as fh:
        json.dump(req.data, fh)
    os.replace(path + ".tmp", path)
    return path + ".done"


def run(steps):
    """Run the generator function ``steps`` (see the module docstring), then quit Blender."""
    os.makedirs(OUT, exist_ok=True)
    bpy.context.preferences.use_preferences_save = False  # what a script changes is never saved on quit
    gen = steps()
    if bpy.app.background:
        try:
            for value in gen:
                if isinstance(value, Request):
                    raise RuntimeError("a background lane script cannot ask for input or screenshots")
            _finish(True)
        except BaseException:
            _finish(False, traceback.format_exc())
        return
    state = {"done_file": None, "deadline": 0.0}

    def tick():
        try:
            if state["done_file"]:
                if not os.path.exists(state["done_file"]):
                    if time.time() > state["deadline"]:
                        raise RuntimeError("the driver did not answer a request")
                    return 0.05
                state["done_file"] = None
            value = next(gen)
        except StopIteration:
            _finish(True)
            _quit()
            return None
        except BaseException:
            _finish(False, traceback.format_exc())
            _quit()
            return None
        if isinstance(value, Request):
            state["done_file"] = _request(value)
            state["deadline"] = time.time() + REQUEST_TIMEOUT
            return 0.05
        return max(float(value or 0.0), 0.0)

    bpy.app.timers.register(tick, first_interval=1.0)


def _quit():
    def later():
        bpy.ops.wm.quit_blender()
    bpy.app.timers.register(later, first_interval=0.2)
