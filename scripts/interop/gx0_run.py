"""Run one simulated day of Great Expectations 0.18 validation.

Usage: python gx0_run.py PROJECT_DIR CSV_DIR DAY OUT_JSON CHECKPOINT_JSON STATS_JSON

Same suite as gx1_run.py, in the 0.x API: a file data context in
PROJECT_DIR/gx (created on first use), a fluent pandas dataframe asset, a
checkpoint run with run_name "dayDAY" and run_time DAY 06:00 UTC. Writes:

  OUT_JSON         ExpectationSuiteValidationResult.to_json_dict()
  CHECKPOINT_JSON  CheckpointResult.to_json_dict() (wraps the suite result
                   under its ValidationResultIdentifier key)
  STATS_JSON       what GX itself reported (result.statistics, success),
                   read from the in-memory result objects

The validations store (PROJECT_DIR/gx/uncommitted/validations) is GX's own.
"""
import datetime
import json
import os
import sys

import great_expectations as gx
import pandas as pd
from great_expectations.core.expectation_configuration import ExpectationConfiguration
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context import FileDataContext

SUITE = "customers_suite"
EXPECTATIONS = [
    ("expect_column_values_to_not_be_null", {"column": "customer_id"}, {}),
    ("expect_column_values_to_be_unique", {"column": "customer_id"}, {}),
    ("expect_column_values_to_not_be_null", {"column": "email"}, {}),  # 0.x has no severity
    ("expect_column_values_to_be_in_set",
     {"column": "country", "value_set": ["US", "DE", "FR"], "mostly": 0.8}, {}),
    ("expect_table_row_count_to_be_between", {"min_value": 5, "max_value": 6}, {}),
    # The column does not exist: this expectation raises (exception_info).
    ("expect_column_values_to_not_be_null", {"column": "no_such_column"}, {}),
]


def main() -> int:
    project, csv_dir, day, out_json, cp_json, stats_json = sys.argv[1:7]
    day = int(day)
    if not os.path.isdir(os.path.join(project, "gx")):
        FileDataContext.create(project)
    ctx = gx.get_context(context_root_dir=os.path.join(project, "gx"))
    ds = ctx.sources.add_or_update_pandas("dqs_pandas")
    asset = ds.add_dataframe_asset("customers")
    df = pd.read_csv(f"{csv_dir}/raw_customers.csv")
    br = asset.build_batch_request(dataframe=df)
    suite = ctx.add_or_update_expectation_suite(SUITE)
    for etype, kwargs, meta in EXPECTATIONS:
        suite.add_expectation(ExpectationConfiguration(expectation_type=etype, kwargs=kwargs, meta=meta))
    ctx.save_expectation_suite(suite)
    cp = ctx.add_or_update_checkpoint(
        name="customers_checkpoint",
        validations=[{"batch_request": br, "expectation_suite_name": SUITE}],
    )
    run_time = datetime.datetime(2026, 11, day, 6, 0, 0, tzinfo=datetime.timezone.utc)
    res = cp.run(run_id=RunIdentifier(run_name=f"day{day}", run_time=run_time))
    (key, run_result), = res.run_results.items()
    vr = run_result["validation_result"]
    with open(out_json, "w") as f:
        f.write(json.dumps(vr.to_json_dict()))
    with open(cp_json, "w") as f:
        f.write(json.dumps(res.to_json_dict()))
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
