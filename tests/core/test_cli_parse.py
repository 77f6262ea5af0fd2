"""The command line's parsing and help (pure: no Blender needed)."""
import argparse

import pytest

from depth_cloud import cli


def _options(parser):
    return [opt for action in parser._actions for opt in action.option_strings
            if opt.startswith("--") and opt != "--help"]


def test_top_level_help_documents_every_option(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    parser = cli.build_parser()
    subs = dict(parser.subcommand_parsers())
    assert set(subs) >= {"build", "info"}
    for name, sub in subs.items():
        assert f"usage: depth_cloud {name}" in out
        for opt in _options(sub):
            assert opt in out, opt
    # the build options mirror the panel's settings
    build_opts = set(_options(subs["build"]))
    for opt in ("--source", "--color", "--kind", "--convention", "--near", "--far", "--layer", "--depth-channel",
                "--color-channels", "--position-channels", "--camera", "--clip", "--no-clip", "--frames", "--chunk",
                "--output", "--overwrite", "--format", "--alpha"):
        assert opt in build_opts, opt


def test_command_help(capsys):
    assert cli.main(["build", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--chunk K/N" in out and "examples:" in out


@pytest.mark.parametrize("argv, named", [
    (["build", "--frames", "9-3", "-o", "x.ply"], "9-3"),
    (["build", "--frames", "1-5xz", "-o", "x.ply"], "1-5xz"),
    (["build", "--chunk", "4/3", "-o", "x.ply"], "4/3"),
    (["build", "--convention", "LOGARITHMIC", "-o", "x.ply"], "LOGARITHMIC"),
    (["build", "--near", "abc", "-o", "x.ply"], "abc"),
    (["build", "--frames", "1-3"], "--output"),
    (["build", "--bogus", "-o", "x.ply"], "--bogus"),
    (["explode"], "explode"),
])
def test_usage_errors_are_one_line_naming_the_problem(capsys, argv, named):
    assert cli.main(argv) == cli.EXIT_USAGE
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert named in lines[0] and "error" in lines[0]
    assert captured.out == ""


def test_arguments_reach_the_command():
    args = cli.build_parser().parse_args(
        ["build", "--source", "r/s_####.exr", "--frames", "1-9x4", "--chunk", "2/3", "--convention", "ray-distance",
         "--kind", "depth", "--no-clip", "--near", "0.5", "-o", "o/c_####.ply"])
    assert args.frames == [1, 5, 9] and args.chunk == (2, 3)
    assert args.convention == "RAY_DISTANCE" and args.kind == "DEPTH" and args.clip is False and args.near == 0.5
    assert cli.select_frames(args.frames, args.chunk) == [5]


def test_string_command_lines_and_no_arguments(capsys):
    assert cli.main("info") == cli.EXIT_USAGE  # 'info' needs a file
    assert cli.main([]) == cli.EXIT_USAGE
    assert "commands: build, info" in capsys.readouterr().out


def test_a_subcommand_is_one_function(capsys):
    """The hook ``fuse`` will use: one function appended to SUBCOMMANDS."""
    def add_echo(subparsers):
        p = cli.subparser(subparsers, "echo", "say it back", "Echo the frames.")
        cli.add_frame_options(p)
        p.set_defaults(run=lambda args, console: console.line(f"frames {args.frames}") or 0)

    cli.SUBCOMMANDS.append(add_echo)
    try:
        assert cli.main(["echo", "--frames", "1-3"]) == 0
        assert capsys.readouterr().out.strip() == "frames [1, 2, 3]"
    finally:
        cli.SUBCOMMANDS.remove(add_echo)
    assert isinstance(cli.build_parser(), argparse.ArgumentParser)
