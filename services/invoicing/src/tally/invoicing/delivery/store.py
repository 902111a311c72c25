"""The delivery log in invoicing's tables: deliveries, leased to one sender at a time, and every attempt, a
repository on the caller's connection."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection, RowMapping

from tally.invoicing.delivery.domain import (
    Attempt,
    Delivery,
    DeliveryKey,
    DeliveryState,
    DocumentKind,
    Outcome,
)
from tally.invoicing.tables import deliveries, delivery_attempts


def _delivery(row: RowMapping, log: tuple[Attempt, ...]) -> Delivery:
    return Delivery(
        id=row["id"],
        document_kind=DocumentKind(row["document_kind"]),
        document_id=row["document_id"],
        document_number=row["document_number"],
        customer_id=row["customer_id"],
        recipients=tuple(json.loads(row["recipients"])),
        state=DeliveryState(row["state"]),
        created_at=row["created_at"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        message_id=row["message_id"],
        sent_at=row["sent_at"],
        log=log,
    )


class SqlDeliveries:
    """The DeliveryLog on one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, delivery: Delivery) -> None:
        self._conn.execute(
            insert(deliveries).values(
                id=delivery.id,
                document_kind=delivery.document_kind.value,
                document_id=delivery.document_id,
                document_number=delivery.document_number,
                customer_id=delivery.customer_id,
                recipients=json.dumps(list(delivery.recipients)),
                state=delivery.state.value,
                attempts=delivery.attempts,
                next_attempt_at=delivery.next_attempt_at,
                created_at=delivery.created_at,
            )
        )

    def _with_logs(self, rows: list[RowMapping]) -> list[Delivery]:
        logs: dict[str, list[Attempt]] = {row["id"]: [] for row in rows}
        if rows:
            for attempt in self._conn.execute(
                select(delivery_attempts)
                .where(delivery_attempts.c.delivery_id.in_(list(logs)))
                .order_by(delivery_attempts.c.id)
            ).mappings():
                logs[attempt["delivery_id"]].append(
                    Attempt(attempt["attempted_at"], Outcome(attempt["outcome"]), attempt["detail"])
                )
        return [_delivery(row, tuple(logs[row["id"]])) for row in rows]

    def get(self, delivery_id: str) -> Delivery | None:
        rows = list(self._conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).mappings())
        found = self._with_logs(rows)
        return found[0] if found else None

    def lease_due(self, now: datetime, *, until: datetime, limit: int) -> list[Delivery]:
        free = or_(deliveries.c.leased_until.is_(None), deliveries.c.leased_until <= now)
        candidates = self._conn.execute(
            select(deliveries.c.id)
            .where(
                deliveries.c.state == DeliveryState.PENDING.value,
                deliveries.c.next_attempt_at <= now,
                free,
            )
            .order_by(deliveries.c.next_attempt_at)
            .limit(limit)
        ).scalars()
        leased = []
        for delivery_id in candidates.all():
            # Conditional on still being free: a replica that leased it meanwhile keeps it.
            taken = self._conn.execute(
                update(deliveries).where(deliveries.c.id == delivery_id, free).values(leased_until=until)
            ).rowcount
            if taken:
                leased.append(delivery_id)
        rows = list(self._conn.execute(select(deliveries).where(deliveries.c.id.in_(leased))).mappings())
        return self._with_logs(rows)

    def record(self, delivery: Delivery, attempt: Attempt) -> None:
        self._conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery.id)
            .values(
                state=delivery.state.value,
                attempts=delivery.attempts,
                next_attempt_at=delivery.next_attempt_at,
                leased_until=None,
                last_error=delivery.last_error,
                message_id=delivery.message_id,
                sent_at=delivery.sent_at,
            )
        )
        self._conn.execute(
            insert(delivery_attempts).values(
                delivery_id=delivery.id,
                attempted_at=attempt.attempted_at,
                outcome=attempt.outcome.value,
                detail=attempt.detail,
            )
        )

    def find(self, document_id: str, *, after: DeliveryKey | None, limit: int) -> list[Delivery]:
        query = (
            select(deliveries).order_by(deliveries.c.created_at.desc(), deliveries.c.id.desc()).limit(limit)
        )
        if document_id:
            query = query.where(deliveries.c.document_id == document_id)
        if after is not None:
            query = query.where(
                or_(
                    deliveries.c.created_at < after.created_at,
                    and_(deliveries.c.created_at == after.created_at, deliveries.c.id < after.id),
                )
            )
        return self._with_logs(list(self._conn.execute(query).mappings()))
