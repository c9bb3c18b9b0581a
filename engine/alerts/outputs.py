"""What `dqs alerts` writes: alerts.csv / alerts.parquet, at_risk beside it, and one
plain-English sentence per alert (alerts.txt), staged and put in place together."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..summary.outputs import OutputSet, exclusive, prepare_output_dir, remove_stale
from .detect import AlertResult


def _fixed(expr: pl.Expr, decimals: int = 2) -> pl.Expr:
    """A number as text with exactly `decimals` decimals (Polars has no format spec)."""
    scale = 10 ** decimals
    scaled = (expr * scale).round(0).cast(pl.Int64)
    return pl.concat_str(scaled // scale, pl.lit("."), (scaled % scale).cast(pl.String).str.zfill(decimals))


def _scientific(expr: pl.Expr) -> pl.Expr:
    """A probability as text: three decimals from 0.01 up (0.012), else two significant digits (3.4e-7)."""
    exponent = expr.clip(lower_bound=1e-300).log10().floor()
    mantissa = (expr.clip(lower_bound=1e-300) / pl.lit(10.0).pow(exponent)).round(1)
    exponent = pl.when(mantissa >= 10).then(exponent + 1).otherwise(exponent).cast(pl.Int64)
    mantissa = pl.when(mantissa >= 10).then(mantissa / 10).otherwise(mantissa).round(1)
    return (pl.when(expr <= 0).then(pl.lit("< 1e-300"))
            .when(expr >= 0.01).then(_fixed(expr, 3))
            .otherwise(pl.concat_str(mantissa.cast(pl.String), pl.lit("e"), exponent.cast(pl.String))))


def sentences(alerts: pl.DataFrame) -> list[str]:
    """One plain-English line per alert, in the style of nl_all_rows.txt (U+2022 bullet, U+2014
    dash; line feeds, carriage returns and tabs inside values become spaces)."""
    if alerts.height == 0:
        return []

    def text(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.String).fill_null("").str.replace_all(r"[\n\r\t]", " ")

    low = pl.col("direction") == "drop"
    ongoing = (pl.when(pl.col("ongoing_since") == pl.col("business_date")).then(pl.lit("new today"))
               .otherwise(pl.concat_str(pl.lit("ongoing since "), text("ongoing_since"), pl.lit(" ("),
                                        text("days_flagged"), pl.lit(" flagged days)"))))
    line = pl.concat_str(
        pl.lit("\u2022 On "), text("business_date"), pl.lit(', dataset "'), text("dataset_name"), pl.lit('" (source: '),
        text("source"), pl.lit(", tenant: "), text("tenant_id"), pl.lit(", UUID: "), text("dataset_uuid"),
        pl.lit(") under rule ["), text("rule_code"), pl.lit("] passed "), _fixed(pl.col("observed_pass_percentage")),
        pl.lit("% of "), text("runs"), pl.lit(" runs where "), _fixed(pl.col("expected_pass_percentage")),
        pl.lit("% was expected (band "), _fixed(pl.col("lower_pass_percentage")), pl.lit("%\u2013"),
        _fixed(pl.col("upper_pass_percentage")), pl.lit("%); a value this "),
        pl.when(low).then(pl.lit("low or lower")).otherwise(pl.lit("high or higher")),
        pl.lit(" had probability "), _scientific(pl.col("probability")), pl.lit(" \u2014 severity "), text("severity"),
        pl.lit(", "), ongoing, pl.lit(". Forecast as of "), text("forecast_origin"), pl.lit(" from "),
        text("history_days"), pl.lit(" days of history ("), text("history_first_day"), pl.lit(" to "),
        text("history_last_day"), pl.lit(")."),
    )
    return alerts.select(line.alias("line"))["line"].to_list()


def write_alerts(result: AlertResult, output: Path) -> dict[str, Path]:
    """alerts.csv or alerts.parquet (by `output`'s suffix), at_risk.{csv|parquet} and alerts.txt
    (one sentence per alert) beside it, put in place together as a summary's outputs are
    (engine/summary/outputs.py: staged, then renamed with a journal)."""
    output = Path(output)
    parquet = output.suffix.lower() == ".parquet"
    folder = prepare_output_dir(output.parent)
    names = {"alerts": output.name, "at_risk": "at_risk.parquet" if parquet else "at_risk.csv",
             "sentences": f"{output.stem}.txt"}
    with exclusive(folder):
        remove_stale(folder)
        outputs = OutputSet(folder)
        try:
            for name, frame in (("alerts", result.alerts), ("at_risk", result.at_risk)):
                (frame.write_parquet if parquet else frame.write_csv)(outputs.path(names[name]))
            lines = sentences(result.alerts)
            outputs.path(names["sentences"]).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
            outputs.commit()
        finally:
            outputs.discard()
    return {name: folder / file for name, file in names.items()}
