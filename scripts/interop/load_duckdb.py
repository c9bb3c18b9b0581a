"""Load one day's CSV files (from make_data.py) into a DuckDB database file.

Usage: python load_duckdb.py CSVDIR DBFILE

Run with the interpreter of the tool's own environment, so the database file
is written by the duckdb version that tool reads (Soda Core v3 pins duckdb<1.1).
The tables are replaced each time.
"""
import os
import sys

import duckdb


def main() -> int:
    csv_dir, db_file = sys.argv[1], sys.argv[2]
    con = duckdb.connect(db_file)
    con.execute(
        "create or replace table customers as select * from read_csv(?, header=true, columns={"
        "'customer_id': 'INTEGER', 'name': 'VARCHAR', 'email': 'VARCHAR', 'country': 'VARCHAR'})",
        [os.path.join(csv_dir, "raw_customers.csv")],
    )
    con.execute(
        "create or replace table orders as select * from read_csv(?, header=true, columns={"
        "'order_id': 'INTEGER', 'customer_id': 'INTEGER', 'amount': 'INTEGER', "
        "'amount_text': 'VARCHAR', 'status': 'VARCHAR', 'order_date': 'DATE'})",
        [os.path.join(csv_dir, "raw_orders.csv")],
    )
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
