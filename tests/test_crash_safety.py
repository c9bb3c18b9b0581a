"""Kills, interrupts and concurrent runs never leave a mixed or half-written output directory.

Each test runs the real CLI in subprocesses on generated logs. "Complete" means the exact files
of one finished run: every output present and byte-identical to what that run writes (the
run report, which holds timings, is compared by the rows it counted).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from dqs.engine.generate import GenerateOptions, generate_log
from dqs.engine.summary.outputs import finish_interrupted_commits

KILLS = int(os.environ.get("DQS_KILLS", "12"))


def _start(log: Path, out: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "DQS_DEBUG"}
    return subprocess.Popen([sys.executable, "-m", "dqs", "summarize", str(log), "-o", str(out), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _state(out: Path) -> dict[str, str]:
    """Visible files -> content hash (run_report.json -> the rows it counted)."""
    state = {}
    for path in sorted(out.iterdir()):
        if path.name.startswith("."):
            continue
        if path.name == "run_report.json":
            state[path.name] = str(json.loads(path.read_text())["rows_read"])
        else:
            state[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith(".dqs-"))


@dataclass(frozen=True)
class Runs:
    small: Path  # log A
    large: Path  # log B
    state_a: dict[str, str]
    state_b: dict[str, str]
    outputs_a: Path  # the output directory of a finished run of A
    outputs_b: Path  # and of B
    wall_b: float  # seconds a whole run of B takes


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """A small log A and a larger log B, each summarized once."""
    tmp = tmp_path_factory.mktemp("crash")
    small, large = tmp / "a.csv", tmp / "b.csv"
    generate_log(GenerateOptions(rows=2_000, output=small, seed=1))
    generate_log(GenerateOptions(rows=400_000, output=large, seed=2, malformed_share=0.01))
    _finished_run(small, tmp / "ref-a")
    started = time.monotonic()
    _finished_run(large, tmp / "ref-b")
    wall_b = time.monotonic() - started
    runs = Runs(small, large, _state(tmp / "ref-a"), _state(tmp / "ref-b"), tmp / "ref-a", tmp / "ref-b", wall_b)
    assert runs.state_a != runs.state_b
    return runs


def _restore(out: Path, reference: Path) -> None:
    """Put the outputs of a finished run of A back (as they would be after that run)."""
    for path in out.iterdir():
        if path.is_file() and not path.name.startswith("."):
            path.unlink()
    for path in reference.iterdir():
        (out / path.name).write_bytes(path.read_bytes())


def _finished_run(log: Path, out: Path) -> None:
    process = _start(log, out)
    assert process.wait() == 0, process.stderr.read()


def test_sigkill_at_random_moments_never_leaves_a_mixed_directory(runs, tmp_path: Path) -> None:
    small, large, state_a, state_b, wall_b = runs.small, runs.large, runs.state_a, runs.state_b, runs.wall_b
    out = tmp_path / "out"
    _finished_run(small, out)
    rng = random.Random(20261130)
    seen = {"previous": 0, "new": 0, "rolled forward": 0}
    for _ in range(KILLS):
        _restore(out, runs.outputs_a)
        process = _start(large, out)
        time.sleep(rng.uniform(0.0, wall_b * 1.1))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if any(p.name.startswith(".dqs-commit-") for p in out.iterdir()):
            finish_interrupted_commits(out)  # what the next run does first
            assert _state(out) == state_b
            seen["rolled forward"] += 1
            continue
        state = _state(out)
        assert state in (state_a, state_b), "output directory holds a mixed or partial set"
        seen["previous" if state == state_a else "new"] += 1
    # the next run cleans up what the killed runs left (staging, spill folders)
    _finished_run(small, out)
    assert _leftovers(out) == [] and _state(out) == state_a
    print(f"kills: {KILLS}, outcomes: {seen}")


def test_a_killed_commit_is_rolled_forward_by_the_next_run(runs, tmp_path: Path) -> None:
    """The rare case the random kills may miss: a run killed between two renames."""
    small, state_a, state_b = runs.small, runs.state_a, runs.state_b
    out = tmp_path / "out"
    _finished_run(small, out)
    staged = runs.outputs_b
    staging = out / ".dqs-staging-999999999-x"
    staging.mkdir()
    names = sorted(state_b)
    for name in names:
        (staging / name).write_bytes((staged / name).read_bytes())
    os.replace(staging / names[0], out / names[0])  # killed after the first rename
    (out / ".dqs-commit-999999999.json").write_text(json.dumps({"staging": staging.name, "names": names}))
    process = _start(small, out)  # the next run finishes the commit, then does its own work
    assert process.wait() == 0, process.stderr.read()
    assert _state(out) == state_a and _leftovers(out) == []
    assert finish_interrupted_commits(out) == []


def test_ctrl_c_stops_promptly_with_exit_130_and_cleans_up(runs, tmp_path: Path) -> None:
    small, large, state_a, wall_b = runs.small, runs.large, runs.state_a, runs.wall_b
    out = tmp_path / "out"
    _finished_run(small, out)
    for fraction in (0.3, 0.6):
        process = _start(large, out)
        deadline = time.monotonic() + 60
        while not any(p.name.startswith(".dqs-spill-") for p in out.iterdir()):  # the run has started
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.01)
        time.sleep(wall_b * fraction * 0.5)
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        code = process.wait()
        stopped = time.monotonic() - sent
        stderr = process.stderr.read()
        if code == 0:  # it finished before the signal landed: nothing to check this time
            continue
        assert code == 130, stderr
        assert stderr.startswith("dqs: error: interrupted") and "Traceback" not in stderr
        assert stopped < wall_b * 0.5, f"took {stopped:.2f} s to stop (whole run {wall_b:.2f} s)"
        assert _leftovers(out) == [] and _state(out) == state_a


def test_two_runs_into_one_directory_leave_one_complete_set(runs, tmp_path: Path) -> None:
    small, large, state_a, state_b = runs.small, runs.large, runs.state_a, runs.state_b
    out = tmp_path / "out"
    first, second = _start(large, out), _start(small, out)
    assert first.wait() == 0 and second.wait() == 0, first.stderr.read() + second.stderr.read()
    assert _state(out) in (state_a, state_b) and _leftovers(out) == []
