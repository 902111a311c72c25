"""Receivables against the fakes: what credit notes and payments take off an invoice, PARTIALLY_PAID and PAID,
credit carried beyond an invoice and consumed by the next one, payments from ERPs and by RecordPayment counted once
each, a customer's statement aged in buckets, and expired credit written off in the ledger."""

from datetime import UTC, datetime, timedelta

import pytest
from invoicing_world import APRIL, MAY, D, World, an_invoice, lines, usd

from tally.api.invoicing.v1 import events_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from tally.invoicing.credit_notes.domain import CreditNoteReason, FullCredit, LumpSumCredit
from tally.invoicing.domain import Invoice, InvoiceLine, InvoiceStatus, LineKind, Payment
from tally.invoicing.receivables.domain import AgeBucket, PaymentOutcome
from tally.mesh import streams
from tally.money import Money

NOW = datetime(2026, 4, 2, 9, tzinfo=UTC)


def issued(
    invoice_id: str = "inv-1", *, amount: str = "410.94", tax: str = "82.19", at: datetime = NOW
) -> Invoice:
    """A FINALIZED USD invoice of one usage line taxed at 20 %: by default 410.94 + 82.19 = 493.13."""
    line = InvoiceLine(
        f"{invoice_id}-0001",
        1,
        LineKind.USAGE,
        "API calls",
        usd(amount),
        usd(tax),
        tax_rate_percent=D(20),
    )
    invoice = an_invoice(
        invoice_id, [line], status=InvoiceStatus.FINALIZED, number=f"INV-2026-{invoice_id[-1]}"
    )
    return Invoice(**{**invoice.__dict__, "issued_at": at, "due_at": at + timedelta(days=30)})


def world_with(*invoices: Invoice) -> World:
    world = World()
    world.now = NOW
    with world.transactions.begin() as tx:
        tx.invoices.add([(f"key-{invoice.id}", invoice) for invoice in invoices], now=NOW)
        tx.commit()
    return world


def manual(payment_id: str, amount: str, *, invoice_id: str = "inv-1", currency: str = "USD") -> Payment:
    return Payment(f"manual:{payment_id}", invoice_id, "MANUAL", Money(D(amount), currency), NOW, "bank ref")


def paid_events(world: World) -> list[events_pb2.InvoicePaid]:
    return [events_pb2.InvoicePaid.FromString(p) for _, p, _ in world.published(streams.INVOICE_PAID)]


async def test_a_credit_note_and_a_payment_lower_what_is_due_and_a_larger_note_carries_the_rest_to_the_next_invoice():
    world = world_with(issued())
    assert world.invoice("inv-1").amount_remaining == usd("493.13")

    # 22.63 before tax at 20 %: a 27.16 credit note.
    note = await world.credit_notes.create(
        "inv-1", LumpSumCredit(usd("22.63")), CreditNoteReason.BILLING_ERROR, "overcharged"
    )
    assert (note.total, note.amount_applied, note.carried_forward) == (usd("27.16"), usd("27.16"), usd("0"))
    invoice = world.invoice("inv-1")
    assert (invoice.status, invoice.amount_remaining) == (InvoiceStatus.FINALIZED, usd("465.97"))

    recorded = await world.receivables.record_payment(manual("p-1", "200.00"))
    assert recorded.outcome is PaymentOutcome.PARTIALLY_PAID
    invoice = world.invoice("inv-1")
    assert (invoice.status, invoice.amount_remaining) == (InvoiceStatus.PARTIALLY_PAID, usd("265.97"))
    assert paid_events(world) == []

    # Everything left on the invoice (465.97) is more than it still owes (265.97): 200.00 is the customer's.
    rest = await world.credit_notes.create("inv-1", FullCredit(), CreditNoteReason.GOODWILL, "")
    assert (rest.number, rest.total, rest.amount_applied, rest.carried_forward) == (
        "CN-2026-000002",
        usd("465.97"),
        usd("265.97"),
        usd("200.00"),
    )
    invoice = world.invoice("inv-1")
    assert (invoice.status, invoice.amount_remaining, invoice.paid_at) == (
        InvoiceStatus.PAID,
        usd("0.00"),
        NOW,
    )
    [paid] = paid_events(world)
    assert (paid.invoice.status, paid.invoice.amount_remaining.amount) == (pb.INVOICE_STATUS_PAID, "0.00")
    entries = await world.ledger.entries("cus_acme", after=None, limit=10)
    assert [(e.kind.value, e.amount, e.description) for e in entries] == [
        ("GRANTED", usd("200.00"), "Credit note CN-2026-000002 beyond invoice INV-2026-1")
    ]

    # The next invoice consumes it, after tax, as money already paid.
    acme = world.customer()
    world.subscribe("sub_next", acme, start=APRIL)
    world.calls("acme", APRIL + timedelta(days=3))
    await world.run(MAY + timedelta(hours=2))
    [april] = world.invoices("sub_next")
    assert lines(april)[-1] == (
        "CREDIT",
        "Credit note CN-2026-000002 beyond invoice INV-2026-1",
        "-70.80",
        "0.00",
    )
    assert (april.total, april.credits_applied, april.amount_due) == (usd("70.80"), usd("70.80"), usd("0.00"))
    balance = await world.ledger.balance("cus_acme")
    assert balance.total == usd("129.20")


