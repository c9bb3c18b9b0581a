"""Inputs: the files behind an INPUT argument (sources), the rules file (rules), and the readers
that hand their rows, numbered and checked, to DuckDB (scan, csv_stage)."""
