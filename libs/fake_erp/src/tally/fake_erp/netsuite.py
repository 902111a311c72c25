"""A fake NetSuite on loopback: SuiteTalk SOAP (served WSDL, token-based auth) and REST (OAuth 2.0 client
credentials, record API upserts by external id), both writing the same books."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import parse_qs
from xml.sax.saxutils import escape, quoteattr

import jwt

from tally.fake_erp import netsuite_wsdl as ns
from tally.fake_erp.books import (
    CREDIT_MEMO,
    CUSTOMER,
    INVOICE,
    PAYMENT,
    BookEntry,
    BookLine,
    Books,
    Rejected,
)
from tally.fake_erp.faults import FaultPlan
from tally.fake_erp.loopback import Exchange, LoopbackFake, LoopbackServer, Reply

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
RECORD_PATH = "/services/rest/record/v1/"

_SOAP_TYPES = {
    "Customer": CUSTOMER,
    "Invoice": INVOICE,
    "CreditMemo": CREDIT_MEMO,
    "CustomerPayment": PAYMENT,
}
_SOAP_NAMES = {kind: name for name, kind in _SOAP_TYPES.items()}
_SOAP_NAMESPACES = {
    CUSTOMER: ns.RELATIONSHIPS,
    INVOICE: ns.SALES,
    CREDIT_MEMO: ns.CUSTOMERS,
    PAYMENT: ns.CUSTOMERS,
}
_SEARCH_TYPES = {"_invoice": INVOICE, "_creditMemo": CREDIT_MEMO, "_customerPayment": PAYMENT}
_REST_TYPES = {
    "customer": CUSTOMER,
    "invoice": INVOICE,
    "creditMemo": CREDIT_MEMO,
    "customerPayment": PAYMENT,
}
_REST_NAMES = {kind: name for name, kind in _REST_TYPES.items()}
_CONDITION = re.compile(r'^(\w+) (ON_OR_AFTER|BEFORE|IS) "([^"]*)"$')


@dataclass(frozen=True)
class NetSuiteCredentials:
    """What the fake accepts: TBA tokens for SOAP, an OAuth 2.0 client and its public key for REST."""

    account: str = "TSTDRV1"
    consumer_key: str = "consumer-key"
    consumer_secret: str = "consumer-secret"
    token_key: str = "token-key"
    token_secret: str = "token-secret"
    client_id: str = "rest-client"
    certificate_id: str = "cert-1"
    public_key_pem: bytes = b""
    """PEM public key of the certificate the REST client signs its JWTs with (PS256)."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _text(element: ET.Element, name: str) -> str:
    found = _child(element, name)
    return (found.text or "").strip() if found is not None else ""


def _ref(element: ET.Element, name: str) -> str:
    found = _child(element, name)
    return found.get("internalId", "") if found is not None else ""


def _day(raw: str) -> date | None:
    return datetime.fromisoformat(raw).date() if raw else None


