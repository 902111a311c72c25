from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tally.domain.errors import FailedPrecondition, InvalidArgument
from tally.invoicing.credit_notes.domain import (
    Credited,
    CreditedLine,
    CreditNoteReason,
    FullCredit,
    LineCredit,
    LumpSumCredit,
    allocate,
    check_voidable,
    credit_lines,
    credit_note,
    credited_by,
)
from tally.invoicing.domain import Invoice, InvoiceLine, InvoiceStatus, LineKind, Period
from tally.money import Money

D = Decimal
AT = datetime(2026, 5, 10, tzinfo=UTC)
PERIOD = Period(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))


def line(line_id, amount, tax, *, currency="EUR", rate="19", kind=LineKind.USAGE, quantity=None):
    return InvoiceLine(
        id=line_id,
        position=int(line_id.rsplit("-", 1)[-1]),
        kind=kind,
        description=f"Line {line_id}",
        amount=Money(D(amount), currency),
        tax=Money(D(tax), currency),
        quantity=None if quantity is None else D(quantity),
        tax_rate_percent=None if rate is None else D(rate),
        event_ids=("ev-1",) if kind is LineKind.ADJUSTMENT else (),
    )


def invoice(*lines, currency="EUR", status=InvoiceStatus.FINALIZED):
    charged = [item for item in lines if item.kind is not LineKind.CREDIT]
    subtotal = sum((item.amount.amount for item in charged), D(0))
    tax = sum((item.tax.amount for item in charged), D(0))
    credits = -sum((item.amount.amount for item in lines if item.kind is LineKind.CREDIT), D(0))
    return Invoice(
        id="inv-1",
        number="INV-2026-000001",
        customer_id="cus_acme",
        subscription_id="sub_1",
        status=status,
        currency=currency,
        period=PERIOD,
        subtotal=Money(subtotal, currency),
        tax=Money(tax, currency),
        credits_applied=Money(credits, currency),
        total=Money(subtotal + tax, currency),
        amount_due=Money(max(subtotal + tax - credits, D(0)), currency),
        created_at=AT,
        lines=tuple(lines),
    )


def issue(inv, extent, earlier=(), note_id="cn-1"):
    lines = credit_lines(inv, extent, credited_by(earlier), credit_note_id=note_id)
    return credit_note(
        inv,
        lines,
        id=note_id,
        number=f"CN-2026-{len(earlier) + 1:06d}",
        reason=CreditNoteReason.BILLING_ERROR,
        memo="",
        issued_at=AT,
    )


def amounts(note):
    return [(item.invoice_line_id, str(item.amount.amount), str(item.tax.amount)) for item in note.lines]


def totals(note):
    return str(note.subtotal.amount), str(note.tax.amount), str(note.total.amount)


def violations(error):
    return {v.field: v.reason for v in error.value.violations}


TWO_LINES = invoice(line("inv-1-1", "100.00", "19.00", quantity="200000"), line("inv-1-2", "33.33", "6.33"))


def test_a_full_credit_gives_back_every_line_with_its_tax_to_the_cent():
    note = issue(TWO_LINES, FullCredit())
    assert amounts(note) == [("inv-1-1", "100.00", "19.00"), ("inv-1-2", "33.33", "6.33")]
    assert totals(note) == ("133.33", "25.33", "158.66")
    assert note.total == TWO_LINES.total
    # Whole lines keep their quantity; line ids follow the note's id.
    assert [(item.id, item.quantity) for item in note.lines] == [("cn-1-1", D("200000")), ("cn-1-2", None)]
    assert (note.invoice_number, note.customer_id, note.currency) == ("INV-2026-000001", "cus_acme", "EUR")


def test_part_of_a_line_is_taxed_by_r2_and_the_last_part_takes_exactly_the_tax_left():
    inv = invoice(line("inv-1-1", "0.15", "0.02", rate="10"))
    first = issue(inv, LineCredit((CreditedLine("inv-1-1", D("0.05")),)))
    # 0.05 × 10 % = 0.005, half-up 0.01
    assert amounts(first) == [("inv-1-1", "0.05", "0.01")]
    assert first.lines[0].quantity is None
    second = issue(inv, LineCredit((CreditedLine("inv-1-1", D("0.05")),)), [first], "cn-2")
    assert amounts(second) == [("inv-1-1", "0.05", "0.01")]
    # What is left is 0.05 with 0.00 tax left: R2 would say 0.01, but the line's tax is used up.
    last = issue(inv, LineCredit((CreditedLine("inv-1-1"),)), [first, second], "cn-3")
    assert amounts(last) == [("inv-1-1", "0.05", "0.00")]
    assert sum(n.total.amount for n in (first, second, last)) == inv.total.amount == D("0.17")


