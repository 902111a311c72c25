"""The leakage report use case: what the activity projection saw, checked against catalog (customers, what
subscriptions price), metering (usage), ingestion (rejections) and invoicing (finalized invoices).

A check whose peer cannot answer is skipped and named in the report, so one peer down does not hide the rest.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

import grpc

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.ingestion.v1 import ingestion_service_pb2 as ing
from tally.api.invoicing.v1 import invoicing_service_pb2 as inv
from tally.insights.leakage import Finding, LeakageKind, order, priced, rejections_rising
from tally.insights.scanning import MeterInfo
from tally.insights.store import ActivityRow, LateUsageRow, ProducerDay
from tally.mesh.wire import timestamp_from_wire
from tally.money import parse_decimal
from tally.pricing import BillingTerms, Charge
from tally.pricing_wire import terms_from_wire

_log = logging.getLogger(__name__)
ZERO = Decimal(0)
DAY = timedelta(days=1)
PRIOR_DAYS = 28
"""The usual usage of an idle charge is its daily average over the four weeks before it fell idle."""
SILENT_AFTER = timedelta(hours=24)
CONFLICT_CODE = "DUPLICATE_IN_BATCH"


class CatalogReader(Protocol):
    async def customers(self) -> list[cat.Customer]: ...

    def subscriptions(self, customer_id: str = "") -> AsyncIterator[cat.Subscription]: ...

    async def terms(self, lookups: Sequence[tuple[str, datetime]]) -> list[cat.EffectiveTerms | str]: ...


class UsageReader(Protocol):
    async def meters(self) -> list[MeterInfo]: ...

    async def quantities(
        self, queries: Sequence[tuple[str, str, datetime, datetime, tuple[str, ...]]]
    ) -> list[dict[tuple[tuple[str, str], ...], Decimal]]: ...


class InvoiceReader(Protocol):
    async def invoices(self, customer_id: str, start: datetime, end: datetime) -> list[inv.Invoice]: ...

    async def invoice(self, invoice_id: str) -> inv.Invoice: ...


class RejectionReader(Protocol):
    async def rejected(
        self, since: datetime, until: datetime, max_pages: int = 50
    ) -> list[ing.RejectedEventRecord]: ...


class ActivityReader(Protocol):
    def customers(self) -> list[ActivityRow]: ...

    def producer_days(self, since: datetime) -> list[ProducerDay]: ...

    def producers_last_seen(self) -> dict[str, datetime]: ...

    def late_usage(self, since: datetime) -> list[LateUsageRow]: ...


class CheckUnavailable(Exception):
    """A check's peer is not configured."""


@dataclass
class Report:
    findings: list[Finding]
    skipped: list[str]


def _month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _total(grouped: dict[tuple[tuple[str, str], ...], Decimal]) -> Decimal:
    return sum(grouped.values(), ZERO)


@dataclass
class _Context:
    as_of: datetime
    customers: dict[str, cat.Customer]
    """By external id."""
    terms: list[tuple[cat.Subscription, BillingTerms]]
    meters: list[MeterInfo]
    externals: dict[str, str] = field(init=False)
    """External id by catalog customer id."""

    def __post_init__(self) -> None:
        self.externals = {customer.id: external for external, customer in self.customers.items()}

    def reference_charge(self, meter_id: str) -> tuple[Charge, str, str] | None:
        """The first subscription charge pricing ``meter_id``: (charge, currency, subscription id)."""
        for subscription, terms in self.terms:
            for charge in terms.usage_charges():
                if terms.meters[charge.id] == meter_id:
                    return charge, terms.currency, subscription.id
        return None

    def external(self, customer_id: str) -> str:
        """The id usage events name the catalog customer ``customer_id`` by."""
        return self.externals.get(customer_id, customer_id)


