"""Delivery against the fakes and a mail server that fails on demand: one delivery per issued document and event,
retried on its schedule until it is sent or the schedule is spent, every attempt logged; customers without a
contact get none sent; resends start a new delivery."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from invoicing_world import D, World, an_invoice, usd

from tally.domain.errors import FailedPrecondition, NotFound
from tally.invoicing.delivery.domain import DeliveryState, Email, Outcome
from tally.invoicing.delivery.handlers import Deliveries
from tally.invoicing.documents.handlers import Pdfs
from tally.invoicing.documents.views import Party
from tally.invoicing.domain import CustomerSnapshot, InvoiceLine, InvoiceStatus, LineKind

NOW = datetime(2026, 4, 1, 2, tzinfo=UTC)
SCHEDULE = (timedelta(seconds=30), timedelta(minutes=5))


class FlakyMail:
    """Refuses the first ``failures`` e-mails, then takes every one."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[tuple[Email, str]] = []

    async def send(self, email: Email, *, message_id: str) -> str:
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("mail server down")
        self.sent.append((email, message_id))
        return "250 accepted"


def setup(
    failures: int = 0, *, contacts: tuple[str, ...] = ("ap@acme.test",)
) -> tuple[World, Deliveries, FlakyMail]:
    world = World()
    world.now = NOW
    line = InvoiceLine("inv-1-0001", 1, LineKind.USAGE, "API calls", usd("100.00"), usd("20.00"), D(1))
    invoice = replace(
        an_invoice("inv-1", [line], status=InvoiceStatus.FINALIZED, number="INV-2026-000001"),
        customer=CustomerSnapshot("Acme Inc.", billing_emails=contacts),
    )
    with world.transactions.begin() as tx:
        tx.invoices.add([("key-1", invoice)], now=NOW)
        tx.commit()
    mail = FlakyMail(failures)
    deliveries = Deliveries(
        world.transactions,
        Pdfs(world.transactions, Party("Tally Demo Ltd")),
        mail,
        default_issuer="Tally Demo Ltd",
        schedule=SCHEDULE,
        clock=world.clock,
    )
    return world, deliveries, mail


async def test_an_invoice_is_delivered_once_per_event_and_a_failure_is_retried_on_schedule():
    world, deliveries, mail = setup(failures=1)
    created = await deliveries.invoice_finalized("invoice-finalized:inv-1", "inv-1")
    assert created is not None and created.recipients == ("ap@acme.test",)
    assert await deliveries.invoice_finalized("invoice-finalized:inv-1", "inv-1") is None  # redelivered event

    assert await deliveries.send_due() == 1
    [delivery] = await deliveries.list("inv-1", after=None, limit=10)
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == (
        DeliveryState.PENDING,
        1,
        NOW + timedelta(seconds=30),
    )
    assert "ConnectionRefusedError: mail server down" in delivery.last_error
    assert await deliveries.send_due() == 0  # not due yet

    world.now = NOW + timedelta(seconds=30)
    assert await deliveries.send_due() == 1
    [delivery] = await deliveries.list("inv-1", after=None, limit=10)
    assert (delivery.state, delivery.sent_at) == (DeliveryState.SENT, world.now)
    assert [a.outcome for a in delivery.log] == [Outcome.FAILED, Outcome.SENT]
    [(email, message_id)] = mail.sent
    assert (email.recipients, email.subject, email.attachment_name) == (
        ("ap@acme.test",),
        "Invoice INV-2026-000001 from Tally Demo Ltd",
        "INV-2026-000001.pdf",
    )
    assert email.attachment.startswith(b"%PDF")
    assert message_id == f"<{delivery.id}@tally.invoicing>"
    assert "Amount due: USD\xa0120.00" in email.body


async def test_a_delivery_fails_once_its_schedule_is_spent_and_a_resend_starts_again():
    world, deliveries, mail = setup(failures=3)
    await deliveries.invoice_finalized("m-1", "inv-1")
    for wait in (timedelta(0), *SCHEDULE):
        world.now += wait
        assert await deliveries.send_due() == 1
    [failed] = await deliveries.list("inv-1", after=None, limit=10)
    assert (failed.state, failed.attempts, failed.next_attempt_at) == (DeliveryState.FAILED, 3, None)
    world.now += timedelta(hours=1)
    assert await deliveries.send_due() == 0

    resent = await deliveries.resend("inv-1")
    assert resent.state is DeliveryState.PENDING
    assert await deliveries.send_due() == 1
    assert len(mail.sent) == 1
    with pytest.raises(NotFound):
        await deliveries.resend("nope")


async def test_a_customer_without_a_contact_gets_nothing_sent_and_a_draft_is_never_resent():
    world, deliveries, mail = setup(contacts=())
    created = await deliveries.invoice_finalized("m-1", "inv-1")
    assert created is not None and created.state is DeliveryState.NO_RECIPIENT
    assert await deliveries.send_due() == 0 and mail.sent == []
    with world.transactions.begin() as tx:
        tx.invoices.add([("key-2", an_invoice("inv-2", [], status=InvoiceStatus.DRAFT))], now=NOW)
        tx.commit()
    with pytest.raises(FailedPrecondition, match="DRAFT"):
        await deliveries.resend("inv-2")


async def test_documents_issued_long_before_delivery_was_switched_on_are_not_mailed_but_can_be_resent():
    world, deliveries, mail = setup()
    world.now = NOW + timedelta(days=30)  # the event is read a month after the invoice was issued
    assert await deliveries.invoice_finalized("m-1", "inv-1") is None
    assert await deliveries.send_due() == 0
    resent = await deliveries.resend("inv-1")
    assert resent.state is DeliveryState.PENDING
    assert await deliveries.send_due() == 1 and len(mail.sent) == 1
