"""The generator: exact size, deterministic for a seed, realistic structure, truth file."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from dqs.engine.generate import GenerateOptions, generate_log
from dqs.engine.summary.summarize import SummarizeOptions, summarize


def test_same_seed_same_bytes_and_exact_row_count(tmp_path: Path) -> None:
    a, b, c = (tmp_path / n for n in ("a.csv", "b.csv", "c.csv"))
    generate_log(GenerateOptions(rows=5000, output=a, seed=11))
    generate_log(GenerateOptions(rows=5000, output=b, seed=11))
    generate_log(GenerateOptions(rows=5000, output=c, seed=12))
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert pl.read_csv(a, infer_schema=False).height == 5000


def test_structure_and_truth(tmp_path: Path) -> None:
    log, truth = tmp_path / "log.parquet", tmp_path / "truth.parquet"
    stats = generate_log(GenerateOptions(rows=60000, output=log, seed=1, format="parquet", truth=truth))
    frame = pl.read_parquet(log)
    assert frame.height == 60000
    assert frame["tenant_id"].n_unique() >= 2 and frame["rule_code"].n_unique() > 10
    assert frame.select(pl.struct("dataset_uuid", "rule_code").n_unique()).item() == stats.series
    runs = frame.group_by("dataset_uuid", "rule_code", "business_date").len()
    assert runs["len"].max() > 1  # several runs a day happen
    statuses = frame["results"].value_counts()
    assert statuses.height > 5  # pass/fail/unknown texts in several spellings
    t = pl.read_parquet(truth)
    assert t.columns == ["dataset_uuid", "rule_code", "business_date", "true_pass_percentage"]
    assert t["true_pass_percentage"].min() >= 0 and t["true_pass_percentage"].max() <= 100
    # every observed series-day has a true probability
    joined = frame.select("dataset_uuid", "rule_code", "business_date").unique().join(
        t, on=["dataset_uuid", "rule_code", "business_date"], how="left")
    assert joined["true_pass_percentage"].null_count() == 0


def test_malformed_share_is_rejected_in_about_that_share(tmp_path: Path) -> None:
    log = tmp_path / "bad.csv"
    generate_log(GenerateOptions(rows=20000, output=log, seed=2, malformed_share=0.05))
    report = summarize(SummarizeOptions(input=str(log), output_dir=tmp_path / "out"))
    assert report.rows_read == 20000
    assert 0.04 < report.rows_rejected / report.rows_read < 0.06
    assert report.rows_unknown_status > 0


def test_zero_rows_gives_a_header_only_file(tmp_path: Path) -> None:
    log = tmp_path / "none.csv"
    generate_log(GenerateOptions(rows=0, output=log))
    assert log.read_text().count("\n") == 1
