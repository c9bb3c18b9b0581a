"""Parity with Apache Spark (local mode): the same summary and the same analyst files give the
same outputs, value for value, as the embedded DuckDB engine.

Marked `spark`: the default test run deselects them; `pytest -m spark` runs them (needs
`pip install 'dqs[spark]'` and Java 17). One Spark session is shared by the whole run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from conftest import run_dqs
from dqs.engine.summary.analyst import examples_dir
from dqs.engine.generate import GenerateOptions, generate_log, write_rules
from dqs.engine.summary.summarize import SummarizeOptions, summarize

pytestmark = pytest.mark.spark
pyspark = pytest.importorskip("pyspark")

GOLDEN = Path(__file__).parent / "golden"
COMPARED = ["full_summary.csv", "nl_all_rows.txt", "rejects.csv"]
REPORT_FIELDS = ["rows_read", "rows_accepted", "rows_rejected", "rows_unknown_status", "rows_after_as_of",
                 "rows_pass", "rows_fail", "groups", "unknown_rule_codes", "reference_date", "input_files"]


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("dqs-tests")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "1").config("spark.sql.session.timeZone", "UTC")
               .getOrCreate())
    yield session
    session.stop()


def _both(spark, tmp: Path, **options) -> tuple[Path, Path, dict, dict]:
    outs = {}
    reports = {}
    for engine in ("duckdb", "spark"):
        out = tmp / engine
        reports[engine] = summarize(SummarizeOptions(output_dir=out, engine=engine, **options)).as_dict()
        outs[engine] = out
    return outs["duckdb"], outs["spark"], reports["duckdb"], reports["spark"]


def _assert_same(duck: Path, spark_out: Path, report_duck: dict, report_spark: dict) -> None:
    names = sorted(p.name for p in duck.iterdir() if p.name != "run_report.json")
    assert names == sorted(p.name for p in spark_out.iterdir() if p.name != "run_report.json")
    for name in names:
        if name.endswith(".parquet"):
            left, right = pl.read_parquet(duck / name), pl.read_parquet(spark_out / name)
            assert left.columns == right.columns, name
            assert left.cast({c: right.schema[c] for c in left.columns}).equals(right), name
        else:
            assert (duck / name).read_bytes() == (spark_out / name).read_bytes(), name
    for field in REPORT_FIELDS:
        assert report_duck[field] == report_spark[field], field
    assert report_spark["engine"] == "spark"


@pytest.mark.parametrize("case", ["contract", "as_of"])
def test_golden_cases_match(spark, tmp_path: Path, case: str) -> None:
    """Window boundaries, ties, statuses in every spelling and rejects of every kind."""
    folder = GOLDEN / case
    as_of = None
    if "--as-of" in (folder / "args").read_text():
        from datetime import date

        args = (folder / "args").read_text().split()
        as_of = date.fromisoformat(args[args.index("--as-of") + 1])
    duck, spark_out, rd, rs = _both(spark, tmp_path, input=str(folder / "input.csv"), rules=folder / "rules.json",
                                    as_of=as_of, sql_dirs=(examples_dir(),))
    _assert_same(duck, spark_out, rd, rs)
    for expected in (folder / "expected").iterdir():
        if expected.name != "rejects.csv":  # it names the input by the path it was given
            assert (spark_out / expected.name).read_bytes() == expected.read_bytes(), expected.name


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("spark-log")
    generate_log(GenerateOptions(rows=60_000, output=tmp / "log.csv", seed=21, malformed_share=0.02))
    write_rules(tmp / "rules.json")
    return tmp


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_generated_log_with_bad_rows_matches(spark, generated: Path, tmp_path: Path, fmt: str) -> None:
    log = generated / "log.csv"
    if fmt == "parquet":
        log = tmp_path / "log.parquet"
        pl.read_csv(generated / "log.csv", infer_schema=False).write_parquet(log)
    duck, spark_out, rd, rs = _both(spark, tmp_path, input=str(log), rules=generated / "rules.json",
                                    sql_dirs=(examples_dir(),), params={"min_flips": "2"})
    assert rd["rows_rejected"] > 0 and rd["rows_unknown_status"] > 0
    _assert_same(duck, spark_out, rd, rs)


def test_results_with_extra_columns_match(spark, tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    shutil.copy(GOLDEN / "contract" / "input.csv", log)
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "all_rows.sql").write_text("-- every accepted row\nSELECT * FROM results ORDER BY input_file, input_line\n")
    (sql / "per_day.sql").write_text("SELECT * FROM daily ORDER BY dataset_uuid, rule_code, business_date\n")
    duck, spark_out, rd, rs = _both(spark, tmp_path, input=str(log), sql_dirs=(sql,))
    _assert_same(duck, spark_out, rd, rs)
    assert pl.read_parquet(spark_out / "all_rows.parquet").height == rd["rows_accepted"]


def test_duckdb_only_construct_is_refused_before_running(spark, tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "chart.sql").write_text("-- a bar chart\nSELECT rule_code,\n  bar(fail_count_total, 0, 100) AS c\nFROM summary\n")
    out = tmp_path / "out"
    result = run_dqs("summarize", GOLDEN / "contract" / "input.csv", "-o", out, "--engine", "spark", "--sql-dir", sql)
    assert result.returncode == 2, result.stderr
    assert "chart.sql:3:3" in result.stderr and "bar()" in result.stderr


def test_a_wrong_guess_of_the_reference_date_is_corrected(spark, generated: Path, tmp_path: Path) -> None:
    """Newest rows first: the tail of the file suggests an old R, so both engines read twice."""
    log = tmp_path / "newest_first.csv"
    pl.read_csv(generated / "log.csv", infer_schema=False).reverse().write_csv(log)
    duck, spark_out, rd, rs = _both(spark, tmp_path, input=str(log), rules=generated / "rules.json")
    assert rd["input_passes"] == rs["input_passes"] == 2
    _assert_same(duck, spark_out, rd, rs)


def test_a_directory_of_files_matches(spark, generated: Path, tmp_path: Path) -> None:
    """Several files: file order and per-file line numbers (rejects, latest-row ties) agree."""
    frame = pl.read_csv(generated / "log.csv", infer_schema=False)
    folder = tmp_path / "logs"
    folder.mkdir()
    third = frame.height // 3
    for index, start in enumerate((0, third, 2 * third)):
        part = frame.slice(start, third if index < 2 else frame.height - start)
        part.write_csv(folder / f"part-{2 - index}.csv")  # sorted path order is not write order
    duck, spark_out, rd, rs = _both(spark, tmp_path, input=str(folder), rules=generated / "rules.json")
    assert len(rd["input_files"]) == 3 and rd["rows_rejected"] > 0
    _assert_same(duck, spark_out, rd, rs)


def test_a_store_summarized_on_spark_matches(spark, generated: Path, tmp_path: Path) -> None:
    """`--engine spark --store`: Spark folds the store's daily files of one version; the outputs
    equal the embedded engine's from the same store, with and without --as-of."""
    from datetime import date

    from dqs.engine.store.ingest import IngestOptions, ingest

    frame = pl.read_csv(generated / "log.csv", infer_schema=False)
    folder = tmp_path / "logs"
    folder.mkdir()
    half = frame.height // 2
    frame.slice(0, half).write_csv(folder / "a.csv")
    frame.slice(half).write_csv(folder / "b.csv")
    store = tmp_path / "store"
    for name in ("a.csv", "b.csv"):
        ingest(IngestOptions(inputs=(str(folder / name),), store=store))
    for as_of in (None, date(2026, 1, 15)):
        duck, spark_out, rd, rs = _both(spark, tmp_path / str(as_of), input=None, store=store,
                                        rules=generated / "rules.json", as_of=as_of)
        assert rd["rows_rejected"] > 0
        _assert_same(duck, spark_out, rd, rs)
        assert rs["store"]["version"] == 2


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_imported_results_with_unknown_counts_match(spark, tmp_path: Path, fmt: str) -> None:
    """Rows written by `dqs import` (real dbt and Soda files) leave counts empty: both engines
    accept them, read the counts as unknown, and reject a raw row with an empty count."""
    interop = Path(__file__).parent / "interop"
    runs = sorted(str(p) for p in (interop / "dbt" / "v6").glob("day*/run_results.json"))
    logs = tmp_path / "logs"
    logs.mkdir()
    assert run_dqs("import", "dbt", *runs, "--manifest", str(interop / "dbt/v6/day3/manifest.json"),
                   "-o", str(logs / f"a-dbt.{fmt}")).returncode == 0
    assert run_dqs("import", "soda", str(interop / "soda" / "v3"), "-o", str(logs / f"b-soda.{fmt}")).returncode == 0
    if fmt == "csv":
        with (logs / "c-raw.csv").open("w") as fh:
            fh.write("source,tenant_id,dataset_uuid,dataset_name,rule_code,business_date,results,"
                     "level_of_execution,attribute_name,dataset_record_count,filtered_record_count\n")
            fh.write('s,t,u,n,r,2026-11-03,"{""result"":""pass""}",DATASET,,,\n')
    duck, spark_out, rd, rs = _both(spark, tmp_path, input=str(logs))
    _assert_same(duck, spark_out, rd, rs)
    assert rd["rows_rejected"] == (1 if fmt == "csv" else 0)
