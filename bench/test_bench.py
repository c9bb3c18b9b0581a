"""pytest-benchmark cases: `pytest bench --benchmark-json=out.json`, sizes from DQS_BENCH_SIZES
(default 100k; e.g. DQS_BENCH_SIZES=100k,1m,10m). Each case records its figures in extra_info
and fails when the run's peak RSS is above the case's ceiling."""

from __future__ import annotations

import pytest

from .runner import run_case, selected_cases, selected_sizes


@pytest.mark.parametrize("case", selected_cases(selected_sizes()), ids=lambda c: c.name)
def test_summarize(benchmark, case) -> None:
    measured = {}

    def once() -> None:
        measured["m"] = run_case(case)

    benchmark.pedantic(once, rounds=1, iterations=1)
    m = measured["m"]
    benchmark.extra_info.update(m.as_dict())
    assert m.exit_code == 0
    assert m.within_ceiling, f"{case.name}: peak RSS {m.peak_rss_mb:.0f} MB above {case.ceiling_mb} MB"