def _amount(raw: object) -> Decimal:
    return Decimal(str(raw)) if raw not in (None, "") else Decimal(0)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class FakeNetSuite(LoopbackFake):
    """NetSuite SOAP and REST on one loopback port (``url``: SOAP at ``/services/NetSuitePort_2019_1``, REST under
    ``/services/rest``); ``books`` is what both write to."""

    def __init__(
        self,
        credentials: NetSuiteCredentials | None = None,
        *,
        books: Books | None = None,
        faults: FaultPlan | None = None,
        client_private_key_pem: bytes = b"",
    ) -> None:
        self.credentials = credentials or NetSuiteCredentials()
        self.client_private_key_pem = client_private_key_pem
        """The REST client's private key, when whoever built the fake made the key pair."""
        self.books = books or Books()
        self.faults = faults or FaultPlan()
        self._server = LoopbackServer(self, self.faults)
        self._tokens: set[str] = set()
        self._searches: dict[str, tuple[int, list[BookEntry]]] = {}
        self._lock = threading.Lock()

    # -- routing ---------------------------------------------------------------------------------------------
    def faultable(self, exchange: Exchange) -> tuple[bool, bool]:
        if exchange.method == "GET" and exchange.path.startswith("/wsdl/"):
            return False, False
        if exchange.path == TOKEN_PATH:
            return False, False
        if exchange.path.startswith(RECORD_PATH):
            return True, exchange.method == "PUT"
        return True, b"upsert>" in exchange.body or b":upsert " in exchange.body

    def handle(self, exchange: Exchange) -> Reply:
        if exchange.method == "GET" and exchange.path.startswith("/wsdl/"):
            port = f"{self.url}/services/NetSuitePort_{ns.VERSION}"
            return Reply(200, ns.wsdl(port).encode(), {"Content-Type": "text/xml"})
        if exchange.path == TOKEN_PATH:
            return self._token(exchange)
        if exchange.path.startswith(RECORD_PATH):
            return self._rest(exchange)
        if exchange.path.startswith("/services/NetSuitePort"):
            return self._soap(exchange)
        return Reply(404, b"not found")

    # -- SOAP ------------------------------------------------------------------------------------------------
    def _soap(self, exchange: Exchange) -> Reply:
        envelope = ET.fromstring(exchange.body)
        header = _child(envelope, "Header")
        body = _child(envelope, "Body")
        if body is None or len(body) == 0:
            return _soap_fault("Client", "no SOAP body")
        passport = _child(header, "tokenPassport") if header is not None else None
        if passport is None or not self._passport_valid(passport):
            return _soap_fault("Client", "Invalid login attempt.")
        request = body[0]
        operation = _local(request.tag)
        if operation == "upsert":
            record = _child(request, "record")
            if record is None:
                return _soap_fault("Client", "upsert needs a record")
            return _soap_reply("upsertResponse", self._soap_upsert(record))
        if operation == "get":
            ref = _child(request, "baseRef")
            if ref is None:
                return _soap_fault("Client", "get needs a baseRef")
            return _soap_reply("getResponse", self._soap_get(ref))
        if operation == "search":
            search = _child(request, "searchRecord")
            page_size = 100
            prefs = _child(header, "searchPreferences") if header is not None else None
            if prefs is not None and _text(prefs, "pageSize"):
                page_size = int(_text(prefs, "pageSize"))
            if search is None:
                return _soap_fault("Client", "search needs a searchRecord")
            return _soap_reply("searchResponse", self._soap_search(search, page_size))
        if operation == "searchMoreWithId":
            return _soap_reply(
                "searchMoreWithIdResponse",
                self._search_page(_text(request, "searchId"), int(_text(request, "pageIndex") or 1)),
            )
        return _soap_fault("Client", f"operation {operation} is not supported by this fake")

    def _passport_valid(self, passport: ET.Element) -> bool:
        c = self.credentials
        signature = _child(passport, "signature")
        if signature is None or signature.get("algorithm") != "HMAC-SHA256":
            return False
        account, consumer, token = (
            _text(passport, "account"),
            _text(passport, "consumerKey"),
            _text(passport, "token"),
        )
        if (account, consumer, token) != (c.account, c.consumer_key, c.token_key):
            return False
        base = "&".join([account, consumer, token, _text(passport, "nonce"), _text(passport, "timestamp")])
        key = f"{c.consumer_secret}&{c.token_secret}".encode()
        expected = base64.b64encode(hmac.new(key, base.encode(), hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected, (signature.text or "").strip())

    def _soap_upsert(self, record: ET.Element) -> str:
        type_name = (record.get(f"{{{XSI}}}type") or "").split(":")[-1]
        kind = _SOAP_TYPES.get(type_name)
        external_id = record.get("externalId", "")
        if kind is None or kind == PAYMENT:
            return _write_status(False, "INVALID_RCRD_TYPE", f"upsert of {type_name or 'an untyped record'}")
        if not external_id:
            return _write_status(False, "USER_ERROR", "An externalId is required for an upsert.")
        subsidiary = _ref(record, "subsidiary")
        if kind == CUSTOMER:
            entry = BookEntry(
                kind, "", external_id, currency=_ref(record, "currency"), name=_text(record, "companyName")
            )
        else:
            lines = []
            item_list = _child(record, "itemList")
            for item in item_list if item_list is not None else []:
                lines.append(
                    BookLine(
                        _ref(item, "item"),
                        _amount(_text(item, "amount")),
                        _amount(_text(item, "tax1Amt")),
                        _text(item, "description"),
                    )
                )
            entry = BookEntry(
                kind,
                "",
                external_id,
                customer=_ref(record, "entity"),
                currency=_ref(record, "currency"),
                amount=sum((line.amount + line.tax for line in lines), Decimal(0)),
                day=_day(_text(record, "tranDate")),
                lines=tuple(lines),
                number=_text(record, "tranId"),
                applies_to=_ref(record, "createdFrom"),
            )
        try:
            self.books.validate(entry, subsidiary=subsidiary)
        except Rejected as exc:
            return _write_status(False, exc.code, exc.message)
        stored = self.books.upsert(entry)
        ref = (
            f'<core:baseRef xsi:type="core:RecordRef" internalId={quoteattr(stored.internal_id)} '
            f'externalId={quoteattr(stored.key)} type="{_SOAP_NAMES[kind][0].lower() + _SOAP_NAMES[kind][1:]}"/>'
        )
        return f'<msgs:writeResponse><core:status isSuccess="true"/>{ref}</msgs:writeResponse>'

    def _soap_get(self, ref: ET.Element) -> str:
        kind = {
            "invoice": INVOICE,
            "creditMemo": CREDIT_MEMO,
            "customer": CUSTOMER,
            "customerPayment": PAYMENT,
        }.get(ref.get("type", ""))
        found: list[BookEntry] = []
        if kind is not None:
            if ref.get("internalId"):
                entry = self.books.get(ref.get("internalId", ""))
                found = [entry] if entry is not None and entry.kind == kind else []
            else:
                found = self.books.find(kind, ref.get("externalId", ""))
        if not found:
            status = _status(False, "RCRD_DSNT_EXIST", "That record does not exist.")
            return f"<msgs:readResponse>{status}</msgs:readResponse>"
        return f'<msgs:readResponse><core:status isSuccess="true"/>{_soap_record("core:record", found[0])}</msgs:readResponse>'

    def _soap_search(self, search: ET.Element, page_size: int) -> str:
        kinds = set(_SEARCH_TYPES.values())
        type_field = _child(search, "type")
        if type_field is not None:
            kinds = {
                _SEARCH_TYPES[(v.text or "").strip()]
                for v in type_field
                if (v.text or "").strip() in _SEARCH_TYPES
            }
        entries = [e for kind in kinds for e in self.books.entries(kind)]
        modified = _child(search, "lastModifiedDate")
        if modified is not None:
            since = datetime.fromisoformat(_text(modified, "searchValue"))
            entries = [e for e in entries if e.modified_at >= since]
        dated = _child(search, "tranDate")
        if dated is not None:
            start = _day(_text(dated, "searchValue"))
            end = _day(_text(dated, "searchValue2")) or start
            entries = [
                e
                for e in entries
                if e.day is not None and start is not None and end is not None and start <= e.day <= end
            ]
        entries.sort(key=lambda e: (e.modified_at, int(e.internal_id)))
        search_id = f"WEBSERVICES_{uuid.uuid4().hex}"
        with self._lock:
            self._searches[search_id] = (page_size, entries)
        return self._search_page(search_id, 1)

    def _search_page(self, search_id: str, page: int) -> str:
        with self._lock:
            found = self._searches.get(search_id)
        if found is None:
            status = _status(False, "INVALID_SEARCH", "That search has expired.")
            return f"<msgs:searchResult>{status}</msgs:searchResult>"
        size, entries = found
        pages = max(1, -(-len(entries) // size))
        chunk = entries[(page - 1) * size : page * size]
        records = "".join(_soap_record("core:record", e) for e in chunk)
        return (
            '<msgs:searchResult><core:status isSuccess="true"/>'
            f"<core:totalRecords>{len(entries)}</core:totalRecords><core:pageSize>{size}</core:pageSize>"
            f"<core:totalPages>{pages}</core:totalPages><core:pageIndex>{page}</core:pageIndex>"
            f"<core:searchId>{search_id}</core:searchId><core:recordList>{records}</core:recordList>"
            "</msgs:searchResult>"
        )

    # -- REST ------------------------------------------------------------------------------------------------
    def _token(self, exchange: Exchange) -> Reply:
        form = parse_qs(exchange.body.decode())
        c = self.credentials
        assertion = (form.get("client_assertion") or [""])[0]
        try:
            if (form.get("grant_type") or [""])[0] != "client_credentials":
                raise jwt.InvalidTokenError("grant_type must be client_credentials")
            if jwt.get_unverified_header(assertion).get("kid") != c.certificate_id:
                raise jwt.InvalidTokenError("unknown certificate id")
            claims = jwt.decode(
                assertion,
                c.public_key_pem,
                algorithms=["PS256"],
                audience=f"{self.url}{TOKEN_PATH}",
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
            if claims["iss"] != c.client_id or "rest_webservices" not in str(claims.get("scope", "")):
                raise jwt.InvalidTokenError("wrong client or scope")
        except jwt.PyJWTError as exc:
            return _json(400, {"error": "invalid_grant", "error_description": str(exc)})
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
        return _json(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600})

    def _rest(self, exchange: Exchange) -> Reply:
        bearer = exchange.headers.get("authorization", "").removeprefix("Bearer ")
        with self._lock:
            allowed = bearer in self._tokens
        if not allowed:
            return _rest_error(401, "INVALID_LOGIN", "Invalid login attempt.")
        path = exchange.path[len(RECORD_PATH) :]
        type_name, _, ident = path.partition("/")
        kind = _REST_TYPES.get(type_name)
        if kind is None:
            return _rest_error(404, "NONEXISTENT_ID", f"Record type {type_name} does not exist.")
        if exchange.method == "PUT" and ident.startswith("eid:"):
            return self._rest_upsert(kind, type_name, ident[4:], exchange.body)
        if exchange.method == "GET" and not ident:
            return self._rest_list(kind, type_name, exchange)
        if exchange.method == "GET":
            if ident.startswith("eid:"):
                found = self.books.find(kind, ident[4:])
            else:
                entry = self.books.get(ident)
                found = [entry] if entry is not None and entry.kind == kind else []
            if not found:
                return _rest_error(404, "NONEXISTENT_ID", f"Record {ident} was not found.")
            return _json(200, _rest_record(found[0]))
        return _rest_error(405, "METHOD_NOT_ALLOWED", f"{exchange.method} is not supported here")

    def _rest_upsert(self, kind: str, type_name: str, key: str, raw: bytes) -> Reply:
        body = json.loads(raw or b"{}", parse_float=Decimal)

        def ref(name: str) -> str:
            value = body.get(name) or {}
            return str(value.get("id", "")) if isinstance(value, dict) else ""

        if kind == CUSTOMER:
            entry = BookEntry(kind, "", key, currency=ref("currency"), name=str(body.get("companyName", "")))
        else:
            lines = tuple(
                BookLine(
                    str((item.get("item") or {}).get("id", "")),
                    _amount(item.get("amount")),
                    _amount(item.get("tax1Amt")),
                    str(item.get("description", "")),
                )
                for item in (body.get("item") or {}).get("items", [])
            )
            entry = BookEntry(
                kind,
                "",
                key,
                customer=ref("entity"),
                currency=ref("currency"),
                amount=sum((line.amount + line.tax for line in lines), Decimal(0)),
                day=_day(str(body.get("tranDate", ""))),
                lines=lines,
                number=str(body.get("tranId", "")),
                applies_to=ref("createdFrom"),
            )
        try:
            self.books.validate(entry, subsidiary=ref("subsidiary") or None)
        except Rejected as exc:
            return _rest_error(400, exc.code, exc.message)
        stored = self.books.upsert(entry)
        return Reply(204, b"", {"Location": f"{self.url}{RECORD_PATH}{type_name}/{stored.internal_id}"})

    def _rest_list(self, kind: str, type_name: str, exchange: Exchange) -> Reply:
        entries = self.books.entries(kind)
        query = (exchange.query.get("q") or [""])[0].strip()
        for condition in filter(None, (part.strip() for part in query.split(" AND "))):
            match = _CONDITION.match(condition)
            if match is None:
                return _rest_error(400, "INVALID_PARAMETER", f"Invalid query condition: {condition}")
            field, operator, value = match.groups()
            entries = [e for e in entries if _matches(e, field, operator, value)]
        entries.sort(key=lambda e: (e.modified_at, int(e.internal_id)))
        limit = int((exchange.query.get("limit") or ["1000"])[0])
        offset = int((exchange.query.get("offset") or ["0"])[0])
        page = entries[offset : offset + limit]
        return _json(
            200,
            {
                "count": len(page),
                "hasMore": offset + limit < len(entries),
                "offset": offset,
                "totalResults": len(entries),
                "items": [
                    {
                        "id": e.internal_id,
                        "links": [
                            {"rel": "self", "href": f"{self.url}{RECORD_PATH}{type_name}/{e.internal_id}"}
                        ],
                    }
                    for e in page
                ],
            },
        )


def _matches(entry: BookEntry, field: str, operator: str, value: str) -> bool:
    if field == "lastModifiedDate":
        left: object = entry.modified_at
        right: object = datetime.fromisoformat(value)
    elif field == "tranDate":
        left, right = entry.day, date.fromisoformat(value)
        if left is None:
            return False
    elif field == "externalId":
        left, right = entry.key, value
    else:
        return False
    if operator == "IS":
        return left == right
    if operator == "ON_OR_AFTER":
        return left >= right  # type: ignore[operator]
    return left < right  # type: ignore[operator]


def _rest_record(entry: BookEntry) -> dict[str, object]:
    record: dict[str, object] = {
        "id": entry.internal_id,
        "externalId": entry.key,
        "lastModifiedDate": _stamp(entry.modified_at),
        "currency": {"id": entry.currency},
    }
    if entry.kind == CUSTOMER:
        record["companyName"] = entry.name
        return record
    record["tranDate"] = entry.day.isoformat() if entry.day else None
    if entry.kind == PAYMENT:
        record.update(
            customer={"id": entry.customer},
            payment=float(entry.amount),
            apply={
                "items": [{"doc": {"id": entry.applies_to}, "apply": True, "amount": float(entry.amount)}]
            },
        )
        return record
    record.update(
        entity={"id": entry.customer},
        tranId=entry.number,
        total=float(entry.amount),
        item={
            "items": [
                {
                    "item": {"id": line.item},
                    "amount": float(line.amount),
                    "tax1Amt": float(line.tax),
                    "description": line.description,
                }
                for line in entry.lines
            ]
        },
    )
    return record


def _soap_record(element: str, entry: BookEntry) -> str:
    prefix = {ns.RELATIONSHIPS: "rel", ns.SALES: "sales", ns.CUSTOMERS: "cust"}[_SOAP_NAMESPACES[entry.kind]]
    type_name = _SOAP_NAMES[entry.kind]
    parts = [f"<{prefix}:currency internalId={quoteattr(entry.currency)}/>"]
    if entry.kind == CUSTOMER:
        parts.insert(0, f"<{prefix}:companyName>{escape(entry.name)}</{prefix}:companyName>")
    elif entry.kind == PAYMENT:
        parts = [
            f"<{prefix}:customer internalId={quoteattr(entry.customer)}/>",
            *parts,
            f"<{prefix}:tranDate>{entry.day.isoformat() if entry.day else ''}T00:00:00Z</{prefix}:tranDate>",
            f"<{prefix}:payment>{entry.amount}</{prefix}:payment>",
            f"<{prefix}:lastModifiedDate>{_stamp(entry.modified_at)}</{prefix}:lastModifiedDate>",
            f"<{prefix}:applyList><{prefix}:apply><{prefix}:doc>{entry.applies_to}</{prefix}:doc>"
            f"<{prefix}:apply>true</{prefix}:apply><{prefix}:amount>{entry.amount}</{prefix}:amount>"
            f"</{prefix}:apply></{prefix}:applyList>",
        ]
    else:
        parts = [
            f"<{prefix}:entity internalId={quoteattr(entry.customer)}/>",
            f"<{prefix}:tranId>{escape(entry.number)}</{prefix}:tranId>",
            f"<{prefix}:tranDate>{entry.day.isoformat() if entry.day else ''}T00:00:00Z</{prefix}:tranDate>",
            *parts,
            f"<{prefix}:total>{entry.amount}</{prefix}:total>",
            f"<{prefix}:lastModifiedDate>{_stamp(entry.modified_at)}</{prefix}:lastModifiedDate>",
        ]
    return (
        f'<{element} xsi:type="{prefix}:{type_name}" internalId={quoteattr(entry.internal_id)} '
        f"externalId={quoteattr(entry.key)}>{''.join(parts)}</{element}>"
    )


def _status(success: bool, code: str = "", message: str = "") -> str:
    if success:
        return '<core:status isSuccess="true"/>'
    return (
        '<core:status isSuccess="false"><core:statusDetail type="ERROR">'
        f"<core:code>{escape(code)}</core:code><core:message>{escape(message)}</core:message>"
        "</core:statusDetail></core:status>"
    )


def _write_status(success: bool, code: str, message: str) -> str:
    return f"<msgs:writeResponse>{_status(success, code, message)}</msgs:writeResponse>"


def _envelope(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:xsi="{XSI}" xmlns:core="{ns.CORE}" '
        f'xmlns:msgs="{ns.MESSAGES}" xmlns:rel="{ns.RELATIONSHIPS}" xmlns:sales="{ns.SALES}" '
        f'xmlns:cust="{ns.CUSTOMERS}"><soapenv:Header><msgs:documentInfo>'
        f"<msgs:nsId>WEBSERVICES_{uuid.uuid4().hex[:12]}</msgs:nsId></msgs:documentInfo></soapenv:Header>"
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    ).encode()


def _soap_reply(element: str, content: str) -> Reply:
    return Reply(200, _envelope(f"<msgs:{element}>{content}</msgs:{element}>"), {"Content-Type": "text/xml"})


def _soap_fault(code: str, message: str) -> Reply:
    body = f"<soapenv:Fault><faultcode>soapenv:{code}</faultcode><faultstring>{escape(message)}</faultstring></soapenv:Fault>"
    return Reply(500, _envelope(body), {"Content-Type": "text/xml"})


def _json(status: int, payload: dict[str, object]) -> Reply:
    return Reply(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})


def _rest_error(status: int, code: str, detail: str) -> Reply:
    return _json(
        status,
        {
            "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15",
            "title": "Error",
            "status": status,
            "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
        },
    )
