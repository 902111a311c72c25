"""Credit notes (pure): what may be credited on an invoice, and the exact lines, tax and totals credited.

What is creditable:
- only a FINALIZED or PAID invoice; a DRAFT can still change and a VOID one was credited when voided;
- per line, a line's amount and tax minus what earlier credit notes took from that line; only positive
  lines that are not prepaid CREDIT lines (discounts and netting adjustments are not credited on their own);
- per invoice, its total minus the totals of earlier credit notes, which binds when the invoice has
  discounts or other negative lines.

How much tax a credit note line carries:
- a line credited down to nothing takes exactly the tax still left on it, so crediting a line in parts
  always gives back the line's tax to the cent;
- otherwise R2 on the credited amount at the line's rate (``line_tax``), or, on a line without a rate, the
  line's tax in proportion, rounded half-up (R1); never more than the tax left on the line.

The three extents:
- full: the invoice's remaining subtotal and remaining tax, each spread over the creditable lines in
  proportion to what is left on them (largest remainder, whole minor units), so the note's total is exactly
  what is left on the invoice even when discounts make that less than the sum of the lines;
- lines: each named line, whole (what is left on it) or a given amount;
- amount (a lump sum before tax): spread over the creditable lines in proportion to what is left on each,
  largest remainder in whole minor units, each part then taxed at its own line's rate as above. Untaxed
  lines take their share untaxed, so a lump sum on a mixed invoice is taxed like the lines it reduces.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from tally.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument
from tally.invoicing.domain import BILLED_STATUSES, Invoice, InvoiceLine, InvoiceStatus, LineKind
from tally.money import Money, line_tax, quantum, round_line

ZERO = Decimal(0)


class CreditNoteReason(enum.StrEnum):
    """Why a credit note was issued."""

    INVOICE_VOIDED = "INVOICE_VOIDED"
    USAGE_CORRECTED = "USAGE_CORRECTED"
    BILLING_ERROR = "BILLING_ERROR"
    GOODWILL = "GOODWILL"


REASON_LABELS = {
    CreditNoteReason.INVOICE_VOIDED: "Invoice voided",
    CreditNoteReason.USAGE_CORRECTED: "Usage corrected",
    CreditNoteReason.BILLING_ERROR: "Billing error",
    CreditNoteReason.GOODWILL: "Goodwill",
}
"""How each reason is printed."""


@dataclass(frozen=True)
class CreditNoteLine:
    """One credited line: amount and tax positive and in whole minor units."""

    id: str
    position: int
    invoice_line_id: str
    """The invoice line credited; empty for a credit not tied to one line."""
    description: str
    amount: Money
    tax: Money
    quantity: Decimal | None = None
    """The line's quantity when the whole line is credited at once; None for part of a line."""
    event_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class CreditNote:
    """A numbered credit note against one invoice."""

    id: str
    number: str
    invoice_id: str
    invoice_number: str
    customer_id: str
    currency: str
    reason: CreditNoteReason
    memo: str
    lines: tuple[CreditNoteLine, ...]
    subtotal: Money
    tax: Money
    total: Money
    issued_at: datetime
    applied: Decimal = ZERO
    """What the note took off the invoice's amount due."""
    carried: Decimal = ZERO
    """What went beyond the invoice's amount due: the customer's credit from then on."""

    @property
    def amount_applied(self) -> Money:
        return Money(self.applied, self.currency)

    @property
    def carried_forward(self) -> Money:
        return Money(self.carried, self.currency)


@dataclass(frozen=True)
class CreditNoteFilter:
    """Which credit notes a listing shows; None matches any."""

    customer_id: str | None = None
    invoice_id: str | None = None


@dataclass(frozen=True)
class CreditNoteKey:
    """Where a page of credit notes (newest first) ended."""

    issued_at: datetime
    id: str


@dataclass(frozen=True)
class Voided:
    """A VOID invoice and the credit note voiding it (None when nothing was left to credit)."""

    invoice: Invoice
    credit_note: CreditNote | None


def void_note(notes: Sequence[CreditNote]) -> CreditNote | None:
    """The credit note that voided an invoice, among its credit notes (oldest first)."""
    return next((note for note in reversed(notes) if note.reason is CreditNoteReason.INVOICE_VOIDED), None)


@dataclass(frozen=True)
class FullCredit:
    """Credit everything still creditable on the invoice."""


