"""The command line's parsers: ``depth_cloud <command> [options]`` (pure: no Blender import).

Adding a subcommand is one function that adds its parser, with ``run=runner("module",
"function")`` naming its runner in this package (imported on use, so parsing and ``--help``
need no Blender), listed in :data:`SUBCOMMANDS`.

Exit status: 0 success; 1 failure (one ``depth_cloud <command>: error: ...`` line on stderr);
2 usage error (bad option or value, same one-line form); warnings are ``depth_cloud <command>:
warning: ...`` lines on stderr, counted in the closing summary (``--strict`` makes the first one
a failure, status 1); 3 ``build`` finished but input frames were missing (they are listed;
``--allow-missing`` makes that 0); 4 ``info --check-camera`` found a camera that does not
explain the render.
"""
from __future__ import annotations

import argparse
import sys
import textwrap

from ..core.errors import FramePatternError
from ..core.frames import parse_frame_range
from ..core.output.batch import parse_chunk
from ..enums import CONVENTIONS as _CONVENTION_ITEMS
from ..enums import DEEP_SAMPLES as _DEEP_ITEMS
from ..enums import KINDS as _KIND_ITEMS

PROG = "depth_cloud"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_MISSING = 0, 1, 2, 3
EXIT_CAMERA_MISMATCH = 4  # info --check-camera: the camera does not explain the render

#: The panel's choices (``enums.py``), by identifier.
KINDS = tuple(item[0] for item in _KIND_ITEMS)
CONVENTIONS = tuple(item[0] for item in _CONVENTION_ITEMS)
DEEP_SAMPLES = tuple(item[0] for item in _DEEP_ITEMS)
#: Output format by file extension.
FORMATS = {".ply": "ply", ".blend": "blend", ".usd": "usd", ".usda": "usd", ".usdc": "usd"}
PER_FRAME_FORMATS = ("ply",)


class UsageError(Exception):
    """A bad option or value: reported as one line, exit status 2."""


