"""The seeded fuzz (tests/fuzz/runner.py) as a test: a fixed seed and a bounded number of
iterations (a few minutes per Blender version), each in a child process so a crash is seen.
``DEPTH_CLOUD_FUZZ_LONG=1`` runs the long version; ``DEPTH_CLOUD_FUZZ_ITERATIONS`` and
``DEPTH_CLOUD_FUZZ_SEED`` change the run. A finding fails the test with its reproducer
(``python tests/fuzz/runner.py --seed S --only I``); each one becomes a plain regression test
(test_fuzz_regressions.py)."""
import json
import os
import subprocess
import sys

import pytest

RUNNER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fuzz", "runner.py")


def test_fuzz_finds_nothing(dc, tmp_path):
    long_run = os.environ.get("DEPTH_CLOUD_FUZZ_LONG") == "1"
    iterations = int(os.environ.get("DEPTH_CLOUD_FUZZ_ITERATIONS", 3000 if long_run else 300))
    seed = int(os.environ.get("DEPTH_CLOUD_FUZZ_SEED", 24))
    report = tmp_path / "fuzz.json"
    run = subprocess.run([sys.executable, RUNNER, "--seed", str(seed), "--iterations", str(iterations),
                          "--report", str(report)], capture_output=True, text=True, timeout=3600 * 6)
    print(run.stdout)
    if not report.exists():
        pytest.fail(f"the fuzz did not run: {run.stdout[-2000:]} {run.stderr[-2000:]}")
    totals = json.loads(report.read_text())
    assert totals["iterations"] == iterations
    assert totals["finished"] + totals["clean_reports"] > 0
    assert not totals["findings"], run.stdout[-6000:]


def test_fuzz_sees_a_crash_and_a_hang(dc, tmp_path):
    """The harness itself: a child killed by SIGSEGV at iteration 1 and one silent at
    iteration 2 are findings, and the run goes on with the next iterations."""
    report = tmp_path / "selftest.json"
    run = subprocess.run([sys.executable, RUNNER, "--iterations", "4", "--crash-at", "1", "--hang-at", "2",
                          "--hang-seconds", "20", "--report", str(report)], capture_output=True, text=True,
                         timeout=900)
    totals = json.loads(report.read_text())
    assert run.returncode == 1
    assert totals["iterations"] == 4
    problems = {f["i"]: f["problem"] for f in totals["findings"]}
    assert problems == {1: "crash", 2: "hang"}, run.stdout[-3000:]
