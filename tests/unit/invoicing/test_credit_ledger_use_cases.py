"""Credit ledger use cases against the fakes: grants copied from catalog once, usable credit in burn order, the
ledger in pages, and credit given back exactly once."""

from datetime import UTC, datetime

import pytest
from invoicing_world import MARCH, D, World

from tally.domain.errors import InvalidArgument
from tally.invoicing.credit_ledger.domain import Grant, burned
from tally.invoicing.credit_ledger.handlers import CreditLedger, give_back_burns, record_grants, usable_grants
from tally.money import Money
from tally.pricing import LedgerEntry

NOW = datetime(2026, 4, 10, tzinfo=UTC)


def grant(
    grant_id: str, amount: str, *, currency: str = "USD", expires: datetime | None = None, priority: int = 0
):
    return Grant(grant_id, "cus_acme", Money(D(amount), currency), D(1), priority, MARCH, expires)


async def test_a_balance_copies_new_grants_once_and_lists_usable_ones_in_burn_order():
    world = World()
    world.now = NOW
    world.catalog.granted = [
        grant("g-never", "100.00"),
        grant("g-soon", "20.00", expires=datetime(2026, 5, 1, tzinfo=UTC)),
        grant("g-gone", "10.00", expires=datetime(2026, 4, 1, tzinfo=UTC)),
        grant("g-first", "5.00", priority=-1),
    ]
    balance = await world.ledger.balance("cus_acme")
    assert [(g.id, str(left)) for g, left in balance.grants] == [
        ("g-first", "5.00"),
        ("g-soon", "20.00"),
        ("g-never", "100.00"),
    ]
    assert balance.total == Money(D("125.00"), "USD")
    await world.ledger.balance("cus_acme")  # copied again: nothing new
    granted = [e for e in world.transactions.tables.entries if e.kind.value == "GRANTED"]
    assert sorted(e.credit_grant_id for e in granted) == ["g-first", "g-gone", "g-never", "g-soon"]
    assert {e.occurred_at for e in granted} == {MARCH}


async def test_a_customer_without_grants_has_no_balance_and_an_empty_id_is_refused():
    world = World()
    assert (await world.ledger.balance("cus_nobody")).total is None
    with pytest.raises(InvalidArgument) as missing:
        await world.ledger.entries("", after=None, limit=10)
    assert [v.field for v in missing.value.violations] == ["customer_id"]


async def test_without_catalog_the_ledger_reads_what_it_holds():
    world = World()
    with world.transactions.begin() as tx:
        record_grants(tx.ledger, [grant("g-1", "7.00")], now=NOW)
        tx.commit()
    offline = CreditLedger(world.transactions, None, clock=lambda: NOW)
    assert (await offline.balance("cus_acme")).total == Money(D("7.00"), "USD")


async def test_the_ledger_pages_oldest_first():
    world = World()
    world.catalog.granted = [grant(f"g-{n}", "1.00") for n in range(3)]
    everything = await world.ledger.entries("cus_acme", after=None, limit=10)
    first = await world.ledger.entries("cus_acme", after=None, limit=2)
    rest = await world.ledger.entries("cus_acme", after=(first[-1].occurred_at, first[-1].id), limit=2)
    assert [e.id for e in first + rest] == [e.id for e in everything] and len(everything) == 3


def test_burned_credit_is_given_back_once_and_usable_again():
    world = World()
    with world.transactions.begin() as tx:
        record_grants(tx.ledger, [grant("g-1", "50.00"), grant("g-2", "10.00")], now=NOW)
        burns = [LedgerEntry("g-1", D("30.00"), D("20.00")), LedgerEntry("g-2", D("10.00"), D(0))]
        tx.ledger.append(
            burned(
                customer_id="cus_acme",
                currency="USD",
                invoice_id="inv-1",
                invoice_number="INV-1",
                burns=burns,
                at=NOW,
            )
        )
        assert [(g.id, g.remaining) for g in usable_grants(tx.ledger, "cus_acme", "USD", NOW)] == [
            ("g-1", D("20.00"))
        ]
        give_back_burns(tx.ledger, "inv-1", at=NOW, description="Invoice INV-1 voided")
        give_back_burns(tx.ledger, "inv-1", at=NOW, description="Invoice INV-1 voided")
        assert [(g.id, g.remaining) for g in usable_grants(tx.ledger, "cus_acme", "USD", NOW)] == [
            ("g-1", D("50.00")),
            ("g-2", D("10.00")),
        ]
        reversed_ = [e for e in tx.ledger.entries_of_invoice("inv-1") if e.kind.value == "REVERSED"]
        assert [
            (e.credit_grant_id, str(e.amount.amount), str(e.grant_balance_after.amount)) for e in reversed_
        ] == [
            ("g-1", "30.00", "50.00"),
            ("g-2", "10.00", "10.00"),
        ]