async def test_payments_from_an_erp_count_once_each_and_an_overpayment_becomes_credit():
    world = world_with(issued(amount="100.00", tax="20.00"))

    def payment(payment_id: str, amount: str) -> Payment:
        return Payment(payment_id, "inv-1", "NETSUITE", usd(amount), NOW, "ref-1")

    assert await world.receivables.record("m-1", payment("p-1", "100.00")) is PaymentOutcome.PARTIALLY_PAID
    assert await world.receivables.record("m-1", payment("p-1", "100.00")) is PaymentOutcome.DUPLICATE
    assert await world.receivables.record("m-2", payment("p-1", "100.00")) is PaymentOutcome.DUPLICATE
    assert world.invoice("inv-1").amount_remaining == usd("20.00")
    assert await world.receivables.record("m-3", payment("p-2", "25.00")) is PaymentOutcome.SETTLED
    invoice = world.invoice("inv-1")
    assert (invoice.status, invoice.paid, invoice.paid_at) == (InvoiceStatus.PAID, D("120.00"), NOW)
    assert len(paid_events(world)) == 1
    assert await world.receivables.record("m-4", payment("p-3", "1.00")) is PaymentOutcome.RECORDED
    balance = await world.ledger.balance("cus_acme")
    assert [(grant.id, left) for grant, left in balance.grants] == [
        ("credit-payment-p-2", D("5.00")),
        ("credit-payment-p-3", D("1.00")),
    ]


async def test_a_payment_for_an_unknown_invoice_or_in_another_currency_is_claimed_and_not_recorded():
    world = world_with(issued())
    unknown = Payment("p-1", "nope", "NETSUITE", usd("5"), NOW)
    euros = Payment("p-2", "inv-1", "NETSUITE", Money(D("120"), "EUR"), NOW)
    assert await world.receivables.record("m-1", unknown) is PaymentOutcome.UNKNOWN_INVOICE
    assert await world.receivables.record("m-2", euros) is PaymentOutcome.CURRENCY_MISMATCH
    assert world.transactions.tables.payments == {}
    assert await world.receivables.record("m-1", unknown) is PaymentOutcome.DUPLICATE
    assert world.transactions.tables.inbox == {("invoicing-payments", "m-1"), ("invoicing-payments", "m-2")}


