"""Forecasting: daily series (series), features as of an origin (features), LightGBM training and
bands (train), prediction and backtests (predict), evaluation against baselines (evaluation), and
the model bundle on disk (bundle)."""
