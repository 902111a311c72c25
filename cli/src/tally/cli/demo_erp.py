"""The demo's ERP: a fake NetSuite on loopback that erp-sync posts last month's invoices to (through the real
netsuitesdk), the NetSuite id of each invoice, one paid in full there and read back, and the trace from the
billing run to the posting."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

import grpc.aio

from tally.api.erp_sync.v1 import erp_sync_service_pb2 as erp_pb
from tally.api.erp_sync.v1 import erp_sync_service_pb2_grpc as erp_grpc
from tally.api.invoicing.v1 import invoicing_service_pb2 as invoicing_pb
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as invoicing_grpc
from tally.cli.demo_billing import BilledMonth
from tally.cli.stack import StackConfig
from tally.cli.traces import SpanRecord
from tally.fake_erp import FakeNetSuite
from tally.fake_erp.setup import erp_sync_environment, fake_netsuite

WAIT_S = 60.0
"""How long the demo waits for a posting or a payment to come through (generous for a loaded laptop)."""
POSTING_SPAN = "erp-sync post invoice to netsuite"


@dataclass
class ErpPostings:
    """What the demo saw of the ERP side."""

    netsuite_ids: dict[str, str] = field(default_factory=dict)
    """NetSuite's internal id of each invoice posted, by Tally invoice id."""
    paid: invoicing_pb.Invoice | None = None
    """The invoice paid in full in NetSuite, as invoicing shows it afterwards."""


class DemoErp:
    """A fake NetSuite for one demo run, and the settings that point erp-sync at it."""

    def __init__(self, data_dir: Path) -> None:
        self.netsuite: FakeNetSuite = fake_netsuite()
        self._workdir = data_dir / "erp"

    def start(self, config: StackConfig) -> StackConfig:
        """Start the fake; the stack's config with erp-sync pointed at it."""
        self.netsuite.start()
        env = erp_sync_environment(self._workdir, netsuite=self.netsuite)
        env["TALLY_ERP_PAYMENT_POLL_SECONDS"] = "0.5"
        return replace(config, extra_env={**config.extra_env, **env})

    def stop(self) -> None:
        self.netsuite.stop()

    async def follow(
        self, invoicing: grpc.aio.Channel, erp_sync: grpc.aio.Channel, billed: BilledMonth
    ) -> ErpPostings:
        """Wait for each finalized invoice to be POSTED to NetSuite; pay the first one in full there and wait
        for invoicing to mark it PAID."""
        postings = ErpPostings()
        finalized = [i for i in billed.invoices if i.status == invoicing_pb.INVOICE_STATUS_FINALIZED]
        sync = erp_grpc.ErpSyncServiceStub(erp_sync)
        for invoice in finalized:
            postings.netsuite_ids[invoice.id] = await _posted(sync, invoice.id)
        if finalized:
            first = finalized[0]
            self.netsuite.books.apply_payment(f"tally-inv-{first.id}", Decimal(first.amount_due.amount))
            postings.paid = await _paid(invoicing_grpc.InvoicingServiceStub(invoicing), first.id)
        return postings

    def render(self, postings: ErpPostings, billed: BilledMonth) -> str:
        if not postings.netsuite_ids:
            return "no finalized invoice to post to NetSuite yet"
        lines = [f"posted to NetSuite (a fake on {self.netsuite.url}, SOAP through netsuitesdk), once each:"]
        for invoice in billed.invoices:
            if invoice.id in postings.netsuite_ids:
                lines.append(
                    f"  {invoice.number}  externalId tally-inv-{invoice.id}  →  NetSuite internal id "
                    f"{postings.netsuite_ids[invoice.id]}"
                )
        if postings.paid is not None:
            paid = postings.paid
            status = invoicing_pb.InvoiceStatus.Name(paid.status).removeprefix("INVOICE_STATUS_")
            lines.append(
                f"paid {paid.amount_due.currency} {paid.amount_due.amount} in full against {paid.number} in NetSuite: "
                f"erp-sync read it back, invoicing now shows it {status}"
            )
        return "\n".join(lines)


async def _posted(sync: erp_grpc.ErpSyncServiceStub, invoice_id: str) -> str:
    deadline = time.monotonic() + WAIT_S
    request = erp_pb.GetSyncStatusRequest(document_kind=erp_pb.DOCUMENT_KIND_INVOICE, document_id=invoice_id)
    while True:
        try:
            reply = await sync.GetSyncStatus(request)
            for record in reply.records:
                if record.erp == erp_pb.ERP_NETSUITE and record.state == erp_pb.SYNC_STATE_POSTED:
                    return record.erp_internal_id
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:  # not queued yet
                raise
        if time.monotonic() > deadline:
            raise RuntimeError(f"invoice {invoice_id} not posted to NetSuite after {WAIT_S:.0f}s")
        await asyncio.sleep(0.2)


async def _paid(stub: invoicing_grpc.InvoicingServiceStub, invoice_id: str) -> invoicing_pb.Invoice:
    deadline = time.monotonic() + WAIT_S
    while True:
        invoice = (await stub.GetInvoice(invoicing_pb.GetInvoiceRequest(invoice_id=invoice_id))).invoice
        if invoice.status == invoicing_pb.INVOICE_STATUS_PAID or time.monotonic() > deadline:
            return invoice
        await asyncio.sleep(0.2)


def posting_path(spans: list[SpanRecord]) -> str:
    """The trace of the first NetSuite posting, from its root down to the posting and the calls it made:
    the billing run that finalized the invoice, the event, erp-sync, NetSuite."""
    postings = sorted((s for s in spans if s.name == POSTING_SPAN), key=lambda s: s.start_ns)
    if not postings:
        return "no ERP posting span recorded"
    posting = postings[0]
    mine = {s.span_id: s for s in spans if s.trace_id == posting.trace_id}
    chain = [posting]
    while chain[0].parent_span_id in mine:
        chain.insert(0, mine[chain[0].parent_span_id])
    calls = sorted(
        (s for s in mine.values() if s.parent_span_id == posting.span_id), key=lambda s: s.start_ns
    )
    lines = [
        f"trace {posting.trace_id}: from the billing run to NetSuite ({len(chain) + len(calls)} of its {len(mine)} spans)"
    ]
    for depth, span in enumerate(chain):
        lines.append(f"{'   ' * depth}└─ {_describe(span)}")
    for index, call in enumerate(calls):
        lines.append(f"{'   ' * len(chain)}{'└─' if index == len(calls) - 1 else '├─'} {_describe(call)}")
    return "\n".join(lines)


def _describe(span: SpanRecord) -> str:
    return f"{span.name}  [{span.service}, {span.kind.lower()}] {span.duration_ms:.1f} ms"
