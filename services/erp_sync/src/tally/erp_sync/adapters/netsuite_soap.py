"""NetSuite over SuiteTalk SOAP with ``netsuitesdk``: token-based auth, upserts keyed by externalId."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import requests
import zeep.exceptions
import zeep.transports
from netsuitesdk.api.credit_memos import CreditMemos
from netsuitesdk.api.customers import Customers
from netsuitesdk.api.invoices import Invoices
from netsuitesdk.internal.client import NetSuiteClient
from netsuitesdk.internal.exceptions import (
    NetSuiteError,
    NetSuiteLoginError,
    NetSuiteRateLimitError,
    NetSuiteRequestError,
)

from tally.erp_sync.adapters.calls import erp_call, raise_if_busy
from tally.erp_sync.documents import Document
from tally.erp_sync.domain import DocumentKind, Erp
from tally.erp_sync.mapping import ErpMapping
from tally.erp_sync.payments import ErpPayment
from tally.erp_sync.posting import PostingError, Rejected, Retryable
from tally.erp_sync.reconciliation import BookedDocument
from tally.money import Money

PEER = "netsuite-soap"
CLIENT_NAME = "TallyNetSuiteClient"
DEFAULT_BASE_URL = "https://{account}.suitetalk.api.netsuite.com"
_RETRYABLE_CODES = frozenset({"UNEXPECTED_ERROR", "SSS_REQUEST_LIMIT_EXCEEDED", "WS_CONCUR_SESSION_DISALLWD"})
_NOT_FOUND = "RCRD_DSNT_EXIST"
_TYPES = {"Invoice": DocumentKind.INVOICE, "CreditMemo": DocumentKind.CREDIT_NOTE}


@dataclass(frozen=True)
class TokenCredentials:
    """NetSuite token-based authentication: an integration record's consumer and a user's access token."""

    account: str
    consumer_key: str
    consumer_secret: str
    token_key: str
    token_secret: str


def client_class(base_url: str) -> type[NetSuiteClient]:
    """The SDK's client pointed at ``base_url`` through its two URL templates (the SDK's own hook)."""
    return type(
        CLIENT_NAME,
        (NetSuiteClient,),
        {
            "WSDL_URL_TEMPLATE": f"{base_url}/wsdl/{{wsdl_version}}/netsuite.wsdl",
            "DATACENTER_URL_TEMPLATE": f"{base_url}/services/{{netsuite_port_version}}",
        },
    )


class _CheckedTransport(zeep.transports.Transport):
    """zeep's transport, refusing 429 and 5xx answers before zeep parses them (keeping Retry-After)."""

    def post(self, address: str, message: str, headers: dict[str, str]) -> requests.Response:
        response = super().post(address, message, headers)
        raise_if_busy(response)
        return response


def _classify(exc: Exception) -> PostingError:
    if isinstance(exc, NetSuiteRateLimitError):
        return Retryable(f"NetSuite rate limit: {exc}", maybe_applied=False)
    if isinstance(exc, NetSuiteLoginError):
        return Retryable(f"NetSuite login failed: {exc}", maybe_applied=False)
    if isinstance(exc, NetSuiteRequestError):
        if exc.code in _RETRYABLE_CODES:
            return Retryable(f"{exc.code}: {exc.message}")
        return Rejected(f"{exc.code}: {exc.message}")
    if isinstance(exc, zeep.exceptions.Fault | zeep.exceptions.TransportError | NetSuiteError):
        return Retryable(f"NetSuite SOAP error: {exc}")
    return Retryable(f"{type(exc).__name__}: {exc}")


def _ref(internal_id: str) -> dict[str, str]:
    return {"internalId": internal_id}


def _amount(value: Decimal) -> str:
    return f"{value:f}"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