class Console:
    """Where the command writes: progress lines to ``out``, the error line to ``err``."""

    def __init__(self, out=None, err=None, prog=PROG):
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.prog = prog
        #: ``warning:`` lines printed (the closing summary counts them).
        self.warnings = 0

    def line(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def error(self, text: str) -> None:
        print(f"{self.prog}: error: {one_line(text)}", file=self.err, flush=True)

    def warning(self, text) -> None:
        """One ``warning:`` line on stderr (a ``core.diagnostics.Diagnostic`` or text), counted."""
        self.warnings += 1
        text = text.text() if hasattr(text, "text") else text
        print(f"{self.prog}: warning: {one_line(text)}", file=self.err, flush=True)

    def warnings_text(self) -> str:
        """``"; N warning(s) (on stderr)"`` for a closing summary, or nothing."""
        return f"; {self.warnings} warning(s) (on stderr)" if self.warnings else ""


def one_line(text) -> str:
    return " ".join(str(text).split())


# ------------------------------------------------------------------ parsing
class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{one_line(message)} (see '{self.prog} --help')")

    def exit(self, status=0, message=None):  # --help: print, then stop parsing
        if message:
            self._print_message(message, sys.stderr)
        raise ParserExit(status)


class ParserExit(Exception):
    """``--help`` was printed: stop with ``status``."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


class _FullHelpParser(_Parser):
    """The top-level ``--help`` documents every option of every command."""

    def format_help(self):
        text = super().format_help()
        for _name, sub in self.subcommand_parsers():
            text += f"\n{'=' * 78}\n{sub.format_help()}"
        return text

    def subcommand_parsers(self):
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return list(action.choices.items())
        return []


def _upper_choice(choices, what):
    def convert(text):
        value = str(text).strip().upper().replace("-", "_")
        if value not in choices:
            raise argparse.ArgumentTypeError(f"unknown {what} {text!r}; expected one of {', '.join(choices)}")
        return value
    return convert


def _frames_arg(text):
    try:
        return parse_frame_range(text, "--frames")
    except FramePatternError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _chunk_arg(text):
    try:
        return parse_chunk(text)
    except FramePatternError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _detail_arg(text):
    try:
        value = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"--detail {text!r} is not a whole number (build every Nth pixel)") from err
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"--detail {text!r} must be from 1 to 64 (build every Nth pixel)")
    return value


def _float_arg(text):
    try:
        value = float(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from err
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=30, width=100)


def subparser(subparsers, name, help_text, description, epilog=""):
    return subparsers.add_parser(name, help=help_text, description=textwrap.dedent(description).strip(),
                                 epilog=textwrap.dedent(epilog).strip() or None, formatter_class=_formatter)


def add_source_options(p):
    """Where the passes are and how to read them: the panel's settings. Anything not given
    comes from the scene's Depth Cloud settings (saved in the .blend) when --source is not
    given either, else from the defaults."""
    g = p.add_argument_group("source (the panel's settings; unset options come from the scene's "
                             "Depth Cloud settings when --source is not given)")
    g.add_argument("--source", metavar="EXR",
                   help="multilayer EXR, or the depth/position EXR (or PNG, TIFF, .npy/.npz depth), per frame; "
                        "'#' runs or %%04d are the frame "
                        "number (renders/shot_####.exr). '//' is relative to the .blend")
    g.add_argument("--color", metavar="FILE",
                   help="separate color pass (EXR, PNG or JPG), same frame pattern rules")
    g.add_argument("--kind", type=_upper_choice(KINDS, "pass kind"), metavar="{" + ",".join(KINDS) + "}",
                   help="DEPTH (unprojected through the camera), POSITION (a world position pass, needs no "
                        "camera) or AUTO (depth if the file has one). Default AUTO")
    g.add_argument("--convention", type=_upper_choice(CONVENTIONS, "depth convention"),
                   metavar="{" + ",".join(CONVENTIONS) + "}",
                   help="what a depth pixel means: PLANAR (Blender's Z), RAY_DISTANCE, NORMALIZED, ZBUFFER "
                        "(need --near/--far), INVERSE; AUTO reads the file's header. Default AUTO")
    g.add_argument("--near", type=_float_arg, metavar="M", help="depth mapped to 0 (NORMALIZED, ZBUFFER)")
    g.add_argument("--far", type=_float_arg, metavar="M", help="depth mapped to 1 (NORMALIZED, ZBUFFER)")
    g.add_argument("--layer", metavar="NAME", help="view layer in the EXR (default: the first)")
    g.add_argument("--view", metavar="NAME",
                   help="view of a multi-view (stereo) EXR, e.g. left; depth and color both come from it "
                        "(default: the file's default view; `info` lists the views)")
    g.add_argument("--depth-channel", metavar="NAME", help="depth channel, e.g. ViewLayer.Depth.Z")
    g.add_argument("--color-channels", metavar="PREFIX", help="color channel prefix, e.g. ViewLayer.Combined")
    g.add_argument("--position-channels", metavar="PREFIX", help="position channel prefix, e.g. ViewLayer.Position")
    g.add_argument("--detail", type=_detail_arg, metavar="N", help="build every Nth pixel (default 1: all)")
    add_pass_options(g)
    g.add_argument("--deep-samples", type=_upper_choice(DEEP_SAMPLES, "deep samples"),
                   metavar="{" + ",".join(DEEP_SAMPLES) + "}",
                   help="deep EXRs: ALL samples become points, or only the FRONT (nearest) one of each pixel. "
                        "Default ALL")
    g.add_argument("--deep-min-alpha", type=_float_arg, metavar="A",
                   help="deep EXRs: samples with a lower alpha (0..1) make no point")
    add_depth_image_options(g)
    g.add_argument("--camera", metavar="NAME",
                   help="camera object that rendered the passes (default: the settings' camera, else the "
                        "scene camera)")
    g.add_argument("--clip", action=argparse.BooleanOptionalAction, default=None,
                   help="drop depths outside the camera's clip start/end (default: on)")
    g.add_argument("--scene", metavar="NAME", help="scene to use (default: the file's active scene)")


def add_depth_image_options(g):
    """Depth images (PNG, TIFF, .npy/.npz), pinhole intrinsics and captured camera paths
    (docs/depth_from_anywhere.md)."""
    g.add_argument("--depth-scale", type=_float_arg, metavar="S",
                   help="stored value x S = depth (or position) in scene units: 0.001 for millimetre PNGs, 0.0002 "
                        "for TUM (default 1); the convention applies after it")
    g.add_argument("--invalid-value", metavar="V",
                   help="stored value meaning 'no depth' (default: 0 for integer images, none for float data)")
    g.add_argument("--intrinsics", metavar="FX,FY,CX,CY",
                   help="a camera from pinhole intrinsics in pixels (OpenCV: pixel centres at integers, origin "
                        "top-left) for the depth files' size; replaces --camera")
    g.add_argument("--poses", metavar="FILE",
                   help="a captured camera path: COLMAP images.txt, a TUM trajectory or transforms.json; keys a "
                        "camera along it and reads its frames (replaces --source)")
    g.add_argument("--pose-format", type=_upper_choice(("AUTO", "COLMAP", "TUM", "TRANSFORMS"), "pose format"),
                   metavar="{AUTO,COLMAP,TUM,TRANSFORMS}", help="default AUTO (by the file's name)")
    g.add_argument("--pose-depth", metavar="FILE",
                   help="TUM: depth.txt; COLMAP/transforms.json: the depth files as a '#' pattern, in frame order")
    g.add_argument("--pose-color", metavar="FILE", help="TUM: rgb.txt; COLMAP: the image folder")
    g.add_argument("--pose-tolerance", type=_float_arg, metavar="SECONDS", default=0.02,
                   help="TUM: largest time between a depth frame and its pose or color (default 0.02)")


def add_pass_options(g):
    """Masks, normals and passes kept as attributes (core/masks.py, core/attributes.py)."""
    g.add_argument("--mask", action="append", metavar="NAMES",
                   help="only pixels of these Cryptomatte names/wildcards ('Suzanne', 'Tree*'; commas or repeated "
                        "--mask), or of these indices of --mask-pass (3, 1-4)")
    g.add_argument("--mask-pass", metavar="PASS",
                   help="CryptoObject, CryptoMaterial, CryptoAsset, 'Object Index', 'Material Index' or any "
                        "pass/channel (default: the Cryptomatte layer holding the --mask names)")
    g.add_argument("--mask-threshold", type=_float_arg, metavar="T",
                   help="summed coverage (or pass value) a pixel needs to belong (default 0.5)")
    g.add_argument("--normals", action=argparse.BooleanOptionalAction, default=None,
                   help="use the file's Normal pass as the points' normals (default: on)")
    g.add_argument("--attributes", action="append", metavar="PASSES",
                   help="passes/AOVs kept as point attributes of the same name (commas or repeated)")


def add_frame_options(p):
    g = p.add_argument_group("frames (farm: any subset runs anywhere, independently)")
    g.add_argument("--frames", type=_frames_arg, metavar="RANGE",
                   help="frames to build: '1-240', '1-240x3' (step 3), '7', '1-10,20,30-40x5' "
                        "(default: the scene's frame range and step). Ranges starting below zero need "
                        "the '=' form: --frames=-10-20")
    g.add_argument("--chunk", type=_chunk_arg, metavar="K/N",
                   help="build only the K-th of N contiguous, nearly equal slices of the frame list "
                        "(1-based); the N chunks together are exactly the full list")
    g.add_argument("--allow-missing", action="store_true",
                   help="missing input frames are reported and skipped either way; with this the exit "
                        "status is 0 instead of 3")


def add_output_options(p):
    g = p.add_argument_group("output")
    g.add_argument("--output", "-o", required=True, metavar="PATH",
                   help="per-frame PLY 'out/cloud_####.ply' ('#' = frame number); one .blend with the clouds "
                        "'clouds.blend'; one USD point cache per range 'cache.usdc'. In range outputs '#' "
                        "becomes START-END of the chunk ('clouds_####.blend' -> 'clouds_0001-0080.blend')")
    g.add_argument("--format", choices=sorted(set(FORMATS.values())),
                   help="output format (default: from the --output extension)")
    g.add_argument("--overwrite", action="store_true",
                   help="rebuild outputs that exist (default: skip them, so a re-run resumes)")
    g.add_argument("--alpha", action="store_true", help="PLY: add an 'alpha' uchar property")
    g.add_argument("--pixel-ids", action=argparse.BooleanOptionalAction, default=None,
                   help=".blend: also store the 'pixel' and 'depth' point attributes (default: the scene's setting)")
    g.add_argument("--no-radius", dest="radius", action="store_false",
                   help="PLY: leave out the 'radius' float property (the pixel footprint)")
    g.add_argument("--verbose", action="store_true",
                   help="let Blender's own messages through (default: silenced around file writes)")
    g.add_argument("--strict", action="store_true",
                   help="a warning (points clipped, NaN pixels, a camera that does not fit, a damaged part "
                        "skipped...) fails the run (status 1) instead of being printed; the frame is not written")


BUILD_EXAMPLES = """
examples:
  blender -b shot.blend -c depth_cloud build --source "renders/shot_####.exr" --frames 1-240 \\
      --output out/cloud_####.ply
  blender -b shot.blend -c depth_cloud build --frames 1-240x3 --chunk 2/8 --output out/cloud_####.ply
  blender -b shot.blend -c depth_cloud build --source //passes/z_####.exr --color //passes/rgb_####.png \\
      --convention RAY_DISTANCE --camera CamA --frames 1-48 --output clouds_####.blend
  blender -b -c depth_cloud build --source shot_####.exr --kind POSITION --frames 1-10 -o out/p_####.ply

Existing outputs are skipped unless --overwrite; every file is written to a temporary file in the
same folder and renamed, so a killed job never leaves a partial output. A missing input frame is
reported, skipped, and makes the exit status 3 (0 with --allow-missing). A frame with no usable
pixel gives an empty cloud and a warning. Any other error stops with one line and status 1.
"""


def add_build(subparsers):
    p = subparser(subparsers, "build", "frames -> point clouds (PLY per frame, .blend, USD)",
                   """
                   Build colored point clouds from rendered passes, frame by frame, and write them
                   out. One progress line per frame, with timing, on stdout.
                   """, BUILD_EXAMPLES)
    add_source_options(p)
    add_frame_options(p)
    add_output_options(p)
    p.set_defaults(run=runner("build", "run_build"))
    return p


def add_info(subparsers):
    p = subparser(subparsers, "info", "what an EXR (or PLY) file holds",
                   """
                   Show what a file holds: parts, view layers, passes and channels (with pixel types),
                   data/display windows, the camera Blender recorded and a Depth Cloud header camera,
                   the channels a build would use and the guessed depth convention. Reads headers only
                   (fast on any size) unless --stats is given. Also lists a PLY file's elements.
                   """, """
                   examples:
                     blender -b -c depth_cloud info renders/shot_0001.exr
                     blender -b -c depth_cloud info "renders/shot_####.exr" --frame 12 --stats
                     blender -b -c depth_cloud info out/cloud_0001.ply --json
                     blender -b shot.blend -c depth_cloud info renders/shot_0012.exr --check-camera
                   """)
    p.add_argument("files", nargs="+", metavar="FILE", help="EXR or PLY files ('#' patterns need --frame)")
    p.add_argument("--frame", type=int, help="frame number for '#' patterns")
    p.add_argument("--view", metavar="NAME", help="multi-view EXRs: show what a build of this view uses "
                                                  "(default: the file's default view)")
    p.add_argument("--stats", action="store_true",
                   help="also read the pixels: per-channel min/max, NaN/inf and background counts "
                        "(refines the depth convention guess)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    c = p.add_argument_group("camera check (needs Blender: the camera of the opened .blend)")
    c.add_argument("--check-camera", action="store_true",
                   help="unproject the depth with the camera and compare with the file's Position pass: "
                        "reprojection error (px) and relative 3D error, and the likely cause when they are "
                        "large (frame off, another camera, lens/shift/sensor fit, depth convention). Exit "
                        "status 4 when the camera does not fit")
    c.add_argument("--camera", metavar="NAME", help="camera object to check (default: the one a build would use)")
    c.add_argument("--scene", metavar="NAME", help="scene to use (default: the file's active scene)")
    c.add_argument("--check-frames", type=int, default=3, metavar="N",
                   help="neighbouring frames tried on each side when the camera does not fit (default 3)")
    p.set_defaults(run=runner("info", "run_info"))
    return p


def add_fuse(subparsers):
    p = subparser(subparsers, "fuse", "many depth maps from many cameras -> one clean cloud",
                   """
                   Fuse the views of one static object or set into ONE cloud: the union of every view's
                   points, checked against the other views (multi-view consistency), merged on a voxel
                   grid, with statistical outliers removed, normals estimated from each view's depth
                   gradients (oriented to its camera) and a per-point view count. Views come from the
                   frames of a sequence (--source/--frames, the animated camera), from camera objects
                   paired with files (--cameras + --files), from a camera list (--camera-list, JSON or
                   CSV; see docs/fusion.md), or from self-describing files alone (--files).
                   """, """
                   examples:
                     blender -b shot.blend -c depth_cloud fuse --source "renders/shot_####.exr" --frames 1-48 -o set.ply
                     blender -b rig.blend -c depth_cloud fuse --cameras Rig --files "maps/{camera}.exr" -o obj.blend --surface
                     blender -b -c depth_cloud fuse --camera-list cams.json --files "maps/view_##.exr" -o obj.ply
                     blender -b -c depth_cloud fuse --files maps/a.exr maps/b.exr maps/c.exr -o obj.ply
                   """)  # noqa: E501 (help examples are printed as written)
    add_source_options(p)
    g = p.add_argument_group("views (default: the frames of the source sequence)")
    g.add_argument("--frames", type=_frames_arg, metavar="RANGE", help="frames of the sequence (default: scene range)")
    g.add_argument("--cameras", metavar="NAMES",
                   help="camera objects (comma-separated names) or the name of a collection of cameras")
    g.add_argument("--camera-list", metavar="FILE", help="JSON or CSV list of cameras (see docs/fusion.md)")
    g.add_argument("--files", nargs="+", metavar="FILE",
                   help="with --cameras/--camera-list: one pattern ('{camera}' or '#' = the view); alone: "
                        "self-describing EXRs (header camera, or Blender's Camera + Frame)")
    f = p.add_argument_group("fusion")
    f.add_argument("--voxel-size", type=_float_arg, metavar="M", help="merge grid size (default: automatic)")
    f.add_argument("--min-views", type=int, metavar="N", help="other views that must agree (default 2; 0 = off)")
    f.add_argument("--depth-tolerance", type=_float_arg, metavar="R", help="relative depth agreement (default 0.01)")
    f.add_argument("--neighbor-support", type=int, metavar="N", help="spike filter support in 3x3 (default 2)")
    f.add_argument("--outlier-neighbors", type=int, metavar="K", help="k of the outlier removal (default 16; 0 = off)")
    f.add_argument("--outlier-std-ratio", type=_float_arg, metavar="R", help="outlier threshold (default 2.0)")
    f.add_argument("--all-outliers", action="store_true",
                   help="outlier removal also judges points other views confirmed (default: only unconfirmed)")
    f.add_argument("--max-incidence", type=_float_arg, metavar="DEG", help="drop grazing samples (default 90 = off)")
    f.add_argument("--check-views", type=int, metavar="N", help="compare each view with its N most similar (0 = all)")
    f.add_argument("--workers", type=int, metavar="N", help="threads for per-view work (default 1)")
    f.add_argument("--surface", action="store_true", help=".blend: also make the surface mesh (Points to Volume)")
    f.add_argument("--surface-voxel-size", type=_float_arg, metavar="M", help="surface voxel size (default: automatic)")
    o = p.add_argument_group("output")
    o.add_argument("--output", "-o", required=True, metavar="PATH", help="fused.ply, or fused.blend (the fused object)")
    o.add_argument("--format", choices=("ply", "blend"), help="output format (default: from the extension)")
    o.add_argument("--overwrite", action="store_true", help="replace an existing output (default: skip)")
    o.add_argument("--alpha", action="store_true", help="PLY: add an 'alpha' uchar property")
    o.add_argument("--no-radius", dest="radius", action="store_false", help="PLY: leave out 'radius'")
    o.add_argument("--verbose", action="store_true", help="let Blender's own messages through")
    o.add_argument("--strict", action="store_true",
                   help="a warning of any view (points clipped, NaN pixels, a damaged part skipped...) fails the "
                        "run (status 1) instead of being printed; nothing is written")
    p.set_defaults(run=runner("fuse", "run_fuse"))
    return p


#: One function per subcommand; each adds its parser (with ``run=``) to the subparsers.
SUBCOMMANDS = [add_build, add_info, add_fuse]


def build_parser() -> argparse.ArgumentParser:
    parser = _FullHelpParser(
        prog=PROG, formatter_class=_formatter,
        description="Depth Cloud: rendered depth / position passes -> colored point clouds, headless.\n"
                    "Run as: blender -b [file.blend] -c depth_cloud <command> [options]",
        epilog="Exit status: 0 ok; 1 failure; 2 usage error; 3 build finished with missing input frames; "
               "4 info --check-camera: the camera does not fit.")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>", parser_class=_Parser)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def runner(module: str, function: str):
    """A ``run(args, console)`` that calls ``<module>.<function>`` of this package (imported on
    use, so parsing and ``--help`` need no Blender)."""
    def run(args, console):
        import importlib
        mod = importlib.import_module(f"{__package__}.{module}")
        return getattr(mod, function)(args, console)
    run.__qualname__ = f"{module}.{function}"
    return run