class LeakageReporter:
    def __init__(
        self,
        catalog: CatalogReader,
        usage: UsageReader,
        invoices: InvoiceReader,
        activity: ActivityReader,
        rejections: RejectionReader | None,
    ) -> None:
        self._catalog = catalog
        self._usage = usage
        self._invoices = invoices
        self._activity = activity
        self._rejections = rejections

    async def report(self, as_of: datetime, idle_days: int) -> Report:
        customers = {c.external_id or c.id: c for c in await self._catalog.customers()}
        subscriptions = [
            s async for s in self._catalog.subscriptions() if s.status == cat.SUBSCRIPTION_STATUS_ACTIVE
        ]
        found_terms = await self._catalog.terms([(s.id, as_of) for s in subscriptions])
        terms = [
            (s, terms_from_wire(t))
            for s, t in zip(subscriptions, found_terms, strict=True)
            if not isinstance(t, str)
        ]
        context = _Context(as_of, customers, terms, await self._usage.meters())
        findings: list[Finding] = []
        skipped: list[str] = []
        checks = (
            ("usage of unknown customers and unpriced meters", self._unknown_and_unpriced(context)),
            ("idle usage charges", self._idle(context, idle_days)),
            ("silent producers", self._silent_producers(context)),
            ("rejections and conflicts", self._rejections_rising(context)),
            ("usage moved after finalization", self._moved_after_finalization(context)),
        )
        for name, check in checks:
            try:
                findings.extend(await check)
            except CheckUnavailable as exc:
                skipped.append(f"{name}: {exc}")
            except grpc.aio.AioRpcError as exc:
                _log.warning("leakage check %s skipped: %s", name, exc)
                skipped.append(f"{name}: {exc.code().name}: {exc.details()}")
        return Report(order(findings), skipped)

    async def _unknown_and_unpriced(self, context: _Context) -> list[Finding]:
        by_type: dict[str, list[MeterInfo]] = {}
        for known in context.meters:
            by_type.setdefault(known.event_type, []).append(known)
        priced_meters: dict[str, set[str]] = {}
        for _, terms in context.terms:
            priced_meters.setdefault(terms.customer_id, set()).update(terms.meters.values())
        month = _month_start(context.as_of)
        candidates: list[tuple[ActivityRow, MeterInfo | None, bool]] = []
        for row in self._activity.customers():
            customer = context.customers.get(row.customer)
            meters = by_type.get(row.event_type, [])
            if customer is None and not meters:
                candidates.append((row, None, True))
            elif customer is None:
                candidates.extend((row, m, True) for m in meters)
            else:
                candidates.extend(
                    (row, m, False) for m in meters if m.id not in priced_meters.get(customer.id, set())
                )
        queries = [(row.customer, m.id, month, context.as_of, ()) for row, m, _ in candidates if m]
        answers = iter(await self._usage.quantities(queries)) if queries else iter(())
        findings = []
        for row, meter, unknown in candidates:
            kind = LeakageKind.UNKNOWN_CUSTOMER if unknown else LeakageKind.UNPRICED_METER
            if meter is None:
                findings.append(
                    Finding(
                        kind,
                        f"{row.events:,} events of type {row.event_type!r} from {row.customer!r}, a customer the "
                        "catalog does not know; no meter selects them, so they cannot be priced",
                        customer=row.customer,
                        quantity=Decimal(row.events),
                        since=row.first_event_at,
                    )
                )
                continue
            quantity = _total(next(answers))
            if not unknown and quantity == 0:
                continue
            reference = context.reference_charge(meter.id)
            amount = currency = None
            how = "no subscription prices this meter, so it cannot be priced"
            if reference is not None:
                charge, currency, subscription_id = reference
                amount = priced(charge, quantity, currency)
                how = (
                    f"priced at charge {charge.id!r} of subscription {subscription_id}"
                    if amount is not None
                    else f"charge {charge.id!r} needs more than a quantity to price"
                )
            who = (
                f"{row.customer!r}, a customer the catalog does not know"
                if unknown
                else f"{row.customer!r}, whose subscriptions do not price meter {meter.key!r}"
            )
            findings.append(
                Finding(
                    kind,
                    f"{quantity} {meter.key} this month from {who}: {how}",
                    customer=row.customer,
                    meter_id=meter.id,
                    quantity=quantity,
                    amount=amount,
                    currency=currency or "",
                    since=row.first_event_at,
                )
            )
        return findings

    async def _idle(self, context: _Context, idle_days: int) -> list[Finding]:
        window_start = context.as_of - idle_days * DAY
        prior_start = window_start - PRIOR_DAYS * DAY
        planned: list[tuple[cat.Subscription, BillingTerms, Charge, str]] = []
        for subscription, terms in context.terms:
            external = context.external(terms.customer_id)
            planned.extend((subscription, terms, charge, external) for charge in terms.usage_charges())
        queries: list[tuple[str, str, datetime, datetime, tuple[str, ...]]] = []
        for _, terms, charge, external in planned:
            queries.append((external, terms.meters[charge.id], window_start, context.as_of, ()))
            queries.append((external, terms.meters[charge.id], prior_start, window_start, ()))
        answers = await self._usage.quantities(queries) if queries else []
        findings = []
        for index, (subscription, terms, charge, external) in enumerate(planned):
            recent, prior = _total(answers[2 * index]), _total(answers[2 * index + 1])
            if recent != 0:
                continue
            usual = prior * idle_days / PRIOR_DAYS
            amount = priced(charge, usual, terms.currency) if prior > 0 else None
            how = (
                f"about {usual.normalize():f} would be usual in {idle_days} days (the daily average of the "
                f"{PRIOR_DAYS} days before), worth that at the charge's price"
                if amount is not None
                else "it had no usage in the four weeks before either, so nothing usual can be priced"
            )
            findings.append(
                Finding(
                    LeakageKind.IDLE_USAGE_CHARGE,
                    f"no usage of charge {charge.id!r} for {idle_days} days on subscription {subscription.id} of "
                    f"{external!r}: {how}",
                    customer=external,
                    meter_id=terms.meters[charge.id],
                    subscription_id=subscription.id,
                    quantity=usual if prior > 0 else ZERO,
                    amount=amount,
                    currency=terms.currency,
                    since=window_start,
                )
            )
        return findings

    async def _silent_producers(self, context: _Context) -> list[Finding]:
        week_ago = context.as_of - 8 * DAY
        recent = {day.producer_id for day in self._activity.producer_days(week_ago)}
        findings = []
        for producer, seen in sorted(self._activity.producers_last_seen().items()):
            if producer in recent and seen < context.as_of - SILENT_AFTER:
                hours = (context.as_of - seen) / timedelta(hours=1)
                findings.append(
                    Finding(
                        LeakageKind.SILENT_PRODUCER,
                        f"producer {producer!r} sent usage during the last week but nothing for {hours:.0f} hours: "
                        "its usage is not being billed (see the silence anomalies of its customers)",
                        producer_id=producer,
                        since=seen,
                    )
                )
        return findings

    async def _rejections_rising(self, context: _Context) -> list[Finding]:
        if self._rejections is None:
            raise CheckUnavailable("ingestion is not configured (TALLY_INGESTION_TARGET)")
        day_ago = context.as_of - DAY
        since = context.as_of - 8 * DAY
        rejected = await self._rejections.rejected(since, context.as_of)
        accepted_recent: dict[str, int] = {}
        accepted_prior: dict[str, int] = {}
        for day in self._activity.producer_days(since):
            target = (
                accepted_recent
                if day.day >= day_ago.replace(hour=0, minute=0, second=0, microsecond=0)
                else accepted_prior
            )
            target[day.producer_id] = target.get(day.producer_id, 0) + day.accepted
        recent: dict[str, int] = {}
        prior: dict[str, int] = {}
        conflicts: dict[str, int] = {}
        for record in rejected:
            at = timestamp_from_wire(record.rejected_at)
            if at is None:
                continue
            (recent if at >= day_ago else prior)[record.producer_id] = (
                recent if at >= day_ago else prior
            ).get(record.producer_id, 0) + 1
            if record.code == CONFLICT_CODE:
                conflicts[record.producer_id] = conflicts.get(record.producer_id, 0) + 1
        findings = []
        for producer in sorted(set(recent) | set(prior)):
            r, p = recent.get(producer, 0), prior.get(producer, 0)
            ra, pa = accepted_recent.get(producer, 0), accepted_prior.get(producer, 0)
            if rejections_rising(r, ra, p, pa):
                findings.append(
                    Finding(
                        LeakageKind.REJECTIONS_RISING,
                        f"producer {producer!r}: {r} of {r + ra} events rejected in the last day against {p} of "
                        f"{p + pa} in the week before; rejected usage is never billed",
                        producer_id=producer,
                        quantity=Decimal(r),
                        since=day_ago,
                    )
                )
        for producer, count in sorted(conflicts.items()):
            findings.append(
                Finding(
                    LeakageKind.METERING_CONFLICT,
                    f"producer {producer!r} sent {count} events reusing an event id with different contents in the "
                    "last 8 days; only the first version counts",
                    producer_id=producer,
                    quantity=Decimal(count),
                    since=since,
                )
            )
        return findings

    async def _moved_after_finalization(self, context: _Context) -> list[Finding]:
        findings = []
        for late in self._activity.late_usage(context.as_of - 90 * DAY):
            customer = context.customers.get(late.customer)
            if customer is None:
                continue
            for invoice in await self._invoices.invoices(customer.id, late.period_start, late.period_end):
                if invoice.status not in (inv.INVOICE_STATUS_FINALIZED, inv.INVOICE_STATUS_PAID):
                    continue
                issued = timestamp_from_wire(invoice.issued_at)
                if issued is None or issued > late.detected_at:
                    continue
                findings.extend(await self._moved(context, late, await self._invoices.invoice(invoice.id)))
        return findings

    async def _moved(self, context: _Context, late: LateUsageRow, invoice: inv.Invoice) -> list[Finding]:
        start = timestamp_from_wire(invoice.period.start)
        end = timestamp_from_wire(invoice.period.end)
        assert start is not None and end is not None
        (found,) = await self._catalog.terms([(invoice.subscription_id, start)])
        terms = terms_from_wire(found) if not isinstance(found, str) else None
        findings = []
        for line in invoice.lines:
            if line.kind != inv.INVOICE_LINE_KIND_USAGE or line.meter_id not in late.meter_ids or line.group:
                continue
            (grouped,) = await self._usage.quantities([(late.customer, line.meter_id, start, end, ())])
            now_quantity = _total(grouped)
            billed_quantity = parse_decimal(line.quantity or "0", field="invoice.lines.quantity")
            billed = parse_decimal(line.amount.amount, field="invoice.lines.amount")
            charge = (
                next((c for c in terms.usage_charges() if c.id == line.charge_id), None) if terms else None
            )
            amount = None
            if charge is not None:
                included = charge.included_quantity
                now_priced = priced(charge, max(now_quantity - included, ZERO), invoice.currency)
                amount = None if now_priced is None else now_priced - billed
            findings.append(
                Finding(
                    LeakageKind.USAGE_MOVED_AFTER_FINALIZATION,
                    f"invoice {invoice.number or invoice.id} billed {billed_quantity} for {line.description}; "
                    f"usage of its period now reads {now_quantity} ({late.cause.lower()} after finalization)",
                    customer=late.customer,
                    meter_id=line.meter_id,
                    subscription_id=invoice.subscription_id,
                    invoice_id=invoice.id,
                    quantity=now_quantity - billed_quantity,
                    amount=amount,
                    currency=invoice.currency,
                    since=late.detected_at,
                )
            )
        return findings
