"""The `dqs` console script. Importing the CLI takes a moment; Ctrl-C during that moment still
ends with the documented message and exit code, not a traceback."""

from __future__ import annotations

import os
import sys

# Polars' allocator (jemalloc) keeps freed pages for 10 s by default, so memory its CSV staging
# freed still counted against the process while DuckDB ran the rest of a summary. Handing pages
# back after 0.2 s, from jemalloc's own background thread, keeps the peak near the larger of the
# two instead of their sum. Read once, when Polars loads; a value set by the user wins.
POLARS_ALLOCATOR = ("_RJEM_MALLOC_CONF", "background_thread:true,dirty_decay_ms:200,muzzy_decay_ms:200")


def main() -> None:
    os.environ.setdefault(*POLARS_ALLOCATOR)
    try:
        from dqs.cli.app import main as run
    except KeyboardInterrupt:
        sys.stderr.write("dqs: error: interrupted\n")
        sys.exit(130)
    run()
