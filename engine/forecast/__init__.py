"""Forecasting: daily series (series), features as of an origin (features), LightGBM training and
bands (train), prediction (predict), backtests a part of the series at a time (backtest, parts),
evaluation against baselines (evaluation), and
the model bundle on disk (bundle)."""