async def test_record_payment_refuses_what_it_cannot_apply_naming_the_field_and_writes_nothing():
    draft = an_invoice("inv-9", [], status=InvoiceStatus.DRAFT)
    world = world_with(issued(), draft)
    with pytest.raises(NotFound) as unknown:
        await world.receivables.record_payment(manual("p-1", "5", invoice_id="nope"))
    with pytest.raises(InvalidArgument) as currency:
        await world.receivables.record_payment(manual("p-2", "5", currency="EUR"))
    with pytest.raises(InvalidArgument) as nothing:
        await world.receivables.record_payment(manual("p-3", "0"))
    with pytest.raises(FailedPrecondition, match="DRAFT"):
        await world.receivables.record_payment(manual("p-4", "5", invoice_id="inv-9"))
    assert [unknown.value.field, currency.value.violations[0].field, nothing.value.violations[0].field] == [
        "invoice_id",
        "amount.currency",
        "amount.amount",
    ]
    assert world.transactions.tables.payments == {}
    first = await world.receivables.record_payment(manual("p-5", "10.00"))
    again = await world.receivables.record_payment(manual("p-5", "10.00"))
    assert (first.outcome, again.outcome) == (PaymentOutcome.PARTIALLY_PAID, PaymentOutcome.DUPLICATE)
    assert world.invoice("inv-1").amount_remaining == usd("483.13")


async def test_a_statement_ages_open_invoices_by_days_since_issue_and_nets_the_credit():
    as_of = datetime(2026, 6, 30, 12, tzinfo=UTC)
    world = world_with(
        issued("inv-1", amount="100.00", tax="20.00", at=as_of - timedelta(days=10)),
        issued("inv-2", amount="200.00", tax="40.00", at=as_of - timedelta(days=31)),
        issued("inv-3", amount="300.00", tax="60.00", at=as_of - timedelta(days=75)),
        issued("inv-4", amount="400.00", tax="80.00", at=as_of - timedelta(days=91)),
        issued("inv-5", amount="500.00", tax="100.00", at=as_of - timedelta(days=200)),
    )
    await world.receivables.record_payment(manual("p-1", "100.00", invoice_id="inv-2"))
    await world.receivables.record_payment(manual("p-2", "650.00", invoice_id="inv-5"))  # 50.00 beyond it
    statement = await world.receivables.statement("cus_acme", as_of)
    assert [(item.invoice.id, item.age_days, item.bucket, item.remaining) for item in statement.items] == [
        ("inv-4", 91, AgeBucket.DAYS_OVER_90, usd("480.00")),
        ("inv-3", 75, AgeBucket.DAYS_61_90, usd("360.00")),
        ("inv-2", 31, AgeBucket.DAYS_31_60, usd("140.00")),
        ("inv-1", 10, AgeBucket.DAYS_0_30, usd("120.00")),
    ]
    [summary] = statement.summaries
    assert [(bucket.value, amount) for bucket, amount in summary.buckets] == [
        ("0-30", usd("120.00")),
        ("31-60", usd("140.00")),
        ("61-90", usd("360.00")),
        ("90+", usd("480.00")),
    ]
    assert (summary.outstanding, summary.credit_balance, summary.net) == (
        usd("1100.00"),
        usd("50.00"),
        usd("1050.00"),
    )


async def test_credit_that_expired_is_burned_by_the_period_it_was_usable_in_then_written_off_once():
    world = World()
    acme = world.customer()
    world.subscribe("sub_1", acme)
    world.grant("old", acme, "100.00", expires=APRIL)

    def moves() -> list[tuple[str, Money]]:
        return [
            (e.kind.value, e.amount) for e in world.transactions.tables.entries if e.credit_grant_id == "old"
        ]

    await world.run(APRIL + timedelta(minutes=30))  # March is a draft in its grace: its credit may still burn
    assert moves() == [("GRANTED", usd("100.00"))]
    await world.run(
        APRIL + timedelta(hours=2)
    )  # March final (49.00 + 9.80 tax burned), then the rest expires
    assert moves() == [("GRANTED", usd("100.00")), ("BURNED", usd("-58.80")), ("EXPIRED", usd("-41.20"))]
    [expired] = [e for e in world.transactions.tables.entries if e.kind.value == "EXPIRED"]
    assert (expired.occurred_at, expired.grant_balance_after) == (APRIL, usd("0"))
    await world.run(APRIL + timedelta(hours=3))
    assert len(moves()) == 3
