"""Billing's RPCs (RunBilling, PreviewInvoice, Set/GetBillingControls) between the wire and the use cases."""

from __future__ import annotations

from decimal import Decimal

from tally.api.common.v1 import money_pb2, pagination_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument
from tally.invoicing.billing.alerts import Controls
from tally.invoicing.billing.controls import BillingControls
from tally.invoicing.billing.history import RunKey, RunRecord
from tally.invoicing.billing.preview import Previews
from tally.invoicing.billing.runs import Billing
from tally.invoicing.messages import invoice_to_wire
from tally.mesh.wire import decimal_to_wire, timestamp_from_wire, timestamp_to_wire
from tally.money import parse_decimal
from tally.persistence.paging import decode_time_key, page_of, page_size, time_key

ZERO = Decimal(0)
_NEEDS_PEERS = "billing needs catalog and metering: set TALLY_CATALOG_TARGET and TALLY_METERING_TARGET"


def controls_from_wire(message: pb.BillingControls) -> Controls:
    """Validated controls: one currency, positive amounts, every field named on error."""
    problems: list[FieldViolation] = []
    if not message.subscription_id:
        problems.append(FieldViolation("controls.subscription_id", "is required"))
    currencies = set()

    def money(value: money_pb2.Money, field: str) -> Decimal:
        currencies.add(value.currency)
        try:
            amount = parse_decimal(value.amount, field=f"{field}.amount")
        except InvalidArgument as exc:
            problems.extend(exc.violations)
            return ZERO
        if amount <= 0:
            problems.append(FieldViolation(f"{field}.amount", f"must be > 0, got {value.amount}"))
        return amount

    threshold = (
        money(message.invoice_threshold, "controls.invoice_threshold")
        if message.HasField("invoice_threshold")
        else None
    )
    spend = tuple(money(value, f"controls.spend_alerts[{i}]") for i, value in enumerate(message.spend_alerts))
    usage = []
    for index, alert in enumerate(message.usage_alerts):
        at = f"controls.usage_alerts[{index}]"
        if not alert.charge_id:
            problems.append(FieldViolation(f"{at}.charge_id", "is required"))
        try:
            quantity = parse_decimal(alert.threshold, field=f"{at}.threshold")
            if quantity <= 0:
                problems.append(FieldViolation(f"{at}.threshold", f"must be > 0, got {alert.threshold}"))
            usage.append((alert.charge_id, quantity))
        except InvalidArgument as exc:
            problems.extend(exc.violations)
    if len(currencies) > 1:
        problems.append(
            FieldViolation("controls", f"every amount must be in one currency, got {sorted(currencies)}")
        )
    if problems:
        raise InvalidArgument(problems)
    return Controls(
        subscription_id=message.subscription_id,
        currency=next(iter(currencies), ""),
        invoice_threshold=threshold,
        spend_alerts=spend,
        usage_alerts=tuple(usage),
    )


def controls_to_wire(controls: Controls) -> pb.BillingControls:
    message = pb.BillingControls(
        subscription_id=controls.subscription_id,
        spend_alerts=[
            money_pb2.Money(amount=decimal_to_wire(v), currency=controls.currency)
            for v in controls.spend_alerts
        ],
        usage_alerts=[
            pb.UsageAlert(charge_id=charge, threshold=decimal_to_wire(quantity))
            for charge, quantity in controls.usage_alerts
        ],
    )
    if controls.invoice_threshold is not None:
        message.invoice_threshold.CopyFrom(
            money_pb2.Money(amount=decimal_to_wire(controls.invoice_threshold), currency=controls.currency)
        )
    return message


def _run_key(token: str) -> RunKey | None:
    decoded = decode_time_key(token)
    return None if decoded is None else RunKey(*decoded)


def run_to_wire(run: RunRecord) -> pb.BillingRun:
    message = pb.BillingRun(
        id=run.id,
        trigger=run.trigger.value,
        as_of=timestamp_to_wire(run.as_of),
        started_at=timestamp_to_wire(run.started_at),
        subscriptions_evaluated=run.evaluated,
        invoices_drafted=run.drafted,
        invoices_finalized=run.finalized,
        failures=[pb.BillingFailure(subscription_id=s, reason=r) for s, r in run.failures],
        error=run.error,
    )
    if run.finished_at is not None:
        message.finished_at.CopyFrom(timestamp_to_wire(run.finished_at))
    return message


class BillingRpcs:
    """``billing`` and ``previews`` are None when catalog or metering is not configured: those RPCs are then
    refused (FAILED_PRECONDITION) and the rest still served."""

    def __init__(self, billing: Billing | None, previews: Previews | None, controls: BillingControls) -> None:
        self._billing = billing
        self._previews = previews
        self._controls = controls

    async def run(self, request: pb.RunBillingRequest) -> pb.RunBillingResponse:
        if self._billing is None:
            raise FailedPrecondition(_NEEDS_PEERS)
        as_of = timestamp_from_wire(request.as_of) if request.HasField("as_of") else None
        result = await self._billing.run(as_of)
        return pb.RunBillingResponse(
            subscriptions_evaluated=result.evaluated,
            invoices_drafted=result.drafted,
            invoices_finalized=result.finalized,
            failures=[pb.BillingFailure(subscription_id=s, reason=r) for s, r in result.failures],
        )

    async def runs(self, request: pb.ListBillingRunsRequest) -> pb.ListBillingRunsResponse:
        """Newest first; none when billing is not configured (it never ran)."""
        if self._billing is None:
            return pb.ListBillingRunsResponse()
        limit = page_size(request.page.page_size)
        found = await self._billing.runs(after=_run_key(request.page.page_token), limit=limit + 1)
        page, token = page_of(found, limit, lambda run: time_key(run.started_at, run.id))
        return pb.ListBillingRunsResponse(
            runs=[run_to_wire(run) for run in page], page=pagination_pb2.PageResponse(next_page_token=token)
        )

    async def preview(self, request: pb.PreviewInvoiceRequest) -> pb.PreviewInvoiceResponse:
        if self._previews is None:
            raise FailedPrecondition(_NEEDS_PEERS)
        as_of = timestamp_from_wire(request.as_of) if request.HasField("as_of") else None
        invoice = await self._previews.preview(request.subscription_id, as_of)
        return pb.PreviewInvoiceResponse(invoice=invoice_to_wire(invoice))

    async def set_controls(self, request: pb.SetBillingControlsRequest) -> pb.SetBillingControlsResponse:
        stored = await self._controls.set(controls_from_wire(request.controls))
        return pb.SetBillingControlsResponse(controls=controls_to_wire(stored))

    async def get_controls(self, request: pb.GetBillingControlsRequest) -> pb.GetBillingControlsResponse:
        return pb.GetBillingControlsResponse(
            controls=controls_to_wire(await self._controls.get(request.subscription_id))
        )
