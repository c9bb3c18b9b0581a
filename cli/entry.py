"""The `dqs` console script. Importing the CLI takes a moment; Ctrl-C during that moment still
ends with the documented message and exit code, not a traceback."""

from __future__ import annotations

import os
import sys

# Polars' allocator (jemalloc) keeps freed pages for 10 s by default, so memory its CSV staging
# freed still counted against the process while DuckDB ran the rest of a summary. Handing pages
# back after 50 ms, from jemalloc's own background thread, keeps the peak near the larger of the
# two instead of their sum (0 ms cost a third more time; 200 ms left some runs above 512 MB on
# 10M rows under 256MB). Read once, when Polars loads; a value set by the user wins.
POLARS_ALLOCATOR = ("_RJEM_MALLOC_CONF", "background_thread:true,dirty_decay_ms:50,muzzy_decay_ms:50")
# NumPy (loaded by pyarrow in every run) starts OpenBLAS worker threads that spin at import and
# compete with DuckDB for the cores; dqs does no linear algebra (0.06-0.1 s of CPU per run).
OPENBLAS_THREADS = ("OPENBLAS_NUM_THREADS", "1")


def main() -> None:
    os.environ.setdefault(*POLARS_ALLOCATOR)
    os.environ.setdefault(*OPENBLAS_THREADS)
    try:
        from dqs.cli.app import main as run
    except KeyboardInterrupt:
        sys.stderr.write("dqs: error: interrupted\n")
        sys.exit(130)
    run()
