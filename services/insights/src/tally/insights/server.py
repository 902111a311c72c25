"""Insights' gRPC servicer: wire messages to use-case calls and back, nothing more."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import grpc.aio

from tally.api.common.v1 import money_pb2, pagination_pb2, period_pb2
from tally.api.insights.v1 import events_pb2
from tally.api.insights.v1 import insights_service_pb2 as pb
from tally.api.insights.v1 import insights_service_pb2_grpc as pb_grpc
from tally.domain.errors import FailedPrecondition, InvalidArgument
from tally.insights.anomaly_log import AnomalyFilter, AnomalyLog
from tally.insights.forecasts import InvoiceForecaster, Range, RevenueForecaster
from tally.insights.leakage import Finding
from tally.insights.leakage_report import LeakageReporter
from tally.insights.scanning import AnomalyRecord, UsageScan
from tally.insights.simulation import ChargeChange, delta_percent
from tally.insights.simulations import PricingSimulator, Simulation, scale_percent
from tally.mesh.wire import timestamp_from_wire, timestamp_to_wire
from tally.persistence.paging import decode_time_key, page_of, page_size, time_key
from tally.pricing import Period
from tally.pricing_wire import price_from_wire

SERVICE = "tally.api.insights.v1.InsightsService"
SCOPES = {
    f"/{SERVICE}/ListAnomalies": "insights:read",
    f"/{SERVICE}/ScanUsage": "admin",
    f"/{SERVICE}/GetLeakageReport": "insights:read",
    f"/{SERVICE}/ForecastInvoice": "insights:read",
    f"/{SERVICE}/ForecastRevenue": "insights:read",
    f"/{SERVICE}/SimulatePricing": "insights:simulate",
}
DEFAULT_IDLE_DAYS = 7
DEFAULT_MONTHS = 3


def _money(amount: Decimal, currency: str) -> money_pb2.Money:
    return money_pb2.Money(amount=format(amount, "f"), currency=currency)


def _range(found: Range, currency: str) -> pb.ForecastAmount:
    return pb.ForecastAmount(
        expected=_money(found.expected, currency),
        low=_money(found.low, currency),
        high=_money(found.high, currency),
    )


def _period(period: Period) -> period_pb2.Period:
    return period_pb2.Period(start=timestamp_to_wire(period.start), end=timestamp_to_wire(period.end))


def anomaly_to_wire(record: AnomalyRecord) -> pb.Anomaly:
    window = period_pb2.Period(start=timestamp_to_wire(record.start_at))
    if record.end_at is not None:
        window.end.CopyFrom(timestamp_to_wire(record.end_at))
    return pb.Anomaly(
        id=record.id,
        customer=record.customer,
        meter_id=record.meter_id,
        meter_key=record.meter_key,
        granularity=pb.Granularity.Value(f"GRANULARITY_{record.granularity}"),
        kind=pb.AnomalyKind.Value(f"ANOMALY_KIND_{record.kind}"),
        severity=pb.AnomalySeverity.Value(f"ANOMALY_SEVERITY_{record.severity}"),
        period=window,
        observed=record.observed,
        expected=record.expected,
        expected_low=record.expected_low,
        expected_high=record.expected_high,
        score=record.score,
        reason=record.reason,
        detected_at=timestamp_to_wire(record.detected_at),
    )


def anomaly_event(record: AnomalyRecord) -> bytes:
    """The AnomalyDetected payload of ``record`` (what the store enqueues in the outbox)."""
    return events_pb2.AnomalyDetected(anomaly=anomaly_to_wire(record)).SerializeToString()


def _finding_to_wire(finding: Finding) -> pb.LeakageFinding:
    reply = pb.LeakageFinding(
        kind=pb.LeakageKind.Value(f"LEAKAGE_KIND_{finding.kind.value}"),
        customer=finding.customer,
        meter_id=finding.meter_id,
        subscription_id=finding.subscription_id,
        invoice_id=finding.invoice_id,
        producer_id=finding.producer_id,
        quantity="" if finding.quantity is None else format(finding.quantity.normalize(), "f"),
        description=finding.description,
    )
    if finding.amount is not None and finding.currency:
        reply.amount_at_stake.CopyFrom(_money(finding.amount, finding.currency))
    if finding.since is not None:
        reply.since.CopyFrom(timestamp_to_wire(finding.since))
    return reply


def _after(token: str) -> tuple[datetime, str] | None:
    decoded = decode_time_key(token)
    return None if decoded is None else decoded


def _changes(request: pb.SimulatePricingRequest) -> tuple[ChargeChange, ...]:
    changes = []
    for index, change in enumerate(request.changes):
        which = change.WhichOneof("change")
        changes.append(
            ChargeChange(
                change.charge_id,
                price=price_from_wire(change.price, field=f"changes[{index}].price")
                if which == "price"
                else None,
                scale_percent=scale_percent(change.scale_percent, index)
                if which == "scale_percent"
                else None,
            )
        )
    return tuple(changes)


class InsightsServicer(pb_grpc.InsightsServiceServicer):
    def __init__(
        self,
        anomalies: AnomalyLog,
        scan: UsageScan | None,
        leakage: LeakageReporter | None,
        invoice_forecasts: InvoiceForecaster | None,
        revenue_forecasts: RevenueForecaster | None,
        simulator: PricingSimulator | None,
    ) -> None:
        self._anomalies = anomalies
        self._scan = scan
        self._leakage = leakage
        self._invoice_forecasts = invoice_forecasts
        self._revenue_forecasts = revenue_forecasts
        self._simulator = simulator

    @staticmethod
    def _needs(use_case: object, peers: str) -> None:
        if use_case is None:
            raise FailedPrecondition(
                f"insights is not connected to {peers}: set their TALLY_<PEER>_TARGET variables"
            )

    async def ListAnomalies(
        self, request: pb.ListAnomaliesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAnomaliesResponse:
        limit = page_size(request.page.page_size)
        where = AnomalyFilter(
            customer=request.customer or None,
            meter_id=request.meter_id or None,
            kind=pb.AnomalyKind.Name(request.kind).removeprefix("ANOMALY_KIND_") if request.kind else None,
            start=timestamp_from_wire(request.period.start) if request.period.HasField("start") else None,
            end=timestamp_from_wire(request.period.end) if request.period.HasField("end") else None,
        )
        found = await self._anomalies.list(where, _after(request.page.page_token), limit + 1)
        page, token = page_of(found, limit, lambda record: time_key(record.start_at, record.id))
        return pb.ListAnomaliesResponse(
            anomalies=[anomaly_to_wire(r) for r in page],
            page=pagination_pb2.PageResponse(next_page_token=token),
        )

    async def ScanUsage(
        self, request: pb.ScanUsageRequest, context: grpc.aio.ServicerContext
    ) -> pb.ScanUsageResponse:
        self._needs(self._scan, "metering")
        assert self._scan is not None
        as_of = timestamp_from_wire(request.as_of) if request.HasField("as_of") else datetime.now(UTC)
        assert as_of is not None
        summary = await self._scan.scan(as_of)
        return pb.ScanUsageResponse(
            series_scanned=summary.series_scanned,
            points_judged=summary.points_judged,
            anomalies_changed=summary.anomalies_changed,
        )

    async def GetLeakageReport(
        self, request: pb.GetLeakageReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetLeakageReportResponse:
        self._needs(self._leakage, "metering, catalog and invoicing")
        assert self._leakage is not None
        if request.idle_days < 0:
            raise InvalidArgument.field(
                "idle_days", f"must be 0 (the default) or more, got {request.idle_days}"
            )
        as_of = timestamp_from_wire(request.as_of) if request.HasField("as_of") else datetime.now(UTC)
        assert as_of is not None
        report = await self._leakage.report(as_of, request.idle_days or DEFAULT_IDLE_DAYS)
        return pb.GetLeakageReportResponse(
            findings=[_finding_to_wire(f) for f in report.findings],
            generated_at=timestamp_to_wire(datetime.now(UTC)),
            skipped_checks=report.skipped,
        )

    async def ForecastInvoice(
        self, request: pb.ForecastInvoiceRequest, context: grpc.aio.ServicerContext
    ) -> pb.ForecastInvoiceResponse:
        self._needs(self._invoice_forecasts, "metering, catalog and invoicing")
        assert self._invoice_forecasts is not None
        if not request.subscription_id:
            raise InvalidArgument.field("subscription_id", "is required")
        outlook = await self._invoice_forecasts.forecast(request.subscription_id, datetime.now(UTC))
        currency = outlook.currency
        reply = pb.ForecastInvoiceResponse(
            preview=outlook.preview,
            total=_range(outlook.total, currency),
            subtotal=_range(outlook.subtotal, currency),
            charges=[
                pb.ChargeForecast(
                    charge_id=c.charge_id,
                    meter_id=c.meter_id,
                    quantity_so_far=format(c.so_far.normalize(), "f"),
                    quantity_expected=format(c.quantity.expected.normalize(), "f"),
                    quantity_low=format(c.quantity.low.normalize(), "f"),
                    quantity_high=format(c.quantity.high.normalize(), "f"),
                    amount=_range(c.amount, currency),
                )
                for c in outlook.charges
            ],
            credit_balance=_money(outlook.credit_balance, currency),
        )
        if outlook.credit_runs_out_at is not None:
            reply.credit_runs_out_at.CopyFrom(timestamp_to_wire(outlook.credit_runs_out_at))
        return reply

    async def ForecastRevenue(
        self, request: pb.ForecastRevenueRequest, context: grpc.aio.ServicerContext
    ) -> pb.ForecastRevenueResponse:
        self._needs(self._revenue_forecasts, "metering and catalog")
        assert self._revenue_forecasts is not None
        if not 0 <= request.months <= 12:
            raise InvalidArgument.field(
                "months", f"must be between 1 and 12 (0 for {DEFAULT_MONTHS}), got {request.months}"
            )
        outlook = await self._revenue_forecasts.forecast(
            request.customer_id, request.months or DEFAULT_MONTHS, datetime.now(UTC)
        )
        return pb.ForecastRevenueResponse(
            customers=[
                pb.CustomerRevenueForecast(
                    customer_id=c.customer_id,
                    customer=c.customer,
                    months=[
                        pb.MonthlyRevenue(month=_period(m.month), revenue=_range(m.revenue, c.currency))
                        for m in c.months
                    ],
                )
                for c in outlook.customers
            ],
            totals=[
                pb.RevenueTotal(
                    month=_period(month),
                    expected=[_money(amount, cur) for cur, amount in sorted(per.items())],
                )
                for month, per in outlook.totals()
            ],
            skipped=outlook.skipped,
        )

    async def SimulatePricing(
        self, request: pb.SimulatePricingRequest, context: grpc.aio.ServicerContext
    ) -> pb.SimulatePricingResponse:
        self._needs(self._simulator, "metering, catalog and invoicing")
        assert self._simulator is not None
        if not request.HasField("period_containing"):
            raise InvalidArgument.field(
                "period_containing", "is required: an instant inside the period to re-rate"
            )
        at = timestamp_from_wire(request.period_containing)
        assert at is not None
        outcome = await self._simulator.simulate(
            Simulation(at, tuple(request.customer_ids), _changes(request), request.candidate_plan_version_id)
        )
        reply = pb.SimulatePricingResponse(skipped=outcome.skipped)
        for s in outcome.subscriptions:
            item = pb.SimulatedSubscription(
                subscription_id=s.subscription_id,
                customer_id=s.customer_id,
                customer=s.customer,
                period=_period(s.period),
                current=_money(s.current, s.currency),
                candidate=_money(s.candidate, s.currency),
                delta=_money(s.delta, s.currency),
                current_usage=_money(s.current_usage, s.currency),
                invoice_id=s.invoice_id,
            )
            percent = delta_percent(s.current, s.candidate)
            item.delta_percent = "" if percent is None else format(percent, "f")
            if s.invoiced_usage is not None:
                item.invoiced_usage.CopyFrom(_money(s.invoiced_usage, s.currency))
            reply.subscriptions.append(item)
            if s.delta > 0:
                reply.paying_more += 1
            elif s.delta < 0:
                reply.paying_less += 1
            else:
                reply.unchanged += 1
        for currency, (current, candidate) in sorted(outcome.totals().items()):
            reply.current_totals.append(_money(current, currency))
            reply.candidate_totals.append(_money(candidate, currency))
            reply.delta_totals.append(_money(candidate - current, currency))
        spread = outcome.distribution()
        if spread is not None:
            reply.distribution.CopyFrom(
                pb.DeltaDistribution(
                    min_percent=format(spread.minimum, "f"),
                    p10_percent=format(spread.p10, "f"),
                    median_percent=format(spread.median, "f"),
                    p90_percent=format(spread.p90, "f"),
                    max_percent=format(spread.maximum, "f"),
                )
            )
        return reply
