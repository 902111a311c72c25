"""Insights' settings beyond the mesh's: its peers, how often it scans usage, how far back it looks."""

from __future__ import annotations

from dataclasses import dataclass

from tally.mesh.settings import parse_seconds, setting


def parse_interval(raw: str) -> float:
    """Seconds between runs, 0 or more (0: never on a timer)."""
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError(f"{raw!r} is not a number of seconds") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{raw!r} must be 0 or a finite number of seconds")
    return value


def parse_days(raw: str) -> int:
    """A whole number of days, at least one."""
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(f"{raw!r} is not a whole number of days") from None
    if value < 1:
        raise ValueError(f"{raw!r} must be at least 1 day")
    return value


@dataclass(frozen=True)
class InsightsSettings:
    """Where the peers are and how the usage series are kept up to date."""

    metering_target: str = setting(
        "TALLY_METERING_TARGET",
        default="",
        doc="metering's gRPC address; scans, forecasts and simulations need it",
    )
    """Usage rollups (BatchGetUsage), meters and event values come from metering."""
    catalog_target: str = setting(
        "TALLY_CATALOG_TARGET",
        default="",
        doc="catalog's gRPC address; the report, forecasts and simulations need it",
    )
    """Customers, subscriptions and their effective terms come from catalog."""
    invoicing_target: str = setting(
        "TALLY_INVOICING_TARGET",
        default="",
        doc="invoicing's gRPC address; forecasts and simulations need it",
    )
    """PreviewInvoice, invoices and credit balances come from invoicing."""
    ingestion_target: str = setting(
        "TALLY_INGESTION_TARGET", default="", doc="ingestion's gRPC address; the rejection checks need it"
    )
    """Rejected events (ListRejected) come from ingestion; without it those checks are reported as skipped."""
    scan_interval_s: float = setting(
        "TALLY_INSIGHTS_SCAN_SECONDS",
        default=300.0,
        parse=parse_interval,
        doc="seconds between scans of usage for anomalies (0: only when ScanUsage is called)",
    )
    """How often every series is brought up to date with metering and its new complete steps judged."""
    settle_s: float = setting(
        "TALLY_INSIGHTS_SETTLE_SECONDS",
        default=300.0,
        parse=parse_interval,
        doc="how long after a step ends a scheduled scan waits before judging it",
    )
    """Usage of an hour still arriving (batches in flight, metering catching up) is in before the hour is
    judged; a step is judged once, so what arrives later is late usage, not part of the judgement."""
    history_days: int = setting(
        "TALLY_INSIGHTS_HISTORY_DAYS",
        default=35,
        parse=parse_days,
        doc="days of usage a new series is learned from before its first judged step",
    )
    """A new series starts this far back (or at its customer's first event, whichever is later)."""
    forecast_history_days: int = setting(
        "TALLY_INSIGHTS_FORECAST_HISTORY_DAYS",
        default=91,
        parse=parse_days,
        doc="days of daily usage each forecast is built from",
    )
    """Thirteen weeks: enough weekly cycles for the weekday profile, recent enough to follow growth."""
    peer_deadline_s: float = setting(
        "TALLY_INSIGHTS_PEER_DEADLINE_SECONDS",
        default=30.0,
        parse=parse_seconds,
        doc="deadline of each call to a peer (a scan's BatchGetUsage reads hundreds of series at once)",
    )
    """Every call to metering, catalog, invoicing and ingestion carries this deadline."""
