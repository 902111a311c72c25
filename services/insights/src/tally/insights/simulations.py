"""The pricing simulation use case: a past period's real usage (metering) re-rated under the terms in force
(catalog) and under candidate terms, beside what was actually invoiced (invoicing)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.invoicing.v1 import invoicing_service_pb2 as inv
from tally.domain.errors import FieldViolation, InvalidArgument
from tally.insights.billing_terms import (
    UsageReader,
    active_interval,
    period_fees,
    period_usage,
    plan_from_version,
)
from tally.insights.simulation import (
    ChargeChange,
    Distribution,
    apply_changes,
    delta_percent,
    distribution,
    rerate,
    with_candidate_charges,
)
from tally.mesh.wire import timestamp_from_wire
from tally.money import parse_decimal
from tally.pricing import Period, PlanVersion
from tally.pricing_wire import terms_from_wire

ZERO = Decimal(0)
PARALLEL = 8
"""Subscriptions re-rated at once (each is a few metering reads)."""
_BILLED = (inv.INVOICE_STATUS_FINALIZED, inv.INVOICE_STATUS_PAID)


class CatalogReader(Protocol):
    async def customers(self) -> list[cat.Customer]: ...

    def subscriptions(self, customer_id: str = "") -> AsyncIterator[cat.Subscription]: ...

    async def terms(self, lookups: Sequence[tuple[str, datetime]]) -> list[cat.EffectiveTerms | str]: ...

    async def plan_version(self, plan_version_id: str) -> cat.PlanVersion: ...


class InvoiceReader(Protocol):
    async def invoices(self, customer_id: str, start: datetime, end: datetime) -> list[inv.Invoice]: ...

    async def invoice(self, invoice_id: str) -> inv.Invoice: ...


@dataclass(frozen=True, slots=True)
class Simulation:
    period_containing: datetime
    customer_ids: tuple[str, ...] = ()
    changes: tuple[ChargeChange, ...] = ()
    candidate_plan_version_id: str = ""


@dataclass(frozen=True, slots=True)
class SubscriptionOutcome:
    subscription_id: str
    customer_id: str
    customer: str
    period: Period
    currency: str
    current: Decimal
    candidate: Decimal
    current_usage: Decimal
    invoiced_usage: Decimal | None
    invoice_id: str

    @property
    def delta(self) -> Decimal:
        return self.candidate - self.current


@dataclass
class SimulationOutcome:
    subscriptions: list[SubscriptionOutcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, tuple[Decimal, Decimal]]:
        """(current, candidate) per currency."""
        found: dict[str, tuple[Decimal, Decimal]] = {}
        for s in self.subscriptions:
            current, candidate = found.get(s.currency, (ZERO, ZERO))
            found[s.currency] = (current + s.current, candidate + s.candidate)
        return found

    def distribution(self) -> Distribution | None:
        return distribution(
            [p for s in self.subscriptions if (p := delta_percent(s.current, s.candidate)) is not None]
        )


def _checked(request: Simulation) -> None:
    problems: list[FieldViolation] = []
    if not request.changes and not request.candidate_plan_version_id:
        problems.append(FieldViolation("changes", "give at least one change or a candidate_plan_version_id"))
    for index, change in enumerate(request.changes):
        if not change.charge_id:
            problems.append(FieldViolation(f"changes[{index}].charge_id", "is required"))
        if change.price is None and change.scale_percent is None:
            problems.append(FieldViolation(f"changes[{index}]", "set a price or a scale_percent"))
        if change.scale_percent is not None and not (Decimal(-100) < change.scale_percent <= Decimal(10_000)):
            problems.append(
                FieldViolation(
                    f"changes[{index}].scale_percent",
                    f"must be above -100 and at most 10000, got {change.scale_percent}",
                )
            )
    if problems:
        raise InvalidArgument(problems)


def scale_percent(raw: str, index: int) -> Decimal:
    """A change's percentage from the wire, naming the field when it is not a finite decimal."""
    return parse_decimal(raw, field=f"changes[{index}].scale_percent")


