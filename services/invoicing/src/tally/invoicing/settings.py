"""Invoicing's settings beyond the mesh's: payment terms."""

from __future__ import annotations

from dataclasses import dataclass

from tally.mesh.settings import setting


def parse_days(raw: str) -> int:
    """A whole number of days, zero or more."""
    try:
        days = int(raw.strip())
    except ValueError:
        raise ValueError(f"{raw!r} is not a whole number of days") from None
    if days < 0:
        raise ValueError(f"{raw!r} is negative")
    return days


@dataclass(frozen=True)
class InvoicingSettings:
    """Invoicing-specific settings; the billing run's schedule will be added here."""

    payment_terms_days: int = setting(
        "TALLY_INVOICE_PAYMENT_TERMS_DAYS",
        default=30,
        parse=parse_days,
        doc="days from issue to due date of a finalized invoice",
    )
    """A finalized invoice is due this many days after it is issued (due_at = issued_at + terms)."""
