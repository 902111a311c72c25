"""Reconciliation: Tally's documents of a period against an ERP's, every difference named (pure)."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from tally.erp_sync.domain import DocumentKind
from tally.money import Money


class MismatchKind(enum.StrEnum):
    MISSING_IN_ERP = "MISSING_IN_ERP"
    MISSING_IN_TALLY = "MISSING_IN_TALLY"
    AMOUNT_DIFFERS = "AMOUNT_DIFFERS"


@dataclass(frozen=True)
class BookedDocument:
    """A document as one side holds it: its Tally key and the amount it totals."""

    kind: DocumentKind
    key: str
    amount: Money
    document_id: str = ""
    number: str = ""


@dataclass(frozen=True)
class Mismatch:
    kind: MismatchKind
    document_kind: DocumentKind
    key: str
    detail: str
    document_id: str = ""
    number: str = ""
    tally_amount: Money | None = None
    erp_amount: Money | None = None


TALLY_KEY_PREFIX = "tally-"


def reconcile(tally: Iterable[BookedDocument], erp: Iterable[BookedDocument]) -> list[Mismatch]:
    """Every Tally document missing from the ERP or booked there with another amount, and every document
    under a Tally key that Tally does not know (including a second copy of one it does), sorted by key."""
    in_erp: dict[str, list[BookedDocument]] = defaultdict(list)
    for booked in erp:
        if booked.key.startswith(TALLY_KEY_PREFIX):
            in_erp[booked.key].append(booked)
    found: list[Mismatch] = []
    for document in tally:
        copies = in_erp.pop(document.key, [])
        if not copies:
            found.append(
                Mismatch(
                    MismatchKind.MISSING_IN_ERP,
                    document.kind,
                    document.key,
                    "not found in the ERP",
                    document.document_id,
                    document.number,
                    tally_amount=document.amount,
                )
            )
            continue
        first, *extra = copies
        if first.amount != document.amount:
            found.append(
                Mismatch(
                    MismatchKind.AMOUNT_DIFFERS,
                    document.kind,
                    document.key,
                    f"Tally {document.amount}, ERP {first.amount}",
                    document.document_id,
                    document.number,
                    document.amount,
                    first.amount,
                )
            )
        for copy in extra:
            found.append(
                Mismatch(
                    MismatchKind.MISSING_IN_TALLY,
                    document.kind,
                    document.key,
                    "posted more than once",
                    document.document_id,
                    document.number,
                    erp_amount=copy.amount,
                )
            )
    for key, copies in in_erp.items():
        for copy in copies:
            found.append(
                Mismatch(
                    MismatchKind.MISSING_IN_TALLY,
                    copy.kind,
                    key,
                    "in the ERP under a Tally key Tally does not know",
                    erp_amount=copy.amount,
                )
            )
    return sorted(found, key=lambda m: (m.key, m.kind.value))
