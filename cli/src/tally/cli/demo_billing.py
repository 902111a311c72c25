"""The demo's invoicing: a billing run over last month, its invoices as a table and as PDFs, this month so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import grpc.aio

from tally.api.common.v1 import money_pb2, period_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as pb_grpc
from tally.cli.demo_plans import DemoSubscription
from tally.cli.demo_usage import show_quantity
from tally.mesh.wire import timestamp_from_wire, timestamp_to_wire
from tally.money import minor_units
from tally.pricing import Period

RUN_DEADLINE_S = 120.0
"""A run reads a month of usage per subscription from metering: longer than the default deadline."""


def last_month(now: datetime) -> Period:
    """The calendar month (UTC) before the one ``now`` is in."""
    end = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return Period((end - timedelta(days=1)).replace(day=1), end)


@dataclass(frozen=True)
class BilledMonth:
    """What the billing run left: the month's invoices with their lines and PDFs, and one preview."""

    month: Period
    as_of: datetime
    run: pb.RunBillingResponse
    invoices: list[pb.Invoice]
    pdfs: dict[str, bytes]
    """Each invoice's PDF by its file name."""
    preview_customer: str
    preview: pb.Invoice
    quote_numbers: dict[str, str] = field(default_factory=dict)
    """The quote each quoted subscription came from, by subscription id, shown beside its invoices."""


async def bill_month(
    channel: grpc.aio.Channel, month: Period, subscriptions: list[DemoSubscription]
) -> BilledMonth:
    """Runs billing as of now, fetches the month's invoices with their PDFs, previews the first subscription."""
    stub = pb_grpc.InvoicingServiceStub(channel)
    as_of = datetime.now(UTC)
    run = await stub.RunBilling(pb.RunBillingRequest(as_of=timestamp_to_wire(as_of)), timeout=RUN_DEADLINE_S)
    wire_month = period_pb2.Period(start=timestamp_to_wire(month.start), end=timestamp_to_wire(month.end))
    listed = await stub.ListInvoices(pb.ListInvoicesRequest(period=wire_month))
    invoices = [
        (await stub.GetInvoice(pb.GetInvoiceRequest(invoice_id=invoice.id))).invoice
        for invoice in listed.invoices
    ]
    invoices.sort(key=lambda invoice: (invoice.customer_external_id, invoice.number))
    pdfs = {}
    for invoice in invoices:
        rendered = await stub.GetInvoicePdf(pb.GetInvoicePdfRequest(invoice_id=invoice.id))
        pdfs[rendered.filename] = rendered.pdf
    first = subscriptions[0]
    preview = await stub.PreviewInvoice(pb.PreviewInvoiceRequest(subscription_id=first.subscription.id))
    return BilledMonth(month, as_of, run, invoices, pdfs, first.customer.external_id, preview.invoice)


def write_pdfs(billed: BilledMonth, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for filename, pdf in billed.pdfs.items():
        (folder / filename).write_bytes(pdf)


def render_billed_month(billed: BilledMonth, folder: Path, erp_ids: dict[str, str] | None = None) -> str:
    """The run's counts, one table per invoice (with its NetSuite id once posted), where the PDFs are and the
    preview line."""
    run = billed.run
    out = [
        f"billing run as of {billed.as_of:%Y-%m-%d %H:%M} UTC: {run.subscriptions_evaluated} subscriptions, "
        f"{run.invoices_drafted} invoices drafted, {run.invoices_finalized} finalized",
    ]
    out += [f"  not billed: subscription {f.subscription_id}: {f.reason}" for f in run.failures]
    out.append(f"invoices for {_span(billed.month.start, billed.month.end)}:")
    for invoice in billed.invoices:
        out += [
            "",
            *_invoice_table(
                invoice,
                billed.quote_numbers.get(invoice.subscription_id, ""),
                (erp_ids or {}).get(invoice.id),
            ),
        ]
    if any(invoice.status == pb.INVOICE_STATUS_DRAFT for invoice in billed.invoices):
        out.append(
            "\ndrafts have no number yet: invoicing finalizes a month's invoices once its grace period after "
            "the month's end is over (TALLY_BILLING_GRACE_MINUTES, 60 by default); run the demo again then"
        )
    out.append(f"\n{len(billed.pdfs)} invoice PDFs written to {folder.resolve()}/:")
    out += [f"  {name}" for name in billed.pdfs]
    preview = billed.preview
    out.append(
        f"\nthis month's invoice for {billed.preview_customer} if no more usage comes (PreviewInvoice, usage "
        f"{_span(timestamp_from_wire(preview.period.start), billed.as_of)}): "
        f"{_money(preview.subtotal)} + tax {_money(preview.tax)} = {_money(preview.total)}, "
        f"{len(preview.lines)} lines"
    )
    return "\n".join(out)


def _invoice_table(invoice: pb.Invoice, quote_number: str = "", netsuite_id: str | None = None) -> list[str]:
    number = invoice.number or f"draft {invoice.id}"
    period = _span(timestamp_from_wire(invoice.period.start), timestamp_from_wire(invoice.period.end))
    due = timestamp_from_wire(invoice.due_at)
    rows = [
        f"{invoice.customer_external_id} ({invoice.customer_name})  {number}  {period}"
        + (f"  due {due:%Y-%m-%d}" if due else "")
        + (f"  quote {quote_number}" if quote_number else "")
        + (f"  NetSuite #{netsuite_id}" if netsuite_id else ""),
        f"  {'line':<40}{'quantity':>14}{'amount':>18}{'tax':>16}",
    ]
    for line in invoice.lines:
        if line.kind == pb.INVOICE_LINE_KIND_CREDIT:
            continue  # shown once, as the credits total
        quantity = show_quantity(Decimal(line.quantity)) if line.quantity else ""
        rows.append(f"  {line.description:<40}{quantity:>14}{_money(line.amount):>18}{_money(line.tax):>16}")
    applied = Decimal(invoice.credits_applied.amount or "0")
    credits = money_pb2.Money(amount=str(Decimal(0) - applied), currency=invoice.currency)
    for label, amount in (
        ("subtotal", invoice.subtotal),
        ("tax", invoice.tax),
        ("credits", credits),
        ("total", invoice.total),
        ("amount due", invoice.amount_due),
    ):
        rows.append(f"  {label:<54}{_money(amount):>18}")
    return rows


def _money(money: money_pb2.Money) -> str:
    """``USD 1,234.50``, ``JPY 12,345``: the currency's minor units, thousands separated."""
    return f"{money.currency} {Decimal(money.amount or '0'):,.{minor_units(money.currency)}f}"


def _span(start: datetime | None, end: datetime | None) -> str:
    return f"{start:%Y-%m-%d} → {end:%Y-%m-%d}"
