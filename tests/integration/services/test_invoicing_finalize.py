import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import insert, select

from tally.api.invoicing.v1 import events_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as pb_grpc
from tally.invoicing.tables import invoice_lines, invoices
from tally.mesh import jetstream, streams
from tally.mesh.errors import field_violations
from tally.persistence.engine import create_engine
from tally.testing.services import ServiceProcess

PERIOD_START = datetime(2026, 4, 1, tzinfo=UTC)
PERIOD_END = datetime(2026, 5, 1, tzinfo=UTC)
CREATED_AT = datetime(2026, 5, 1, 0, 5, tzinfo=UTC)
TERMS_DAYS = 14


@pytest.fixture
def invoicing(tmp_path, nats_server, database_url):
    service = ServiceProcess(
        "invoicing",
        "tally.invoicing",
        database_url,
        nats_server.url,
        tmp_path / "invoicing",
        env={"TALLY_INVOICE_PAYMENT_TERMS_DAYS": str(TERMS_DAYS)},
    )
    service.start()
    yield service
    service.kill()


@pytest.fixture
def engine(invoicing):
    engine = create_engine(invoicing.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def stub(invoicing):
    with grpc.insecure_channel(invoicing.target) as channel:
        yield pb_grpc.InvoicingServiceStub(channel)


def seed_invoice(engine, invoice_id, *, status="DRAFT", number=None):
    """An EUR invoice: one usage line of 100.00 plus 19.00 tax, so 119.00 due."""
    with engine.begin() as conn:
        conn.execute(
            insert(invoices).values(
                id=invoice_id,
                number=number,
                customer_id="cus_acme",
                subscription_id="sub_1",
                status=status,
                currency="EUR",
                period_start=PERIOD_START,
                period_end=PERIOD_END,
                subtotal="100.00",
                tax="19.00",
                credits_applied="0.00",
                total="119.00",
                amount_due="119.00",
                issued_at=None if status == "DRAFT" else CREATED_AT,
                due_at=None if status == "DRAFT" else CREATED_AT + timedelta(days=30),
                created_at=CREATED_AT,
                updated_at=CREATED_AT,
            )
        )
        conn.execute(
            insert(invoice_lines).values(
                id=f"{invoice_id}-l1",
                invoice_id=invoice_id,
                position=1,
                kind="USAGE",
                description="API calls",
                charge_id="ch_api",
                meter_id="api_calls",
                quantity="200000",
                unit_price="0.0005",
                amount="100.00",
                tax="19.00",
                tax_rate_percent="19",
                currency="EUR",
                service_period_start=PERIOD_START,
                service_period_end=PERIOD_END,
            )
        )


def finalize(stub, service, invoice_id):
    return stub.FinalizeInvoice(
        pb.FinalizeInvoiceRequest(invoice_id=invoice_id), metadata=service.metadata()
    ).invoice


def number(n):
    return f"INV-{datetime.now(UTC).year}-{n:06d}"


async def _finalized_events(nats_url, expected, wait_s):
    """Every InvoiceFinalized on the INVOICING stream, waiting up to ``wait_s`` seconds for ``expected`` of them."""
    nc = await jetstream.connect(nats_url, name="test-finalized-reader")
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(streams.INVOICE_FINALIZED, stream=streams.INVOICING.name)
        found = []
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                batch = await sub.fetch(50, timeout=0.5)
            except TimeoutError:  # nats or asyncio: both are TimeoutError
                batch = []
            for msg in batch:
                await msg.ack()
                found.append(
                    ((msg.headers or {}).get("Nats-Msg-Id"), events_pb2.InvoiceFinalized.FromString(msg.data))
                )
            if len(found) >= expected:
                # Linger briefly so a duplicate would be seen too.
                try:
                    extra = await sub.fetch(50, timeout=1.0)
                except TimeoutError:  # nats or asyncio: both are TimeoutError
                    extra = []
                for msg in extra:
                    found.append(
                        (
                            (msg.headers or {}).get("Nats-Msg-Id"),
                            events_pb2.InvoiceFinalized.FromString(msg.data),
                        )
                    )
                break
        return found
    finally:
        await nc.close()


def finalized_events(service, expected, timeout=15.0):
    return asyncio.run(_finalized_events(service.nats_url, expected, timeout))


def test_a_draft_is_numbered_frozen_and_published_once(invoicing, engine, stub):
    seed_invoice(engine, "inv-1")
    before = datetime.now(UTC)
    done = finalize(stub, invoicing, "inv-1")
    after = datetime.now(UTC)
    assert done.status == pb.INVOICE_STATUS_FINALIZED
    assert done.number == number(1)
    issued = done.issued_at.ToDatetime(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= issued <= after + timedelta(seconds=1)
    assert done.due_at.ToDatetime(tzinfo=UTC) == issued + timedelta(days=TERMS_DAYS)
    assert [line.amount.amount for line in done.lines] == ["100.00"]

    stored = stub.GetInvoice(pb.GetInvoiceRequest(invoice_id="inv-1"), metadata=invoicing.metadata()).invoice
    assert stored == done

    # Finalize is idempotent (the contract): a retry returns the invoice unchanged, without a new event.
    assert finalize(stub, invoicing, "inv-1") == done

    # The retry rolled its number back: the next draft gets 2, not 3.
    seed_invoice(engine, "inv-2")
    assert finalize(stub, invoicing, "inv-2").number == number(2)

    events = finalized_events(invoicing, expected=2)
    assert sorted(msg_id for msg_id, _ in events) == ["invoice-finalized:inv-1", "invoice-finalized:inv-2"]
    first = next(event for msg_id, event in events if msg_id == "invoice-finalized:inv-1")
    assert first.invoice == done


@pytest.mark.parametrize("status", ["PAID", "VOID"])
def test_a_paid_or_void_invoice_cannot_be_finalized(invoicing, engine, stub, status):
    seed_invoice(engine, "inv-x", status=status, number="INV-2026-000777")
    with pytest.raises(grpc.RpcError) as refused:
        finalize(stub, invoicing, "inv-x")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert status in refused.value.details()
    with engine.connect() as conn:
        assert conn.execute(select(invoices.c.status, invoices.c.number)).one() == (status, "INV-2026-000777")


def test_unknown_and_missing_ids_are_refused(invoicing, stub):
    with pytest.raises(grpc.RpcError) as missing:
        finalize(stub, invoicing, "nope")
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert [v.field for v in field_violations(missing.value)] == ["invoice_id"]
    with pytest.raises(grpc.RpcError) as empty:
        finalize(stub, invoicing, "")
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(empty.value)] == ["invoice_id"]


def test_a_read_only_key_cannot_finalize(invoicing, engine):
    seed_invoice(engine, "inv-1")
    invoicing.stop()
    reader = invoicing.add_key("reader", ["invoices:read"])
    invoicing.start()
    with grpc.insecure_channel(invoicing.target) as channel:
        stub = pb_grpc.InvoicingServiceStub(channel)
        with pytest.raises(grpc.RpcError) as denied:
            stub.FinalizeInvoice(
                pb.FinalizeInvoiceRequest(invoice_id="inv-1"), metadata=invoicing.metadata(reader)
            )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_concurrent_finalizes_get_gapless_unique_numbers(invoicing, engine, stub):
    ids = [f"inv-{i:02d}" for i in range(10)]
    for invoice_id in ids:
        seed_invoice(engine, invoice_id)
    with ThreadPoolExecutor(max_workers=10) as pool:
        done = list(pool.map(lambda invoice_id: finalize(stub, invoicing, invoice_id), ids))
    assert sorted(invoice.number for invoice in done) == [number(n) for n in range(1, 11)]
    assert {invoice.status for invoice in done} == {pb.INVOICE_STATUS_FINALIZED}
    with engine.connect() as conn:
        stored = dict(conn.execute(select(invoices.c.id, invoices.c.number)).all())
    assert stored == {invoice.id: invoice.number for invoice in done}

    events = finalized_events(invoicing, expected=10)
    assert sorted(msg_id for msg_id, _ in events) == [f"invoice-finalized:{i}" for i in ids]
    assert {event.invoice.id: event.invoice.number for _, event in events} == stored
