"""Quoting use cases: create and revise quotes against catalog, price them, move them through approval to
acceptance, render them, and compare accepted ones with what was metered and invoiced.

Each use case owns its transaction through the repository port; a state change and the event it emits
(QuoteAccepted) commit together. Peers are read through ports too, so the use cases run against fakes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol, TypeVar

from opentelemetry import trace

from tally.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from tally.mesh import attributes
from tally.pricing import Period
from tally.quoting.domain import (
    ApprovalRule,
    Approver,
    BilledInvoice,
    ListedPlan,
    PeriodComparison,
    PricedQuote,
    Quote,
    QuotedCustomer,
    QuoteStatus,
    QuoteTerms,
    QuoteVersion,
    Transition,
    accept,
    approve,
    assumed_by_period,
    bound,
    compare,
    deal_facts,
    expire,
    price_quote,
    reject,
    required_approvals,
    revise,
    submit,
    validate_terms,
)
from tally.quoting.domain.quotes import SYSTEM
from tally.quoting.domain.terms import refuse_nul
from tally.quoting.events import quote_accepted
from tally.quoting.store import OutboxMessage

T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


class QuoteTransaction(Protocol):
    """What a use case does to quotes inside one transaction (``tally.quoting.store`` implements it)."""

    def next_number(self) -> tuple[int, str]: ...
    def add(self, quote: Quote, sequence: int, created_by: str) -> None: ...
    def get(self, quote_id: str) -> Quote | None: ...
    def save(self, quote: Quote, *, by: str) -> None: ...
    def record(self, quote_id: str, transition: Transition) -> None: ...
    def enqueue(self, message: OutboxMessage) -> None: ...
    def claim(self, consumer: str, msg_id: str) -> bool: ...


class QuoteRepository(Protocol):
    def transaction(self) -> AbstractContextManager[QuoteTransaction]: ...
    def get(self, quote_id: str) -> Quote | None: ...
    def listing(
        self,
        *,
        customer_id: str | None,
        status: QuoteStatus | None,
        now: datetime,
        before_sequence: int | None,
        limit: int,
    ) -> list[tuple[int, Quote]]: ...
    def history(self, quote_id: str) -> tuple[list[QuoteVersion], list[Transition]]: ...


class CatalogPort(Protocol):
    async def plan_version(self, plan_version_id: str, *, field: str) -> ListedPlan: ...
    async def customer(self, customer_id: str, *, field: str) -> QuotedCustomer: ...
    async def customer_by_external_id(self, external_id: str) -> QuotedCustomer | None: ...


@dataclass(frozen=True)
class UsageAsk:
    meter_id: str
    period: Period


class MeteringPort(Protocol):
    async def usage(self, customer: str, asks: Sequence[UsageAsk]) -> list[Decimal]: ...


class InvoicingPort(Protocol):
    async def invoices(self, customer_id: str, subscription_id: str) -> list[BilledInvoice]: ...


class Render(Protocol):
    def __call__(self, quote: Quote, priced: PricedQuote, customer_name: str, now: datetime) -> bytes: ...


@dataclass(frozen=True)
class Comparison:
    subscription_id: str
    currency: str
    periods: tuple[PeriodComparison, ...]


class Quotes:
    """Quotes from draft to acceptance; every change is one transaction with its transitions and events."""

    def __init__(
        self,
        repository: QuoteRepository,
        catalog: CatalogPort | None,
        *,
        rules: Sequence[ApprovalRule],
        wake_relay: Callable[[], None],
        metering: MeteringPort | None = None,
        invoicing: InvoicingPort | None = None,
        render: Render | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._repository = repository
        self._peer = catalog
        self._rules = tuple(rules)
        self._wake_relay = wake_relay
        self._metering = metering
        self._invoicing = invoicing
        self._render = render
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    @property
    def _catalog(self) -> CatalogPort:
        if self._peer is None:
            raise FailedPrecondition("quotes are priced against catalog: set TALLY_CATALOG_TARGET")
        return self._peer

    # ---- terms ----------------------------------------------------------------------------------------------

    async def _facts(self, terms: QuoteTerms) -> tuple[ListedPlan, QuotedCustomer | None]:
        """The plan version and (existing) customer the terms name, from catalog."""
        refuse_nul(terms)
        if not terms.plan_version_id:
            raise InvalidArgument.field("quote.plan_version_id", "is required")
        customer = None
        if terms.customer_id:
            plan, customer = await asyncio.gather(
                self._catalog.plan_version(terms.plan_version_id, field="quote.plan_version_id"),
                self._catalog.customer(terms.customer_id, field="quote.customer_id"),
            )
        else:
            plan = await self._catalog.plan_version(terms.plan_version_id, field="quote.plan_version_id")
        return plan, customer

    async def _validated(self, terms: QuoteTerms, now: datetime) -> tuple[ListedPlan, QuotedCustomer | None]:
        plan, customer = await self._facts(terms)
        validate_terms(terms, plan, customer, now=now)
        if terms.prospect is not None:
            taken = await self._catalog.customer_by_external_id(terms.prospect.external_id)
            if taken is not None:
                raise InvalidArgument.field(
                    "quote.prospect.external_id",
                    f"customer {taken.id} ({taken.name}) has this external id already: quote them by customer_id",
                )
        return plan, customer

    async def create(self, terms: QuoteTerms, actor: str) -> Quote:
        now = self._clock()
        await self._validated(terms, now)
        quote_id = str(uuid.uuid4())

        def write() -> Quote:
            with self._repository.transaction() as tx:
                sequence, number = tx.next_number()
                quote = Quote(
                    quote_id, number, QuoteStatus.DRAFT, 1, terms, now, now, customer_id=terms.customer_id
                )
                tx.add(quote, sequence, actor)
                tx.record(quote.id, Transition(None, QuoteStatus.DRAFT, 1, actor, now, "created"))
                return quote

        quote = await asyncio.to_thread(write)
        trace.get_current_span().set_attribute(attributes.CUSTOMER, terms.customer_id)
        return quote

    async def get(self, quote_id: str) -> Quote:
        if not quote_id:
            raise InvalidArgument.field("quote_id", "is required")
        quote = await asyncio.to_thread(self._repository.get, quote_id)
        if quote is None:
            raise NotFound("quote", quote_id, field="quote_id")
        return quote

    async def listing(
        self, *, customer_id: str | None, status: QuoteStatus | None, before_sequence: int | None, limit: int
    ) -> list[tuple[int, Quote]]:
        return await asyncio.to_thread(
            self._repository.listing,
            customer_id=customer_id,
            status=status,
            now=self._clock(),
            before_sequence=before_sequence,
            limit=limit,
        )

    async def history(self, quote_id: str) -> tuple[Quote, list[QuoteVersion], list[Transition]]:
        quote = await self.get(quote_id)
        versions, transitions = await asyncio.to_thread(self._repository.history, quote_id)
        return quote, versions, transitions

    async def update(
        self, quote_id: str, version: int, fields: Sequence[str], wanted: QuoteTerms, actor: str
    ) -> Quote:
        """The next version with ``fields`` of ``wanted`` (QuoteTerms field names), validated against catalog."""
        current = await self.get(quote_id)
        terms = replace(current.terms, **{name: getattr(wanted, name) for name in fields})
        now = self._clock()
        await self._validated(terms, now)
        return await self._change(
            quote_id, lambda quote: revise(quote, version, terms, actor, now), actor, now
        )

    # ---- lifecycle -------------------------------------------------------------------------------------------

    async def _change(
        self,
        quote_id: str,
        step: Callable[[Quote], tuple[Quote, Transition | None]],
        actor: str,
        now: datetime,
        emit: Callable[[Quote], OutboxMessage] | None = None,
    ) -> Quote:
        """Read the quote, record its expiry if it lapsed (and refuse), else apply ``step`` and write it back
        with its transition (and ``emit``'s event) in one transaction."""

        def run() -> tuple[Quote, bool]:
            """(the quote as stored, whether it emitted an event); a lapsed quote comes back EXPIRED."""
            with self._repository.transaction() as tx:
                quote = tx.get(quote_id)
                if quote is None:
                    raise NotFound("quote", quote_id, field="quote_id")
                lapsed = expire(quote, now)
                if lapsed is not None:
                    tx.save(lapsed[0], by=SYSTEM)
                    tx.record(quote_id, lapsed[1])
                    return lapsed[0], False
                changed, transition = step(quote)
                if transition is None and changed == quote:
                    return quote, False
                tx.save(changed, by=actor)
                if transition is None:
                    return changed, False
                tx.record(quote_id, transition)
                if emit is not None:
                    tx.enqueue(emit(changed))
                return changed, emit is not None

        quote, emitted = await asyncio.to_thread(run)
        if quote.status is QuoteStatus.EXPIRED:
            # The expiry is committed; the action is not.
            raise FailedPrecondition(
                f"quote {quote.number} expired: it was valid until {quote.terms.valid_until:%Y-%m-%d %H:%M} UTC"
            )
        if emitted:
            self._wake_relay()
        return quote

    async def submit(self, quote_id: str, version: int, actor: str) -> Quote:
        """SUBMITTED with the approvals the rules ask for the priced deal, or APPROVED when none applies."""
        quote = await self.get(quote_id)
        now = self._clock()
        if quote.status_at(now) is QuoteStatus.DRAFT and version == quote.version:
            # Terms are checked again: time has passed (valid_until, a start in the past is fine) since they were.
            plan, customer = await self._validated(quote.terms, now)
            priced = price_quote(quote.terms, plan, self._tax_rate(quote.terms, customer))
            required = required_approvals(
                self._rules, deal_facts(quote.terms, priced.estimate, priced.at_list, priced.value)
            )
        else:
            required = ()  # the step refuses it, naming why
        return await self._change(quote_id, lambda q: submit(q, version, required, actor, now), actor, now)

    async def approve(self, quote_id: str, version: int, approver: Approver, comment: str) -> Quote:
        now = self._clock()
        return await self._change(
            quote_id, lambda q: approve(q, version, approver, comment, now), approver.name, now
        )

    async def reject(self, quote_id: str, version: int, approver: Approver, reason: str) -> Quote:
        now = self._clock()
        return await self._change(
            quote_id, lambda q: reject(q, version, approver, reason, now), approver.name, now
        )

    async def accept(self, quote_id: str, version: int, signer_name: str, signer_email: str) -> Quote:
        """ACCEPTED with QuoteAccepted in the outbox (one event per quote, however often it is accepted)."""
        now = self._clock()
        return await self._change(
            quote_id,
            lambda q: accept(q, version, signer_name, signer_email, now),
            signer_name,
            now,
            emit=quote_accepted,
        )

    async def bind_subscription(
        self, consumer: str, msg_id: str, quote_id: str, subscription_id: str, customer_id: str
    ) -> bool:
        """Record the subscription catalog made from an accepted quote; once per message (inbox)."""

        def write() -> bool:
            with self._repository.transaction() as tx:
                if not tx.claim(consumer, msg_id):
                    return False
                quote = tx.get(quote_id)
                if quote is None or quote.subscription_id == subscription_id:
                    return False
                tx.save(bound(quote, subscription_id, customer_id), by=SYSTEM)
                return True

        return await asyncio.to_thread(write)

    # ---- pricing, documents, comparison ----------------------------------------------------------------------

    @staticmethod
    def _tax_rate(terms: QuoteTerms, customer: QuotedCustomer | None) -> Decimal | None:
        if customer is not None:
            return customer.tax_rate_percent
        prospect = terms.prospect
        if prospect is None or prospect.tax_exempt:
            return None
        return prospect.tax_rate_percent

    async def _priced(self, quote: Quote) -> tuple[PricedQuote, ListedPlan, QuotedCustomer | None]:
        terms = quote.terms
        customer_id = quote.customer_id or terms.customer_id
        plan = await self._catalog.plan_version(terms.plan_version_id, field="quote.plan_version_id")
        customer = (
            await self._catalog.customer(customer_id, field="quote.customer_id") if customer_id else None
        )
        validate_terms(terms, plan, customer, now=None)  # as stored: its validity is the lifecycle's business
        return price_quote(terms, plan, self._tax_rate(terms, customer)), plan, customer

    async def price(self, quote_id: str | None, unsaved: QuoteTerms | None) -> tuple[QuoteTerms, PricedQuote]:
        """The estimate of a stored quote's current version, or of unsaved terms (validated as on create)."""
        if unsaved is not None:
            plan, customer = await self._validated(unsaved, self._clock())
            return unsaved, price_quote(unsaved, plan, self._tax_rate(unsaved, customer))
        quote = await self.get(quote_id or "")
        priced, _, _ = await self._priced(quote)
        return quote.terms, priced

    async def pdf(self, quote_id: str) -> tuple[bytes, str]:
        if self._render is None:
            raise FailedPrecondition("quote PDFs are not configured on this server")
        quote = await self.get(quote_id)
        priced, _, customer = await self._priced(quote)
        name = (
            customer.name
            if customer is not None
            else quote.terms.prospect.name
            if quote.terms.prospect
            else ""
        )
        document = await asyncio.to_thread(self._render, quote, priced, name, self._clock())
        return document, f"{quote.number}.pdf"

    async def compare(self, quote_id: str) -> Comparison:
        """Per billing period invoiced so far: assumed against metered usage, estimated against invoiced."""
        if self._metering is None or self._invoicing is None:
            raise FailedPrecondition("comparing needs TALLY_METERING_TARGET and TALLY_INVOICING_TARGET")
        quote = await self.get(quote_id)
        if quote.status is not QuoteStatus.ACCEPTED:
            raise FailedPrecondition(
                f"quote {quote.number} is {quote.status.value}: only accepted quotes are compared"
            )
        if not quote.subscription_id:
            raise FailedPrecondition(
                f"catalog has not made the subscription of quote {quote.number} yet; retry shortly"
            )
        priced, plan, customer = await self._priced(quote)
        assert customer is not None  # accepted with a subscription: the customer exists
        billed = await self._invoicing.invoices(customer.id, quote.subscription_id)
        assumed = assumed_by_period(quote.terms, plan, priced.estimate)
        compared = {i.period_index: i.period for i in priced.estimate.invoices if not i.opening}
        starts = {b.period_start for b in billed}
        asks = [
            (index, UsageAsk(meter, period))
            for index, period in sorted(compared.items())
            if period.start in starts
            for meter in sorted(assumed.get(index, {}))
        ]
        quantities = await self._metering.usage(customer.external_id, [ask for _, ask in asks])
        metered: dict[int, dict[str, Decimal]] = {}
        for (index, ask), quantity in zip(asks, quantities, strict=True):
            metered.setdefault(index, {})[ask.meter_id] = quantity
        periods = compare(priced.estimate, billed, assumed, metered)
        return Comparison(quote.subscription_id, quote.terms.currency, periods)
