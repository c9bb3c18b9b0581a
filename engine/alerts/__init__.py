"""Alerts: each series' results on a day against the forecast made as of the day before."""

from .detect import (
    ALERT_COLUMNS, AT_RISK_COLUMNS, DIRECTIONS, SEVERITIES, AlertOptions, AlertResult, find_alerts,
)

__all__ = ["ALERT_COLUMNS", "AT_RISK_COLUMNS", "DIRECTIONS", "SEVERITIES", "AlertOptions", "AlertResult", "find_alerts"]
