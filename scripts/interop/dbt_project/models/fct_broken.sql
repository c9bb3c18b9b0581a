-- Always errors: the column does not exist. Its test is skipped by dbt build.
select order_id, column_that_does_not_exist
from {{ ref('raw_orders') }}