class NetSuiteSoap:
    """The NetSuite adapter over SOAP: one SDK client shared by every call (each call signs its own token
    passport), built on first use, which downloads and parses the WSDL once."""

    erp = Erp.NETSUITE

    def __init__(
        self, credentials: TokenCredentials, *, base_url: str = DEFAULT_BASE_URL, timeout_s: float
    ) -> None:
        self._credentials = credentials
        self._client_type = client_class(base_url)
        self._timeout_s = timeout_s
        self._built: NetSuiteClient | None = None
        self._building = threading.Lock()
        # The SDK logs a warning per NetSuite type the served WSDL lacks: erp-sync uses a handful of them.
        logging.getLogger(CLIENT_NAME).setLevel(logging.ERROR)

    @contextlib.contextmanager
    def _client(self) -> Iterator[NetSuiteClient]:
        with self._building:
            if self._built is None:
                c = self._credentials
                client = self._client_type(account=c.account, caching=False)
                client._client.transport = _CheckedTransport(
                    timeout=self._timeout_s, operation_timeout=self._timeout_s
                )
                client.connect_tba(c.consumer_key, c.consumer_secret, c.token_key, c.token_secret)
                self._built = client
        yield self._built

    def ensure_customer(self, document: Document, mapping: ErpMapping) -> str:
        record: dict[str, Any] = {
            "externalId": document.customer_key,
            "companyName": document.customer_name or document.customer_external_id,
            "entityId": document.customer_external_id,
            "currency": _ref(mapping.currency_for(document.currency)),
            "subsidiary": _ref(mapping.subsidiary),
            "representingSubsidiary": {},
            "monthlyClosing": {},
        }
        if mapping.terms:
            record["terms"] = _ref(mapping.terms)
        if mapping.ar_account:
            record["receivablesAccount"] = _ref(mapping.ar_account)
        with erp_call(PEER, "upsert customer", _classify), self._client() as client:
            return str(Customers(client).post(record)["internalId"])

    def post(self, document: Document, customer: str, mapping: ErpMapping) -> str:
        segments = {name: _ref(value) for name, value in mapping.segments.items()}
        items = [
            {
                "item": _ref(mapping.item_for(line)),
                "description": line.description,
                "amount": _amount(line.amount.amount),
                "taxCode": _ref(mapping.tax_code),
                "tax1Amt": _amount(line.tax.amount),
                **segments,
            }
            for line in document.lines
        ]
        record: dict[str, Any] = {
            "externalId": document.key,
            "entity": _ref(customer),
            "tranId": document.number,
            "tranDate": _midnight(document.issued_on),
            "currency": _ref(mapping.currency_for(document.currency)),
            "subsidiary": _ref(mapping.subsidiary),
            "memo": f"Tally {document.number}",
            "itemList": {"item": items},
            **segments,
        }
        if mapping.ar_account:
            record["account"] = _ref(mapping.ar_account)
        if document.kind is DocumentKind.INVOICE:
            if document.due_on is not None:
                record["dueDate"] = _midnight(document.due_on)
            if mapping.terms:
                record["terms"] = _ref(mapping.terms)
            with erp_call(PEER, "upsert invoice", _classify), self._client() as client:
                return str(Invoices(client).post(record)["internalId"])
        if document.credited_invoice_id:
            credited = self.find(DocumentKind.INVOICE, f"tally-inv-{document.credited_invoice_id}")
            if credited is not None:
                record["createdFrom"] = _ref(credited)
        with erp_call(PEER, "upsert credit memo", _classify), self._client() as client:
            return str(CreditMemos(client).post(record)["internalId"])

    def find(self, kind: DocumentKind, key: str) -> str | None:
        api = Invoices if kind is DocumentKind.INVOICE else CreditMemos
        with erp_call(PEER, f"get {api.__name__.lower()}", _classify) as span, self._client() as client:
            try:
                record = api(client).get(externalId=key)
            except NetSuiteRequestError as exc:
                if exc.code == _NOT_FOUND:
                    span.set_attribute("tally.erp.found", False)
                    return None
                raise
            return str(record["internalId"])

    def _search(self, operation: str, **fields: Any) -> list[Any]:
        records: list[Any] = []
        with erp_call(PEER, operation, _classify), self._client() as client:
            search = client.basic_search_factory("Transaction", **fields)
            result = client.search(search)
            records.extend(result.records or [])
            for page in range(2, (result.totalPages or 1) + 1):
                more = client.searchMoreWithId(searchId=result.searchId, pageIndex=page)
                records.extend(more.records or [])
        return records

    def documents(self, start: date, end: date, mapping: ErpMapping) -> list[BookedDocument]:
        with self._client() as client:
            kinds = client.SearchEnumMultiSelectField(
                searchValue=["_invoice", "_creditMemo"], operator="anyOf"
            )
            dated = client.SearchDateField(
                searchValue=_midnight(start),
                searchValue2=_midnight(end - timedelta(days=1)),
                operator="within",
            )
        currencies = {erp_id: code for code, erp_id in mapping.currencies.items()}
        booked = []
        for record in self._search("search documents", type=kinds, tranDate=dated):
            kind = _TYPES.get(record._xsd_type.name)
            currency = currencies.get(record.currency.internalId if record.currency else "", "")
            if kind is None or not currency or record.externalId is None:
                continue
            amount = Decimal(str(record.total or 0))
            booked.append(
                BookedDocument(
                    kind, record.externalId, Money(amount, currency).rounded(), number=record.tranId or ""
                )
            )
        return booked

    def payments_since(self, cursor: str) -> tuple[list[ErpPayment], str]:
        since = datetime.fromisoformat(cursor) if cursor else datetime(1970, 1, 1, tzinfo=UTC)
        with self._client() as client:
            kinds = client.SearchEnumMultiSelectField(searchValue=["_customerPayment"], operator="anyOf")
            modified = client.SearchDateField(searchValue=since, operator="onOrAfter")
        payments = []
        latest = since
        for record in self._search("search payments", type=kinds, lastModifiedDate=modified):
            if record.lastModifiedDate is not None:
                latest = max(latest, record.lastModifiedDate)
            received = record.tranDate.date() if record.tranDate else None
            for applied in record.applyList.apply if record.applyList else []:
                if not applied.apply:
                    continue
                payments.append(
                    ErpPayment(
                        reference=f"{record.internalId}-{applied.doc}",
                        invoice_internal_id=str(applied.doc),
                        amount=Decimal(str(applied.amount)),
                        received_on=received,
                    )
                )
        return payments, latest.isoformat()