@dataclass(frozen=True)
class CreditedLine:
    """One invoice line to credit: ``amount`` before tax, or None for all that is left on it."""

    invoice_line_id: str
    amount: Decimal | None = None


@dataclass(frozen=True)
class LineCredit:
    """Credit the named lines."""

    lines: tuple[CreditedLine, ...]


@dataclass(frozen=True)
class LumpSumCredit:
    """Credit a sum before tax, spread over the invoice's creditable lines."""

    amount: Money


Extent = FullCredit | LineCredit | LumpSumCredit


@dataclass(frozen=True)
class Credited:
    """What earlier credit notes took from one invoice."""

    amounts: Mapping[str, Decimal] = field(default_factory=dict)
    """Amount credited per invoice line id."""
    taxes: Mapping[str, Decimal] = field(default_factory=dict)
    """Tax credited per invoice line id."""
    subtotal: Decimal = ZERO
    tax: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax


def credited_by(notes: Iterable[CreditNote]) -> Credited:
    """What ``notes`` (all against one invoice) took from it, per line and in total."""
    amounts: dict[str, Decimal] = {}
    taxes: dict[str, Decimal] = {}
    subtotal = tax = ZERO
    for note in notes:
        subtotal += note.subtotal.amount
        tax += note.tax.amount
        for line in note.lines:
            if line.invoice_line_id:
                key = line.invoice_line_id
                amounts[key] = amounts.get(key, ZERO) + line.amount.amount
                taxes[key] = taxes.get(key, ZERO) + line.tax.amount
    return Credited(amounts, taxes, subtotal, tax)


@dataclass(frozen=True)
class _Left:
    """What is still creditable on one invoice line."""

    line: InvoiceLine
    amount: Decimal
    tax: Decimal


def check_creditable(invoice: Invoice) -> None:
    """FailedPrecondition, naming the status, unless the invoice is FINALIZED or PAID."""
    if invoice.status not in BILLED_STATUSES:
        raise FailedPrecondition(
            f"invoice {invoice.id!r} is {invoice.status.value}; only a FINALIZED, PARTIALLY_PAID or PAID invoice "
            "can be credited"
        )


def check_voidable(invoice: Invoice) -> None:
    """FailedPrecondition unless the invoice is FINALIZED (a VOID one is the caller's idempotent case)."""
    if invoice.status is InvoiceStatus.DRAFT:
        raise FailedPrecondition(
            f"invoice {invoice.id!r} is DRAFT; a draft is not voided (the next billing run re-drafts it)"
        )
    if invoice.status in (InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID):
        raise FailedPrecondition(
            f"invoice {invoice.id!r} is {invoice.status.value}; credit it with a credit note instead"
        )
    if invoice.status is not InvoiceStatus.FINALIZED:
        raise FailedPrecondition(f"invoice {invoice.id!r} is {invoice.status.value}; it cannot be voided")


def is_creditable_line(line: InvoiceLine) -> bool:
    return line.kind is not LineKind.CREDIT and line.amount.amount > 0


def _left(invoice: Invoice, earlier: Credited) -> dict[str, _Left]:
    return {
        line.id: _Left(
            line,
            line.amount.amount - earlier.amounts.get(line.id, ZERO),
            line.tax.amount - earlier.taxes.get(line.id, ZERO),
        )
        for line in invoice.lines
        if is_creditable_line(line)
    }


def _name(invoice: Invoice) -> str:
    return invoice.number or invoice.id


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount} {currency}"


