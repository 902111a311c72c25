"""Payments read back from an ERP, and the ids Tally gives them (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from tally.erp_sync.domain import Erp


@dataclass(frozen=True)
class ErpPayment:
    """A payment applied to one invoice in an ERP."""

    reference: str
    """The ERP's own id of this application, unique in that ERP."""
    invoice_internal_id: str
    """The ERP's id of the invoice paid (what Tally stored when it posted the invoice)."""
    amount: Decimal
    received_on: date | None


def payment_id(erp: Erp, reference: str) -> str:
    """Tally's id of a payment read from ``erp``: the same on every read, so it is recorded once."""
    if not reference:
        raise ValueError("a payment reference is required")
    return f"{erp.value.lower()}-{reference}"
