-- Per tenant and rule dimension: groups, passes, fails and fail rates, overall and last month.
-- Groups whose rule has no metadata are rolled up under the dimension '(unknown)'.
SELECT
    tenant_id,
    coalesce(dimension, '(unknown)') AS dimension,
    count(*) AS groups,
    CAST(sum(pass_count_total) AS BIGINT) AS pass_count_total,
    CAST(sum(fail_count_total) AS BIGINT) AS fail_count_total,
    CASE WHEN sum(pass_count_total + fail_count_total) = 0 THEN CAST(0 AS DOUBLE)
         ELSE CAST(sum(fail_count_total) AS DOUBLE) / CAST(sum(pass_count_total + fail_count_total) AS DOUBLE)
    END AS fail_rate_total,
    CAST(sum(pass_count_1m) AS BIGINT) AS pass_count_1m,
    CAST(sum(fail_count_1m) AS BIGINT) AS fail_count_1m,
    CASE WHEN sum(pass_count_1m + fail_count_1m) = 0 THEN CAST(0 AS DOUBLE)
         ELSE CAST(sum(fail_count_1m) AS DOUBLE) / CAST(sum(pass_count_1m + fail_count_1m) AS DOUBLE)
    END AS fail_rate_1m,
    count(*) FILTER (WHERE trend_flag = 'up') AS groups_trending_up
FROM summary
GROUP BY tenant_id, coalesce(dimension, '(unknown)')
ORDER BY tenant_id, dimension
