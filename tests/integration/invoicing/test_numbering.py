import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

import tally.invoicing
from tally.invoicing.numbering import INVOICE_PREFIX, format_number, series_for
from tally.invoicing.store import SqlNumberSeries
from tally.invoicing.tables import invoices, number_series
from tally.persistence.engine import create_engine
from tally.persistence.migrations import upgrade

MIGRATIONS = Path(tally.invoicing.__file__).resolve().parents[3] / "migrations"
ISSUED = datetime(2026, 3, 31, 12, tzinfo=UTC)
FINALIZES = 50


class FinalizeFailed(Exception):
    """Raised on purpose after the number was taken, to roll the finalize back."""


@pytest.fixture
def engine(database_url):
    engine = create_engine(database_url, pool_size=FINALIZES, max_overflow=0)
    upgrade(engine, MIGRATIONS)
    yield engine
    engine.dispose()


def draft_invoices(engine, count):
    at = datetime(2026, 3, 1, tzinfo=UTC)
    row = {
        "customer_id": "cus_1",
        "subscription_id": "sub_1",
        "status": "DRAFT",
        "currency": "USD",
        "period_start": at,
        "period_end": ISSUED,
        "subtotal": "0",
        "tax": "0",
        "credits_applied": "0",
        "total": "0",
        "amount_due": "0",
        "created_at": at,
        "updated_at": at,
    }
    with engine.begin() as connection:
        connection.execute(insert(invoices), [{**row, "id": f"inv_{i:02d}"} for i in range(count)])


def take_number(connection, prefix, issued_at):
    series = series_for(prefix, issued_at)
    return format_number(series, SqlNumberSeries(connection).take(series))


def finalize(engine, invoice_id, fail):
    with engine.begin() as connection:
        number = take_number(connection, INVOICE_PREFIX, ISSUED)
        connection.execute(
            update(invoices)
            .where(invoices.c.id == invoice_id)
            .values(number=number, status="FINALIZED", issued_at=ISSUED)
        )
        time.sleep(0.002)  # hold the series so the others really queue behind this transaction
        if fail:
            raise FinalizeFailed(invoice_id)
    return number


def committed_numbers(engine):
    with engine.connect() as connection:
        return sorted(
            connection.execute(select(invoices.c.number).where(invoices.c.number.is_not(None))).scalars()
        )


def test_concurrent_finalizes_get_every_number_once_and_rollbacks_leave_no_gap(engine):
    draft_invoices(engine, FINALIZES)
    failing = {i for i in range(FINALIZES) if i % 7 == 3}
    start = threading.Barrier(FINALIZES)

    def run(i):
        start.wait()
        try:
            return finalize(engine, f"inv_{i:02d}", i in failing)
        except FinalizeFailed:
            return None

    with ThreadPoolExecutor(FINALIZES) as pool:
        results = list(pool.map(run, range(FINALIZES)))

    finalized = FINALIZES - len(failing)
    expected = [f"INV-2026-{n:06d}" for n in range(1, finalized + 1)]
    assert committed_numbers(engine) == expected
    assert sorted(n for n in results if n is not None) == expected
    with engine.connect() as connection:
        assert connection.execute(select(number_series.c.next_value)).scalar_one() == finalized + 1


def test_a_rolled_back_finalize_does_not_consume_a_number_and_each_year_restarts(engine):
    draft_invoices(engine, 4)
    assert finalize(engine, "inv_00", fail=False) == "INV-2026-000001"
    with pytest.raises(FinalizeFailed):
        finalize(engine, "inv_01", fail=True)
    assert finalize(engine, "inv_02", fail=False) == "INV-2026-000002"
    with engine.begin() as connection:
        assert take_number(connection, INVOICE_PREFIX, datetime(2027, 1, 1, tzinfo=UTC)) == "INV-2027-000001"
        assert take_number(connection, "CN", ISSUED) == "CN-2026-000001"
    assert committed_numbers(engine) == ["INV-2026-000001", "INV-2026-000002"]
