"""A fake ERP's books: customers, invoices, credit memos and payments, inspectable and editable by tests."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal

CUSTOMER = "customer"
INVOICE = "invoice"
CREDIT_MEMO = "credit_memo"
PAYMENT = "payment"


class Rejected(Exception):
    """The ERP refuses a write as invalid (a validation error: retrying the same write fails the same way)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class BookLine:
    """One line of a document: what it books (item or GL account), how much, and its tax."""

    item: str
    amount: Decimal
    tax: Decimal = Decimal(0)
    description: str = ""


@dataclass(frozen=True)
class BookEntry:
    """One record in the books."""

    kind: str
    internal_id: str
    key: str
    """The caller's key: NetSuite's externalId, Intacct's document number or customer id."""
    customer: str = ""
    """Internal id of the customer (documents and payments)."""
    currency: str = ""
    amount: Decimal = Decimal(0)
    """Document total (lines plus tax), or the payment's amount."""
    day: date | None = None
    lines: tuple[BookLine, ...] = ()
    name: str = ""
    applies_to: str = ""
    """Internal id of the invoice a payment (or credit memo) applies to."""
    number: str = ""
    """The document number printed on it (NetSuite's tranId)."""
    modified_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class Books:
    """Every record of one fake ERP, shared by its protocols; thread-safe.

    Keys are not unique by themselves: a write the ERP cannot match (Intacct's create) adds a second record
    with the same key, which is how a test sees a document posted twice.
    """

    def __init__(
        self,
        *,
        items: Iterable[str] | None = None,
        currencies: Iterable[str] | None = None,
        subsidiaries: Iterable[str] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1001)
        self._entries: dict[str, BookEntry] = {}
        self.items: set[str] | None = set(items) if items is not None else None
        """Item / GL account ids a line may book to; None accepts any."""
        self.currencies: set[str] | None = set(currencies) if currencies is not None else None
        self.subsidiaries: set[str] | None = set(subsidiaries) if subsidiaries is not None else None

    # -- writes by the protocols ---------------------------------------------------------------------------
    def validate(self, entry: BookEntry, *, subsidiary: str | None = None) -> None:
        """Refuse what the ERP would: unknown customer, item, currency or subsidiary, a document without lines."""
        if entry.kind != CUSTOMER:
            if not entry.customer or self.get(entry.customer) is None:
                raise Rejected("INVALID_KEY_OR_REF", f"Invalid entity reference key {entry.customer!r}.")
            if not entry.lines:
                raise Rejected("USER_ERROR", "You must enter at least one line item for this transaction.")
        if (
            self.currencies is not None
            and (entry.currency or entry.kind != CUSTOMER)
            and entry.currency not in self.currencies
        ):
            raise Rejected("INVALID_KEY_OR_REF", f"Invalid currency reference key {entry.currency!r}.")
        if subsidiary is not None and self.subsidiaries is not None and subsidiary not in self.subsidiaries:
            raise Rejected("INVALID_KEY_OR_REF", f"Invalid subsidiary reference key {subsidiary!r}.")
        for line in entry.lines:
            if self.items is not None and line.item not in self.items:
                raise Rejected("INVALID_KEY_OR_REF", f"Invalid item reference key {line.item!r}.")

    def upsert(self, entry: BookEntry) -> BookEntry:
        """Create the record, or replace the one with the same kind and key (NetSuite's upsert)."""
        with self._lock:
            existing = self._find(entry.kind, entry.key)
            internal_id = existing[0].internal_id if existing else str(next(self._ids))
            stored = replace(entry, internal_id=internal_id, modified_at=datetime.now(UTC))
            self._entries[internal_id] = stored
            return stored

    def create(self, entry: BookEntry) -> BookEntry:
        """Always a new record, even if one with the same key exists (Intacct's create_invoice)."""
        with self._lock:
            stored = replace(entry, internal_id=str(next(self._ids)), modified_at=datetime.now(UTC))
            self._entries[stored.internal_id] = stored
            return stored

    # -- reads ---------------------------------------------------------------------------------------------
    def get(self, internal_id: str) -> BookEntry | None:
        with self._lock:
            return self._entries.get(internal_id)

    def find(self, kind: str, key: str) -> list[BookEntry]:
        """Every record of ``kind`` under ``key`` (more than one means the document was posted twice)."""
        with self._lock:
            return self._find(kind, key)

    def _find(self, kind: str, key: str) -> list[BookEntry]:
        return [e for e in self._entries.values() if e.kind == kind and e.key == key]

    def entries(self, kind: str) -> list[BookEntry]:
        with self._lock:
            return [e for e in self._entries.values() if e.kind == kind]

    def modified_since(self, kind: str, since: datetime | None) -> list[BookEntry]:
        """Records of ``kind`` changed at or after ``since``, oldest change first."""
        with self._lock:
            found = [
                e
                for e in self._entries.values()
                if e.kind == kind and (since is None or e.modified_at >= since)
            ]
        return sorted(found, key=lambda e: (e.modified_at, int(e.internal_id)))

    def dated(self, kinds: Iterable[str], start: date, end: date) -> list[BookEntry]:
        """Documents of ``kinds`` dated in [start, end)."""
        wanted = set(kinds)
        with self._lock:
            return [
                e
                for e in self._entries.values()
                if e.kind in wanted and e.day is not None and start <= e.day < end
            ]

    # -- what a test does to the books, as a user of the ERP would -------------------------------------------
    def delete(self, kind: str, key: str) -> None:
        with self._lock:
            for entry in self._find(kind, key):
                del self._entries[entry.internal_id]

    def set_amount(self, kind: str, key: str, amount: Decimal) -> None:
        with self._lock:
            for entry in self._find(kind, key):
                self._entries[entry.internal_id] = replace(
                    entry, amount=amount, modified_at=datetime.now(UTC)
                )

    def apply_payment(
        self, invoice_key: str, amount: Decimal, *, received: date | None = None, reference: str = ""
    ) -> BookEntry:
        """Record a customer payment applied to the invoice posted under ``invoice_key``."""
        with self._lock:
            invoices = self._find(INVOICE, invoice_key)
            if len(invoices) != 1:
                raise KeyError(f"{len(invoices)} invoices under {invoice_key!r}")
            invoice = invoices[0]
            internal_id = str(next(self._ids))
            payment = BookEntry(
                kind=PAYMENT,
                internal_id=internal_id,
                key=reference or f"PYMT-{internal_id}",
                customer=invoice.customer,
                currency=invoice.currency,
                amount=amount,
                day=received or datetime.now(UTC).date(),
                applies_to=invoice.internal_id,
            )
            self._entries[internal_id] = payment
            return payment