def test_jpy_line_credits_round_to_whole_yen():
    inv = invoice(line("inv-1-1", "12345", "1235", currency="JPY", rate="10"), currency="JPY")
    part = issue(inv, LineCredit((CreditedLine("inv-1-1", D("1000")),)))
    assert amounts(part) == [("inv-1-1", "1000", "100")]
    rest = issue(inv, LineCredit((CreditedLine("inv-1-1"),)), [part], "cn-2")
    assert amounts(rest) == [("inv-1-1", "11345", "1135")]
    assert part.total.amount + rest.total.amount == D("13580") == inv.total.amount
    with pytest.raises(InvalidArgument) as fractional:
        issue(inv, LineCredit((CreditedLine("inv-1-1", D("0.5")),)))
    assert violations(fractional) == {"lines[0].amount": "must be in whole minor units of JPY, got 0.5"}


def test_a_jpy_lump_sum_is_spread_by_largest_remainder_and_taxed_per_line():
    inv = invoice(
        line("inv-1-1", "12345", "1235", currency="JPY", rate="10"),
        line("inv-1-2", "4938", "494", currency="JPY", rate="10"),
        currency="JPY",
    )
    note = issue(inv, LumpSumCredit(Money(D("1000"), "JPY")))
    # 1000 × 12345/17283 = 714.28…, 1000 × 4938/17283 = 285.71…: the spare yen goes to the larger remainder.
    assert amounts(note) == [("inv-1-1", "714", "71"), ("inv-1-2", "286", "29")]
    assert totals(note) == ("1000", "100", "1100")


def test_a_lump_sum_is_taxed_like_the_lines_it_reduces():
    inv = invoice(line("inv-1-1", "100.00", "19.00"), line("inv-1-2", "50.00", "0.00", rate=None))
    note = issue(inv, LumpSumCredit(Money(D("30.00"), "EUR")))
    assert amounts(note) == [("inv-1-1", "20.00", "3.80"), ("inv-1-2", "10.00", "0.00")]
    assert totals(note) == ("30.00", "3.80", "33.80")


def test_a_lump_sum_beyond_what_is_left_or_in_another_currency_is_refused():
    earlier = issue(TWO_LINES, LineCredit((CreditedLine("inv-1-1", D("40.00")),)))
    with pytest.raises(InvalidArgument) as too_much:
        issue(TWO_LINES, LumpSumCredit(Money(D("93.34"), "EUR")), [earlier], "cn-2")
    assert violations(too_much) == {
        "amount.amount": "credits 93.34 EUR, more than the 93.33 EUR left to credit on the lines of invoice "
        "INV-2026-000001"
    }
    with pytest.raises(InvalidArgument) as currency:
        issue(TWO_LINES, LumpSumCredit(Money(D("1.00"), "USD")))
    assert violations(currency) == {"amount.currency": "must be the invoice's currency EUR"}
    with pytest.raises(InvalidArgument) as fraction:
        issue(TWO_LINES, LumpSumCredit(Money(D("1.005"), "EUR")))
    assert list(violations(fraction)) == ["amount.amount"]


def test_a_line_cannot_be_credited_beyond_what_earlier_notes_left_on_it():
    earlier = issue(TWO_LINES, LineCredit((CreditedLine("inv-1-1", D("40.00")),)))
    assert amounts(earlier) == [("inv-1-1", "40.00", "7.60")]
    with pytest.raises(InvalidArgument) as refused:
        issue(
            TWO_LINES,
            LineCredit((CreditedLine("inv-1-2", D("1.00")), CreditedLine("inv-1-1", D("60.01")))),
            [earlier],
            "cn-2",
        )
    assert violations(refused) == {
        "lines[1].amount": "credits 60.01 EUR, more than the 60.00 EUR left to credit on line inv-1-1"
    }
    # The rest of the invoice, after the partial credit: exactly what is left, tax included.
    rest = issue(TWO_LINES, FullCredit(), [earlier], "cn-2")
    assert amounts(rest) == [("inv-1-1", "60.00", "11.40"), ("inv-1-2", "33.33", "6.33")]
    assert earlier.total.amount + rest.total.amount == TWO_LINES.total.amount
    # Nothing is left afterwards.
    assert credit_lines(TWO_LINES, FullCredit(), credited_by([earlier, rest]), credit_note_id="cn-3") == ()
    with pytest.raises(InvalidArgument) as spent:
        issue(TWO_LINES, LineCredit((CreditedLine("inv-1-2"),)), [earlier, rest], "cn-3")
    assert violations(spent) == {"lines[0].invoice_line_id": "is credited in full already"}


