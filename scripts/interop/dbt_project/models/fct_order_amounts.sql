-- Errors on a day whose amount_text holds something that is not a number.
select order_id, cast(amount_text as integer) as amount_int
from {{ ref('raw_orders') }}
