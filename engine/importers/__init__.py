"""Importers: the result files of dbt, Great Expectations, Soda and Elementary as rows of the
results log (SPEC §2, §11). `convert` holds the shared steps, one module per format the rest."""
