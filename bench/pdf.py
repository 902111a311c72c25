"""Benchmark: invoice PDFs rendered per second (30-line invoice), beside a one-paragraph reportlab baseline.

The baseline renders a one-paragraph platypus document in the same run, so the ratio stays meaningful on a
noisy machine. Prints one JSON line, then a readable line. Target (docs/performance.md): ≥ 50 PDFs/s per core.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate

from tally.invoicing.documents.pdf import render_invoice
from tally.invoicing.documents.views import InvoiceView, LineView, Party, TierRow, TotalRow
from tally.money import Money

START, END = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def thirty_line_invoice() -> InvoiceView:
    lines = []
    for n in range(30):
        tiers = (
            (
                TierRow("Tier 1: 0 – 1,000", Decimal(1000), Decimal("0.10"), usd("100.00")),
                TierRow("Tier 2: over 1,000", Decimal(250), Decimal("0.08"), usd("20.00")),
            )
            if n % 5 == 0
            else ()
        )
        lines.append(
            LineView(f"API calls, region {n}", usd("120.00"), Decimal(1250), None, START, END, tiers)
        )
    return InvoiceView(
        number="INV-2026-000123",
        issuer=Party("Tally Billing Ltd", ("1 Ledger Lane", "London EC1A 1AA"), "GB123456789"),
        customer=Party("Acme Corp", ("2 Side Street", "Springfield"), "US98-7654321"),
        issue_date=date(2026, 7, 1),
        due_date=date(2026, 7, 31),
        period_start=START,
        period_end=END,
        lines=tuple(lines),
        totals=(
            TotalRow("Subtotal", usd("3600.00")),
            TotalRow("VAT 20% (United Kingdom) on USD 3,600.00", usd("720.00")),
            TotalRow("Total", usd("4320.00")),
            TotalRow("Amount due", usd("4320.00"), strong=True),
        ),
        payment_terms="Payment due within 30 days by bank transfer.",
        locale="en_GB",
    )


def one_paragraph() -> bytes:
    buffer = io.BytesIO()
    style = getSampleStyleSheet()["BodyText"]
    SimpleDocTemplate(buffer, pagesize=A4).build(
        [Paragraph("Invoice INV-2026-000123: amount due $4,320.00.", style)]
    )
    return buffer.getvalue()


def per_second(render: Callable[[], bytes], count: int, repeats: int) -> list[float]:
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(count):
            render()
        rates.append(count / (time.perf_counter() - started))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    view = thirty_line_invoice()
    render_invoice(view)  # warm up: fonts and styles load once per process
    one_paragraph()
    invoices = statistics.median(per_second(lambda: render_invoice(view), args.renders, args.repeats))
    baseline = statistics.median(per_second(one_paragraph, args.renders, args.repeats))
    result = {
        "benchmark": "invoice_pdf",
        "lines": len(view.lines),
        "renders": args.renders,
        "repeats": args.repeats,
        "pdfs_per_s": round(invoices, 1),
        "baseline_one_paragraph_per_s": round(baseline, 1),
        "ratio_to_baseline": round(invoices / baseline, 3),
        "target_pdfs_per_s": 50,
    }
    print(json.dumps(result))
    print(
        f"invoice PDFs: {invoices:.1f}/s (30 lines); one-paragraph baseline {baseline:.1f}/s; "
        f"ratio {invoices / baseline:.3f}; target ≥ 50/s per core"
    )


if __name__ == "__main__":
    main()
