"""Run one simulated day of Great Expectations 1.x validation.

Usage: python gx1_run.py PROJECT_DIR CSV_DIR DAY OUT_JSON STATS_JSON

Uses a file data context in PROJECT_DIR (created on first use) with a pandas
dataframe asset over CSV_DIR/raw_customers.csv and one suite, runs its
checkpoint with run_name "dayDAY" and run_time DAY 06:00 UTC, then writes:

  OUT_JSON    ExpectationSuiteValidationResult.to_json_dict(), as json.dumps wrote it
  STATS_JSON  what GX itself reported for the run (result.statistics, success),
              read from the in-memory result objects, not from OUT_JSON

The validations store of the context (PROJECT_DIR/gx/uncommitted/validations)
is written by GX itself.
"""
import datetime
import json
import sys

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.core.run_identifier import RunIdentifier

SUITE = "customers_suite"


def build_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name=SUITE)
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="customer_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="customer_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="email", severity="warning"))
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeInSet(column="country", value_set=["US", "DE", "FR"], mostly=0.8)
    )
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=5, max_value=6))
    # The column does not exist: this expectation raises (exception_info).
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="no_such_column", severity="info"))
    return suite


def main() -> int:
    project, csv_dir, day, out_json, stats_json = sys.argv[1:6]
    day = int(day)
    ctx = gx.get_context(mode="file", project_root_dir=project)
    ds = ctx.data_sources.add_or_update_pandas("dqs_pandas")
    try:
        asset = ds.get_asset("customers")
    except LookupError:
        asset = ds.add_dataframe_asset("customers")
    try:
        bd = asset.get_batch_definition("whole")
    except KeyError:
        bd = asset.add_batch_definition_whole_dataframe("whole")
    suite = ctx.suites.add_or_update(build_suite())
    vd = ctx.validation_definitions.add_or_update(
        gx.ValidationDefinition(name="customers_validation", data=bd, suite=suite)
    )
    cp = ctx.checkpoints.add_or_update(
        gx.Checkpoint(name="customers_checkpoint", validation_definitions=[vd], actions=[],
                      result_format="SUMMARY")
    )
    df = pd.read_csv(f"{csv_dir}/raw_customers.csv")
    run_time = datetime.datetime(2026, 11, day, 6, 0, 0, tzinfo=datetime.timezone.utc)
    res = cp.run(batch_parameters={"dataframe": df},
                 run_id=RunIdentifier(run_name=f"day{day}", run_time=run_time))
    (key, vr), = res.run_results.items()
    with open(out_json, "w") as f:
        f.write(json.dumps(vr.to_json_dict()))
    stats = {
        "tool": f"great_expectations {gx.__version__}",
        "validation_result_identifier": str(key),
        "checkpoint_success": bool(res.success),
        "success": bool(vr.success),
        "statistics": dict(vr.statistics),
        "exceptions": sum(1 for r in vr.results if r.exception_info.get("raised_exception")
                          or any(isinstance(v, dict) and v.get("raised_exception")
                                 for v in r.exception_info.values())),
    }
    with open(stats_json, "w") as f:
        json.dump(stats, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
