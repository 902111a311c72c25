"""A fake Sage Intacct XML gateway on loopback: API sessions, customers, AR invoices (legacy create_invoice),
AR adjustments and payment details, read back with readByQuery / readMore."""

from __future__ import annotations

import re
import secrets
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from xml.sax.saxutils import escape

from tally.fake_erp.books import CREDIT_MEMO, CUSTOMER, INVOICE, PAYMENT, BookEntry, BookLine, Books, Rejected
from tally.fake_erp.faults import FaultPlan
from tally.fake_erp.loopback import Exchange, LoopbackFake, LoopbackServer, Reply

GATEWAY_PATH = "/ia/xml/xmlgw.phtml"
PAGE_SIZE = 1000
_OBJECTS = {"CUSTOMER": CUSTOMER, "ARINVOICE": INVOICE, "ARADJUSTMENT": CREDIT_MEMO, "ARPYMTDETAIL": PAYMENT}
_CONDITION = re.compile(r"^(\w+) (=|>=|<) '([^']*)'$")


@dataclass(frozen=True)
class IntacctCredentials:
    sender_id: str = "tally-sender"
    sender_password: str = "sender-password"
    user_id: str = "tally-user"
    company_id: str = "tally-company"
    user_password: str = "user-password"


def _text(element: ET.Element | None, path: str) -> str:
    if element is None:
        return ""
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""


def _legacy_date(element: ET.Element | None) -> date | None:
    if element is None or element.find("year") is None:
        return None
    return date(int(_text(element, "year")), int(_text(element, "month")), int(_text(element, "day")))


def _us_date(day: date | None) -> str:
    return f"{day:%m/%d/%Y}" if day else ""


def _us_stamp(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%m/%d/%Y %H:%M:%S}"


