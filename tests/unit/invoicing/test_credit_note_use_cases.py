"""Credit note use cases against the fakes: issuing (number first, nothing written when refused), voiding (credit
note, prepaid credit given back, idempotent), reading and listing."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from invoicing_world import MARCH, D, World, an_invoice, usd

from tally.api.invoicing.v1 import events_pb2
from tally.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from tally.invoicing.credit_ledger.domain import Grant, burned
from tally.invoicing.credit_ledger.handlers import record_grants
from tally.invoicing.credit_notes.domain import (
    CreditedLine,
    CreditNoteFilter,
    CreditNoteKey,
    CreditNoteReason,
    FullCredit,
    LineCredit,
    LumpSumCredit,
)
from tally.invoicing.domain import Invoice, InvoiceLine, InvoiceStatus, LineKind
from tally.mesh import streams
from tally.pricing import LedgerEntry

NOW = datetime(2026, 4, 5, 10, tzinfo=UTC)


def finalized(invoice_id: str = "inv-1", *, status: InvoiceStatus = InvoiceStatus.FINALIZED) -> Invoice:
    """100.00 + 20.00 tax and 50.00 + 10.00 tax, less 30.00 of prepaid credit: 150.00 + 30.00 = 180.00."""
    rate = D(20)
    lines = (
        InvoiceLine(
            f"{invoice_id}-0001",
            1,
            LineKind.USAGE,
            "API calls",
            usd("100.00"),
            usd("20.00"),
            tax_rate_percent=rate,
        ),
        InvoiceLine(
            f"{invoice_id}-0002",
            2,
            LineKind.RECURRING,
            "Platform fee",
            usd("50.00"),
            usd("10.00"),
            tax_rate_percent=rate,
        ),
        InvoiceLine(
            f"{invoice_id}-0003",
            3,
            LineKind.CREDIT,
            "Prepaid credit",
            usd("-30.00"),
            usd("0"),
            charge_id="grant-1",
        ),
    )
    return an_invoice(
        invoice_id, lines, status=status, number="INV-2026-000007", created_at=NOW - timedelta(days=3)
    )


def world_with(invoice: Invoice) -> World:
    """The invoice stored, its 30.00 of prepaid credit burned from a 50.00 grant."""
    world = World()
    world.now = NOW
    with world.transactions.begin() as tx:
        tx.invoices.add([("key-1", invoice)], now=NOW)
        record_grants(tx.ledger, [Grant("grant-1", "cus_acme", usd("50.00"), D(1), 0, MARCH, None)], now=NOW)
        burn = LedgerEntry("grant-1", D("30.00"), D("20.00"))
        tx.ledger.append(
            burned(
                customer_id="cus_acme",
                currency="USD",
                invoice_id=invoice.id,
                invoice_number="INV-2026-000007",
                burns=[burn],
                at=NOW,
            )
        )
        tx.commit()
    return world


def issued_events(world: World) -> list[events_pb2.CreditNoteIssued]:
    return [
        events_pb2.CreditNoteIssued.FromString(p) for _, p, _ in world.published(streams.CREDIT_NOTE_ISSUED)
    ]


async def test_a_line_credited_in_parts_gives_back_its_tax_to_the_cent_with_gapless_numbers():
    world = world_with(finalized())
    first = await world.credit_notes.create(
        "inv-1", LineCredit((CreditedLine("inv-1-0001", D("33.33")),)), CreditNoteReason.BILLING_ERROR, "part"
    )
    rest = await world.credit_notes.create(
        "inv-1", LineCredit((CreditedLine("inv-1-0001"),)), CreditNoteReason.BILLING_ERROR, "the rest"
    )
    assert (first.number, rest.number) == ("CN-2026-000001", "CN-2026-000002")
    assert [(str(n.subtotal.amount), str(n.tax.amount)) for n in (first, rest)] == [
        ("33.33", "6.67"),
        ("66.67", "13.33"),
    ]
    assert (first.invoice_number, rest.lines[0].quantity) == ("INV-2026-000007", None)
    assert [e.credit_note.number for e in issued_events(world)] == ["CN-2026-000001", "CN-2026-000002"]
    assert world.wakes == 2


async def test_over_crediting_is_refused_naming_the_field_and_writes_nothing_not_even_a_number():
    world = world_with(finalized())
    with pytest.raises(InvalidArgument) as too_much:
        await world.credit_notes.create("inv-1", LumpSumCredit(usd("150.01")), CreditNoteReason.GOODWILL, "")
    with pytest.raises(InvalidArgument) as credit_line:
        await world.credit_notes.create(
            "inv-1", LineCredit((CreditedLine("inv-1-0003"),)), CreditNoteReason.GOODWILL, ""
        )
    assert [v.field for v in too_much.value.violations + credit_line.value.violations] == [
        "amount.amount",
        "lines[0].invoice_line_id",
    ]
    assert world.transactions.tables.credit_notes == {} and world.transactions.tables.series == {}
    note = await world.credit_notes.create("inv-1", FullCredit(), CreditNoteReason.GOODWILL, "")
    assert (note.number, str(note.total.amount)) == ("CN-2026-000001", "180.00")
    with pytest.raises(FailedPrecondition, match="nothing left to credit"):
        await world.credit_notes.create("inv-1", FullCredit(), CreditNoteReason.GOODWILL, "")
    assert world.transactions.tables.series == {"CN-2026": 2}


async def test_voiding_credits_what_is_left_gives_prepaid_credit_back_and_is_idempotent():
    world = world_with(finalized())
    await world.credit_notes.create(
        "inv-1", LineCredit((CreditedLine("inv-1-0002"),)), CreditNoteReason.BILLING_ERROR, ""
    )
    voided = await world.credit_notes.void("inv-1", "customer left")
    note = voided.credit_note
    assert note is not None
    assert (voided.invoice.status, voided.invoice.voided_at) == (InvoiceStatus.VOID, NOW)
    assert (note.number, note.reason, note.memo) == (
        "CN-2026-000002",
        CreditNoteReason.INVOICE_VOIDED,
        "customer left",
    )
    assert [(line.invoice_line_id, str(line.amount.amount), str(line.tax.amount)) for line in note.lines] == [
        ("inv-1-0001", "100.00", "20.00")
    ]
    given_back = [e for e in world.transactions.tables.entries if e.kind.value == "REVERSED"]
    assert [(str(e.amount.amount), str(e.grant_balance_after.amount), e.description) for e in given_back] == [
        ("30.00", "50.00", "Invoice INV-2026-000007 voided")
    ]

    world.now = NOW + timedelta(minutes=5)
    again = await world.credit_notes.void("inv-1", "again")
    assert again == voided
    assert world.transactions.tables.series == {"CN-2026": 3}  # the retry's number rolled back
    assert len(issued_events(world)) == 2
    assert len([e for e in world.transactions.tables.entries if e.kind.value == "REVERSED"]) == 1


async def test_an_invoice_credited_in_full_is_voided_without_a_credit_note_and_its_credit_given_back():
    world = world_with(finalized())
    await world.credit_notes.create("inv-1", FullCredit(), CreditNoteReason.BILLING_ERROR, "")
    voided = await world.credit_notes.void("inv-1", "")
    assert (voided.invoice.status, voided.credit_note) == (InvoiceStatus.VOID, None)
    assert world.transactions.tables.series == {"CN-2026": 2}
    assert [e.kind.value for e in world.transactions.tables.entries] == ["GRANTED", "BURNED", "REVERSED"]
    again = await world.credit_notes.void("inv-1", "")
    assert again.invoice == voided.invoice and again.credit_note is None


@pytest.mark.parametrize(
    ("status", "says"), [(InvoiceStatus.DRAFT, "re-drafts"), (InvoiceStatus.PAID, "credit note instead")]
)
async def test_drafts_and_paid_invoices_are_not_voided(status, says):
    world = world_with(finalized(status=status))
    with pytest.raises(FailedPrecondition, match=says):
        await world.credit_notes.void("inv-1", "")
    assert world.invoice("inv-1").status is status
    assert world.transactions.tables.series == {}


async def test_unknown_and_missing_ids_are_named():
    world = world_with(finalized())
    with pytest.raises(NotFound) as unknown:
        await world.credit_notes.create("nope", FullCredit(), CreditNoteReason.GOODWILL, "")
    with pytest.raises(InvalidArgument) as missing:
        await world.credit_notes.void("", "")
    with pytest.raises(NotFound) as no_note:
        await world.credit_notes.get("cn-nope")
    assert (unknown.value.field, no_note.value.field) == ("invoice_id", "credit_note_id")
    assert [v.field for v in missing.value.violations] == ["invoice_id"]


async def test_credit_notes_are_read_and_listed_newest_first_by_customer_and_invoice():
    world = world_with(finalized())
    with world.transactions.begin() as tx:
        tx.invoices.add(
            [("key-2", replace(finalized("inv-2"), customer_id="cus_other", number="INV-2026-000008"))],
            now=NOW,
        )
        tx.commit()
    notes = []
    for minute, invoice_id in enumerate(("inv-1", "inv-2", "inv-1")):
        world.now = NOW + timedelta(minutes=minute)
        notes.append(
            await world.credit_notes.create(
                invoice_id, LumpSumCredit(usd("1.00")), CreditNoteReason.GOODWILL, ""
            )
        )
    assert await world.credit_notes.get(notes[0].id) == notes[0]
    acme = await world.credit_notes.list(CreditNoteFilter(customer_id="cus_acme"), after=None, limit=1)
    assert [n.id for n in acme] == [notes[2].id]
    page = await world.credit_notes.list(
        CreditNoteFilter(invoice_id="inv-1"), after=CreditNoteKey(acme[0].issued_at, acme[0].id), limit=5
    )
    assert [n.id for n in page] == [notes[0].id]
