"""`dqs import FORMAT FILE... --output LOG`: a tool's result files as a results log. One
subcommand per format, so that `dqs import FORMAT --help` shows that format's mapping."""

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from dqs.engine import InputError

from . import render

MAPPINGS = {
    "dbt": """Read dbt's target/run_results.json (artifact schemas v1-v6; dbt 0.19 to 1.10+), with
    --manifest manifest.json (v4-v12) to name what each test tests.

    \b
    Only executed test nodes become rows; models, seeds, snapshots, hooks, unit tests and the
    `success` that dbt compile / docs generate write on test nodes are left out and counted.
    \b
    source        --source, else "dbt"
    tenant_id     --tenant, else the dbt project (unique_id's second part)
    dataset_uuid  the tested model or source's unique_id (manifest attached_node, else its first
                  depends_on node); without a manifest, the test's own unique_id
    dataset_name  that model's name (sources: source_name.name); else the test's name
    rule_code     the test's unique_id (rules file: --rules-output)
    business_date the test's execute step completed_at, else metadata.generated_at, cut in --timezone
    status        pass, fail as they are; warn -> fail (--warn-as); error, skipped, runtime error -> unknown
    record counts unknown (empty); failures, message, severity, test id, invocation id go in results
    level         ATTRIBUTE with the test's column (attribute_name), else DATASET""",
    "gx": """Read Great Expectations validation results (0.x and 1.x key names): a suite validation
    result (ExpectationSuiteValidationResult.to_json_dict()), a checkpoint or 0.x validation
    operator result (run_results), a 1.x checkpoint description (describe_dict), or a validations
    store folder (searched recursively for *.json).

    \b
    source        --source, else "gx"
    tenant_id     --tenant, else the batch's datasource name
    dataset_uuid  datasource.data_asset (meta.active_batch_definition; 0.x batch_kwargs)
    dataset_name  the data asset's name (else the suite's)
    rule_code     suite/expectation_type/column (column left out for table expectations)
    business_date meta.run_id.run_time (else validation_time), cut in --timezone
    status        success -> pass, failure -> fail; a result that raised an exception -> unknown
    record counts dataset_record_count = element_count, filtered_record_count = element_count -
                  missing_count (column-map expectations); aggregate ones: unknown (empty);
                  unexpected_count, observed_value, severity go in results""",
    "soda": """Read Soda Core scan results: v3 files of `soda scan ... -srf results.json`, and v4
    scan results (the body `soda contract verify --publish` sends).

    \b
    One row per check in checks[]. Soda v3 leaves a check it could not evaluate out of that
    list; dqs takes it from the scan summary in the file's logs (unknown status). A scan that
    aborted lists no check at all: it is counted in the report.
    \b
    source        --source, else "soda"
    tenant_id     --tenant, else the check's data source
    dataset_uuid  datasource[.prefix].table
    dataset_name  the table
    rule_code     v4: the check's checkPath; v3: its name (its YAML text, e.g. "row_count > 0")
    business_date scanStartTimestamp, cut in --timezone
    status        pass, fail as they are; warn -> fail (--warn-as); unevaluated, not evaluated -> unknown
    record counts v4: datasetRowsTested / checkRowsTested; v3: the table's row_count metric when
                  the scan computed one, else unknown (empty); value, failing rows, outcome
                  reasons and the check's identity go in results""",
    "elementary": """Read Elementary's test results: an export of the elementary_test_results table
    (CSV or Parquet, the table's own column names).

    \b
    source        --source, else "elementary"
    tenant_id     --tenant, else database_name
    dataset_uuid  model_unique_id (else database.schema.table)
    dataset_name  table_name
    rule_code     test_unique_id
    business_date detected_at (UTC unless it says otherwise), cut in --timezone
    status        pass, fail as they are; warn -> fail (--warn-as); error, skipped, others -> unknown
    record counts unknown (empty); failed_row_count (-1: not computed), severity, test type and
                  the result description go in results""",
}

import_app = typer.Typer(
    help="Turn the result files of dbt, Great Expectations, Soda or Elementary into a results log "
    "(SPEC §2). `dqs import FORMAT --help` shows how each field is mapped.",
    no_args_is_help=True,
)


def _import(format: str, files: list[str], output: Path, rules_output: Optional[Path], options: dict[str, Any],
            quiet: bool) -> None:
    from dqs.engine.database import Database
    from dqs.engine.importers.convert import import_results

    if not output.name.lower().endswith((".csv", ".parquet", ".pq")):
        raise InputError(f"--output {output} is not a .csv or .parquet file name", hint="e.g. --output results.csv")
    db = Database(memory_limit=options.pop("memory_limit"))
    try:
        imported = import_results(import_options(format, files, **options), db)
        imported.write_log(output)
        if rules_output is not None:
            imported.write_rules(rules_output)
    finally:
        db.close()
    if not quiet:
        render.import_report(imported.report.as_dict())


def import_options(format: str, files: list[str] | tuple[str, ...], *, manifest: Optional[Path], source: Optional[str],
                   tenant: Optional[str], business_date: Optional[str], timezone: str, warn_as: str):
    from datetime import date

    from dqs.engine.importers.convert import ImportOptions

    day = None
    if business_date is not None:
        try:
            day = date.fromisoformat(business_date.strip())
        except ValueError:
            raise InputError(f"--business-date {business_date!r} is not a date", hint="write dates as YYYY-MM-DD") from None
    return ImportOptions(format=format, inputs=tuple(files), manifest=manifest, source=source, tenant=tenant,
                         business_date=day, timezone=timezone, warn_as=warn_as)


def _command(format: str):
    def command(
        files: Annotated[list[str], typer.Argument(help="Result files, directories (searched recursively) or globs.")],
        output: Annotated[Path, typer.Option("--output", "-o", help="The results log to write: LOG.csv or LOG.parquet.")] = ...,  # type: ignore[assignment]
        manifest: Annotated[Optional[Path], typer.Option(help="dbt only: the manifest.json that names what each test tests.")] = None,
        source: Annotated[Optional[str], typer.Option(help="The source column for every row (default: see the mapping).")] = None,
        tenant: Annotated[Optional[str], typer.Option(help="The tenant_id column for every row (default: see the mapping).")] = None,
        business_date: Annotated[Optional[str], typer.Option(help="The business_date of every row, YYYY-MM-DD (default: the execution date).")] = None,
        timezone: Annotated[str, typer.Option(help="Time zone that cuts execution times into dates (IANA name).")] = "UTC",
        warn_as: Annotated[str, typer.Option(help="What a warning counts as: fail, pass or unknown.")] = "fail",
        rules_output: Annotated[Optional[Path], typer.Option(help="Also write a rules metadata JSON from what the tool describes.")] = None,
        memory_limit: Annotated[Optional[str], typer.Option(help="DuckDB memory ceiling (default: $DQS_MEMORY_LIMIT or 1GB).")] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No end-of-run summary.")] = False,
    ) -> None:
        _import(format, files, output, rules_output,
                {"manifest": manifest, "source": source, "tenant": tenant, "business_date": business_date,
                 "timezone": timezone, "warn_as": warn_as, "memory_limit": memory_limit}, quiet)

    command.__doc__ = MAPPINGS[format]
    return command


for _format in MAPPINGS:
    import_app.command(_format)(_command(_format))
