"""Per-stage wall time, CPU time and true peak RSS of this process.

Peak RSS is sampled by a background thread (from /proc on Linux, psutil elsewhere) and
cross-checked with the kernel's own high-water mark (`getrusage` max RSS), so short spikes
between samples are not missed in the run's peak.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field


def rusage_max_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _rss_reader() -> Callable[[], int]:
    """A function giving this process's resident set size now (0 when unknown). On Linux it
    reads /proc/self/statm: every dqs run starts a monitor, and psutil's import costs 8 ms."""
    if sys.platform.startswith("linux"):
        page = os.sysconf("SC_PAGE_SIZE")

        def from_proc() -> int:
            try:
                with open("/proc/self/statm", "rb") as fh:
                    return int(fh.read().split()[1]) * page
            except (OSError, ValueError, IndexError):
                return 0

        return from_proc
    import psutil

    process = psutil.Process()

    def from_psutil() -> int:
        try:
            return int(process.memory_info().rss)
        except psutil.Error:
            return 0

    return from_psutil


@dataclass
class StageTiming:
    name: str
    wall_s: float
    cpu_s: float
    peak_rss_bytes: int
    rows: int | None = None

    @property
    def rows_per_s(self) -> float | None:
        return self.rows / self.wall_s if self.rows is not None and self.wall_s > 0 else None


@dataclass
class Monitor:
    """Measures stages; use as a context manager so the sampling thread stops."""

    interval_s: float = 0.02
    stages: list[StageTiming] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rss = _rss_reader()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._peak = self._rss()
        self._stage_peak = self._peak
        self._thread = threading.Thread(target=self._sample, name="dqs-rss-sampler", daemon=True)
        self._started = time.perf_counter()
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._observe()

    def _observe(self) -> None:
        rss = self._rss()
        with self._lock:
            self._peak = max(self._peak, rss)
            self._stage_peak = max(self._stage_peak, rss)

    @contextmanager
    def stage(self, name: str) -> Iterator[StageTiming]:
        with self._lock:
            self._stage_peak = self._rss()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        timing = StageTiming(name, 0.0, 0.0, 0)
        try:
            yield timing
        finally:
            self._observe()
            timing.wall_s = time.perf_counter() - wall0
            timing.cpu_s = time.process_time() - cpu0
            timing.peak_rss_bytes = self._stage_peak
            self.stages.append(timing)

    @property
    def wall_s(self) -> float:
        return time.perf_counter() - self._started

    @property
    def peak_rss_bytes(self) -> int:
        self._observe()
        return max(self._peak, rusage_max_rss_bytes())

    @property
    def sampled_peak_rss_bytes(self) -> int:
        return self._peak

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def as_dict(self) -> dict[str, object]:
        return {
            "wall_s": round(self.wall_s, 4),
            "peak_rss_bytes": self.peak_rss_bytes,
            "sampled_peak_rss_bytes": self.sampled_peak_rss_bytes,
            "rusage_max_rss_bytes": rusage_max_rss_bytes(),
            "stages": [
                {**asdict(s), "wall_s": round(s.wall_s, 4), "cpu_s": round(s.cpu_s, 4),
                 "rows_per_s": None if s.rows_per_s is None else round(s.rows_per_s, 1)}
                for s in self.stages
            ],
        }
