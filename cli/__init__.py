"""dqs command line: a thin typer layer over `dqs.engine`."""
