"""The finance console: operator login, then lists (each filterable) whose rows link to their detail."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from tally.api.common.v1 import pagination_pb2
from tally.api.erp_sync.v1 import erp_sync_service_pb2 as erp
from tally.api.ingestion.v1 import ingestion_service_pb2 as ing
from tally.api.invoicing.v1 import invoicing_service_pb2 as inv
from tally.domain.errors import DomainError, InvalidArgument
from tally.gateway.domain.access import Viewer
from tally.gateway.events import as_json
from tally.gateway.peers import Peers
from tally.gateway.reads import CustomerReads
from tally.gateway.web.api import pdf_response
from tally.gateway.web.viewers import CONSOLE_COOKIE, Viewers
from tally.gateway.webhook_admin import WebhookAdmin

NAV = (
    ("/console", "Customers"),
    ("/console/invoices", "Invoices"),
    ("/console/credit-notes", "Credit notes"),
    ("/console/erp", "ERP sync"),
    ("/console/rejected", "Rejected events"),
    ("/console/billing", "Billing runs"),
    ("/console/webhooks", "Webhooks"),
)

GAPS = {
    "conflicts": "Metering conflicts (an event id re-sent with a different payload) cannot be listed: metering "
    "serves no read of them.",
    "erp_failures": "ERP posting failures are shown as FAILED sync records; erp-sync publishes no event for them, "
    "so they cannot be sent as webhooks.",
}


@dataclass
class Section:
    heading: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    pairs: list[tuple[str, Any]] = field(default_factory=list)
    filters: list[tuple[str, str, list[str], str]] = field(default_factory=list)
    action: tuple[str, str] | None = None
    more: str = ""


def money(m: Any) -> str:
    if not m or not m.amount:
        return "–"
    return f"{m.currency} {Decimal(m.amount):,}"


def link(text: str, href: str) -> dict[str, str]:
    return {"text": text, "href": href}


def pill(text: str) -> dict[str, str]:
    return {"text": text, "pill": text}


def num(text: str) -> dict[str, Any]:
    return {"text": text, "num": True}


def enum_name(enum: Any, value: int, prefix: str) -> str:
    return str(enum.Name(value)).removeprefix(prefix)


def _enum_value(enum: Any, prefix: str, raw: str, field_name: str) -> int:
    if not raw:
        return 0
    try:
        return int(enum.Value(prefix + raw.upper()))
    except ValueError:
        raise InvalidArgument.field(field_name, f"unknown value {raw!r}") from None


def _names(enum: Any, prefix: str) -> list[str]:
    return [
        name.removeprefix(prefix)
        for name in enum.DESCRIPTOR.values_by_name
        if not name.endswith("UNSPECIFIED")
    ]


def _more(request: Request, token: str) -> str:
    if not token:
        return ""
    query = dict(request.query_params)
    query["page_token"] = token
    return f"{request.url.path}?{urlencode(query)}"


class Console:
    def __init__(
        self,
        viewers: Viewers,
        reads: CustomerReads,
        webhooks: WebhookAdmin,
        peers: Peers,
        templates: Jinja2Templates,
        *,
        session_s: float,
    ) -> None:
        self._viewers = viewers
        self._reads = reads
        self._webhooks = webhooks
        self._peers = peers
        self._templates = templates
        self._session_s = session_s

    def routes(self) -> list[Route]:
        return [
            Route("/console/login", self.login, methods=["GET", "POST"]),
            Route("/console/logout", self.logout, methods=["POST"]),
            Route("/console", self.customers),
            Route("/console/customers/{customer_id}", self.customer),
            Route("/console/invoices", self.invoices),
            Route("/console/invoices/{invoice_id}", self.invoice),
            Route("/console/invoices/{invoice_id}/pdf", self.invoice_pdf),
            Route("/console/credit-notes", self.credit_notes),
            Route("/console/credit-notes/{credit_note_id}", self.credit_note),
            Route("/console/erp", self.erp),
            Route("/console/rejected", self.rejected),
            Route("/console/billing", self.billing),
            Route("/console/webhooks", self.webhooks),
            Route("/console/webhooks/deliveries/{delivery_id}", self.delivery),
            Route("/console/webhooks/deliveries/{delivery_id}/replay", self.replay, methods=["POST"]),
        ]

    # -- session ----------------------------------------------------------------------------------------
    async def login(self, request: Request) -> Response:
        if request.method == "GET":
            return self._templates.TemplateResponse(request, "login.html", {"error": ""})
        # The login form is url-encoded; parsing it here spares a multipart dependency for one field.
        form = parse_qs((await request.body()).decode(errors="replace"))
        key = form.get("key", [""])[0].strip()
        viewer = await self._viewers.keys.viewer(key) if key else None
        if viewer is None or not viewer.is_operator:
            return self._templates.TemplateResponse(
                request, "login.html", {"error": "That key is not an operator's key."}, status_code=403
            )
        response = RedirectResponse("/console", status_code=303)
        response.set_cookie(
            CONSOLE_COOKIE,
            self._viewers.sessions.open(viewer),
            max_age=int(self._session_s),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(CONSOLE_COOKIE)
        return response

    def _operator(self, request: Request) -> Viewer | None:
        try:
            return self._viewers.console(request)
        except DomainError:
            return None

    def _page(
        self,
        request: Request,
        title: str,
        sections: list[Section],
        *,
        subtitle: str = "",
        gaps: tuple[str, ...] = (),
    ) -> Response:
        active = next((href for href, _ in NAV[1:] if request.url.path.startswith(href)), "/console")
        return self._templates.TemplateResponse(
            request,
            "console.html",
            {
                "title": title,
                "subtitle": subtitle,
                "sections": sections,
                "nav": NAV,
                "active": active,
                "gaps": gaps,
            },
        )

    async def _guard(self, request: Request) -> Response | None:
        if self._operator(request) is None:
            return RedirectResponse("/console/login", status_code=303)
        return None

    # -- customers ----------------------------------------------------------------------------------------
    async def customers(self, request: Request) -> Response:
        if (redirect := await self._guard(request)) is not None:
            return redirect
        reply = await self._peers.customers(request.query_params.get("page_token", ""), 50)
        wanted = request.query_params.get("q", "").lower()
        customers = [
            c for c in reply.customers if not wanted or wanted in f"{c.name} {c.external_id}".lower()
        ]

        async def figures(customer: Any) -> tuple[str, str]:
            (mrr, currency), cost = await asyncio.gather(
                self._reads.monthly_recurring(customer), self._reads.cost_to_date(customer)
            )
            totals = " + ".join(money(p.total) for p in cost.previews) or "–"
            return f"{currency} {mrr.quantize(Decimal('0.01')):,}", totals

        numbers = await asyncio.gather(*(figures(c) for c in customers))
        rows = [
            [link(c.name, f"/console/customers/{c.id}"), c.external_id, c.currency, num(mrr), num(cost)]
            for c, (mrr, cost) in zip(customers, numbers, strict=True)
        ]
        section = Section(
            columns=["Customer", "External id", "Currency", "MRR ", "Cost to date "],
            rows=rows,
            filters=[("q", "Name or id", [], request.query_params.get("q", ""))],
            more=_more(request, reply.page.next_page_token),
        )
        return self._page(
            request,
            "Customers",
            [section],
            subtitle="MRR: recurring fees of active subscriptions per month; cost to date: PreviewInvoice of the open period.",
        )

    async def customer(self, request: Request) -> Response:
        if (redirect := await self._guard(request)) is not None:
            return redirect
        customer = await self._peers.customer(request.path_params["customer_id"])
        cost, invoices, credit = await asyncio.gather(
            self._reads.cost_to_date(customer), self._reads.invoices(customer), self._reads.credit(customer)
        )
        lines = [
            [line.description, num(line.quantity), num(money(line.amount)), num(money(line.tax))]
            for preview in cost.previews
            for line in preview.lines
        ]
        return self._page(
            request,
            customer.name,
            [
                Section(
                    "Customer",
                    pairs=[
                        ("Id", customer.id),
                        ("External id", customer.external_id),
                        ("E-mail", customer.email),
                        ("Currency", customer.currency),
                        ("Tax rate", customer.tax_rate_percent or "none"),
                        (
                            "Prepaid credit",
                            credit["balance"].get("amount", "") + " " + credit["balance"].get("currency", ""),
                        ),
                    ],
                ),
                Section("Cost to date", columns=["Line", "Quantity ", "Amount ", "Tax "], rows=lines),
                self._invoice_section(invoices.invoices, ""),
            ],
        )

    # -- invoices and credit notes -----------------------------------------------------------------------
    def _invoice_section(self, invoices: Any, more: str, filters: list[Any] | None = None) -> Section:
        rows = [
            [
                link(i.number or f"draft {i.id[:8]}", f"/console/invoices/{i.id}"),
                i.customer_name or i.customer_id,
                f"{i.period.start.ToDatetime():%Y-%m-%d} → {i.period.end.ToDatetime():%Y-%m-%d}",
                pill(enum_name(inv.InvoiceStatus, i.status, "INVOICE_STATUS_")),
                num(money(i.total)),
                num(money(i.amount_due)),
                num(money(i.amount_remaining)) if i.HasField("amount_remaining") else "",
            ]
            for i in invoices
        ]
        return Section(
            "Invoices",
            columns=["Number", "Customer", "Period", "Status", "Total ", "Amount due ", "Still due "],
            rows=rows,
            filters=filters or [],
            more=more,
        )

    async def invoices(self, request: Request) -> Response:
        if (redirect := await self._guard(request)) is not None:
            return redirect
        query = request.query_params
        customer_id = ""
        if query.get("customer"):
            customer_id = (await self._peers.customer(query["customer"])).id
        reply = await self._peers.invoices(
            inv.ListInvoicesRequest(
                customer_id=customer_id,
                status=_enum_value(inv.InvoiceStatus, "INVOICE_STATUS_", query.get("status", ""), "status"),  # type: ignore[arg-type]
                page=pagination_pb2.PageRequest(page_size=50, page_token=query.get("page_token", "")),
            )
        )
        filters = [
            ("status", "Status", _names(inv.InvoiceStatus, "INVOICE_STATUS_"), query.get("status", "")),
            ("customer", "Customer", [], query.get("customer", "")),
        ]
        section = self._invoice_section(reply.invoices, _more(request, reply.page.next_page_token), filters)
        return self._page(request, "Invoices", [section])

    async def invoice(self, request: Request) -> Response:
        if (redirect := await self._guard(request)) is not None:
            return redirect
        invoice = await self._peers.invoice(request.path_params["invoice_id"])
        sync = await self._peers.sync_status(erp.DOCUMENT_KIND_INVOICE, invoice.id)
        notes = await self._peers.credit_notes(inv.ListCreditNotesRequest(invoice_id=invoice.id))
        return self._page(
            request,
            f"Invoice {invoice.number or '(draft)'}",
            [
                Section(
                    pairs=[
                        ("Customer", invoice.customer_name),
                        ("Status", enum_name(inv.InvoiceStatus, invoice.status, "INVOICE_STATUS_")),
                        ("Subtotal", money(invoice.subtotal)),
                        ("Tax", money(invoice.tax)),
                        ("Credits applied", money(invoice.credits_applied)),
                        ("Total", money(invoice.total)),
                        ("Amount due", money(invoice.amount_due)),
                        ("Paid", money(invoice.amount_paid)),
                        ("Credited", money(invoice.amount_credited)),
                        ("Still due", money(invoice.amount_remaining)),
                    ]
                ),
                Section(
                    "Lines",
                    columns=["Line", "Quantity ", "Amount ", "Tax "],
                    rows=[
                        [ln.description, num(ln.quantity), num(money(ln.amount)), num(money(ln.tax))]
                        for ln in invoice.lines
                    ],
                ),
                self._sync_section(sync, "ERP sync status"),
                self._credit_note_section(notes.credit_notes, ""),
                Section(pairs=[("PDF", link("Download", f"/console/invoices/{invoice.id}/pdf"))]),
            ],
        )

    async def invoice_pdf(self, request: Request) -> Response:
        if (redirect := await self._guard(request)) is not None:
            return redirect
        reply = await self._peers.invoice_pdf(request.path_params["invoice_id"])
        return pdf_response(reply.pdf, reply.filename)

    def _credit_note_section(self, notes: Any, more: str, filters: list[Any] | None = None) -> Section:
        rows = [
            [
                link(n.number, f"/console/credit-notes/{n.id}"),
                link(n.invoice_number, f"/console/invoices/{n.invoice_id}"),
                enum_name(inv.CreditNoteReason, n.reason, "CREDIT_NOTE_REASON_"),
                num(money(n.total)),
                f"{n.issued_at.ToDatetime():%Y-%m-%d %H:%M}",
            ]
            for n in notes
        ]
        return Section(
            "Credit notes",
            columns=["Number", "Invoice", "Reason", "Total ", "Issued"],
            rows=rows,
            filters=filters or [],
            more=more,
        )

    async def credit_notes(self, request: Request) -> Response:
        if (redirect := await self._guard(request)) is not None:
            return redirect
        query = request.query_params
        customer_id = (await self._peers.customer(query["customer"])).id if query.get("customer") else ""
        reply = await self._peers.credit_notes(
            inv.ListCreditNotesRequest(
                customer_id=customer_id,
                page=pagination_pb2.PageRequest(page_size=50, page_token=query.get("page_token", "")),
            )
        )
        filters: list[tuple[str, str, list[str], str]] = [
            ("customer", "Customer", [], query.get("customer", ""))
        ]
        return self._page(
            request,
            "Credit notes",
            [
                self._credit_note_section(
                    reply.credit_notes, _more(request, reply.page.next_page_token), filters
                )
            ],
        )

    async def credit_note(self, request: Request) -> Response:
        if (redirect := await self._guard(request)) is not None:
            return redirect
        note = await self._peers.credit_note(request.path_params["credit_note_id"])
        sync = await self._peers.sync_status(erp.DOCUMENT_KIND_CREDIT_NOTE, note.id)
        return self._page(
            request,
            f"Credit note {note.number}",
            [
                Section(
                    pairs=[
                        ("Invoice", link(note.invoice_number, f"/console/invoices/{note.invoice_id}")),
                        ("Reason", enum_name(inv.CreditNoteReason, note.reason, "CREDIT_NOTE_REASON_")),
                        ("Memo", note.memo),
                        ("Total", money(note.total)),
                    ]
                ),
                Section(
                    "Lines",
                    columns=["Line", "Amount ", "Tax "],
                    rows=[[ln.description, num(money(ln.amount)), num(money(ln.tax))] for ln in note.lines],
                ),
                self._sync_section(sync, "ERP sync status"),
            ],
        )

    # -- ERP sync, rejected events, billing runs -------------------------------------------------------
    def _sync_section(
        self, records: Any, heading: str, filters: list[Any] | None = None, more: str = ""
    ) -> Section:
        def document(r: Any) -> Any:
            if r.document_kind == erp.DOCUMENT_KIND_INVOICE:
                return link(r.document_id, f"/console/invoices/{r.document_id}")
            if r.document_kind == erp.DOCUMENT_KIND_CREDIT_NOTE:
                return link(r.document_id, f"/console/credit-notes/{r.document_id}")
            return r.document_id

        rows = [
            [
                enum_name(erp.DocumentKind, r.document_kind, "DOCUMENT_KIND_"),
                document(r),
                enum_name(erp.Erp, r.erp, "ERP_"),
                pill(enum_name(erp.SyncState, r.state, "SYNC_STATE_")),
                num(str(r.attempts)),
                r.last_error,
                f"{r.updated_at.ToDatetime():%Y-%m-%d %H:%M}",
            ]
            for r in records
        ]
        return Section(
            heading,
            columns=["Kind", "Document", "ERP", "State", "Attempts ", "Last error", "Updated"],
            rows=rows,
            filters=filters or [],
            more=more,
        )

    async def erp(self, request: Request) -> Response:
        if (redirect := await self._guard(request)) is not None:
            return redirect
        query = request.query_params
        reply = await self._peers.sync_records(
            erp.ListSyncRecordsRequest(
                erp=_enum_value(erp.Erp, "ERP_", query.get("erp", ""), "erp"),  # type: ignore[arg-type]
                state=_enum_value(erp.SyncState, "SYNC_STATE_", query.get("state", ""), "state"),  # type: ignore[arg-type]
                document_kind=_enum_value(erp.DocumentKind, "DOCUMENT_KIND_", query.get("kind", ""), "kind"),  # type: ignore[arg-type]
                page=pagination_pb2.PageRequest(page_size=50, page_token=query.get("page_token", "")),
            )
        )
        filters = [
            ("state", "State", _names(erp.SyncState, "SYNC_STATE_"), query.get("state", "")),
            ("erp", "ERP", _names(erp.Erp, "ERP_"), query.get("erp", "")),
            ("kind", "Document", _names(erp.DocumentKind, "DOCUMENT_KIND_"), query.get("kind", "")),
        ]
        section = self._sync_section(reply.records, "", filters, _more(request, reply.page.next_page_token))
        return self._page(request, "ERP sync", [section], gaps=(GAPS["erp_failures"],))

    async def rejected(self, request: Request) -> Response:
        if (redirect := await self._guard(request)) is not None:
            return redirect
        query = request.query_params
        reply = await self._peers.rejected(
            ing.ListRejectedRequest(
                producer_id=query.get("producer", ""),
                code=query.get("code", ""),
                page=pagination_pb2.PageRequest(page_size=50, page_token=query.get("page_token", "")),
            )
        )
        rows = [
            [
                f"{r.rejected_at.ToDatetime():%Y-%m-%d %H:%M:%S}",
                r.producer_id,
                r.batch_id,
                pill(r.code),
                r.field,
                r.reason,
                {"text": json.dumps(as_json(r.event), indent=1), "pre": True},
            ]
            for r in reply.rejected
        ]
        section = Section(
            columns=["When", "Producer", "Batch", "Code", "Field", "Reason", "Event as sent"],
            rows=rows,
            filters=[
                ("code", "Code", [], query.get("code", "")),
                ("producer", "Producer", [], query.get("producer", "")),
            ],
            more=_more(request, reply.page.next_page_token),
        )
        return self._page(request, "Rejected events", [section], gaps=(GAPS["conflicts"],),
                          subtitle="Each row carries its detail: the reason and the event exactly as it was sent.")  # fmt: skip

    async def billing(self, request: Request) -> Response:
        if (redirect := await self._guard(request)) is not None:
            return redirect
        query = request.query_params
        reply = await self._peers.billing_runs(
            inv.ListBillingRunsRequest(
                page=pagination_pb2.PageRequest(page_size=50, page_token=query.get("page_token", ""))
            )
        )
        runs = Section(
            columns=[
                "Started",
                "Trigger",
                "Billed up to",
                "Evaluated ",
                "Drafted ",
                "Finalized ",
                "Failed ",
                "Error",
            ],
            rows=[
                [
                    f"{r.started_at.ToDatetime():%Y-%m-%d %H:%M:%S}",
                    r.trigger,
                    f"{r.as_of.ToDatetime():%Y-%m-%d %H:%M}",
                    num(str(r.subscriptions_evaluated)),
                    num(str(r.invoices_drafted)),
                    num(str(r.invoices_finalized)),
                    pill("FAILED") if r.failures else num("0"),
                    r.error,
                ]
                for r in reply.runs
            ],
            more=_more(request, reply.page.next_page_token),
        )
        failures = Section(
            "Subscriptions the runs could not bill (each retried by the next run)",
            columns=["Run started", "Subscription", "Why"],
            rows=[
                [f"{r.started_at.ToDatetime():%Y-%m-%d %H:%M:%S}", f.subscription_id, f.reason]
                for r in reply.runs
                for f in r.failures
            ],
        )
        return self._page(request, "Billing runs", [runs, failures])

    # -- webhooks -------------------------------------------------------------------------------------
    async def webhooks(self, request: Request) -> Response:
        viewer = self._operator(request)
        if viewer is None:
            return RedirectResponse("/console/login", status_code=303)
        query = request.query_params
        endpoints = await self._webhooks.endpoints(viewer)
        deliveries = await self._webhooks.deliveries(
            viewer,
            endpoint_id=query.get("endpoint") or None,
            state=query.get("state") or None,
            before_id=None,
            limit=100,
        )
        return self._page(
            request,
            "Webhooks",
            [
                Section(
                    "Endpoints",
                    columns=["Id", "URL", "Events", "Customer", "State", "Failures in a row "],
                    rows=[
                        [
                            link(e.id, f"/console/webhooks?endpoint={e.id}"),
                            e.url,
                            ", ".join(e.event_types),
                            e.customer_id or "all",
                            pill("enabled" if e.enabled else "disabled"),
                            num(str(e.consecutive_failures)),
                        ]
                        for e in endpoints
                    ],
                ),
                Section(
                    "Deliveries",
                    columns=["Id", "Event", "Endpoint", "State", "Attempts ", "Last status", "Next attempt"],
                    rows=[
                        [
                            link(str(d.id), f"/console/webhooks/deliveries/{d.id}"),
                            d.event_type,
                            d.endpoint_id,
                            pill(d.state),
                            num(str(d.attempts)),
                            d.last_status or d.last_error,
                            f"{d.next_attempt_at:%Y-%m-%d %H:%M:%S}" if d.next_attempt_at else "",
                        ]
                        for d in deliveries
                    ],
                    filters=[
                        ("state", "State", ["pending", "succeeded", "failed"], query.get("state", "")),
                        ("endpoint", "Endpoint", [], query.get("endpoint", "")),
                    ],
                ),
            ],
        )

    async def delivery(self, request: Request) -> Response:
        viewer = self._operator(request)
        if viewer is None:
            return RedirectResponse("/console/login", status_code=303)
        detail = await self._webhooks.delivery(viewer, _delivery_id(request))
        d = detail.delivery
        return self._page(
            request,
            f"Delivery {d.id}",
            [
                Section(
                    pairs=[
                        ("Message (webhook-id)", d.message_id),
                        ("Event", d.event_type),
                        ("Endpoint", detail.endpoint.url),
                        ("State", d.state),
                        ("Attempts", d.attempts),
                    ],
                    action=(f"/console/webhooks/deliveries/{d.id}/replay", "Replay"),
                ),
                Section(
                    "Attempts",
                    columns=["When", "Status", "Error", "Duration (ms) ", "Replay"],
                    rows=[
                        [
                            f"{a.attempted_at:%Y-%m-%d %H:%M:%S}",
                            a.status_code or "no answer",
                            a.error,
                            num(str(a.duration_ms)),
                            "yes" if a.replay else "",
                        ]
                        for a in detail.attempts
                    ],
                ),
            ],
        )

    async def replay(self, request: Request) -> Response:
        viewer = self._operator(request)
        if viewer is None:
            return RedirectResponse("/console/login", status_code=303)
        await self._webhooks.replay(viewer, _delivery_id(request))
        return RedirectResponse(
            f"/console/webhooks/deliveries/{request.path_params['delivery_id']}", status_code=303
        )


def _delivery_id(request: Request) -> int:
    raw = request.path_params["delivery_id"]
    if not raw.isdigit():
        raise InvalidArgument.field("delivery_id", "must be a whole number")
    return int(raw)
