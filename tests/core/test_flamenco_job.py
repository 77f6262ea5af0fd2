"""The Flamenco job type (farm/flamenco/depth_cloud.js) compiled under Node with a stub of
Flamenco's ``author`` API: its tasks, parsed by the real command line, build every frame once."""
import json
import os
import shutil
import subprocess

import pytest

import paths
from depth_cloud import cli
from depth_cloud.core.frames import parse_frame_range

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = paths.REPO
JOB_TYPE = os.path.join(REPO, "farm", "flamenco", "depth_cloud.js")
HARNESS = os.path.join(HERE, "flamenco_harness.js")
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def compile_job(**settings):
    base = {"frames": "1-10", "chunk_size": 4, "output": "/out/cloud_####.ply", "blendfile": "/shots/shot.blend",
            "scene": "Scene", "source": "", "extra_args": "", "overwrite": False, "allow_missing": False}
    base.update(settings)
    done = subprocess.run([NODE, HARNESS, JOB_TYPE, json.dumps(base)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _task_frames(task):
    (command,) = task["commands"]
    assert command["type"] == "blender-render"
    params = command["parameters"]
    assert params["exe"] == "{blender}" and params["blendfile"] == "/shots/shot.blend"
    args = params["args"]
    assert args[:2] == ["-c", "depth_cloud"]
    parsed = cli.build_parser().parse_args(args[2:])  # the real parser accepts the task's arguments
    assert parsed.command == "build"
    return cli.select_frames(parsed.frames, parsed.chunk), parsed


@pytest.mark.parametrize("frames, chunk_size", [
    ("1-240", 25), ("1-240x3", 10), ("1-10,20,30-40x5", 3), ("7", 5), ("1-6", 2), ("-3-4", 3), ("1..5", 2),
])
def test_tasks_cover_every_frame_once(frames, chunk_size):
    out = compile_job(frames=frames, chunk_size=chunk_size)
    tasks = out["tasks"]
    expected = parse_frame_range(frames)
    assert len(tasks) == -(-len(expected) // chunk_size)
    built = []
    for task in tasks:
        task_frames, parsed = _task_frames(task)
        assert 1 <= len(task_frames) <= chunk_size
        assert parsed.output == "/out/cloud_####.ply" and parsed.scene == "Scene"
        built.extend(task_frames)
        assert task["name"].startswith("depth-cloud-") and task["type"] == "blender"
    assert built == expected
    assert len({t["name"] for t in tasks}) == len(tasks)


def test_settings_become_options():
    out = compile_job(frames="1-4", chunk_size=10, source="//renders/shot_####.exr", overwrite=True,
                      allow_missing=True, extra_args="--convention RAY_DISTANCE --camera 'Cam A' --alpha")
    (task,) = out["tasks"]
    _, parsed = _task_frames(task)
    assert parsed.source == "//renders/shot_####.exr" and parsed.overwrite and parsed.allow_missing
    assert parsed.convention == "RAY_DISTANCE" and parsed.camera == "Cam A" and parsed.alpha
    keys = [s["key"] for s in out["job_type"]["settings"]]
    assert {"frames", "chunk_size", "output", "blendfile", "source"} <= set(keys)
    assert out["job_type"]["label"]


@pytest.mark.parametrize("settings, message", [
    (dict(frames="10-1"), "bad frame range"),
    (dict(frames="1-10", output="/out/cloud.ply"), "placeholder"),
    (dict(frames="1-10", chunk_size=2, output="/out/clouds.blend"), "placeholder"),
])
def test_bad_jobs_are_refused(settings, message):
    out = compile_job(**settings)
    assert message in out.get("error", ""), out


def test_range_outputs_get_one_file_per_task():
    out = compile_job(frames="1-9", chunk_size=3, output="/out/clouds_####.blend")
    names = []
    for task in out["tasks"]:
        frames, parsed = _task_frames(task)
        (item,) = cli.plan_outputs("blend", parsed.output, frames, chunked=True)
        names.append(item[1])
    assert names == ["/out/clouds_0001-0003.blend", "/out/clouds_0004-0006.blend", "/out/clouds_0007-0009.blend"]
