"""``python -m tally.insights``: wiring only."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tally.api.insights.v1 import insights_service_pb2_grpc as pb_grpc
from tally.insights.anomaly_log import AnomalyLog
from tally.insights.events import LATE_USAGE, USAGE_ACTIVITY, LateUsageHandler, UsageActivityHandler
from tally.insights.forecasts import InvoiceForecaster, RevenueForecaster
from tally.insights.leakage_report import LeakageReporter
from tally.insights.peers import IDEMPOTENT, Catalog, Ingestion, Invoicing, Metering
from tally.insights.scanning import UsageScan
from tally.insights.server import SCOPES, SERVICE, InsightsServicer, anomaly_event
from tally.insights.settings import InsightsSettings
from tally.insights.simulations import PricingSimulator
from tally.insights.store import ActivityStore, SeriesStore
from tally.mesh import streams
from tally.runtime.process import Consumer, Runtime, ServiceDefinition, Wiring, main

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"
_log = logging.getLogger("tally.insights")


def scheduled_scans(
    scan: UsageScan, interval_s: float, settle_s: float, wake: Callable[[], None]
) -> Callable[[], Coroutine[Any, Any, None]]:
    """Scans every ``interval_s`` the steps that ended at least ``settle_s`` ago; a failed scan is logged and
    the next one picks up where it stopped."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                summary = await scan.scan(datetime.now(UTC) - timedelta(seconds=settle_s))
                if summary.anomalies_changed:
                    wake()
                _log.info(
                    "scan: %d series, %d points, %d anomalies changed",
                    summary.series_scanned,
                    summary.points_judged,
                    summary.anomalies_changed,
                )
            except Exception:
                _log.exception("scheduled scan failed")

    return loop


async def wire(runtime: Runtime[InsightsSettings]) -> Wiring:
    settings = runtime.settings
    deadline = settings.peer_deadline_s

    def peer(target: str, name: str) -> Any:
        return runtime.channel(target, idempotent=IDEMPOTENT[name]) if target else None

    metering_channel = peer(settings.metering_target, "metering")
    catalog_channel = peer(settings.catalog_target, "catalog")
    invoicing_channel = peer(settings.invoicing_target, "invoicing")
    ingestion_channel = peer(settings.ingestion_target, "ingestion")
    metering = Metering(metering_channel, deadline) if metering_channel else None
    catalog = Catalog(catalog_channel, deadline) if catalog_channel else None
    invoicing = Invoicing(invoicing_channel, deadline) if invoicing_channel else None
    ingestion = Ingestion(ingestion_channel, deadline) if ingestion_channel else None

    series = SeriesStore(runtime.engine, anomaly_event)
    activity = ActivityStore(runtime.engine, USAGE_ACTIVITY.durable, LATE_USAGE.durable)
    scan = (
        UsageScan(metering, series, activity, history_days=settings.history_days)
        if metering is not None
        else None
    )
    leakage = invoice_forecasts = revenue_forecasts = simulator = None
    if metering is not None and catalog is not None:
        revenue_forecasts = RevenueForecaster(catalog, metering, history_days=settings.forecast_history_days)
        if invoicing is not None:
            leakage = LeakageReporter(catalog, metering, invoicing, activity, ingestion)
            invoice_forecasts = InvoiceForecaster(
                catalog, metering, invoicing, history_days=settings.forecast_history_days
            )
            simulator = PricingSimulator(catalog, metering, invoicing)
    servicer = InsightsServicer(
        AnomalyLog(series), scan, leakage, invoice_forecasts, revenue_forecasts, simulator
    )
    background = []
    if scan is not None and settings.scan_interval_s > 0:
        background.append(
            scheduled_scans(scan, settings.scan_interval_s, settings.settle_s, runtime.relay.wake)
        )
    return Wiring(
        registrations=[(pb_grpc.add_InsightsServiceServicer_to_server, servicer)],
        service_names=[SERVICE],
        scopes=SCOPES,
        consumers=[
            Consumer(USAGE_ACTIVITY, together=UsageActivityHandler(activity), batch=200),
            Consumer(LATE_USAGE, LateUsageHandler(activity)),
        ],
        background=background,
    )


DEFINITION = ServiceDefinition(
    "insights",
    MIGRATIONS,
    InsightsSettings,
    wire,
    streams=[streams.USAGE, streams.METERING, streams.INSIGHTS],
)

if __name__ == "__main__":
    main(DEFINITION)
