"""Command line: ``blender -b shot.blend -c depth_cloud <command> [options]``.

Registered with ``bpy.utils.register_cli_command`` (Blender 4.2+). The same entry point is
:func:`main` (``api.run_cli`` for ``--python-expr`` users and tests): it takes the argument
list and returns the exit status, never raises or exits.

- ``parser``: the parsers of every command and the exit statuses (pure)
- ``plan``: output format, this run's frames, output paths (pure)
- ``info``: ``info`` (pure core, ``core/info.py``)
- ``build``, ``fuse``: the Blender side of ``build`` and ``fuse``; ``common``: what both use

Only this package imports it: glue and core never import the command line.
"""
from __future__ import annotations

import shlex
import sys

from ..core.errors import DepthCloudError
from .parser import (
    EXIT_FAILURE,
    EXIT_MISSING,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    SUBCOMMANDS,
    Console,
    ParserExit,
    UsageError,
    add_frame_options,
    add_output_options,
    add_source_options,
    build_parser,
    subparser,
)
from .plan import output_format, plan_outputs, select_frames

__all__ = ["main", "execute", "register", "unregister", "build_parser", "SUBCOMMANDS", "subparser",
           "add_source_options", "add_frame_options", "add_output_options", "output_format", "plan_outputs",
           "select_frames", "Console", "UsageError", "PROG", "EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE",
           "EXIT_MISSING"]


def main(argv=None, stdout=None, stderr=None) -> int:
    """Run the command line ``argv`` (a list, or one string split like a shell); returns the
    exit status. Errors print one line on ``stderr``; nothing is raised."""
    console = Console(stdout, stderr)
    try:
        if argv is None:
            argv = []
        elif isinstance(argv, str):
            argv = shlex.split(argv)
        argv = [str(a) for a in argv]
    except (TypeError, ValueError) as err:  # not a list of words, or unbalanced quotes
        console.error(f"cannot read the arguments: {err}")
        return EXIT_USAGE
    parser = build_parser()
    if not argv:
        console.line(parser.format_usage().rstrip())
        console.line(f"commands: {', '.join(_command_names(parser))}; '{PROG} --help' documents every option")
        return EXIT_USAGE
    old_out = sys.stdout
    try:
        sys.stdout = console.out  # argparse prints --help to sys.stdout
        try:
            args = parser.parse_args(argv)
        finally:
            sys.stdout = old_out
    except ParserExit as done:
        return done.status
    except UsageError as err:
        console.prog = _prog_for(argv, parser)
        console.error(err)
        return EXIT_USAGE
    except Exception as err:  # an argument converter failing: still one line, never raised
        console.error(f"internal error reading the arguments: {type(err).__name__}: {err}")
        return EXIT_FAILURE
    if not getattr(args, "run", None):
        console.error(f"no command given; expected one of {', '.join(_command_names(parser))}")
        return EXIT_USAGE
    console.prog = f"{PROG} {args.command}"
    try:
        status = args.run(args, console)
    except UsageError as err:
        console.error(err)
        return EXIT_USAGE
    except DepthCloudError as err:
        console.error(err)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130
    except Exception as err:  # a bug, or Blender refusing: still one line (traceback with --verbose)
        if getattr(args, "verbose", False):
            import traceback
            traceback.print_exc(file=console.err)
        console.error(f"internal error: {type(err).__name__}: {err}")
        return EXIT_FAILURE
    return EXIT_OK if status is None else int(status)


def _command_names(parser):
    return [name for name, _ in parser.subcommand_parsers()] if hasattr(parser, "subcommand_parsers") else []


def _prog_for(argv, parser):
    names = _command_names(parser)
    first = next((a for a in argv if not a.startswith("-")), None)
    return f"{PROG} {first}" if first in names else PROG


def execute(argv) -> int:
    """The ``bpy.utils.register_cli_command`` callback."""
    return main(list(argv))


_handle = None


classes = ()


def on_register():
    global _handle
    import bpy
    if _handle is None and hasattr(bpy.utils, "register_cli_command"):
        _handle = bpy.utils.register_cli_command(PROG, execute)


def on_unregister():
    global _handle
    import bpy
    if _handle is not None:
        bpy.utils.unregister_cli_command(_handle)
        _handle = None
