"""Sage Intacct with ``sageintacctsdk``: AR invoices (create_invoice), AR adjustments for credit notes, payment
details read back, customers. Intacct's duplicate protection is unusable through the SDK (it sends
``uniqueid=false`` and a timestamp control id), so idempotency is ours: a deterministic document number,
looked up before any retry whose outcome is unknown."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import requests
import xmltodict
from sageintacctsdk import SageIntacctSDK
from sageintacctsdk.apis import ApiBase
from sageintacctsdk.exceptions import (
    ExpiredTokenError,
    InternalServerError,
    InvalidTokenError,
    NoPrivilegeError,
    SageIntacctSDKError,
    WrongParamsError,
)

from tally.erp_sync.adapters.calls import erp_call, raise_if_busy
from tally.erp_sync.documents import Document
from tally.erp_sync.domain import DocumentKind, Erp
from tally.erp_sync.mapping import ErpMapping
from tally.erp_sync.payments import ErpPayment
from tally.erp_sync.posting import PostingError, Rejected, Retryable
from tally.erp_sync.reconciliation import BookedDocument
from tally.money import Money

PEER = "sage-intacct"
DEFAULT_URL = "https://api.intacct.com/ia/xml/xmlgw.phtml"
URL_ATTRIBUTE = "_ApiBase__api_url"
"""The SDK keeps the gateway URL in this private attribute, with no setter: the version is pinned and a test
fails if it stops working."""
SEND_ATTRIBUTE = "_ApiBase__post_request_for_raw_response"
"""The SDK's private HTTP call (a bare ``requests.post`` without a timeout), replaced per API object by ours:
the SDK still builds every request and parses every answer."""
_PAGE = "1000"
_OBJECTS = {DocumentKind.INVOICE: "ARINVOICE", DocumentKind.CREDIT_NOTE: "ARADJUSTMENT"}
T = TypeVar("T")


@dataclass(frozen=True)
class IntacctCredentials:
    sender_id: str
    sender_password: str
    user_id: str
    company_id: str
    user_password: str


def _messages(exc: SageIntacctSDKError) -> str:
    response = exc.response if isinstance(exc.response, dict) else {}
    errors = response.get("error") or []
    texts = [str(e.get("description2") or e.get("description") or "") for e in errors if isinstance(e, dict)]
    return "; ".join(t for t in texts if t) or exc.message


def _classify(exc: Exception) -> PostingError:
    if isinstance(exc, WrongParamsError | NoPrivilegeError):
        return Rejected(_messages(exc))
    if isinstance(exc, InternalServerError):
        return Retryable(f"Intacct unavailable: {_messages(exc)}")
    return Retryable(f"{type(exc).__name__}: {exc}")


def _legacy_date(day: date) -> dict[str, int]:
    return {"year": day.year, "month": day.month, "day": day.day}


def _us_date(day: date) -> str:
    return f"{day:%m/%d/%Y}"


def _rows(data: dict[str, Any], object_name: str) -> list[dict[str, Any]]:
    rows = data.get(object_name) or []
    return rows if isinstance(rows, list) else [rows]


class Intacct:
    """The Sage Intacct adapter: the SDK's API objects pointed at the gateway URL, sharing one session."""

    erp = Erp.SAGE_INTACCT

    def __init__(self, credentials: IntacctCredentials, *, url: str = DEFAULT_URL, timeout_s: float) -> None:
        self._credentials = credentials
        self._timeout_s = timeout_s
        self._http = requests.Session()
        self._login_lock = threading.Lock()
        self._logged_in = False
        c = credentials
        # A placeholder session id keeps the constructor from logging in before the URL is set.
        sdk = SageIntacctSDK(
            sender_id=c.sender_id,
            sender_password=c.sender_password,
            user_id=c.user_id,
            company_id=c.company_id,
            user_password=c.user_password,
            session_id="pending-login",
        )
        self._sdk = sdk
        self._adjustments = ApiBase(dimension="ARADJUSTMENT")
        self._payment_details = ApiBase(dimension="ARPYMTDETAIL")
        self._apis: list[ApiBase] = [
            sdk.api_base,
            sdk.customers,
            sdk.ar_invoices,
            self._adjustments,
            self._payment_details,
        ]
        for api in (self._adjustments, self._payment_details):
            api.set_sender_id(c.sender_id)
            api.set_sender_password(c.sender_password)
            api.set_show_private(False)
        for api in self._apis:
            setattr(api, URL_ATTRIBUTE, url)
            setattr(api, SEND_ATTRIBUTE, self._send)

    def _send(self, dict_body: dict[str, Any], api_url: str) -> requests.Response:
        response = self._http.post(
            api_url,
            headers={"content-type": "application/xml"},
            data=xmltodict.unparse(dict_body).encode("utf-8"),
            timeout=self._timeout_s,
        )
        raise_if_busy(response)
        return response

    def _login(self, *, again: bool = False) -> None:
        with self._login_lock:
            if self._logged_in and not again:
                return
            c = self._credentials
            with erp_call(PEER, "getAPISession", _classify):
                session = self._sdk.api_base.get_session_id(c.user_id, c.company_id, c.user_password)
            endpoint = getattr(self._sdk.api_base, URL_ATTRIBUTE)
            for api in self._apis:
                api.set_session_id(session)
                setattr(api, URL_ATTRIBUTE, endpoint)
            self._logged_in = True

    def _call(self, operation: str, call: Callable[[], T]) -> T:
        """One SDK call in a span, logging in first and once more if the session has expired."""
        self._login()
        with erp_call(PEER, operation, _classify):
            try:
                return call()
            except (InvalidTokenError, ExpiredTokenError):
                pass
        self._login(again=True)
        with erp_call(PEER, operation, _classify):
            return call()

    def ensure_customer(self, document: Document, mapping: ErpMapping) -> str:
        key = document.customer_key
        found = self._call("read customer", lambda: self._sdk.customers.get("CUSTOMERID", key))
        if _rows(found, "CUSTOMER"):
            return key
        record = {"CUSTOMERID": key, "NAME": document.customer_name or document.customer_external_id}
        try:
            self._call("create customer", lambda: self._sdk.customers.post(record))
        except Rejected:
            # Another posting of the same customer may have created it meanwhile: match it by its id.
            again = self._call("read customer", lambda: self._sdk.customers.get("CUSTOMERID", key))
            if not _rows(again, "CUSTOMER"):
                raise
        return key

    def post(self, document: Document, customer: str, mapping: ErpMapping) -> str:
        sign = Decimal(1) if document.kind is DocumentKind.INVOICE else Decimal(-1)
        segments = {f"{name}id": value for name, value in mapping.segments.items()}
        lines = [
            {
                "glaccountno": mapping.item_for(line),
                "amount": f"{sign * line.amount.amount:f}",
                "memo": line.description,
                **segments,
            }
            for line in document.lines
        ]
        tax = sum((line.tax.amount for line in document.lines), Decimal(0))
        if tax:
            lines.append(
                {"glaccountno": mapping.tax_code, "amount": f"{sign * tax:f}", "memo": "Tax", **segments}
            )
        currency = mapping.currency_for(document.currency)
        if document.kind is DocumentKind.INVOICE:
            invoice: dict[str, Any] = {
                "customerid": customer,
                "datecreated": _legacy_date(document.issued_on),
            }
            if document.due_on is not None:
                invoice["datedue"] = _legacy_date(document.due_on)
            if mapping.terms:
                invoice["termname"] = mapping.terms
            invoice.update(
                invoiceno=document.key,
                description=document.number,
                currency=currency,
                invoiceitems={"lineitem": lines},
            )
            result = self._call("create_invoice", lambda: self._sdk.ar_invoices.post(invoice))
        else:
            adjustment = {
                "customerid": customer,
                "datecreated": _legacy_date(document.issued_on),
                "adjustmentno": document.key,
                "invoiceno": f"tally-inv-{document.credited_invoice_id}"
                if document.credited_invoice_id
                else "",
                "description": document.number,
                "currency": currency,
                "aradjustmentitems": {"lineitem": lines},
            }
            result = self._call(
                "create_aradjustment",
                lambda: self._adjustments.format_and_send_request({"create_aradjustment": adjustment}),
            )
        return str(result["key"])

    def find(self, kind: DocumentKind, key: str) -> str | None:
        api = self._sdk.ar_invoices if kind is DocumentKind.INVOICE else self._adjustments
        object_name = _OBJECTS[kind]
        rows = _rows(self._call(f"read {object_name}", lambda: api.get("RECORDID", key)), object_name)
        return str(rows[0]["RECORDNO"]) if rows else None

    def _read_all(self, api: ApiBase, object_name: str, query: str) -> list[dict[str, Any]]:
        read = {"readByQuery": {"object": object_name, "fields": "*", "query": query, "pagesize": _PAGE}}
        data = self._call(f"readByQuery {object_name}", lambda: api.format_and_send_request(read))["data"]
        rows = _rows(data, object_name)
        while int(data.get("@numremaining", "0")) > 0:
            more = {"readMore": {"resultId": data["@resultId"]}}
            data = self._call(
                f"readMore {object_name}", functools.partial(api.format_and_send_request, more)
            )["data"]
            rows += _rows(data, object_name)
        return rows

    def documents(self, start: date, end: date, mapping: ErpMapping) -> list[BookedDocument]:
        currencies = {erp_id: code for code, erp_id in mapping.currencies.items()}
        query = f"WHENCREATED >= '{_us_date(start)}' AND WHENCREATED < '{_us_date(end)}'"
        booked = []
        for kind, api in (
            (DocumentKind.INVOICE, self._sdk.ar_invoices),
            (DocumentKind.CREDIT_NOTE, self._adjustments),
        ):
            object_name = _OBJECTS[kind]
            sign = Decimal(1) if kind is DocumentKind.INVOICE else Decimal(-1)
            for row in self._read_all(api, object_name, query):
                currency = currencies.get(str(row.get("CURRENCY", "")), "")
                if not currency:
                    continue
                amount = Money(sign * Decimal(str(row["TOTALENTERED"])), currency).rounded()
                booked.append(
                    BookedDocument(
                        kind, str(row["RECORDID"]), amount, number=str(row.get("DESCRIPTION") or "")
                    )
                )
        return booked

    def payments_since(self, cursor: str) -> tuple[list[ErpPayment], str]:
        since = datetime.fromisoformat(cursor) if cursor else datetime(1970, 1, 1, tzinfo=UTC)
        query = f"WHENMODIFIED >= '{since.astimezone(UTC):%m/%d/%Y %H:%M:%S}'"
        payments = []
        latest = since
        for row in self._read_all(self._payment_details, "ARPYMTDETAIL", query):
            modified = datetime.strptime(str(row["WHENMODIFIED"]), "%m/%d/%Y %H:%M:%S").replace(tzinfo=UTC)
            latest = max(latest, modified)
            received = (
                datetime.strptime(str(row["PAYMENTDATE"]), "%m/%d/%Y").date()
                if row.get("PAYMENTDATE")
                else None
            )
            payments.append(
                ErpPayment(
                    str(row["RECORDNO"]),
                    str(row["RECORDKEY"]),
                    Decimal(str(row["TRX_PAYMENTAMOUNT"])),
                    received,
                )
            )
        return payments, latest.isoformat()