def allocate(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """``total`` (whole minor units, ≥ 0) split in proportion to ``weights`` (≥ 0) in whole minor units that
    sum to it exactly: each share rounded down, the units left over going to the largest remainders (ties:
    earliest). No share exceeds its weight when ``total`` ≤ the sum of the weights and weights are whole
    minor units."""
    unit = quantum(currency)
    units = int(total / unit)
    weight = sum(weights, ZERO)
    if units <= 0 or weight <= 0:
        return [ZERO * unit for _ in weights]
    exact = [Decimal(units) * w / weight for w in weights]
    shares = [int(share) for share in exact]
    spare = units - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in by_remainder[:spare]:
        shares[i] += 1
    return [Decimal(share) * unit for share in shares]


def _tax_on(part: Decimal, left: _Left, currency: str) -> Decimal:
    """Tax credited with ``part`` of a line: all that is left when the line is credited down to nothing."""
    if part == left.amount:
        return left.tax
    line = left.line
    if line.tax_rate_percent is not None:
        tax = line_tax(part, line.tax_rate_percent, currency)
    else:
        tax = round_line(line.tax.amount * part / line.amount.amount, currency)
    return max(ZERO, min(tax, left.tax))


def _whole_minor_units(amount: Decimal, currency: str) -> bool:
    return round_line(amount, currency) == amount


def _line(
    credit_note_id: str, position: int, left: _Left, amount: Decimal, tax: Decimal, currency: str
) -> CreditNoteLine:
    line = left.line
    whole = amount == line.amount.amount
    return CreditNoteLine(
        id=f"{credit_note_id}-{position}",
        position=position,
        invoice_line_id=line.id,
        description=line.description,
        # Amounts are whole minor units already; quantizing only prints them the currency's way (10 → 10.00).
        amount=Money(round_line(amount, currency), currency),
        tax=Money(round_line(tax, currency), currency),
        quantity=line.quantity if whole else None,
        event_ids=line.event_ids,
    )


def _full(invoice: Invoice, earlier: Credited, credit_note_id: str) -> list[CreditNoteLine]:
    currency = invoice.currency
    open_lines = [left for left in _left(invoice, earlier).values() if left.amount > 0 or left.tax > 0]
    amount_left = sum((left.amount for left in open_lines), ZERO)
    tax_left = sum((left.tax for left in open_lines), ZERO)
    # Negative lines (discounts, netting) make the invoice's remainder less than its lines' remainders.
    # Promotional credit applied before tax lowered what the invoice billed before tax.
    billed = invoice.subtotal.amount - invoice.credits_before_tax
    subtotal = min(max(billed - earlier.subtotal, ZERO), amount_left)
    tax = min(max(invoice.tax.amount - earlier.tax, ZERO), tax_left)
    amounts = allocate(subtotal, [left.amount for left in open_lines], currency)
    taxes = allocate(tax, [left.tax for left in open_lines], currency)
    lines: list[CreditNoteLine] = []
    for left, amount, line_tax_ in zip(open_lines, amounts, taxes, strict=True):
        if amount > 0 or line_tax_ > 0:
            lines.append(_line(credit_note_id, len(lines) + 1, left, amount, line_tax_, currency))
    return lines


def _named_lines(
    invoice: Invoice, extent: LineCredit, earlier: Credited, credit_note_id: str
) -> list[CreditNoteLine]:
    currency = invoice.currency
    if not extent.lines:
        raise InvalidArgument.field("lines", "must name at least one invoice line")
    by_id = {line.id: line for line in invoice.lines}
    open_lines = _left(invoice, earlier)
    wrong: list[FieldViolation] = []
    seen: dict[str, int] = {}
    lines: list[CreditNoteLine] = []
    for index, wanted in enumerate(extent.lines):
        where = f"lines[{index}]"
        line_id = wanted.invoice_line_id
        if not line_id:
            wrong.append(FieldViolation(f"{where}.invoice_line_id", "is required"))
            continue
        if line_id in seen:
            wrong.append(
                FieldViolation(f"{where}.invoice_line_id", f"names the same line as lines[{seen[line_id]}]")
            )
            continue
        seen[line_id] = index
        line = by_id.get(line_id)
        if line is None:
            wrong.append(
                FieldViolation(f"{where}.invoice_line_id", f"is not a line of invoice {_name(invoice)}")
            )
            continue
        if line.kind is LineKind.CREDIT:
            wrong.append(
                FieldViolation(
                    f"{where}.invoice_line_id", "is a prepaid CREDIT line; prepaid credit is not creditable"
                )
            )
            continue
        left = open_lines.get(line_id)
        if left is None:
            wrong.append(
                FieldViolation(
                    f"{where}.invoice_line_id",
                    f"is a {line.kind.value} line of {_money(line.amount.amount, currency)}; "
                    "only lines with a positive amount are creditable",
                )
            )
            continue
        if left.amount <= 0:
            wrong.append(FieldViolation(f"{where}.invoice_line_id", "is credited in full already"))
            continue
        amount = left.amount if wanted.amount is None else wanted.amount
        if amount <= 0:
            wrong.append(FieldViolation(f"{where}.amount", "must be positive"))
            continue
        if not _whole_minor_units(amount, currency):
            wrong.append(
                FieldViolation(f"{where}.amount", f"must be in whole minor units of {currency}, got {amount}")
            )
            continue
        if amount > left.amount:
            wrong.append(
                FieldViolation(
                    f"{where}.amount",
                    f"credits {_money(amount, currency)}, more than the "
                    f"{_money(left.amount, currency)} left to credit on line {line_id}",
                )
            )
            continue
        lines.append(
            _line(credit_note_id, len(lines) + 1, left, amount, _tax_on(amount, left, currency), currency)
        )
    if wrong:
        raise InvalidArgument(wrong)
    _check_invoice_left(invoice, earlier, lines, "lines")
    return lines


def _lump_sum(
    invoice: Invoice, extent: LumpSumCredit, earlier: Credited, credit_note_id: str
) -> list[CreditNoteLine]:
    currency = invoice.currency
    amount = extent.amount
    if amount.currency != currency:
        raise InvalidArgument.field("amount.currency", f"must be the invoice's currency {currency}")
    if amount.amount <= 0:
        raise InvalidArgument.field("amount.amount", "must be positive")
    if not _whole_minor_units(amount.amount, currency):
        raise InvalidArgument.field(
            "amount.amount", f"must be in whole minor units of {currency}, got {amount.amount}"
        )
    open_lines = [left for left in _left(invoice, earlier).values() if left.amount > 0]
    amount_left = sum((left.amount for left in open_lines), ZERO)
    if amount.amount > amount_left:
        raise InvalidArgument.field(
            "amount.amount",
            f"credits {_money(amount.amount, currency)}, more than the {_money(amount_left, currency)} "
            f"left to credit on the lines of invoice {_name(invoice)}",
        )
    parts = allocate(amount.amount, [left.amount for left in open_lines], currency)
    lines: list[CreditNoteLine] = []
    for left, part in zip(open_lines, parts, strict=True):
        if part > 0:
            lines.append(
                _line(credit_note_id, len(lines) + 1, left, part, _tax_on(part, left, currency), currency)
            )
    _check_invoice_left(invoice, earlier, lines, "amount.amount")
    return lines


def _check_invoice_left(
    invoice: Invoice, earlier: Credited, lines: Sequence[CreditNoteLine], field_name: str
) -> None:
    currency = invoice.currency
    total = sum((line.amount.amount + line.tax.amount for line in lines), ZERO)
    left = invoice.total.amount - earlier.total
    if total > left:
        raise InvalidArgument.field(
            field_name,
            f"credits {_money(total, currency)} with tax, more than the {_money(max(left, ZERO), currency)} "
            f"left to credit on invoice {_name(invoice)}",
        )


def credit_lines(
    invoice: Invoice, extent: Extent, earlier: Credited, *, credit_note_id: str
) -> tuple[CreditNoteLine, ...]:
    """The lines a credit note of ``extent`` carries, numbered from 1 with ids ``<credit_note_id>-<n>``.

    InvalidArgument names the request field that asks for too much or for what cannot be credited. A full
    credit of an invoice with nothing left is empty; the caller decides whether that is an error.
    """
    check_creditable(invoice)
    if isinstance(extent, FullCredit):
        return tuple(_full(invoice, earlier, credit_note_id))
    if isinstance(extent, LineCredit):
        return tuple(_named_lines(invoice, extent, earlier, credit_note_id))
    return tuple(_lump_sum(invoice, extent, earlier, credit_note_id))


def credit_note(
    invoice: Invoice,
    lines: Sequence[CreditNoteLine],
    *,
    id: str,
    number: str,
    reason: CreditNoteReason,
    memo: str,
    issued_at: datetime,
) -> CreditNote:
    """The credit note carrying ``lines``: subtotal and tax are the sums of its lines, total their sum."""
    currency = invoice.currency
    subtotal = sum((line.amount.amount for line in lines), ZERO)
    tax = sum((line.tax.amount for line in lines), ZERO)
    return CreditNote(
        id=id,
        number=number,
        invoice_id=invoice.id,
        invoice_number=invoice.number or "",
        customer_id=invoice.customer_id,
        currency=currency,
        reason=reason,
        memo=memo,
        lines=tuple(lines),
        subtotal=Money(subtotal, currency),
        tax=Money(tax, currency),
        total=Money(subtotal + tax, currency),
        issued_at=issued_at,
    )


def nothing_left(invoice: Invoice) -> FailedPrecondition:
    return FailedPrecondition(f"invoice {_name(invoice)} has nothing left to credit")