def test_prepaid_credit_negative_unknown_and_repeated_lines_are_named():
    inv = invoice(
        line("inv-1-1", "100.00", "19.00"),
        line("inv-1-2", "-10.00", "-1.90", kind=LineKind.DISCOUNT),
        line("inv-1-3", "-20.00", "0.00", rate=None, kind=LineKind.CREDIT),
    )
    with pytest.raises(InvalidArgument) as refused:
        issue(
            inv,
            LineCredit(
                (
                    CreditedLine("inv-1-3"),
                    CreditedLine("inv-1-2"),
                    CreditedLine("nope"),
                    CreditedLine("inv-1-1", D("0")),
                    CreditedLine("inv-1-1"),
                    CreditedLine(""),
                )
            ),
        )
    assert violations(refused) == {
        "lines[0].invoice_line_id": "is a prepaid CREDIT line; prepaid credit is not creditable",
        "lines[1].invoice_line_id": "is a DISCOUNT line of -10.00 EUR; only lines with a positive amount are "
        "creditable",
        "lines[2].invoice_line_id": "is not a line of invoice INV-2026-000001",
        "lines[3].amount": "must be positive",
        "lines[4].invoice_line_id": "names the same line as lines[3]",
        "lines[5].invoice_line_id": "is required",
    }
    with pytest.raises(InvalidArgument) as empty:
        issue(inv, LineCredit(()))
    assert list(violations(empty)) == ["lines"]


def test_a_discounted_invoice_is_never_credited_beyond_its_total():
    inv = invoice(
        line("inv-1-1", "100.00", "19.00"),
        line("inv-1-2", "-10.00", "-1.90", kind=LineKind.DISCOUNT),
        line("inv-1-3", "-20.00", "0.00", rate=None, kind=LineKind.CREDIT),
    )
    assert inv.total.amount == D("107.10")
    with pytest.raises(InvalidArgument) as refused:
        issue(inv, LineCredit((CreditedLine("inv-1-1"),)))
    assert violations(refused) == {
        "lines": "credits 119.00 EUR with tax, more than the 107.10 EUR left to credit on invoice INV-2026-000001"
    }
    # A full credit nets the discount: exactly the invoice's total, prepaid credit lines left alone.
    note = issue(inv, FullCredit())
    assert amounts(note) == [("inv-1-1", "90.00", "17.10")]
    assert note.total == inv.total


def test_only_finalized_or_paid_invoices_are_credited():
    paid = invoice(line("inv-1-1", "10.00", "1.90"), status=InvoiceStatus.PAID)
    assert totals(issue(paid, FullCredit())) == ("10.00", "1.90", "11.90")
    for status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        with pytest.raises(FailedPrecondition, match=status.value):
            issue(invoice(line("inv-1-1", "10.00", "1.90"), status=status), FullCredit())


@pytest.mark.parametrize(
    ("status", "says"), [(InvoiceStatus.DRAFT, "DRAFT"), (InvoiceStatus.PAID, "credit it")]
)
def test_only_finalized_invoices_are_voided(status, says):
    check_voidable(invoice(line("inv-1-1", "10.00", "1.90")))
    with pytest.raises(FailedPrecondition, match=says):
        check_voidable(invoice(line("inv-1-1", "10.00", "1.90"), status=status))


def test_allocation_is_exact_and_never_exceeds_a_weight():
    assert allocate(D("0.10"), [D("0.01"), D("0.01"), D("0.08")], "USD") == [D("0.01"), D("0.01"), D("0.08")]
    assert allocate(D("1.00"), [D("1"), D("1"), D("1")], "USD") == [D("0.34"), D("0.33"), D("0.33")]
    assert allocate(D("0.005"), [D("1")], "BHD") == [D("0.005")]
    assert allocate(D("0"), [D("5")], "USD") == [D("0.00")]
    assert sum(allocate(D("7"), [D("3"), D("5"), D("11")], "JPY")) == D("7")


def test_earlier_credit_notes_are_summed_per_line_and_in_total():
    earlier = issue(TWO_LINES, LineCredit((CreditedLine("inv-1-2", D("3.33")),)))
    credited = credited_by([earlier])
    assert credited == Credited({"inv-1-2": D("3.33")}, {"inv-1-2": D("0.63")}, D("3.33"), D("0.63"))
    assert credited.total == D("3.96")
