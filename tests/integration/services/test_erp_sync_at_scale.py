"""At scale and through crashes: 2,000 invoices and 200 credit notes posted to both ERPs while 30 % of calls
fail, and a SIGKILL mid-run; every document ends POSTED, once in each fake's books, to the cent."""

import random
import time
from collections import Counter
from decimal import Decimal

import pytest
from erp_sync_world import (
    credit_note_message,
    fake_erps,  # noqa: F401 - the fakes fixture
    invoice_message,
    posted_count,
    publish_all,
    records,
    start_erp_sync,
)

from tally.api.erp_sync.v1 import erp_sync_service_pb2 as pb
from tally.fake_erp.books import CREDIT_MEMO, INVOICE
from tally.fake_erp.setup import Line, credit_note_issued, invoice_finalized

SCALE = {"TALLY_ERP_CONCURRENCY": "8", "TALLY_ERP_MAX_ATTEMPTS": "40", "TALLY_ERP_LEASE_SECONDS": "4"}


def documents(invoices, notes, seed=11):
    """Invoices over 40 customers in USD and JPY, some with prepaid credit; the first ``notes`` are credited."""
    rng = random.Random(seed)
    messages, expected = [], {}
    for n in range(invoices):
        currency = "JPY" if n % 5 == 0 else "USD"
        places = 0 if currency == "JPY" else 2
        amount = Decimal(rng.randint(100, 2_000_000)).scaleb(-places)
        tax = (amount * Decimal("0.2")).quantize(Decimal(1).scaleb(-places))
        credits = Decimal(rng.randint(0, 50)).scaleb(-places) if n % 3 == 0 else Decimal(0)
        event = invoice_finalized(
            f"inv-{n}",
            customer_id=f"cust-{n % 40}",
            number=f"INV-2026-{n:06d}",
            currency=currency,
            lines=[
                Line("Usage", str(amount), str(tax)),
                Line("Platform fee", "49" if places == 0 else "49.00"),
            ],
            credits=str(credits),
        )
        messages.append(invoice_message(event))
        expected[f"tally-inv-inv-{n}"] = amount + tax + Decimal(49) - credits
        if n < notes:
            part = (amount / 4).quantize(Decimal(1).scaleb(-places))
            note = credit_note_issued(
                f"cn-{n}",
                invoice_id=f"inv-{n}",
                customer_id=f"cust-{n % 40}",
                number=f"CN-2026-{n:06d}",
                currency=currency,
                lines=[Line("Usage corrected", str(part))],
            )
            messages.append(credit_note_message(note))
            expected[f"tally-cn-cn-{n}"] = part
    return messages, expected


def assert_books_match(netsuite, intacct, expected):
    for books, name in ((netsuite.books, "netsuite"), (intacct.books, "intacct")):
        counts = Counter(e.key for kind in (INVOICE, CREDIT_MEMO) for e in books.entries(kind))
        assert {key for key, n in counts.items() if n > 1} == set(), f"{name}: posted twice"
        assert set(counts) == set(expected), f"{name}: missing {sorted(set(expected) - set(counts))[:5]}"
        sign = {INVOICE: 1, CREDIT_MEMO: -1 if books is intacct.books else 1}
        found = {e.key: e.amount * sign[kind] for kind in (INVOICE, CREDIT_MEMO) for e in books.entries(kind)}
        differing = {key: (found[key], amount) for key, amount in expected.items() if found[key] != amount}
        assert differing == {}, f"{name}: amounts differ"
        assert sum(found.values()) == sum(expected.values())


def wait_all_posted(service, total, timeout):
    """A generous deadline for a loaded shared machine: a hang, not a speed, is what it catches."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if posted_count(service) == total:
            return
        time.sleep(2)
    states = Counter((r.erp, r.state) for r in records(service))
    failed = [(r.erp_key, r.last_error) for r in records(service, state=pb.SYNC_STATE_FAILED)][:5]
    raise AssertionError(f"not all {total} POSTED after {timeout}s: {states}, failed: {failed}")


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_two_thousand_invoices_and_two_hundred_credit_notes_post_once_through_thirty_percent_faults(
    tmp_path, nats_server, postgres_url, fakes
):
    netsuite, intacct = fakes
    for fake in (netsuite, intacct):
        fake.faults.rate = 0.30
        fake.faults.stall_s = 1.3
    messages, expected = documents(2000, 200)
    service = start_erp_sync(tmp_path, nats_server.url, postgres_url, netsuite, intacct, **SCALE)
    try:
        publish_all(nats_server.url, messages)
        wait_all_posted(service, 2 * len(expected), timeout=1200)
        assert_books_match(netsuite, intacct, expected)
        for fake in (netsuite, intacct):
            assert set(fake.faults.injected) == {
                "timeout",
                "server_error",
                "rate_limited",
                "applied_then_dropped",
            }
        retried = [r for r in records(service) if r.attempts > 1]
        assert len(retried) > 100
    finally:
        service.kill()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_sigkill_mid_run_then_a_restart_still_posts_everything_once(
    tmp_path, nats_server, database_url, fakes
):
    netsuite, intacct = fakes
    for fake in (netsuite, intacct):
        fake.faults.rate = 0.10
        fake.faults.stall_s = 1.3
    messages, expected = documents(400, 40, seed=5)
    service = start_erp_sync(tmp_path, nats_server.url, database_url, netsuite, intacct, **SCALE)
    try:
        publish_all(nats_server.url, messages)
        deadline = time.monotonic() + 300
        while posted_count(service) < len(expected) // 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        in_flight = [r for r in records(service) if r.state == pb.SYNC_STATE_SENDING]
        service.process.kill()  # SIGKILL: postings in flight, their outcome unknown
        service.process.wait()
        assert 0 < posted_count_offline(netsuite, intacct) < 2 * len(expected)
        service.start()
        wait_all_posted(service, 2 * len(expected), timeout=600)
        assert_books_match(netsuite, intacct, expected)
        assert in_flight, "the kill should have caught postings in flight"
    finally:
        service.kill()


def posted_count_offline(netsuite, intacct):
    return sum(len(f.books.entries(kind)) for f in (netsuite, intacct) for kind in (INVOICE, CREDIT_MEMO))
