"""The SQL summary against the pure-Python reference of SPEC §4, on random logs."""

from __future__ import annotations

import json
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import read_csv, write_log
from dqs.engine.summary.summarize import SummarizeOptions, summarize
from reference import SUMMARY_COLUMNS, csv_cell, sentence
from reference import summarize as reference_summarize

BASE = date(2024, 6, 30)
OFFSETS = [0, 0, -1, -29, -30, -31, -89, -90, -91, -364, -365, -366, -400]

texts = lambda values: st.sampled_from(values)  # noqa: E731

row = st.fixed_dictionaries(
    {
        "source": texts(["s1", "s2", " s1 ", "s1\t", "", "ß", "s,1"]),
        "tenant_id": texts(["t1", "t2", "T1", "  "]),
        "dataset_uuid": texts(["u1", "u2", "u-ü"]),
        "dataset_name": texts(["orders", "Orders", 'n "q"', "a,b", "line\nbreak", "tab\there"]),
        "rule_code": texts(["101", "007", "7", "R7", " 101 ", "r7"]),
        "business_date": st.one_of(
            st.builds(lambda o: (BASE + timedelta(days=o)).isoformat(), st.sampled_from(OFFSETS) | st.integers(-420, 0)),
            st.builds(lambda o, t: (BASE + timedelta(days=o)).isoformat() + t,
                      st.sampled_from(OFFSETS), texts(["T08:00:00", " 23:59", "T"])),
            texts(["", "2024-02-30", "2024-1-1", "30/06/2024", "2024-06-31", " 2024-06-01 ", "0000-01-01",
                   "2024-06-30x", "2024-06-30 ", "2024-06-30\t", "+024-06-30", "02024-6-30", "2024-06-3"]),
        ),
        "results": texts([
            '{"result": "pass"}', '{"result": "fail"}', '{"result": "PASS"}', '{"result": " Fail "}',
            '{"status": "pass"}', '{"status": "FAIL"}', '{"result": 1, "status": "pass"}',
            '{"result": "pass", "status": "fail"}', '{"result": null, "status": "fail"}',
            '{"result": "error"}', "pass", "", "[1,2]", '"pass"', "{bad json", '{"result": "pa ss"}',
            '{"result": "\\u0070ass"}', '{"other": "pass"}', "null",
            # rows written by `dqs import` (their counts may be empty) and look-alikes that are not
            '{"importer":"dbt","result":"pass"}', ' {"importer":"gx","result":"fail"}', '{"importer":"soda"}',
            '{"importer": "dbt","result":"pass"}', '{"result":"fail","importer":"dbt"}',
        ]),
        "level_of_execution": texts(["DATASET", "ATTRIBUTE", "", " x "]),
        "attribute_name": texts(["", "col"]),
        "dataset_record_count": texts(["10", "10.0", "10.", "0", "007", "12.5", "-3", "1e3", "", " 5 ", "99999999999999999999",
                                       "+5", "-0", "5.0.0", ".0", "0.0", "9223372036854775807", "9223372036854775808.0"]),
        "filtered_record_count": texts(["3", "3.00", "0", "x", ""]),
    }
)

RULES = {
    "101": {"rule_name": "Row count", "rule_type": "volume", "dimension": "Completeness",
            "rule_description": "rows > 0", "category": "C1"},
    "7": {"rule_name": "Seven,\nnew line", "rule_type": "validity", "dimension": "Validity",
          "rule_description": "d", "category": 3},
}


@settings(max_examples=int(__import__("os").environ.get("DQS_PROPERTY_EXAMPLES", 60)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, max_size=40), as_of=st.none() | st.sampled_from([BASE, BASE - timedelta(days=45)]),
       with_rules=st.booleans())
def test_summary_matches_reference(tmp_path_factory, rows, as_of, with_rules):
    tmp = tmp_path_factory.mktemp("prop")
    log = write_log(tmp / "log.csv", rows)
    rules = None
    if with_rules:
        rules = tmp / "rules.json"
        rules.write_text(json.dumps(RULES), encoding="utf-8")
    out = tmp / "out"
    report = summarize(SummarizeOptions(input=str(log), output_dir=out, rules=rules, as_of=as_of, threads=2))

    expected, rejects, counts = reference_summarize(rows, RULES if with_rules else None, as_of)

    got = read_csv(out / "full_summary.csv")
    assert got[0] == SUMMARY_COLUMNS
    assert got[1:] == [[csv_cell(r[c]) for c in SUMMARY_COLUMNS] for r in expected]

    lines = (out / "nl_all_rows.txt").read_text(encoding="utf-8")
    assert lines == "".join(sentence(r) + "\n" for r in expected)

    got_rejects = [(int(r[1]), r[2]) for r in read_csv(out / "rejects.csv")[1:]]
    assert got_rejects == rejects
    assert report.rows_read == counts["rows_read"]
    assert report.rows_accepted == counts["rows_accepted"]
    assert report.rows_rejected == counts["rows_rejected"]
    assert report.rows_accepted + report.rows_rejected == report.rows_read
    assert report.rows_unknown_status == counts["rows_unknown_status"]
    ref = counts["reference_date"]
    assert report.reference_date == (None if ref is None else ref.isoformat())
