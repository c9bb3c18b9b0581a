"""dqs benchmarks: the real CLI in fresh subprocesses, timed against a DuckDB floor measured in
the same run, with peak RSS from the kernel and memory ceilings as assertions."""
