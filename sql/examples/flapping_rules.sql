-- Flapping rules: series whose daily outcome keeps alternating between pass and fail.
-- A day's outcome is 'fail' when the series had a failing run that day, else 'pass' when it had
-- a passing one (days with unknown statuses only are skipped). Over the $days days up to the
-- reference date, a flip is a change of outcome from one observed day to the next. Series with
-- at least $min_flips flips are listed, most flips first.
-- param: days = 30
-- param: min_flips = 4
WITH outcomes AS (
    SELECT
        dataset_uuid,
        rule_code,
        business_date,
        CASE WHEN fails > 0 THEN 'fail' ELSE 'pass' END AS outcome
    FROM daily
    WHERE passes + fails > 0
      AND business_date > CAST($reference_date AS DATE) - CAST($days AS INTEGER)
      AND business_date <= CAST($reference_date AS DATE)
),
changes AS (
    SELECT
        *,
        lag(outcome) OVER (PARTITION BY dataset_uuid, rule_code ORDER BY business_date) AS previous
    FROM outcomes
),
per_series AS (
    SELECT
        dataset_uuid,
        rule_code,
        count(*) AS observed_days,
        count(*) FILTER (WHERE outcome = 'fail') AS fail_days,
        count(*) FILTER (WHERE outcome <> previous) AS flips,
        min(business_date) AS first_day,
        max(business_date) AS last_day
    FROM changes
    GROUP BY dataset_uuid, rule_code
)
SELECT
    dataset_uuid,
    rule_code,
    observed_days,
    fail_days,
    flips,
    CASE WHEN observed_days > 1 THEN CAST(flips AS DOUBLE) / CAST(observed_days - 1 AS DOUBLE)
         ELSE CAST(0 AS DOUBLE) END AS flip_rate,
    first_day,
    last_day
FROM per_series
WHERE flips >= CAST($min_flips AS INTEGER)
ORDER BY flips DESC, dataset_uuid, rule_code
