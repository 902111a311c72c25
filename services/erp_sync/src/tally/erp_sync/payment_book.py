"""erp-sync's payment tables: each ERP's read cursor and every payment read back, recorded once with its
PaymentRecorded event in the outbox, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Engine, MetaData, Table, Text, select

from tally.erp_sync.domain import Erp
from tally.mesh import streams
from tally.persistence import outbox
from tally.persistence.dialects import upsert_insert
from tally.persistence.types import UtcDateTime

metadata = MetaData()

payment_cursors = Table(
    "payment_cursors",
    metadata,
    Column("erp", Text, primary_key=True),
    Column("cursor", Text, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

erp_payments = Table(
    "erp_payments",
    metadata,
    Column("erp", Text, primary_key=True),
    Column("reference", Text, primary_key=True),
    Column("payment_id", Text, nullable=False),
    Column("invoice_id", Text, nullable=False),
    Column("amount", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)


@dataclass(frozen=True)
class RecordedPayment:
    """A payment to record, with the PaymentRecorded message announcing it."""

    reference: str
    payment_id: str
    invoice_id: str
    amount: Decimal
    currency: str
    event: bytes


class PaymentBook:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def cursor(self, erp: Erp) -> str:
        with self._engine.connect() as conn:
            found = conn.execute(
                select(payment_cursors.c.cursor).where(payment_cursors.c.erp == erp.value)
            ).scalar_one_or_none()
        return found or ""

    def record(self, erp: Erp, payments: Sequence[RecordedPayment], cursor: str, *, now: datetime) -> int:
        """Record the payments not recorded yet, each with its event in the outbox, and move the cursor; how
        many were new."""
        added = 0
        with self._engine.begin() as conn:
            for payment in payments:
                inserted = conn.execute(
                    upsert_insert(erp_payments, conn.dialect.name)
                    .values(
                        erp=erp.value,
                        reference=payment.reference,
                        payment_id=payment.payment_id,
                        invoice_id=payment.invoice_id,
                        amount=format(payment.amount, "f"),
                        currency=payment.currency,
                        recorded_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["erp", "reference"])
                    .returning(erp_payments.c.reference)
                ).first()
                if inserted is None:
                    continue
                outbox.enqueue(
                    conn, streams.PAYMENT_RECORDED, payment.event, f"payment-recorded:{payment.payment_id}"
                )
                added += 1
            stmt = upsert_insert(payment_cursors, conn.dialect.name).values(
                erp=erp.value, cursor=cursor, updated_at=now
            )
            conn.execute(
                stmt.on_conflict_do_update(index_elements=["erp"], set_={"cursor": cursor, "updated_at": now})
            )
        return added

    def count(self, erp: Erp) -> int:
        with self._engine.connect() as conn:
            return len(
                conn.execute(select(erp_payments.c.reference).where(erp_payments.c.erp == erp.value)).all()
            )
