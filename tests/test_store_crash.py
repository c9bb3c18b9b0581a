"""SIGKILL at random moments of `dqs ingest`: the store always opens at the version before or the
new one, the next ingest completes, and no row is lost or counted twice.

`DQS_STORE_KILLS=50 bash scripts/test.sh -k store_crash` runs the issue's 50 kills.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_dqs
from dqs.engine.generate import GenerateOptions, generate_log

KILLS = int(os.environ.get("DQS_STORE_KILLS", "8"))
CONTRACT = ("full_summary.csv", "nl_all_rows.txt", "rejects.csv", "summary.parquet")


def _digest(out: Path) -> dict[str, str]:
    return {n: hashlib.sha256((out / n).read_bytes()).hexdigest() for n in CONTRACT}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A store holding log A; log B to ingest; the summaries of A alone and of A then B."""
    tmp = tmp_path_factory.mktemp("store-crash")
    logs = tmp / "logs"
    logs.mkdir()
    a, b = logs / "a.csv", logs / "b.csv"
    generate_log(GenerateOptions(rows=3_000, output=a, seed=1, malformed_share=0.01))
    generate_log(GenerateOptions(rows=300_000, output=b, seed=2, malformed_share=0.01))
    store = tmp / "store-a"
    assert run_dqs("ingest", a, "--store", store).returncode == 0
    assert run_dqs("summarize", a, "-o", tmp / "only-a").returncode == 0
    assert run_dqs("summarize", logs, "-o", tmp / "a-then-b").returncode == 0
    work = tmp / "timing"
    shutil.copytree(store, work)
    started = time.monotonic()
    assert run_dqs("ingest", b, "--store", work).returncode == 0
    return {"tmp": tmp, "b": b, "store": store, "wall": time.monotonic() - started,
            "only_a": _digest(tmp / "only-a"), "a_then_b": _digest(tmp / "a-then-b")}


def test_sigkill_during_ingest_leaves_the_old_or_the_new_version(base: dict) -> None:
    rng = random.Random(13)
    seen = {"old": 0, "new": 0}
    for kill in range(KILLS):
        store = base["tmp"] / f"kill-{kill}"
        shutil.copytree(base["store"], store)
        env = {k: v for k, v in os.environ.items() if k != "DQS_DEBUG"}
        proc = subprocess.Popen([sys.executable, "-m", "dqs", "ingest", str(base["b"]), "--store", str(store), "-q"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        time.sleep(rng.uniform(0.05, base["wall"] * 1.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)

        out = base["tmp"] / f"kill-{kill}-out"
        result = run_dqs("summarize", "--store", store, "-o", out)
        assert result.returncode == 0, result.stderr
        state = _digest(out)
        assert state in (base["only_a"], base["a_then_b"]), f"kill {kill}: a mixed store"
        seen["old" if state == base["only_a"] else "new"] += 1
        head = json.loads(run_dqs("store", "info", store, "--json").stdout)["version"]
        assert head == (1 if state == base["only_a"] else 2)

        again = run_dqs("ingest", base["b"], "--store", store)  # the rerun of the killed job
        assert again.returncode == 0, again.stderr
        assert run_dqs("summarize", "--store", store, "-o", out).returncode == 0
        assert _digest(out) == base["a_then_b"], f"kill {kill}: rows lost or counted twice"
        shutil.rmtree(store)
        shutil.rmtree(out)
    assert sum(seen.values()) == KILLS
