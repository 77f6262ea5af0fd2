#!/usr/bin/env python3
"""The real-application lane's driver (``tools/app_lane.sh`` runs it inside the Debian chroot).

It starts a virtual screen (Xvfb 1920x1080), runs each lane script in the installed Blender
(``blender [-b] scene.blend --python app_x.py -- --out DIR --name NAME``), does what a script
asks from outside Blender (real input with ``xdotool``, screenshots with ImageMagick's
``import -window root``), and checks what the script saved against the render's Position
pass, read here with the extension's own ``core`` and its bundled OpenEXR module. A test fails
on a failed check, a Blender exit without a result, or any Python traceback in Blender's output.

Usage: python3 driver.py --out DIR [-k WORD]   (tests whose name contains WORD; the render is
made first whenever it is missing)
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DISPLAY = ":91"
SCREEN = (1920, 1080)
BOUND = 5e-5
TIMEOUT = 600


def _import_core():
    """``depth_cloud.core`` of this checkout (pure numpy + OpenEXR) and the tests' helpers;
    OpenEXR from the installed extension's site-packages (Blender put the zip's wheel there)."""
    link_dir = tempfile.mkdtemp(prefix="lane_pkg_")
    os.symlink(REPO, os.path.join(link_dir, "depth_cloud"))
    sys.path[:0] = [link_dir, os.path.join(REPO, "tests")]
    sys.path += glob.glob(os.path.expanduser("~/.config/blender/*/extensions/.local/lib/python3*/site-packages"))


class Lane:
    def __init__(self, out: str):
        self.out = out
        self.failures: list[str] = []
        self.times: dict[str, float] = {}

    # ------------------------------------------------------------------ Blender runs
    def blender(self, name: str, script: str, background: bool, blend: str | None = None) -> dict:
        """Run one lane script in Blender, serving its requests; its RESULT (raises on failure)."""
        result_path = os.path.join(self.out, f"result_{name}.json")
        for old in [result_path] + glob.glob(os.path.join(self.out, "requests", f"{name}_*")):
            if os.path.exists(old):
                os.remove(old)
        cmd = ["blender"] + (["-b"] if background else
                             ["--window-geometry", "0", "0", str(SCREEN[0]), str(SCREEN[1]), "--no-window-focus"])
        cmd += ([blend] if blend else []) + ["--python", os.path.join(HERE, script), "--",
                                             "--out", self.out, "--name", name]
        log_path = os.path.join(self.out, f"blender_{name}.log")
        env = dict(os.environ, DISPLAY=DISPLAY)
        t0 = time.time()
        with open(log_path, "w") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
            while proc.poll() is None:
                self.serve_requests()
                if time.time() - t0 > TIMEOUT:
                    proc.kill()
                    break
                time.sleep(0.05)
        rc = proc.wait()
        self.times[name] = time.time() - t0
        text = open(log_path, errors="replace").read()
        result = json.load(open(result_path)) if os.path.exists(result_path) else None
        problems = []
        if result is None:
            problems.append(f"Blender exited ({rc}) without a result")
        elif not result.get("ok"):
            problems.append("the script failed:\n" + result.get("error", ""))
        if "Traceback (most recent call last)" in text:
            problems.append("Python error in Blender's output")
        if problems:
            tail = "\n".join(text.splitlines()[-40:])
            raise AssertionError("; ".join(problems) + f"\n--- last lines of {log_path}:\n{tail}")
        return result

    def serve_requests(self):
        for path in sorted(glob.glob(os.path.join(self.out, "requests", "*.json"))):
            if os.path.exists(path + ".done"):
                continue
            req = json.load(open(path))
            env = dict(os.environ, DISPLAY=DISPLAY)
            if req["action"] == "xdotool":
                subprocess.run(["xdotool", *req["args"]], env=env, check=True)
            elif req["action"] == "screenshot":
                os.makedirs(os.path.join(self.out, "shots"), exist_ok=True)
                subprocess.run(["import", "-window", "root", os.path.join(self.out, "shots", req["name"] + ".png")],
                               env=env, check=True)
            open(path + ".done", "w").close()

    # ------------------------------------------------------------------ checks
    def path(self, *parts):
        return os.path.join(self.out, *parts)

    def ground_truth(self, frame: int):
        from scenes import read_ground_truth
        return read_ground_truth(self.path("render", f"seq_{frame:04d}.exr"))

    def p99_on_position_pass(self, frame: int, positions, pixels) -> float:
        """p99 of |point - Position pass at its pixel| / depth; every surface pixel once."""
        import numpy as np
        pos, z, _ = self.ground_truth(frame)
        surface = z < 1e9
        cols, rows = pixels[:, 0], pixels[:, 1]
        assert len(positions) == int(surface.sum()), (len(positions), int(surface.sum()))
        assert surface[rows, cols].all(), "points on pixels that saw no surface"
        assert len(np.unique(rows * z.shape[1] + cols)) == len(positions), "pixels used twice"
        err = np.linalg.norm(positions - pos[rows, cols], axis=1) / z[rows, cols]
        return float(np.percentile(err, 99))

    def screenshot(self, name):
        """``(H, W, 3)`` uint8 pixels of a screenshot (ImageMagick's raw RGB)."""
        import numpy as np
        raw = subprocess.run(["convert", self.path("shots", name + ".png"), "rgb:-"], check=True,
                             capture_output=True).stdout
        return np.frombuffer(raw, np.uint8).reshape(SCREEN[1], SCREEN[0], 3)

    def crop(self, name, rect, dest, width=None):
        """Keep part of a screenshot (for the README), scaled down to ``width`` pixels."""
        x, y, w, h = rect
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        scale = ["-resize", f"{width}x"] if width and width < w else []
        subprocess.run(["convert", self.path("shots", name + ".png"), "-crop", f"{w}x{h}+{x}+{y}", "+repage",
                        *scale, "-strip", dest], check=True)


# ---------------------------------------------------------------------- the tests
def test_render(lane: Lane):
    r = lane.blender("render", "app_render.py", background=True)
    print(f"  rendered {r['frames']} frames {r['width']}x{r['height']} with Cycles")


def test_api_build(lane: Lane):
    import numpy as np
    r = lane.blender("api_build", "app_api_build.py", background=True, blend=lane.path("scene.blend"))
    p99 = lane.p99_on_position_pass(1, np.load(lane.path("api_points.npy")), np.load(lane.path("api_pixels.npy")))
    print(f"  api.build_point_cloud: {r['points']:,} points, p99 {p99:.2e} x depth")
    assert p99 <= BOUND, f"p99 {p99:.2e} x depth > {BOUND}"


def test_panels(lane: Lane):
    import numpy as np
    r = lane.blender("panels", "app_panels.py", background=False, blend=lane.path("scene.blend"))
    missing = [name for name, count in r["draws"].items() if count == 0]
    assert not missing, f"panels never drawn: {missing}"
    print(f"  {len(r['draws'])} panels drawn, no Python error: " + ", ".join(sorted(r["draws"])))
    # the first view (secondary sub-panels closed) fits: the mouse wheel scrolls nothing
    x, y, w, h = r["sidebar_rect"]
    first, wheeled = (lane.screenshot(n)[y:y + h, x:x + w].astype(int)
                      for n in ("panels_first_view", "panels_first_view_wheeled"))
    moved = int((np.abs(first - wheeled).max(axis=2) > 24).sum())
    assert moved < 100, (f"the Depth Cloud sidebar does not fit a {SCREEN[0]}x{SCREEN[1]} screen: the mouse wheel "
                        f"scrolled it ({moved} pixels changed)")
    lane.crop("panels_first_view", r["sidebar_rect"], lane.path("docs", "app_panel.png"))


def test_build_button(lane: Lane):
    import numpy as np
    r = lane.blender("build_button", "app_build_button.py", background=False, blend=lane.path("scene.blend"))
    p99 = lane.p99_on_position_pass(1, np.load(lane.path("ui_points.npy")), np.load(lane.path("ui_pixels.npy")))
    print(f"  Build Point Cloud from F3 search + Enter: {r['points']:,} points, p99 {p99:.2e} x depth")
    assert p99 <= BOUND
    before, after = (lane.screenshot(n).astype(int) for n in ("viewport_no_cloud", "viewport_cloud"))
    changed = np.abs(after - before).max(axis=2) > 24
    x0, y0, x1, y1 = r["cloud_rect"]
    inside = changed[y0:y1, x0:x1].mean()
    outside = changed.sum() - changed[y0:y1, x0:x1].sum()
    print(f"  screenshot: {inside:.0%} of the cloud's box changed, {outside} pixels outside it")
    assert inside > 0.3, "the viewport screenshot does not show the cloud where it projects"
    lane.crop("viewport_cloud", r["viewport_rect"], lane.path("docs", "app_cloud.png"), width=960)


def test_drop(lane: Lane):
    import numpy as np
    r = lane.blender("drop", "app_drop.py", background=False, blend=lane.path("scene.blend"))
    p99 = lane.p99_on_position_pass(1, np.load(lane.path("drop_points.npy")), np.load(lane.path("drop_pixels.npy")))
    print(f"  File > Import > Depth Cloud (.exr): {r['points']:,} points, p99 {p99:.2e} x depth")
    assert p99 <= BOUND


def test_pick(lane: Lane):
    import numpy as np
    r = lane.blender("pick", "app_pick.py", background=False, blend=lane.path("scene.blend"))
    pos, z, _ = lane.ground_truth(1)
    col, row = r["pixel"]
    err = float(np.linalg.norm(np.array(r["cursor"]) - pos[row, col]) / z[row, col])
    print(f"  Pick 3D Point by a click on pixel ({col}, {row}): cursor off the Position pass by {err:.2e} x depth")
    assert err <= BOUND


def test_sequence(lane: Lane):
    import numpy as np
    r = lane.blender("sequence", "app_sequence.py", background=False, blend=lane.path("scene.blend"))
    frames = sorted(int(f) for f in r["sampled"])
    assert len(frames) >= 3, f"playback showed too few of the sampled frames: {frames}"
    for f in frames:
        pts, pix = np.load(lane.path(f"seq_points_{f}.npy")), np.load(lane.path(f"seq_pixels_{f}.npy"))
        p99 = lane.p99_on_position_pass(f, pts, pix)
        print(f"  played frame {f}: {len(pts):,} points, p99 {p99:.2e} x depth")
        assert p99 <= BOUND
    # each frame's own cloud: the last sampled frame's points are far off the first frame's pass
    first, last = frames[0], frames[-1]
    pos, z, _ = lane.ground_truth(first)
    pts, pix = np.load(lane.path(f"seq_points_{last}.npy")), np.load(lane.path(f"seq_pixels_{last}.npy"))
    ok = z[pix[:, 1], pix[:, 0]] < 1e9
    other = np.linalg.norm(pts[ok] - pos[pix[ok, 1], pix[ok, 0]], axis=1) / z[pix[ok, 1], pix[ok, 0]]
    assert np.percentile(other, 50) > 100 * BOUND, "frame clouds are not their own"
    print(f"  animation player: {r['played']} frames in {r['seconds']:.1f} s = {r['fps']:.1f} fps "
          f"({r['fps_no_cloud']:.1f} fps before the build: software drawing of the whole window)")


#: the codecs OpenEXR writes, as its Python module names them; lossless ones read bit for bit
CODECS = {"NONE": "NO_COMPRESSION", "RLE": "RLE_COMPRESSION", "ZIPS": "ZIPS_COMPRESSION", "ZIP": "ZIP_COMPRESSION",
          "PIZ": "PIZ_COMPRESSION", "PXR24": "PXR24_COMPRESSION", "B44": "B44_COMPRESSION",
          "B44A": "B44A_COMPRESSION", "DWAA": "DWAA_COMPRESSION", "DWAB": "DWAB_COMPRESSION"}


def _write_codec_files(lane: Lane) -> dict:
    """The lane's render (frame 1: Combined, Depth, Position) re-written by OpenEXR, outside
    Blender, in every codec, scanline and tiled (32x32), half colors and float depth/position,
    plus two damaged copies: ``{name: path}``."""
    import numpy as np
    import OpenEXR

    from depth_cloud.core.exr.read import read_exr
    src = read_exr(lane.path("render", "seq_0001.exr"))
    want = [n for n in src.channels if n.split(".")[-2] in ("Combined", "Depth", "Position")]
    chans = {n.replace("ViewLayer.", ""): (src.get(n).astype(np.float16) if ".Combined." in n else src.get(n))
             for n in want}
    os.makedirs(lane.path("codecs"), exist_ok=True)
    files = {}
    for codec, attr in CODECS.items():
        for tiled in (False, True):
            name = f"{codec.lower()}_{'tiled' if tiled else 'scan'}"
            header = {"compression": getattr(OpenEXR, attr),
                      "type": OpenEXR.tiledimage if tiled else OpenEXR.scanlineimage}
            if tiled:
                tiles = OpenEXR.TileDescription()
                tiles.xSize, tiles.ySize, tiles.mode = 32, 32, OpenEXR.ONE_LEVEL
                header["tiles"] = tiles
            path = lane.path("codecs", name + ".exr")
            OpenEXR.File(header, dict(chans)).write(path)
            files[name] = path
    data = open(files["zip_scan"], "rb").read()
    for name, cut in (("damaged_cut", data[:len(data) // 2]),
                      ("damaged_flip", data[:len(data) // 2] + bytes(b ^ 0x5A for b in data[len(data) // 2:]))):
        with open(lane.path("codecs", name + ".exr"), "wb") as f:
            f.write(cut)
        files[name] = lane.path("codecs", name + ".exr")
    return files


def test_codecs(lane: Lane):
    """Every codec (and two damaged files) read inside this Blender: the pixels OpenEXR reads
    outside it, bit for bit, or a typed error naming the file; Blender never crashes."""
    import numpy as np
    import OpenEXR
    files = _write_codec_files(lane)
    r = lane.blender("codecs", "app_codecs.py", background=True)
    print(f"  host: {r['host']}")
    exact = []
    for name in r["read"]:
        if name.startswith("damaged"):  # read what is whole of it (as OpenEXR does): no crash is the point
            continue
        got = np.load(lane.path("codecs", name + ".npz"))
        truth = {}
        for part in OpenEXR.File(files[name], separate_channels=True).parts:
            truth.update({c: np.asarray(ch.pixels) for c, ch in part.channels.items()})
        assert sorted(got.files) == sorted(truth), (name, sorted(got.files), sorted(truth))
        for c in truth:
            a, b = got[c], truth[c].astype(np.float32)
            assert a.shape == b.shape and np.array_equal(a, b, equal_nan=True), f"{name}: channel {c} differs"
        exact.append(name)
    undamaged = [n for n in files if not n.startswith("damaged")]
    assert set(undamaged) <= set(exact), f"not read: {sorted(set(undamaged) - set(exact))}: {r['errors']}"
    for name, message in r["errors"].items():
        assert name.startswith("damaged") and files[name] in message, (name, message)
    print(f"  {len(exact)} files read exactly as OpenEXR reads them ({', '.join(exact)}); "
          f"typed errors: {', '.join(f'{k}: {v[:80]}' for k, v in r['errors'].items()) or 'none'}")


TESTS = [("render", test_render), ("api_build", test_api_build), ("panels", test_panels),
         ("build_button", test_build_button), ("drop", test_drop), ("pick", test_pick), ("sequence", test_sequence),
         ("codecs", test_codecs)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("-k", default="", help="only the tests whose name contains this")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    _import_core()
    xvfb = subprocess.Popen(["Xvfb", DISPLAY, "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lane = Lane(args.out)
    try:
        for _ in range(100):
            if os.path.exists(f"/tmp/.X11-unix/X{DISPLAY[1:]}"):
                break
            time.sleep(0.1)
        chosen = [(n, t) for n, t in TESTS if args.k in n]
        if not os.path.exists(lane.path("scene.blend")) and ("render", test_render) not in chosen:
            chosen.insert(0, ("render", test_render))
        for name, test in chosen:
            print(f"lane test {name}:", flush=True)
            t0 = time.time()
            try:
                test(lane)
                print(f"  PASSED ({time.time() - t0:.1f} s)", flush=True)
            except Exception as err:  # every test runs; the lane fails at the end
                lane.failures.append(name)
                print(f"  FAILED ({time.time() - t0:.1f} s): {type(err).__name__}: {err}", flush=True)
    finally:
        xvfb.terminate()
        xvfb.wait()
    passed = len(chosen) - len(lane.failures)
    print(f"app lane: {passed} passed, {len(lane.failures)} failed" + (f" ({', '.join(lane.failures)})"
                                                                      if lane.failures else ""))
    return 1 if lane.failures else 0


if __name__ == "__main__":
    sys.exit(main())