class FakeIntacct(LoopbackFake):
    """Sage Intacct's XML gateway on one loopback port; ``books`` holds what was posted."""

    def __init__(
        self,
        credentials: IntacctCredentials | None = None,
        *,
        books: Books | None = None,
        faults: FaultPlan | None = None,
    ) -> None:
        self.credentials = credentials or IntacctCredentials()
        self.books = books or Books()
        self.faults = faults or FaultPlan()
        self._server = LoopbackServer(self, self.faults)
        self._sessions: set[str] = set()
        self._results: dict[str, tuple[str, list[BookEntry], int]] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The gateway's URL, what the SDK's private ``_ApiBase__api_url`` is pointed at."""
        return f"{self._server.url}{GATEWAY_PATH}"

    def faultable(self, exchange: Exchange) -> tuple[bool, bool]:
        if b"getAPISession" in exchange.body:
            return False, False
        return True, any(
            word in exchange.body for word in (b"<create_invoice", b"<create_aradjustment", b"<create>")
        )

    def handle(self, exchange: Exchange) -> Reply:
        if exchange.path != GATEWAY_PATH or exchange.method != "POST":
            return Reply(404, b"not found")
        request = ET.fromstring(exchange.body)
        control = request.find("control")
        c = self.credentials
        if (_text(control, "senderid"), _text(control, "password")) != (c.sender_id, c.sender_password):
            return _control_failure("XL03000006", "Sender ID / password is invalid.")
        operation = request.find("operation")
        function = operation.find("content/function") if operation is not None else None
        if operation is None or function is None or len(function) == 0:
            return _control_failure("XL03000009", "A function is required.")
        call = function[0]
        name = call.tag
        controlid = function.get("controlid", "")
        login = operation.find("authentication/login")
        if login is not None:
            credentials = (_text(login, "userid"), _text(login, "companyid"), _text(login, "password"))
            if credentials != (c.user_id, c.company_id, c.user_password):
                return _auth_failure()
        else:
            with self._lock:
                known = _text(operation, "authentication/sessionid") in self._sessions
            if not known:
                return _auth_failure()
        try:
            data = self._call(name, call)
        except Rejected as exc:
            return _result_failure(name, controlid, exc.code, exc.message)
        return _success(name, controlid, data)

    def _call(self, name: str, call: ET.Element) -> str:
        if name == "getAPISession":
            session = secrets.token_urlsafe(16)
            with self._lock:
                self._sessions.add(session)
            return f"<data><api><sessionid>{session}</sessionid><endpoint>{escape(self.url)}</endpoint><locationid></locationid></api></data>"
        if name == "create":
            customer = call.find("CUSTOMER")
            if customer is None:
                raise Rejected("BL01001973", "Only CUSTOMER can be created through this fake's create.")
            key = _text(customer, "CUSTOMERID")
            if not key:
                raise Rejected("BL01001973", "Required field CUSTOMERID is missing.")
            if self.books.find(CUSTOMER, key):
                raise Rejected("BL01001973", f"Another Customer with the given value(s) {key} already exists")
            entry = BookEntry(
                CUSTOMER, "", key, name=_text(customer, "NAME"), currency=_text(customer, "CURRENCY")
            )
            self.books.validate(entry)
            stored = self.books.create(entry)
            return f'<data listtype="objects" count="1"><customer><RECORDNO>{stored.internal_id}</RECORDNO><CUSTOMERID>{escape(key)}</CUSTOMERID></customer></data>'
        if name in ("create_invoice", "create_aradjustment"):
            stored = self._create_document(name, call)
            return f"<key>{stored.internal_id}</key>"
        if name == "readByQuery":
            return self._read_by_query(call)
        if name == "readMore":
            return self._page(_text(call, "resultId"))
        raise Rejected("XL03000009", f"{name} is not supported by this fake")

    def _create_document(self, name: str, call: ET.Element) -> BookEntry:
        invoice = name == "create_invoice"
        customer_key = _text(call, "customerid")
        customers = self.books.find(CUSTOMER, customer_key)
        items = call.findall("invoiceitems/lineitem" if invoice else "aradjustmentitems/lineitem")
        lines = []
        for item in items:
            try:
                amount = Decimal(_text(item, "amount"))
            except InvalidOperation:
                raise Rejected("BL01001973", f"Invalid amount {_text(item, 'amount')!r}") from None
            lines.append(BookLine(_text(item, "glaccountno"), amount, Decimal(0), _text(item, "memo")))
        key = _text(call, "invoiceno" if invoice else "adjustmentno")
        applies_to = ""
        if not invoice and _text(call, "invoiceno"):
            credited = self.books.find(INVOICE, _text(call, "invoiceno"))
            applies_to = credited[0].internal_id if credited else ""
        entry = BookEntry(
            INVOICE if invoice else CREDIT_MEMO,
            "",
            key,
            customer=customers[0].internal_id if customers else "",
            currency=_text(call, "currency"),
            amount=sum((line.amount for line in lines), Decimal(0)),
            day=_legacy_date(call.find("datecreated")),
            lines=tuple(lines),
            number=_text(call, "description"),
            applies_to=applies_to,
        )
        if not customers:
            raise Rejected("BL01001973", f"Invalid Customer {customer_key}")
        self.books.validate(entry)
        return self.books.create(entry)

    def _read_by_query(self, call: ET.Element) -> str:
        object_name = _text(call, "object")
        kind = _OBJECTS.get(object_name)
        if kind is None:
            raise Rejected("BL01001973", f"Object {object_name} is not supported by this fake")
        entries = self.books.entries(kind)
        query = _text(call, "query")
        for condition in filter(None, (part.strip() for part in query.split(" AND "))):
            match = _CONDITION.match(condition)
            if match is None:
                raise Rejected("BL03000074", f"Invalid query: {condition}")
            field, operator, value = match.groups()
            entries = [e for e in entries if _matches(e, field, operator, value)]
        entries.sort(key=lambda e: (e.modified_at, int(e.internal_id)))
        result_id = uuid.uuid4().hex
        with self._lock:
            self._results[result_id] = (object_name, entries, 0)
        return self._page(result_id)

    def _page(self, result_id: str) -> str:
        with self._lock:
            found = self._results.get(result_id)
            if found is None:
                raise Rejected("BL03000074", f"Unknown resultId {result_id}")
            object_name, entries, offset = found
            self._results[result_id] = (object_name, entries, offset + PAGE_SIZE)
        page = entries[offset : offset + PAGE_SIZE]
        remaining = max(0, len(entries) - offset - len(page))
        rows = "".join(_row(object_name, entry, self.books) for entry in page)
        return (
            f'<data listtype="{object_name}" count="{len(page)}" totalcount="{len(entries)}" '
            f'numremaining="{remaining}" resultId="{result_id}">{rows}</data>'
        )


def _matches(entry: BookEntry, field: str, operator: str, value: str) -> bool:
    left: object
    right: object
    if field == "WHENMODIFIED":
        left = entry.modified_at.replace(microsecond=0)
        right = datetime.strptime(value, "%m/%d/%Y %H:%M:%S").replace(tzinfo=UTC)
    elif field in ("WHENCREATED", "PAYMENTDATE"):
        if entry.day is None:
            return False
        left, right = entry.day, datetime.strptime(value, "%m/%d/%Y").date()
    elif field in ("RECORDID", "CUSTOMERID"):
        left, right = entry.key, value
    elif field == "RECORDNO":
        left, right = entry.internal_id, value
    else:
        return False
    if operator == "=":
        return left == right
    if operator == ">=":
        return left >= right  # type: ignore[operator]
    return left < right  # type: ignore[operator]


def _row(object_name: str, entry: BookEntry, books: Books) -> str:
    def cell(name: str, value: object) -> str:
        return f"<{name}>{escape(str(value))}</{name}>"

    modified = cell("WHENMODIFIED", _us_stamp(entry.modified_at))
    if entry.kind == CUSTOMER:
        body = cell("RECORDNO", entry.internal_id) + cell("CUSTOMERID", entry.key) + cell("NAME", entry.name)
    elif entry.kind == PAYMENT:
        invoice = books.get(entry.applies_to)
        body = (
            cell("RECORDNO", entry.internal_id)
            + cell("PAYMENTKEY", entry.key)
            + cell("RECORDKEY", entry.applies_to)
            + cell("INVOICEID", invoice.key if invoice else "")
            + cell("TRX_PAYMENTAMOUNT", entry.amount)
            + cell("CURRENCY", entry.currency)
            + cell("PAYMENTDATE", _us_date(entry.day))
        )
    else:
        customer = books.get(entry.customer)
        body = (
            cell("RECORDNO", entry.internal_id)
            + cell("RECORDID", entry.key)
            + cell("CUSTOMERID", customer.key if customer else "")
            + cell("CURRENCY", entry.currency)
            + cell("TOTALENTERED", entry.amount)
            + cell("WHENCREATED", _us_date(entry.day))
            + cell("DESCRIPTION", entry.number)
        )
    return f"<{object_name}>{body}{modified}</{object_name}>"


def _response(operation: str, *, control: str = "success") -> Reply:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><response>'
        f"<control><status>{control}</status><senderid></senderid><controlid></controlid>"
        "<uniqueid>false</uniqueid><dtdversion>3.0</dtdversion></control>"
        f"{operation}</response>"
    )
    return Reply(200, body.encode(), {"Content-Type": "application/xml"})


def _error(errorno: str, message: str) -> str:
    return (
        f"<errormessage><error><errorno>{escape(errorno)}</errorno><description></description>"
        f"<description2>{escape(message)}</description2><correction></correction></error></errormessage>"
    )


def _authentication(status: str) -> str:
    return (
        f"<authentication><status>{status}</status><userid></userid><companyid></companyid></authentication>"
    )


def _success(function: str, controlid: str, data: str) -> Reply:
    return _response(
        f"<operation>{_authentication('success')}<result><status>success</status>"
        f"<function>{function}</function><controlid>{escape(controlid)}</controlid>{data}</result></operation>"
    )


def _result_failure(function: str, controlid: str, code: str, message: str) -> Reply:
    return _response(
        f"<operation>{_authentication('success')}<result><status>failure</status>"
        f"<function>{function}</function><controlid>{escape(controlid)}</controlid>{_error(code, message)}"
        "</result></operation>"
    )


def _auth_failure() -> Reply:
    return _response(
        f"<operation>{_authentication('failure')}{_error('XL03000006', 'Invalid session or credentials')}</operation>"
    )


def _control_failure(code: str, message: str) -> Reply:
    return _response(_error(code, message), control="failure")
