"""What erp-sync posts: a finalized invoice or an issued credit note as the ERPs need it (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tally.erp_sync.domain import DocumentKind, erp_key
from tally.money import Money, total


@dataclass(frozen=True)
class DocumentLine:
    """One line as booked in the ERP: amount before tax and its tax, both in the document's currency."""

    description: str
    amount: Money
    tax: Money
    charge_id: str = ""
    """The plan charge the line bills; the mapping picks the ERP item / income account by it."""
    prepaid_credit: bool = False
    """Prepaid credit applied to the invoice (a negative line booked to the mapping's credit item)."""


@dataclass(frozen=True)
class Document:
    """A document to post, frozen as Tally issued it."""

    kind: DocumentKind
    id: str
    number: str
    customer_id: str
    customer_external_id: str
    customer_name: str
    currency: str
    issued_on: date
    lines: tuple[DocumentLine, ...]
    due_on: date | None = None
    credited_invoice_id: str = ""
    """For a credit note: the invoice it credits."""

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError(f"{self.kind.value.lower()} {self.id} has no lines to post")

    @property
    def key(self) -> str:
        """The document's key in every ERP (externalId, Intacct document number)."""
        return erp_key(self.kind, self.id)

    @property
    def customer_key(self) -> str:
        return erp_key(DocumentKind.CUSTOMER, self.customer_id)

    @property
    def receivable(self) -> Money:
        """What the ERP's document totals: every line and its tax (an invoice's amount due, a note's total)."""
        return total((line.amount + line.tax for line in self.lines), self.currency)
