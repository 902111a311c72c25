"""Webhook endpoints, the messages fanned out to them, deliveries and every attempt (the only SQL for them)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from tally.domain.errors import NotFound
from tally.gateway.domain.webhooks import RetryPolicy, succeeded
from tally.gateway.tables import webhook_attempts, webhook_deliveries, webhook_endpoints, webhook_messages
from tally.mesh import streams
from tally.persistence import inbox, outbox

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
STATES = (PENDING, SUCCEEDED, FAILED)


@dataclass(frozen=True)
class Endpoint:
    id: str
    url: str
    description: str
    event_types: tuple[str, ...]
    customer_id: str | None
    secret: str
    enabled: bool
    disabled_reason: str
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Message:
    """One business event as it is sent to every endpoint subscribed to it (the same body each time)."""

    id: str
    event_type: str
    customer_id: str | None
    body: bytes
    occurred_at: datetime


@dataclass(frozen=True)
class Delivery:
    id: int
    message_id: str
    endpoint_id: str
    event_type: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Attempt:
    id: int
    delivery_id: int
    attempted_at: datetime
    status_code: int | None
    error: str
    duration_ms: int
    replay: bool


@dataclass(frozen=True)
class DueDelivery:
    """A delivery leased for one attempt, with what the attempt needs."""

    delivery_id: int
    replay: bool
    attempts: int
    endpoint_id: str
    url: str
    secret: str
    message_id: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    """What one attempt got back: an HTTP status, or no answer (``error`` says why)."""

    status: int | None
    error: str
    duration_ms: int


DisabledEvent = Callable[["Endpoint", str, datetime], bytes]
"""The serialized alert for an endpoint being disabled: (endpoint, last error, when)."""


@dataclass(frozen=True)
class DisabledEndpoint:
    endpoint: Endpoint
    last_error: str


def _endpoint(row: object) -> Endpoint:
    m = row._mapping  # type: ignore[attr-defined]
    return Endpoint(
        m["id"],
        m["url"],
        m["description"],
        tuple(json.loads(m["event_types"])),
        m["customer_id"],
        m["secret"],
        bool(m["enabled"]),
        m["disabled_reason"],
        m["consecutive_failures"],
        m["created_at"],
        m["updated_at"],
    )


_DELIVERY_COLUMNS = (*webhook_deliveries.c, webhook_messages.c.event_type)


def _delivery(row: object) -> Delivery:
    m = row._mapping  # type: ignore[attr-defined]
    return Delivery(
        m["id"],
        m["message_id"],
        m["endpoint_id"],
        m["event_type"],
        m["state"],
        m["attempts"],
        m["next_attempt_at"],
        m["last_status"],
        m["last_error"],
        m["created_at"],
        m["updated_at"],
    )


class WebhookStore:
    def __init__(self, engine: Engine, consumer: str) -> None:
        self._engine = engine
        self._consumer = consumer

    # -- endpoints -----------------------------------------------------------------------------------------
    def add_endpoint(self, endpoint: Endpoint) -> Endpoint:
        values = {**endpoint.__dict__, "event_types": json.dumps(list(endpoint.event_types))}
        with self._engine.begin() as conn:
            conn.execute(insert(webhook_endpoints).values(**values))
        return endpoint

    def endpoint(self, endpoint_id: str) -> Endpoint:
        with self._engine.connect() as conn:
            row = conn.execute(select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)).first()
        if row is None:
            raise NotFound("webhook endpoint", endpoint_id, "endpoint_id")
        return _endpoint(row)

    def endpoints(self, customer_id: str | None) -> list[Endpoint]:
        """All endpoints (operator), or one customer's."""
        query = select(webhook_endpoints).order_by(webhook_endpoints.c.created_at, webhook_endpoints.c.id)
        if customer_id is not None:
            query = query.where(webhook_endpoints.c.customer_id == customer_id)
        with self._engine.connect() as conn:
            return [_endpoint(row) for row in conn.execute(query).all()]

    def set_enabled(self, endpoint_id: str, enabled: bool, now: datetime) -> Endpoint:
        """Enabling resets the failure count, so an endpoint brought back gets a fresh run of attempts."""
        values: dict[str, object] = {"enabled": enabled, "updated_at": now}
        if enabled:
            values.update(disabled_reason="", consecutive_failures=0)
        else:
            values["disabled_reason"] = "disabled by an operator"
        with self._engine.begin() as conn:
            conn.execute(
                update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id).values(**values)
            )
        return self.endpoint(endpoint_id)

    # -- messages in, deliveries out ----------------------------------------------------------------------
    def record_message(self, msg_id: str, message: Message, now: datetime) -> int:
        """Claims ``msg_id`` and stores the message with one delivery per subscribed, enabled endpoint, in one
        transaction; returns the deliveries created (0 as well when the message was handled before)."""
        with self._engine.begin() as conn:
            if not inbox.claim(conn, self._consumer, msg_id):
                return 0
            if conn.execute(select(webhook_messages.c.id).where(webhook_messages.c.id == message.id)).first():
                return 0
            conn.execute(insert(webhook_messages).values(**message.__dict__))
            subscribed = [
                endpoint.id
                for endpoint in map(
                    _endpoint,
                    conn.execute(
                        select(webhook_endpoints).where(webhook_endpoints.c.enabled.is_(True))
                    ).all(),
                )
                if message.event_type in endpoint.event_types
                and (endpoint.customer_id is None or endpoint.customer_id == message.customer_id)
            ]
            if subscribed:
                conn.execute(
                    insert(webhook_deliveries),
                    [
                        {
                            "message_id": message.id,
                            "endpoint_id": endpoint_id,
                            "state": PENDING,
                            "attempts": 0,
                            "next_attempt_at": now,
                            "leased_until": None,
                            "replay_requested": False,
                            "last_status": None,
                            "last_error": "",
                            "created_at": now,
                            "updated_at": now,
                        }
                        for endpoint_id in subscribed
                    ],
                )
        return len(subscribed)

    def messages(self, customer_id: str, event_type: str, limit: int) -> list[Message]:
        query = (
            select(webhook_messages)
            .where(webhook_messages.c.customer_id == customer_id, webhook_messages.c.event_type == event_type)
            .order_by(webhook_messages.c.occurred_at.desc())
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [
                Message(r.id, r.event_type, r.customer_id, bytes(r.body), r.occurred_at)
                for r in conn.execute(query).all()
            ]

    def next_due_at(self) -> datetime | None:
        with self._engine.connect() as conn:
            return conn.execute(
                select(func.min(webhook_deliveries.c.next_attempt_at)).where(
                    webhook_deliveries.c.state == PENDING
                )
            ).scalar()

    def lease_due(self, now: datetime, limit: int, lease: timedelta) -> list[DueDelivery]:
        """Leases up to ``limit`` due deliveries to this replica (others skip them until the lease ends)."""
        free = or_(webhook_deliveries.c.leased_until.is_(None), webhook_deliveries.c.leased_until < now)
        due = and_(webhook_deliveries.c.state == PENDING, webhook_deliveries.c.next_attempt_at <= now, free)
        leased: list[DueDelivery] = []
        with self._engine.begin() as conn:
            rows = conn.execute(
                select(
                    webhook_deliveries.c.id,
                    webhook_deliveries.c.replay_requested,
                    webhook_deliveries.c.attempts,
                    webhook_endpoints.c.id.label("endpoint_id"),
                    webhook_endpoints.c.url,
                    webhook_endpoints.c.secret,
                    webhook_messages.c.id.label("message_id"),
                    webhook_messages.c.body,
                )
                .join(webhook_endpoints, webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id)
                .join(webhook_messages, webhook_messages.c.id == webhook_deliveries.c.message_id)
                .where(due, webhook_endpoints.c.enabled.is_(True))
                .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
                .limit(limit)
            ).all()
            for row in rows:
                taken = conn.execute(
                    update(webhook_deliveries)
                    .where(webhook_deliveries.c.id == row.id, due)
                    .values(leased_until=now + lease)
                ).rowcount
                if taken:
                    leased.append(
                        DueDelivery(
                            row.id,
                            bool(row.replay_requested),
                            row.attempts,
                            row.endpoint_id,
                            row.url,
                            row.secret,
                            row.message_id,
                            bytes(row.body),
                        )
                    )
        return leased

    def record_attempt(
        self,
        due: DueDelivery,
        outcome: Outcome,
        policy: RetryPolicy,
        now: datetime,
        disabled_event: DisabledEvent,
    ) -> DisabledEndpoint | None:
        """Logs the attempt and moves the delivery and its endpoint on, in one transaction. When this failure
        disables the endpoint, the ``disabled_event`` it describes goes to the outbox in the same transaction."""
        ok = succeeded(outcome.status)
        with self._engine.begin() as conn:
            conn.execute(
                insert(webhook_attempts).values(
                    delivery_id=due.delivery_id,
                    attempted_at=now,
                    status_code=outcome.status,
                    error=outcome.error,
                    duration_ms=outcome.duration_ms,
                    replay=due.replay,
                )
            )
            attempts = due.attempts + (0 if due.replay else 1)
            if ok:
                state, next_at = SUCCEEDED, None
            elif due.replay:
                # A replay is one attempt asked for by a person; it does not restart the retry schedule.
                state, next_at = FAILED, None
            else:
                delay = policy.next_delay(attempts)
                state = FAILED if delay is None else PENDING
                next_at = None if delay is None else now + timedelta(seconds=delay)
            conn.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id == due.delivery_id)
                .values(
                    state=state,
                    attempts=attempts,
                    next_attempt_at=next_at,
                    leased_until=None,
                    replay_requested=False,
                    last_status=outcome.status,
                    last_error=outcome.error,
                    updated_at=now,
                )
            )
            return self._account(conn, due.endpoint_id, ok, outcome, policy, now, disabled_event)

    def _account(
        self,
        conn: Connection,
        endpoint_id: str,
        ok: bool,
        outcome: Outcome,
        policy: RetryPolicy,
        now: datetime,
        disabled_event: DisabledEvent,
    ) -> DisabledEndpoint | None:
        table = webhook_endpoints
        if ok:
            conn.execute(update(table).where(table.c.id == endpoint_id).values(consecutive_failures=0))
            return None
        conn.execute(
            update(table)
            .where(table.c.id == endpoint_id)
            .values(consecutive_failures=table.c.consecutive_failures + 1)
        )
        endpoint = _endpoint(conn.execute(select(table).where(table.c.id == endpoint_id)).one())
        if not endpoint.enabled or not policy.should_disable(endpoint.consecutive_failures):
            return None
        last_error = outcome.error or f"HTTP {outcome.status}"
        reason = (
            f"disabled after {endpoint.consecutive_failures} failed attempts in a row (last: {last_error})"
        )
        conn.execute(
            update(table)
            .where(table.c.id == endpoint_id)
            .values(enabled=False, disabled_reason=reason, updated_at=now)
        )
        outbox.enqueue(
            conn,
            streams.WEBHOOK_ENDPOINT_DISABLED,
            disabled_event(endpoint, last_error, now),
            f"webhook-endpoint-disabled:{endpoint_id}:{now.isoformat()}",
        )
        return DisabledEndpoint(endpoint, last_error)

    # -- the log and replays ------------------------------------------------------------------------------
    def deliveries(
        self,
        *,
        customer_id: str | None,
        endpoint_id: str | None,
        state: str | None,
        before_id: int | None,
        limit: int,
    ) -> list[Delivery]:
        query = select(*_DELIVERY_COLUMNS).join(
            webhook_messages, webhook_messages.c.id == webhook_deliveries.c.message_id
        )
        if customer_id is not None:
            query = query.join(
                webhook_endpoints, webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id
            ).where(webhook_endpoints.c.customer_id == customer_id)
        if endpoint_id is not None:
            query = query.where(webhook_deliveries.c.endpoint_id == endpoint_id)
        if state is not None:
            query = query.where(webhook_deliveries.c.state == state)
        if before_id is not None:
            query = query.where(webhook_deliveries.c.id < before_id)
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(webhook_deliveries.c.id.desc()).limit(limit)).all()
        return [_delivery(row) for row in rows]

    def delivery(self, delivery_id: int) -> tuple[Delivery, Endpoint, list[Attempt]]:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(*_DELIVERY_COLUMNS)
                .join(webhook_messages, webhook_messages.c.id == webhook_deliveries.c.message_id)
                .where(webhook_deliveries.c.id == delivery_id)
            ).first()
            if row is None:
                raise NotFound("webhook delivery", str(delivery_id), "delivery_id")
            delivery = _delivery(row)
            endpoint = _endpoint(
                conn.execute(
                    select(webhook_endpoints).where(webhook_endpoints.c.id == delivery.endpoint_id)
                ).one()
            )
            attempts = [
                Attempt(
                    a.id, a.delivery_id, a.attempted_at, a.status_code, a.error, a.duration_ms, bool(a.replay)
                )
                for a in conn.execute(
                    select(webhook_attempts)
                    .where(webhook_attempts.c.delivery_id == delivery_id)
                    .order_by(webhook_attempts.c.id)
                ).all()
            ]
        return delivery, endpoint, attempts

    def request_replay(self, delivery_id: int, now: datetime) -> None:
        """Sends the delivery once more, now, whatever its state (the message id stays the same)."""
        with self._engine.begin() as conn:
            conn.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id == delivery_id)
                .values(state=PENDING, next_attempt_at=now, replay_requested=True, updated_at=now)
            )

    def state_counts(self, endpoint_ids: Sequence[str]) -> dict[tuple[str, str], int]:
        if not endpoint_ids:
            return {}
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(webhook_deliveries.c.endpoint_id, webhook_deliveries.c.state, func.count())
                .where(webhook_deliveries.c.endpoint_id.in_(endpoint_ids))
                .group_by(webhook_deliveries.c.endpoint_id, webhook_deliveries.c.state)
            ).all()
        return {(row[0], row[1]): row[2] for row in rows}
