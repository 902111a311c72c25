"""A billing world for use-case tests: invoicing's use cases wired to the fakes, a clock the test moves, and the
plans and customers the tests bill."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from invoicing_fakes import FakeCatalog, FakeMetering, FakeTransactions, PlanInForce

from tally.api.invoicing.v1 import events_pb2
from tally.invoicing import events
from tally.invoicing.billing.controls import BillingControls
from tally.invoicing.billing.preview import Previews
from tally.invoicing.billing.runs import Billing, BillingPolicy, RunResult
from tally.invoicing.billing.terms import BilledParty, Subscription, SubscriptionStatus
from tally.invoicing.credit_ledger.domain import Grant
from tally.invoicing.credit_ledger.handlers import CreditLedger
from tally.invoicing.credit_notes.handlers import CreditNotes
from tally.invoicing.domain import CustomerSnapshot, Invoice, InvoiceLine, InvoiceStatus, LineKind
from tally.invoicing.domain import Period as InvoicePeriod
from tally.invoicing.handlers import Invoices
from tally.invoicing.receivables.handlers import Receivables
from tally.mesh import streams
from tally.money import Money
from tally.pricing import BillingTiming, Charge, FlatPrice, GraduatedPrice, PlanVersion, Tier

D = Decimal
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)
MAY = datetime(2026, 5, 1, tzinfo=UTC)
CALLS = "m-calls"


def platform_fee(currency: str = "USD") -> Charge:
    return Charge(
        "base", "Platform fee", FlatPrice(currency, D("49.00"), BillingTiming.IN_ARREARS, prorate=True)
    )


def api_calls(currency: str = "USD") -> Charge:
    """5 @ 10.00, 5 @ 8.00, the rest @ 6.00."""
    tiers = (Tier(D(5), D("10.00")), Tier(D(10), D("8.00")), Tier(None, D("6.00")))
    return Charge("calls", "API calls", GraduatedPrice(currency, tiers))


def graduated(calls: int) -> int:
    """What ``api_calls`` charges for ``calls``."""
    return 10 * min(calls, 5) + 8 * max(0, min(calls, 10) - 5) + 6 * max(0, calls - 10)


def hybrid(since: datetime = MARCH) -> PlanInForce:
    """The platform fee in arrears and metered API calls."""
    return PlanInForce(since, PlanVersion("USD", (platform_fee(), api_calls())), {"calls": CALLS})


def seats(since: datetime) -> PlanInForce:
    """30.00 a month for seats, billed in advance."""
    fee = Charge("seats", "Seats", FlatPrice("USD", D("30.00"), BillingTiming.IN_ADVANCE))
    return PlanInForce(since, PlanVersion("USD", (fee,)))


def usd(amount: str) -> Money:
    return Money(D(amount), "USD")


def an_invoice(
    invoice_id: str,
    lines: Sequence[InvoiceLine],
    *,
    status: InvoiceStatus,
    number: str | None = None,
    created_at: datetime = APRIL,
    customer_id: str = "cus_acme",
) -> Invoice:
    """A stored USD invoice of March with ``lines``: its totals are their sums, CREDIT lines the credit applied."""
    charged = [line for line in lines if line.kind is not LineKind.CREDIT]
    subtotal = sum((line.amount.amount for line in charged), D(0))
    tax = sum((line.tax.amount for line in charged), D(0))
    credits = -sum((line.amount.amount for line in lines if line.kind is LineKind.CREDIT), D(0))
    return Invoice(
        id=invoice_id,
        number=number,
        customer_id=customer_id,
        subscription_id="sub_1",
        status=status,
        currency="USD",
        period=InvoicePeriod(MARCH, APRIL),
        subtotal=usd(str(subtotal)),
        tax=usd(str(tax)),
        credits_applied=usd(str(credits)),
        total=usd(str(subtotal + tax)),
        amount_due=usd(str(subtotal + tax - credits)),
        created_at=created_at,
        issued_at=None if number is None else created_at,
        lines=tuple(lines),
    )


def lines(invoice: Invoice) -> list[tuple[str, str, str, str]]:
    return [
        (line.kind.value, line.description, str(line.amount.amount), str(line.tax.amount))
        for line in invoice.lines
    ]


def of_kind(invoice: Invoice, kind: str) -> list[InvoiceLine]:
    return [line for line in invoice.lines if line.kind.value == kind]


class World:
    def __init__(self) -> None:
        self.now = MARCH
        self.transactions = FakeTransactions()
        self.catalog = FakeCatalog()
        self.metering = FakeMetering()
        self.wakes = 0
        self.billing = Billing(
            self.transactions,
            self.catalog,
            self.metering,
            self.wake,
            finalized=events.invoice_finalized,
            alerted=events.alert_triggered,
            policy=BillingPolicy(grace=timedelta(hours=1), payment_terms=timedelta(days=30), concurrency=8),
            clock=self.clock,
        )
        self.previews = Previews(self.billing, self.catalog, self.transactions, clock=self.clock)
        self.controls = BillingControls(self.transactions, clock=self.clock)
        self.ledger = CreditLedger(self.transactions, self.catalog, clock=self.clock)
        self.invoicing = Invoices(
            self.transactions, self.wake, finalized=events.invoice_finalized, clock=self.clock
        )
        self.credit_notes = CreditNotes(
            self.transactions,
            self.wake,
            issued=events.credit_note_issued,
            paid=events.invoice_paid,
            clock=self.clock,
        )
        self.receivables = Receivables(
            self.transactions,
            self.wake,
            paid=events.invoice_paid,
            consumer="invoicing-payments",
            grants=self.catalog,
            clock=self.clock,
        )

    def clock(self) -> datetime:
        return self.now

    def wake(self) -> None:
        self.wakes += 1

    def customer(
        self, external_id: str = "acme", *, tax: str | None = "20", currency: str = "USD"
    ) -> BilledParty:
        party = BilledParty(
            f"cus_{external_id}",
            external_id,
            currency,
            None if tax is None else D(tax),
            CustomerSnapshot(f"{external_id.title()} Inc.", external_id=external_id),
        )
        self.catalog.parties[party.id] = party
        return party

    def subscribe(
        self,
        subscription_id: str,
        party: BilledParty,
        *plans: PlanInForce,
        start: datetime = MARCH,
        status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
        cancel_at: datetime | None = None,
        anniversary: bool = False,
    ) -> Subscription:
        subscription = Subscription(subscription_id, party.id, status, start, cancel_at=cancel_at)
        return self.catalog.subscribe(subscription, *(plans or (hybrid(),)), anniversary=anniversary)

    def grant(
        self,
        grant_id: str,
        party: BilledParty,
        amount: str,
        *,
        expires: datetime | None = None,
        promotional: bool = False,
    ) -> Grant:
        grant = Grant(
            grant_id,
            party.id,
            Money(D(amount), party.currency),
            D(0) if promotional else D(1),
            0,
            MARCH,
            expires,
            before_tax=promotional,
        )
        self.catalog.granted.append(grant)
        return grant

    def calls(self, customer: str, *moments: datetime) -> None:
        self.metering.record(customer, CALLS, *moments)

    async def run(self, as_of: datetime) -> RunResult:
        self.now = as_of
        return await self.billing.run(as_of)

    def invoices(self, subscription_id: str | None = None) -> list[Invoice]:
        """Stored invoices (with lines), oldest first."""
        stored = [s.invoice for s in self.transactions.tables.invoices.values()]
        return [i for i in stored if subscription_id is None or i.subscription_id == subscription_id]

    def invoice(self, invoice_id: str) -> Invoice:
        return self.transactions.tables.invoices[invoice_id].invoice

    def published(self, subject: str) -> list[tuple[str, bytes, dict[str, str]]]:
        """The outbox's committed messages on ``subject``: (msg id, payload, headers)."""
        return [
            (m.msg_id, m.payload, dict(m.headers))
            for m in self.transactions.tables.outbox
            if m.subject == subject
        ]

    def finalized_events(self) -> list[events_pb2.InvoiceFinalized]:
        return [
            events_pb2.InvoiceFinalized.FromString(p) for _, p, _ in self.published(streams.INVOICE_FINALIZED)
        ]

    def numbers(self) -> list[str]:
        return sorted(i.number for i in self.invoices() if i.number)