class PricingSimulator:
    def __init__(self, catalog: CatalogReader, usage: UsageReader, invoices: InvoiceReader) -> None:
        self._catalog = catalog
        self._usage = usage
        self._invoices = invoices

    async def simulate(self, request: Simulation) -> SimulationOutcome:
        _checked(request)
        customers = {c.id: c for c in await self._catalog.customers()}
        unknown = [
            FieldViolation(f"customer_ids[{i}]", f"no customer {cid!r} in the catalog")
            for i, cid in enumerate(request.customer_ids)
            if cid not in customers
        ]
        if unknown:
            raise InvalidArgument(unknown)
        candidate: PlanVersion | None = None
        if request.candidate_plan_version_id:
            candidate = plan_from_version(await self._catalog.plan_version(request.candidate_plan_version_id))
        at = request.period_containing
        subscriptions: list[cat.Subscription] = []
        for customer_id in request.customer_ids or ("",):
            async for subscription in self._catalog.subscriptions(customer_id):
                active = active_interval(subscription)
                if active.start <= at < active.end:
                    subscriptions.append(subscription)
        terms = await self._catalog.terms([(s.id, at) for s in subscriptions])
        outcome = SimulationOutcome()
        seen_charges: set[str] = set()
        gate = asyncio.Semaphore(PARALLEL)

        async def one(subscription: cat.Subscription, found: cat.EffectiveTerms | str) -> None:
            if isinstance(found, str):
                outcome.skipped.append(f"subscription {subscription.id}: {found}")
                return
            async with gate:
                result = await self._one(
                    subscription, found, customers, request.changes, candidate, seen_charges
                )
            outcome.subscriptions.append(result)

        await asyncio.gather(*(one(s, t) for s, t in zip(subscriptions, terms, strict=True)))
        missing = [
            FieldViolation(
                f"changes[{i}].charge_id", f"no subscription re-rated has a charge {c.charge_id!r}"
            )
            for i, c in enumerate(request.changes)
            if c.charge_id not in seen_charges and outcome.subscriptions
        ]
        if missing:
            raise InvalidArgument(missing)
        outcome.subscriptions.sort(key=lambda s: (-abs(s.delta), s.subscription_id))
        outcome.skipped.sort()
        return outcome

    async def _one(
        self,
        subscription: cat.Subscription,
        wire_terms: cat.EffectiveTerms,
        customers: dict[str, cat.Customer],
        changes: Sequence[ChargeChange],
        candidate: PlanVersion | None,
        seen_charges: set[str],
    ) -> SubscriptionOutcome:
        terms = terms_from_wire(wire_terms)
        seen_charges.update(charge.id for charge in terms.plan.charges)
        customer = customers.get(terms.customer_id)
        external = (customer.external_id or customer.id) if customer is not None else terms.customer_id
        usage = await period_usage(terms, external, self._usage)
        active = active_interval(subscription)
        current = rerate(terms.plan, usage, period_fees(terms.plan, terms.period, active))
        plan = with_candidate_charges(terms.plan, candidate) if candidate is not None else terms.plan
        plan = apply_changes(plan, changes)
        proposed = rerate(plan, usage, period_fees(plan, terms.period, active))
        invoiced, invoice_id = await self._invoiced_usage(terms.customer_id, subscription.id, terms.period)
        return SubscriptionOutcome(
            subscription_id=subscription.id,
            customer_id=terms.customer_id,
            customer=external,
            period=terms.period,
            currency=terms.currency,
            current=current.total,
            candidate=proposed.total,
            current_usage=current.usage,
            invoiced_usage=invoiced,
            invoice_id=invoice_id,
        )

    async def _invoiced_usage(
        self, customer_id: str, subscription_id: str, period: Period
    ) -> tuple[Decimal | None, str]:
        """The usage lines of the regular invoice that closed ``period``, as billed."""
        for invoice in await self._invoices.invoices(customer_id, period.start, period.end):
            start = timestamp_from_wire(invoice.period.start)
            end = timestamp_from_wire(invoice.period.end)
            if (
                invoice.subscription_id == subscription_id
                and invoice.status in _BILLED
                and invoice.kind != inv.INVOICE_KIND_THRESHOLD
                and (start, end) == (period.start, period.end)
            ):
                invoice = await self._invoices.invoice(invoice.id)
                total = sum(
                    (
                        parse_decimal(line.amount.amount, field="invoice.lines.amount")
                        for line in invoice.lines
                        if line.kind == inv.INVOICE_LINE_KIND_USAGE
                    ),
                    ZERO,
                )
                return total, invoice.id
        return None, ""
