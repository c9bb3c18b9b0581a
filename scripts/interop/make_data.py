"""Write the small dataset for one simulated day as CSV files (stdlib only).

Usage: python make_data.py DAY OUTDIR      (DAY is 1, 2 or 3)

Writes OUTDIR/raw_customers.csv and OUTDIR/raw_orders.csv. The data changes
between days so that the tests of dbt, Great Expectations and Soda flip
between pass, warn and fail:

  day 1: one customer without email, one negative order amount
  day 2: a duplicated customer_id, one unknown country, an order whose
         customer does not exist, an amount_text that is not a number
  day 3: one customer without email, three unknown countries, an order
         with status 'lost'

Every tool reads these same CSV files (each loads them into its own
DuckDB database or dataframe), so no database file is shared between
tools pinned to different duckdb versions.
"""
import csv
import os
import sys

CUSTOMERS = {
    1: [
        (1, "Ann", "ann@example.com", "US"),
        (2, "Bob", "", "DE"),
        (3, "Cid", "cid@example.com", "FR"),
        (4, "Dee", "dee@example.com", "US"),
        (5, "Eve", "eve@example.com", "DE"),
    ],
    2: [
        (1, "Ann", "ann@example.com", "US"),
        (2, "Bob", "bob@example.com", "DE"),
        (3, "Cid", "cid@example.com", "FR"),
        (4, "Dee", "dee@example.com", "XX"),
        (5, "Eve", "eve@example.com", "DE"),
        (5, "Eve", "eve2@example.com", "DE"),
    ],
    3: [
        (1, "Ann", "ann@example.com", "US"),
        (2, "Bob", "bob@example.com", "BR"),
        (3, "Cid", "cid@example.com", "JP"),
        (4, "Dee", "dee@example.com", "XX"),
        (5, "Eve", "eve@example.com", "DE"),
        (6, "Fay", "", "FR"),
    ],
}

# order_id, customer_id, amount, amount_text, status
ORDERS = {
    1: [
        (101, 1, 20, "20", "placed"),
        (102, 2, 35, "35", "shipped"),
        (103, 3, -5, "-5", "returned"),
        (104, 4, 12, "12", "shipped"),
    ],
    2: [
        (101, 1, 20, "20", "shipped"),
        (102, 2, 35, "35", "shipped"),
        (103, 3, 5, "5", "returned"),
        (104, 4, 12, "12", "shipped"),
        (105, 9, 40, "n/a", "placed"),
    ],
    3: [
        (101, 1, 20, "20", "shipped"),
        (102, 2, 35, "35", "shipped"),
        (103, 3, 5, "5", "returned"),
        (104, 4, 12, "12", "lost"),
        (105, 5, 40, "40", "placed"),
        (106, 6, 18, "18", "placed"),
    ],
}


def main() -> int:
    day = int(sys.argv[1])
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    date = f"2026-11-0{day}"
    with open(os.path.join(out, "raw_customers.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["customer_id", "name", "email", "country"])
        w.writerows(CUSTOMERS[day])
    with open(os.path.join(out, "raw_orders.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["order_id", "customer_id", "amount", "amount_text", "status", "order_date"])
        for row in ORDERS[day]:
            w.writerow([*row, date])
    return 0


if __name__ == "__main__":
    sys.exit(main())
