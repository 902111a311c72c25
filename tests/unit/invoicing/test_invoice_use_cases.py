"""The invoice core's use cases against the fakes: finalizing a draft (number first, credit burned, published
once)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from invoicing_world import MARCH, D, World, an_invoice, usd

from tally.api.invoicing.v1 import events_pb2
from tally.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from tally.invoicing.credit_ledger.domain import Grant
from tally.invoicing.credit_ledger.handlers import record_grants
from tally.invoicing.domain import (
    Invoice,
    InvoiceFilter,
    InvoiceKey,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from tally.mesh import streams

NOW = datetime(2026, 4, 2, 9, tzinfo=UTC)


def draft(
    invoice_id: str = "inv-1", *, credit: tuple[str, str] | None = None, created: datetime = NOW
) -> Invoice:
    """A DRAFT of 100.00 + 20.00 tax, less the prepaid ``credit`` (grant id, amount) it applies."""
    lines = [InvoiceLine(f"{invoice_id}-0001", 1, LineKind.USAGE, "API calls", usd("100.00"), usd("20.00"))]
    if credit is not None:
        grant_id, amount = credit
        lines.append(
            InvoiceLine(
                f"{invoice_id}-0002",
                2,
                LineKind.CREDIT,
                "Prepaid credit",
                -usd(amount),
                usd("0"),
                charge_id=grant_id,
            )
        )
    return an_invoice(invoice_id, lines, status=InvoiceStatus.DRAFT, created_at=created)


def stored(world: World, *invoices: Invoice) -> None:
    with world.transactions.begin() as tx:
        tx.invoices.add([(f"key-{invoice.id}", invoice) for invoice in invoices], now=NOW)
        tx.commit()


def grant(world: World, grant_id: str, amount: str) -> None:
    with world.transactions.begin() as tx:
        record_grants(tx.ledger, [Grant(grant_id, "cus_acme", usd(amount), D(1), 0, MARCH, None)], now=NOW)
        tx.commit()


async def test_finalizing_numbers_freezes_and_publishes_a_draft_once():
    world = World()
    world.now = NOW
    stored(world, draft())
    finalized = await world.invoicing.finalize("inv-1")
    assert (finalized.number, finalized.status) == ("INV-2026-000001", InvoiceStatus.FINALIZED)
    assert (finalized.issued_at, finalized.due_at) == (NOW, NOW + timedelta(days=30))
    assert world.invoice("inv-1") == finalized
    [(msg_id, payload, _)] = world.published(streams.INVOICE_FINALIZED)
    assert msg_id == "invoice-finalized:inv-1"
    assert events_pb2.InvoiceFinalized.FromString(payload).invoice.number == "INV-2026-000001"

    world.now = NOW + timedelta(hours=1)
    assert (
        await world.invoicing.finalize("inv-1") == finalized
    )  # a retry gets the invoice as it was finalized
    assert len(world.published(streams.INVOICE_FINALIZED)) == 1
    assert world.transactions.tables.series == {"INV-2026": 2}  # the retry's number rolled back
    assert world.wakes == 2


@pytest.mark.parametrize("status", [InvoiceStatus.PAID, InvoiceStatus.VOID])
async def test_a_paid_or_void_invoice_is_not_finalized_and_keeps_the_number_unused(status):
    world = World()
    stored(world, replace(draft(), status=status))
    with pytest.raises(FailedPrecondition, match=status.value):
        await world.invoicing.finalize("inv-1")
    assert world.transactions.tables.series == {}
    assert world.published(streams.INVOICE_FINALIZED) == []


async def test_unknown_and_missing_invoice_ids_are_named():
    world = World()
    with pytest.raises(NotFound) as unknown:
        await world.invoicing.finalize("nope")
    with pytest.raises(InvalidArgument) as missing:
        await world.invoicing.get("")
    with pytest.raises(NotFound):
        await world.invoicing.get("nope")
    assert unknown.value.field == "invoice_id"
    assert [v.field for v in missing.value.violations] == ["invoice_id"]


async def test_finalizing_burns_the_credit_a_draft_applies_or_refuses_when_it_was_spent_since():
    world = World()
    world.now = NOW
    grant(world, "grant-1", "30.00")
    stored(world, draft("inv-1", credit=("grant-1", "20.00")), draft("inv-2", credit=("grant-1", "20.00")))
    await world.invoicing.finalize("inv-1")
    entries = world.transactions.tables.entries
    assert [(e.kind.value, str(e.amount.amount), str(e.grant_balance_after.amount)) for e in entries] == [
        ("GRANTED", "30.00", "30.00"),
        ("BURNED", "-20.00", "10.00"),
    ]
    with pytest.raises(FailedPrecondition, match=r"has 10\.00 left, less than the 20\.00"):
        await world.invoicing.finalize("inv-2")
    assert world.invoice("inv-2").status is InvoiceStatus.DRAFT
    assert world.numbers() == ["INV-2026-000001"]
    assert len(world.transactions.tables.entries) == 2


async def test_invoices_are_listed_newest_first_in_pages_without_lines():
    world = World()
    stored(world, *(draft(f"inv-{n}", created=NOW + timedelta(minutes=n)) for n in range(3)))
    first = await world.invoicing.list(InvoiceFilter(customer_id="cus_acme"), after=None, limit=2)
    assert [i.id for i in first] == ["inv-2", "inv-1"] and first[0].lines == ()
    rest = await world.invoicing.list(
        InvoiceFilter(), after=InvoiceKey(first[-1].created_at, first[-1].id), limit=2
    )
    assert [i.id for i in rest] == ["inv-0"]
    assert await world.invoicing.list(InvoiceFilter(status=InvoiceStatus.PAID), after=None, limit=5) == []
