"""Seeded fuzz of everything a user can type: the scene's and objects' Depth Cloud settings,
every operator that polls true (with random operator properties), every public API function
(random keyword arguments and types) and the command line (random argument lists).

    python tests/fuzz/runner.py --seed 24 --iterations 150 --report fuzz.json

(the Python of a bpy venv: ``bash tools/venv.sh 5.3``).
The iterations run in CHILD processes, so a crash (a segfault in Blender) is seen: the parent
reads each child's log line by line; a child that dies mid-iteration is a ``crash`` finding,
one silent for ``--hang-seconds`` a ``hang`` finding (the child is killed); the next child
starts after that iteration. Iteration ``i`` of seed ``s`` is the same everywhere
(``random.Random(f"{s}:{i}")``): ``--only i`` replays it.

What each iteration asserts (anything else is a finding, with its reproducer):
- no exception other than a ``DepthCloudError`` from the API (typed errors are "clean
  reports"); operators return FINISHED, or CANCELLED with exactly one ERROR report and no
  Python traceback; no traceback is printed (update callbacks, handlers);
- a failed (cancelled / raising) call leaves the scene exactly as it was: objects,
  datablocks and every Depth Cloud setting of the scene and its objects;
- the command line returns a documented exit status (0, 1, 2, 3, 4) and never raises.

``DEPTH_CLOUD_FUZZ_LONG=1`` (or ``--iterations``) runs longer; ``--report`` writes the totals
and findings as JSON.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
REPO = os.path.dirname(TESTS)
W, H = 16, 12
CLI_STATUSES = {0, 1, 2, 3, 4}


# ============================================================================ parent
def run_parent(args) -> dict:
    totals = {"iterations": 0, "finished": 0, "clean_reports": 0, "findings": [], "by_kind": {},
              "seed": args.seed, "blender": None, "seconds": 0.0}
    t0 = time.time()
    todo = [args.only] if args.only is not None else list(range(args.start, args.start + args.iterations))
    work = tempfile.mkdtemp(prefix="depth_cloud_fuzz_")
    while todo:
        log = os.path.join(work, f"log_{todo[0]}.txt")
        cmd = [sys.executable, os.path.abspath(__file__), "--child", "--seed", str(args.seed), "--log", log,
               "--work", work, "--iterations-list", ",".join(map(str, todo))]
        for flag in ("crash_at", "hang_at", "kinds", "image_size"):
            if getattr(args, flag) is not None:
                cmd += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL if not args.verbose else None,
                                stderr=subprocess.DEVNULL if not args.verbose else None)
        seen, current, last_change, size = set(), None, time.time(), -1
        while True:
            done = proc.poll() is not None
            lines = _read_lines(log)
            if len(lines) != size:
                size, last_change = len(lines), time.time()
            for line in lines:
                rec = json.loads(line)
                key = (rec["event"], rec.get("i"))
                if key in seen:
                    continue
                seen.add(key)
                if rec["event"] == "hello":
                    totals["blender"] = rec["blender"]
                elif rec["event"] == "start":
                    current = rec
                elif rec["event"] == "end":
                    current = None
                    _count(totals, rec)
                    todo.remove(rec["i"])
            if done:
                break
            if current is not None and time.time() - last_change > args.hang_seconds:
                proc.kill()
                proc.wait()
                _finding(totals, current, "hang", f"no progress for {args.hang_seconds} s")
                todo.remove(current["i"])
                current = None
                break
            time.sleep(0.05)
        if proc.returncode not in (0, None) and current is not None:
            _finding(totals, current, "crash", f"child exited with status {proc.returncode} "
                                               f"(signal {-proc.returncode})" if proc.returncode < 0 else
                     f"child exited with status {proc.returncode}")
            todo.remove(current["i"])
        elif proc.returncode not in (0, None) and current is None and todo and not seen:
            raise SystemExit(f"the fuzz child cannot start (status {proc.returncode}); run with --verbose")
    totals["seconds"] = round(time.time() - t0, 1)
    if not args.keep:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    else:
        totals["work"] = work
    return totals


def _read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [line for line in f.read().splitlines() if line.endswith("}")]
    except FileNotFoundError:
        return []


def _count(totals, rec):
    totals["iterations"] += 1
    kind = totals["by_kind"].setdefault(rec["kind"], {"iterations": 0, "finished": 0, "clean_reports": 0,
                                                       "findings": 0})
    kind["iterations"] += 1
    if rec["outcome"] == "finished":
        totals["finished"] += 1
        kind["finished"] += 1
    elif rec["outcome"] == "clean":
        totals["clean_reports"] += 1
        kind["clean_reports"] += 1
    else:
        kind["findings"] += 1
        totals["findings"].append({k: rec.get(k) for k in ("i", "kind", "call", "problem", "detail")})
    if rec["outcome"] == "clean" and rec.get("detail"):
        totals.setdefault("clean_samples", []).append(f"{rec['kind']}: {rec['detail']}")


def _finding(totals, start, problem, detail):
    totals["iterations"] += 1
    kind = totals["by_kind"].setdefault(start["kind"], {"iterations": 0, "finished": 0, "clean_reports": 0,
                                                         "findings": 0})
    kind["iterations"] += 1
    kind["findings"] += 1
    totals["findings"].append({"i": start["i"], "kind": start["kind"], "call": start.get("call"),
                               "problem": problem, "detail": detail})


# ============================================================================ child
class Child:
    """One Blender session running iterations; one JSON line per event in the log."""

    def __init__(self, args):
        self.args = args
        self.log = open(args.log, "a", encoding="utf-8")
        sys.path.insert(0, TESTS)
        import bpy

        import conftest  # noqa: F401  (puts the 'depth_cloud' link on sys.path)
        import depth_cloud
        from scenes import add_bundled_modules
        add_bundled_modules()
        depth_cloud.register()
        self.bpy = bpy
        from depth_cloud import api
        from depth_cloud.core.errors import DepthCloudError
        self.api, self.Error = api, DepthCloudError
        # relative outputs (an API folder of "" or "%d", a CLI --output) land in the work folder,
        # never in the checkout
        os.makedirs(os.path.join(args.work, "cwd"), exist_ok=True)
        os.chdir(os.path.join(args.work, "cwd"))
        self.data = os.path.join(args.work, "data")
        os.makedirs(self.data, exist_ok=True)
        self.files = make_files(self.data)
        self.write({"event": "hello", "blender": bpy.app.version_string})

    def write(self, rec):
        self.log.write(json.dumps(rec, default=str) + "\n")
        self.log.flush()
        os.fsync(self.log.fileno())

    def run(self, indices):
        for i in indices:
            rng = random.Random(f"{self.args.seed}:{i}")
            kind = rng.choice(("settings", "settings", "operator", "api", "api", "cli", "playback"))
            if self.args.kinds:  # a targeted run: the same draw, other kinds mapped onto these
                kinds = self.args.kinds.split(",")
                kind = kind if kind in kinds else kinds[i % len(kinds)]
            self.reset_scene(rng)
            plan = {"i": i, "kind": kind}
            self.write({"event": "start", **plan})
            if i == self.args.crash_at:  # the harness's own test: a crash must be seen
                import signal
                os.kill(os.getpid(), signal.SIGSEGV)
            if i == self.args.hang_at:
                time.sleep(3600)
            err = _Tee()
            old_err = sys.stderr
            sys.stderr = err
            try:
                outcome, call, problem, detail = getattr(self, f"iter_{kind}")(rng)
            except Exception as exc:  # the harness itself, or an escape the iteration did not catch
                outcome, call, problem, detail = "finding", "?", "exception", traceback.format_exc()[-2000:]
                del exc
            finally:
                sys.stderr = old_err
            if outcome != "finding" and "Traceback" in err.text:
                outcome, problem, detail = "finding", "traceback printed", err.text[-2000:]
            self.write({"event": "end", **plan, "outcome": outcome, "call": call, "problem": problem,
                        "detail": detail})

    # ---------------------------------------------------------------- the scene
    def reset_scene(self, rng):
        bpy = self.bpy
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
        r = scene.render
        r.engine = 'CYCLES'
        r.resolution_x, r.resolution_y, r.resolution_percentage = W, H, 100
        scene.cycles.samples = 1
        scene.frame_start, scene.frame_end = 1, 3
        cam_data = bpy.data.cameras.new("Camera")
        cam = bpy.data.objects.new("Camera", cam_data)
        cam.location = (0.0, 0.0, 0.0)
        scene.collection.objects.link(cam)
        scene.camera = cam
        mesh = bpy.data.meshes.new("Plane")
        mesh.from_pydata([(-4, -3, -5), (4, -3, -5), (4, 3, -5), (-4, 3, -5)], [], [(0, 1, 2, 3)])
        plane = bpy.data.objects.new("Plane", mesh)
        scene.collection.objects.link(plane)
        dc = scene.depth_cloud
        dc.exr_path = self.files["pattern"]
        dc.output.cache_dir = os.path.join(self.args.work, "out")
        dc.output.usd_path = os.path.join(self.args.work, "out", "bake.usdc")
        scene.frame_set(1)
        if rng.random() < 0.35:  # some objects to fuzz: a cloud and a sequence
            try:
                bpy.ops.depth_cloud.build()
                if rng.random() < 0.5:
                    bpy.ops.depth_cloud.build_sequence()
            except RuntimeError:
                pass
        return scene

    # ---------------------------------------------------------------- iterations
    def fuzz_settings(self, rng, n):
        """Set ``n`` random settings of the scene's groups and its objects' groups to random values."""
        targets = settings_targets(self.bpy.context.scene)
        changed = []
        for _ in range(n):
            group, prop, path = rng.choice(targets)
            value = prop_value(rng, prop, self.files, self.bpy)
            try:
                setattr(group, prop.identifier, value)
                changed.append(f"{path}={_short(value)}")
            except (TypeError, ValueError, AttributeError, OverflowError):
                pass  # refused by Blender at assignment (a wrong enum item, an over-long value…)
            except self.Error:
                pass
        return changed

    def iter_settings(self, rng):
        changed = self.fuzz_settings(rng, rng.randint(1, 6))
        if rng.random() < 0.3:
            self.bpy.context.scene.frame_set(rng.choice((1, 2, 3, 7, -4)))  # playback handlers
        outcome, call, problem, detail = self.call_operator(rng)
        return outcome, f"{'; '.join(changed)} -> {call}", problem, detail

    def iter_operator(self, rng):
        return self.call_operator(rng, fuzz_props=True)

    def call_operator(self, rng, fuzz_props=False):
        bpy = self.bpy
        ops = [getattr(bpy.ops.depth_cloud, name) for name in dir(bpy.ops.depth_cloud)]
        ready = [op for op in ops if op.poll()]
        if not ready:
            return "finished", "no operator polls true", None, None
        op = rng.choice(ready)
        kwargs = {}
        if fuzz_props or rng.random() < 0.2:
            for prop in op.get_rna_type().properties:
                if prop.identifier != "rna_type" and rng.random() < 0.7:
                    kwargs[prop.identifier] = prop_value(rng, prop, self.files, bpy)
        call = f"bpy.ops.{op.idname_py()}(**{_short(kwargs)})"
        before = snapshot(bpy)
        try:
            result = op(**kwargs)
        except (TypeError, ValueError) as err:
            if "Error:" not in str(err) and "Python" not in str(err):  # Blender refusing the argument
                return "clean", call, None, None
            return "finding", call, "exception", repr(err)[-2000:]
        except RuntimeError as err:
            text = str(err)
            errors = [line for line in text.splitlines() if line.startswith("Error:")]
            if "Traceback" in text or "Python:" in text:
                return "finding", call, "python error in operator", text[-2000:]
            if len(errors) != 1:
                return "finding", call, f"{len(errors)} ERROR reports", text[-2000:]
            after = snapshot(bpy)
            if after != before:
                return "finding", call, "cancelled but changed", f"{errors[0]} | {diff(before, after)}"
            return "clean", call, None, errors[0][:300]
        if result == {'CANCELLED'}:
            after = snapshot(bpy)
            if after != before:
                return "finding", call, "cancelled (no report) but changed", diff(before, after)
            return "finding", call, "cancelled without an ERROR report", None
        return "finished", call, None, None

    def iter_playback(self, rng):
        """Builds while a sequence plays with read-ahead on (issue 24 case 7: background reads
        while ``bpy.ops`` runs with the GIL released)."""
        bpy = self.bpy
        scene = bpy.context.scene
        scene.depth_cloud.sequence.mode = rng.choice(('LAZY', 'PRELOAD'))
        scene.depth_cloud.sequence.prefetch = True
        try:
            bpy.ops.depth_cloud.build_sequence()
        except RuntimeError as err:
            return "finding", "build_sequence", "sequence of good files failed", str(err)[-2000:]
        calls = []
        for _ in range(rng.randint(3, 10)):
            frame = rng.choice((1, 2, 3, 1, 2, 3, 4))
            scene.frame_set(frame)
            calls.append(f"frame_set({frame})")
            if rng.random() < 0.7:
                calls.append("build")
                try:
                    bpy.ops.depth_cloud.build()
                except RuntimeError as err:
                    if "not found" not in str(err):  # frame 4 has no file
                        return "finding", "; ".join(calls), "build failed", str(err)[-2000:]
        return "finished", "; ".join(calls), None, None

    def iter_api(self, rng):
        api, bpy = self.api, self.bpy
        if rng.random() < 0.3:
            self.fuzz_settings(rng, rng.randint(1, 3))
        names = [n for n in API_FUNCTIONS if n != "run_cli"]
        name = rng.choice(names)
        fn = getattr(api, name)
        kwargs = api_kwargs(rng, fn, self.files, bpy)
        call = f"api.{name}(**{_short(kwargs)})"
        before = snapshot(bpy)
        out = io.StringIO()
        try:
            old = sys.stdout
            sys.stdout = out
            try:
                fn(**kwargs)
            finally:
                sys.stdout = old
        except self.Error as err:
            after = snapshot(bpy)
            if after != before:
                return "finding", call, "raised but changed", diff(before, after)
            return "clean", call, None, f"{type(err).__name__}: {str(err)[:300]}"
        except Exception:
            return "finding", call, "untyped exception", traceback.format_exc()[-2000:]
        return "finished", call, None, None

    def iter_cli(self, rng):
        argv = cli_argv(rng, self.files, self.args.work)
        out, err = io.StringIO(), io.StringIO()
        call = f"run_cli({argv!r})"
        try:
            status = self.api.run_cli(argv, stdout=out, stderr=err)
        except BaseException:
            return "finding", call, "run_cli raised", traceback.format_exc()[-2000:]
        if status not in CLI_STATUSES:
            return "finding", call, f"undocumented exit status {status}", err.getvalue()[-1000:]
        if "internal error" in err.getvalue():
            return "finding", call, "internal error", err.getvalue()[-2000:]
        return ("finished" if status == 0 else "clean"), call, None, None


class _Tee(io.TextIOBase):
    """Captures what is printed on stderr during an iteration (tracebacks of callbacks)."""

    def __init__(self):
        self.parts = []

    def write(self, s):
        self.parts.append(s)
        return len(s)

    @property
    def text(self):
        return "".join(self.parts)


# ============================================================================ generators
def make_files(folder) -> dict:
    """Small EXRs: a 3-frame depth + color + Position + Object Index + Normal sequence, an
    all-background frame, a damaged file, a text file, a camera list."""
    import numpy as np

    from scenes import write_exr
    files = {}
    for f in (1, 2, 3):
        z = np.full((H, W), 5.0 + f, np.float32)
        z[0, :3] = np.inf
        ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
        idx = ((xs // 4) % 3).astype(np.float32)
        ch = {"ViewLayer.Depth.Z": z, "ViewLayer.Combined.R": xs / W, "ViewLayer.Combined.G": ys / H,
              "ViewLayer.Combined.B": np.full((H, W), 0.5, np.float32),
              "ViewLayer.Combined.A": np.ones((H, W), np.float32),
              "ViewLayer.Position.X": xs, "ViewLayer.Position.Y": ys, "ViewLayer.Position.Z": -z,
              "ViewLayer.IndexOB.X": idx,
              "ViewLayer.Normal.X": np.zeros((H, W), np.float32), "ViewLayer.Normal.Y": np.zeros((H, W), np.float32),
              "ViewLayer.Normal.Z": np.ones((H, W), np.float32),
              "ViewLayer.rough.X": xs * 0.1}
        write_exr(os.path.join(folder, f"shot_{f:04d}.exr"), ch)
    files["pattern"] = os.path.join(folder, "shot_####.exr")
    files["one"] = os.path.join(folder, "shot_0001.exr")
    sky = np.full((H, W), np.inf, np.float32)
    write_exr(os.path.join(folder, "sky_0001.exr"), {"ViewLayer.Depth.Z": sky, "ViewLayer.Combined.R": sky * 0,
                                                     "ViewLayer.Combined.G": sky * 0, "ViewLayer.Combined.B": sky * 0})
    files["sky"] = os.path.join(folder, "sky_####.exr")
    data = open(files["one"], "rb").read()
    files["broken"] = os.path.join(folder, "broken.exr")
    open(files["broken"], "wb").write(data[: len(data) // 2])
    files["text"] = os.path.join(folder, "notes.exr")
    open(files["text"], "w").write("hello")
    files["cameras"] = os.path.join(folder, "cams.json")
    open(files["cameras"], "w").write('{"cameras": [{"matrix": "x"}]}')
    return files


def path_values(files):
    return ["", files["pattern"], files["one"], files["sky"], files["broken"], files["text"], files["cameras"],
            "/nonexistent/dir/x_####.exr", "//relative_####.exr", "ünïcødé ✓ 路径_##.exr", "a" * 3000,
            os.path.dirname(files["one"]), "%d", "%99999d.exr", "x_%s.exr", "####", "-", " ", "..", "~/x.exr",
            "1-2000000000"]


TEXTS = ["", " ", "ünïcødé ✓", "a" * 5000, "1-3", "1-2000000000", "-2147483648--1", "1-3x0", "x", ",,",
         "ViewLayer.Depth.Z", "ViewLayer.Combined", "ViewLayer.Position", "Object Index", "CryptoObject",
         "0, 1", "1-4", "*", "rough", "left", "ViewLayer", "%d", "\t\n", "3"]
FLOATS = [float("nan"), float("inf"), -float("inf"), -1.0, 0.0, 1e-30, 0.5, 1.0, 3.0, 100.0, 1e30, -1e30, 1e300,
          2.0**31, -0.0]
INTS = [-2**31, 2**31 - 1, -1, 0, 1, 2, 3, 7, 64, 65, 1000, 10**6]


def prop_value(rng, prop, files, bpy):
    """A random value for RNA property ``prop``: edge values mostly, sometimes its default."""
    t = prop.type
    if rng.random() < 0.1 and t in ('FLOAT', 'INT', 'BOOLEAN') and not getattr(prop, "is_array", False):
        return prop.default
    if t == 'FLOAT':
        if getattr(prop, "is_array", False) and prop.array_length:
            return [rng.choice(FLOATS) for _ in range(prop.array_length)]
        return rng.choice(FLOATS + [rng.uniform(prop.soft_min, prop.soft_max)])
    if t == 'INT':
        if getattr(prop, "is_array", False) and prop.array_length:
            return [rng.choice(INTS) for _ in range(prop.array_length)]
        return rng.choice(INTS)
    if t == 'BOOLEAN':
        return rng.random() < 0.5
    if t == 'ENUM':
        items = [i.identifier for i in prop.enum_items]
        if prop.is_enum_flag:
            return set(rng.sample(items, rng.randint(0, len(items)))) if items else set()
        return rng.choice(items + ["BOGUS"]) if items else "BOGUS"
    if t == 'STRING':
        if getattr(prop, "subtype", "") in ('FILE_PATH', 'DIR_PATH') or rng.random() < 0.4:
            return rng.choice(path_values(files))
        return rng.choice(TEXTS)
    if t == 'POINTER':
        fixed = prop.fixed_type.identifier
        pool = {"Object": list(bpy.data.objects), "Collection": list(bpy.data.collections),
                "Mesh": list(bpy.data.meshes), "Image": list(bpy.data.images)}.get(fixed, [])
        return rng.choice(pool + [None]) if pool else None
    return None


def settings_targets(scene):
    """``(group, prop, path)`` of every setting: the scene's Depth Cloud groups and its objects'."""
    out = []

    def walk(group, path):
        for prop in group.bl_rna.properties:
            if prop.identifier in ("rna_type", "name"):
                continue
            if prop.type == 'POINTER' and prop.fixed_type.base is not None and \
                    prop.fixed_type.base.identifier == "PropertyGroup":
                walk(getattr(group, prop.identifier), f"{path}.{prop.identifier}")
            elif prop.type == 'COLLECTION':
                continue
            elif not prop.is_readonly:
                out.append((group, prop, f"{path}.{prop.identifier}"))
    walk(scene.depth_cloud, "scene.depth_cloud")
    for ob in scene.objects:
        if ob.depth_cloud.is_cloud or ob.depth_cloud.sequence.is_sequence:
            walk(ob.depth_cloud, f"objects[{ob.name!r}].depth_cloud")
    return out


def snapshot(bpy) -> dict:
    """Objects, datablocks (names, point counts) and every Depth Cloud setting."""
    kinds = ("objects", "pointclouds", "meshes", "collections", "node_groups", "materials", "images", "cameras",
             "cache_files", "scenes", "texts")
    state = {k: sorted(d.name for d in getattr(bpy.data, k)) for k in kinds}
    # Blender's own render buffer: Render & Build that renders, then fails to build (an error
    # only the rendered file can show), has rendered; that image is not part of the scene.
    state["images"] = sorted(i.name for i in bpy.data.images if i.type != 'RENDER_RESULT')
    state["points"] = sorted((pc.name, len(pc.points)) for pc in bpy.data.pointclouds)
    state["verts"] = sorted((m.name, len(m.vertices)) for m in bpy.data.meshes)
    scene = bpy.context.scene
    state["scene"] = (scene.name, scene.frame_current, scene.camera.name if scene.camera else None)
    state["settings"] = group_values(scene.depth_cloud)
    for ob in scene.objects:
        state[f"ob:{ob.name}"] = group_values(ob.depth_cloud)
    return state


#: Not settings but what the panels show of the last run (its error included): ``display.message``,
#: ``pick.result``, ``camera_check.result``. An operator that cancels may write them.
STATUS_TEXTS = ("rna_type", "message", "result")


def group_values(group):
    out = {}
    for prop in group.bl_rna.properties:
        ident = prop.identifier
        if ident in STATUS_TEXTS:
            continue
        value = getattr(group, ident)
        if prop.type == 'POINTER':
            if value is not None and not hasattr(value, "name_full"):
                out[ident] = group_values(value)
            else:
                out[ident] = None if value is None else value.name_full
        elif prop.type == 'COLLECTION':
            out[ident] = [group_values(v) for v in value]
        else:
            if getattr(prop, "is_array", False):
                value = tuple(value)
            if isinstance(value, float) and math.isnan(value):
                value = "nan"
            out[ident] = value
    return out


def diff(a, b) -> str:
    keys = sorted(set(a) | set(b))
    parts = []
    for k in keys:
        if a.get(k) != b.get(k):
            if isinstance(a.get(k), dict) and isinstance(b.get(k), dict):
                sub = [f"{k}.{s}: {a[k].get(s)!r} -> {b[k].get(s)!r}" for s in sorted(set(a[k]) | set(b[k]))
                       if a[k].get(s) != b[k].get(s)]
                parts += sub
            else:
                parts.append(f"{k}: {a.get(k)!r} -> {b.get(k)!r}")
    return "; ".join(parts)[:2000]


API_FUNCTIONS = ("build_point_cloud", "unproject", "pixel_to_world", "check_camera", "camera_model", "source_spec",
                 "set_display", "render_passes", "bake_usd", "load_usd", "fuse", "fuse_point_set",
                 "fusion_settings", "read_camera_list", "run_cli")
READING = ("kind", "convention", "near", "far", "layer", "depth_channel", "color_channels", "position_channels",
           "detail", "view", "deep_samples", "deep_min_alpha", "mask", "mask_pass", "mask_threshold", "normals",
           "attributes")
FUSION = ("voxel_size", "min_views", "depth_tolerance", "neighbor_support", "outlier_neighbors",
          "outlier_std_ratio", "outliers_unconfirmed_only", "max_incidence", "check_views", "split_normals",
          "workers")
ODD = [None, float("nan"), float("inf"), -1, 0, 3, 2**40, True, "", "ünïcødé", {}, [], [1, 2], ("Z",), b"x",
       object(), 1.5, -0.0, "1-3", [float("nan")], {"a": 1}, set()]


def arg_value(rng, name, files, bpy):
    """A value for API argument ``name``: a plausible one half the time, else anything."""
    scene = bpy.context.scene
    cam = scene.camera
    plausible = {
        "scene": [None, scene], "frame": [None, 1, 2, 3, 4, -1], "frames": [None, "1-3", [1, 2], range(1, 3), 2, "2",
                                                                           "1-3000000", "1-2000000000"],
        "source": [None, files["pattern"], files["one"], files["sky"], files["broken"], files["text"],
                   "/nonexistent_####.exr"],
        "color": [None, files["one"], "/nonexistent.png"], "camera": [None, cam, bpy.data.objects.get("Plane")],
        "clip": [True, False], "pixel_ids": [None, True, False], "column": [0, 3, W - 1, W, -1, 10**9],
        "row": [0, 3, H - 1, H, -1], "origin": ["top", "bottom", "middle"], "frames_around": [0, 1, 3, -1],
        "path": [os.path.join(os.path.dirname(files["one"]), "..", "out", "b.usdc"), files["one"], "/proc/x.usdc",
                 files["cameras"]],
        "folder": [os.path.join(os.path.dirname(files["one"]), "..", "out"), "/proc/forbidden"],
        "load": [True, False], "size": [1.0, 0.0, -1.0, (W, H), (0, 0), 2.0],
        "mode": ["POINTS", "SQUARES", "SURFACE", "BOGUS"], "lit": [True, False], "max_jump": [0.05, -1.0, 0.0],
        "objects": [None, list(scene.objects), []], "cameras": [None, "Collection", [cam] if cam else []],
        "camera_list": [None, files["cameras"], "/nonexistent.json"], "files": [None, files["pattern"],
                                                                               [files["one"]]],
        "name": ["Fused", ""], "surface": [False, True], "surface_voxel_size": [0.0, 0.1, -1.0],
        "surface_radius": [0.0, 0.2], "progress": [None, print, 5], "view_layer": [None],
        "kind": ["AUTO", "DEPTH", "POSITION", "X"], "convention": ["AUTO", "PLANAR", "RAY_DISTANCE", "NORMALIZED",
                                                                   "ZBUFFER", "INVERSE", "nope"],
        "near": [0.1, 0.0, 10.0], "far": [100.0, 0.1, 1.0], "layer": ["", "ViewLayer", "Nope"],
        "depth_channel": ["", "ViewLayer.Depth.Z", "Nope"], "color_channels": ["", "ViewLayer.Combined", "X"],
        "position_channels": ["", "ViewLayer.Position"], "detail": [1, 2, 3, 64, 65, 0],
        "view": ["", "left"], "deep_samples": ["ALL", "FRONT", "x"], "deep_min_alpha": [0.0, 0.5, 2.0],
        "mask": ["", "1", 1, [0, 2], "Suzanne", "*"], "mask_pass": ["", "Object Index", "rough", "CryptoObject"],
        "mask_threshold": [0.5, 0.0, 2.0], "normals": [True, False], "attributes": ["", "rough", ["rough", "x"]],
        "voxel_size": [0.0, 0.1, -1.0], "min_views": [0, 1, 2, 300], "depth_tolerance": [1.0, 0.0, 100.0],
        "neighbor_support": [0, 2, 9], "outlier_neighbors": [0, 16, 200], "outlier_std_ratio": [2.0, 0.0],
        "outliers_unconfirmed_only": [True, False], "max_incidence": [90.0, 1.0, 0.0, 180.0],
        "check_views": [0, 2], "split_normals": [True, False], "workers": [0, 1, 2, -1],
        "settings": [None], "argv": [["info", files["one"]]],
    }.get(name)
    if plausible and rng.random() < 0.85:
        return rng.choice(plausible)
    return rng.choice(ODD)


def api_kwargs(rng, fn, files, bpy) -> dict:
    import inspect
    sig = inspect.signature(fn)
    names = [p.name for p in sig.parameters.values() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        names += list(FUSION if "fus" in fn.__name__ else ()) + list(READING)
        if rng.random() < 0.05:
            names.append("bogus_option")
    kwargs = {}
    required = [p.name for p in sig.parameters.values() if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD]
    for name in names:
        if name in required or rng.random() < 0.2:
            kwargs[name] = arg_value(rng, name, files, bpy)
    if fn.__name__ in ("render_passes",):  # a render per frame: keep the frames few
        if not isinstance(kwargs.get("frames"), str) or kwargs.get("frames") == "1-3":
            kwargs["frames"] = rng.choice([None, 1, [1], "1", "x", float("nan")])
    return kwargs


CLI_COMMANDS = ["build", "fuse", "info", "plan", "render", "bake", "nope", "--help", "-h", ""]
CLI_OPTIONS = ["--source", "--color", "--frames", "--output", "--format", "--camera", "--detail", "--kind",
               "--convention", "--near", "--far", "--layer", "--view", "--mask", "--mask-pass", "--attributes",
               "--allow-missing", "--verbose", "--json", "--stats", "--frame", "--check-camera", "--chunk",
               "--voxel-size", "--min-views", "--camera-list", "--files", "--no-clip", "--pixel-ids", "--surface",
               "--deep-samples", "--deep-min-alpha", "--threshold", "--workers", "--bogus", "--", "-x"]


def cli_argv(rng, files, work):
    argv = [rng.choice(CLI_COMMANDS)] if rng.random() < 0.95 else []
    if rng.random() < 0.3 and argv:
        argv.append(rng.choice(path_values(files)))
    for _ in range(rng.randint(0, 6)):
        argv.append(rng.choice(CLI_OPTIONS))
        if rng.random() < 0.8:
            argv.append(rng.choice([*path_values(files)[:8], *TEXTS, "nan", "inf", "-1", "0", "2", "1e309",
                                    "1-3", "ply", "npz", "usd", os.path.join(work, "out", "c_####.ply"),
                                    "1/2", "0/0", "3/2"]))
    if rng.random() < 0.1:
        return " ".join(argv) + rng.choice(["", " '", ' "unbalanced'])
    return argv


def _short(value, limit=200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


# ============================================================================ main
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=24)
    long_run = os.environ.get("DEPTH_CLOUD_FUZZ_LONG") == "1"
    p.add_argument("--iterations", type=int, default=3000 if long_run else 300)
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--only", type=int, default=None, help="replay one iteration")
    p.add_argument("--hang-seconds", type=float, default=120.0)
    p.add_argument("--report", default=None)
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the work folder (child logs, files written)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--log", help=argparse.SUPPRESS)
    p.add_argument("--work", help=argparse.SUPPRESS)
    p.add_argument("--iterations-list", help=argparse.SUPPRESS)
    p.add_argument("--kinds", default=None, help="only these iteration kinds, e.g. 'playback,api'")
    p.add_argument("--image-size", default=None, help="WxH of the fuzz's EXRs (default 16x12; larger files "
                                                       "keep the read-ahead thread busy longer)")
    p.add_argument("--crash-at", type=int, default=None, help=argparse.SUPPRESS)  # self-test
    p.add_argument("--hang-at", type=int, default=None, help=argparse.SUPPRESS)  # self-test
    args = p.parse_args(argv)
    if args.child:
        if args.image_size:
            global W, H
            W, H = (int(v) for v in args.image_size.lower().split("x"))
        Child(args).run([int(i) for i in args.iterations_list.split(",") if i])
        return 0
    totals = run_parent(args)
    text = json.dumps(totals, indent=1, default=str)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            f.write(text)
    print(f"fuzz seed {totals['seed']} on Blender {totals['blender']}: {totals['iterations']} iterations, "
          f"{totals['finished']} finished, {totals['clean_reports']} clean reports, "
          f"{len(totals['findings'])} findings in {totals['seconds']} s")
    for kind, t in sorted(totals["by_kind"].items()):
        print(f"  {kind:9s} {t}")
    for f in totals["findings"]:
        print(f"FINDING i={f['i']} {f['kind']}: {f['problem']}\n  call: {f['call']}\n  {str(f['detail'])[:1500]}")
    return 1 if totals["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
