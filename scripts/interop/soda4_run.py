"""Verify the Soda v4 contract locally for one simulated day and save the
results as the JSON body Soda Core would send to Soda Cloud.

Usage: python soda4_run.py DATA_SOURCE_YML CONTRACT_YML OUT_JSON STATS_JSON

Soda Core 4.x has no option to write a local results file (`soda contract
verify` prints a table, or publishes to Soda Cloud). This script runs the
same local verification through the public API (verify_contract_locally)
and then serializes the result with soda-core's own Soda Cloud payload
builder (soda_core.common.soda_cloud._build_check_collection_results_json_dict,
type "sodaCoreInsertScanResults"), the way SodaCloud._execute_cqrs_request
renders the body (json.dumps(to_jsonnable(body), indent=2)), without the
token. Nothing is sent anywhere. A private function: it may move between
releases.

STATS_JSON holds the outcome counts as the in-memory result objects report
them (CheckResult.outcome), not as read back from OUT_JSON.
"""
import json
import sys
from collections import Counter

from soda_core.__version__ import SODA_CORE_VERSION
from soda_core.common import soda_cloud
from soda_core.contracts import verify_contract_locally


def main() -> int:
    ds_yml, contract_yml, out_json, stats_json = sys.argv[1:5]
    session = verify_contract_locally(data_source_file_path=ds_yml, contract_file_path=contract_yml)
    results = session.contract_verification_results
    payload = soda_cloud._build_check_collection_results_json_dict(results=results)
    payload["type"] = "sodaCoreInsertScanResults"
    with open(out_json, "w") as f:
        f.write(json.dumps(soda_cloud.to_jsonnable(payload), indent=2))
    outcomes = Counter()
    for r in results:
        for cr in r.check_results:
            outcomes[cr.outcome.name.lower()] += 1
    stats = {
        "tool": f"soda-core {SODA_CORE_VERSION}",
        "outcomes": dict(sorted(outcomes.items())),
        "total": sum(outcomes.values()),
    }
    with open(stats_json, "w") as f:
        json.dump(stats, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
