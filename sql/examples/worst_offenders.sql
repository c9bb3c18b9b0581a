-- Worst offenders: the rules whose fail rate rose most in the last month against the last three.
-- The change is fail_rate_1m - fail_rate_3m, the difference the trend flag is built on. Only
-- groups with at least one pass or fail in the last month are ranked; ties break on the keys.
-- param: top = 20
SELECT
    source,
    tenant_id,
    dataset_uuid,
    dataset_name,
    rule_code,
    rule_name,
    pass_count_1m + fail_count_1m AS decided_1m,
    fail_rate_1m,
    fail_rate_3m,
    fail_rate_1m - fail_rate_3m AS fail_rate_change,
    trend_flag
FROM summary
WHERE pass_count_1m + fail_count_1m > 0
ORDER BY fail_rate_change DESC, source, tenant_id, dataset_uuid, dataset_name, rule_code
LIMIT CAST($top AS INTEGER)
