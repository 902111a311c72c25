"""Quoting's tables: quotes, every version's terms, the approvals each version needs, every transition."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, RowMapping

from tally.domain.errors import Conflict
from tally.persistence import inbox, outbox
from tally.persistence.types import UtcDateTime
from tally.quoting.domain import (
    Acceptance,
    Quote,
    QuoteStatus,
    QuoteVersion,
    RequiredApproval,
    Transition,
    quote_number,
)
from tally.quoting.stored_terms import dump_terms, load_terms

metadata = MetaData()

quotes = Table(
    "quotes",
    metadata,
    Column("id", Text, primary_key=True),
    Column("sequence", BigInteger, nullable=False),
    Column("number", Text, nullable=False),
    Column("customer_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("currency", Text, nullable=False),
    Column("valid_until", UtcDateTime(), nullable=True),
    Column("subscription_id", Text, nullable=True),
    Column("rejection_reason", Text, nullable=False),
    Column("signer_name", Text, nullable=True),
    Column("signer_email", Text, nullable=True),
    Column("accepted_at", UtcDateTime(), nullable=True),
    Column("revision", BigInteger, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("sequence", name="uq_quotes_sequence"),
    UniqueConstraint("number", name="uq_quotes_number"),
)
"""One row per quote: its current state; ``revision`` counts writes, so concurrent changes conflict."""

quote_versions = Table(
    "quote_versions",
    metadata,
    Column("quote_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("terms", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("quote_id", "version"),
)

quote_approvals = Table(
    "quote_approvals",
    metadata,
    Column("quote_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("rule_id", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("approver_role", Text, nullable=False),
    Column("approved_by", Text, nullable=True),
    Column("approved_at", UtcDateTime(), nullable=True),
    PrimaryKeyConstraint("quote_id", "version", "rule_id"),
)

quote_transitions = Table(
    "quote_transitions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("quote_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("from_status", Text, nullable=True),
    Column("to_status", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("reason", Text, nullable=False),
)

numbering = Table(
    "numbering",
    metadata,
    Column("series", Text, primary_key=True),
    Column("last_value", BigInteger, nullable=False),
)
"""One row per number series; the first migration seeds ``quote`` at 0."""

QUOTE_SERIES = "quote"


@dataclass(frozen=True)
class OutboxMessage:
    """An event to publish if, and only if, the transaction writing it commits."""

    subject: str
    msg_id: str
    payload: bytes


def _head(quote: Quote) -> dict[str, Any]:
    acceptance = quote.acceptance
    return {
        "id": quote.id,
        "number": quote.number,
        "customer_id": quote.customer_id or quote.terms.customer_id,
        "status": quote.status.value,
        "version": quote.version,
        "currency": quote.terms.currency,
        "valid_until": quote.terms.valid_until,
        "subscription_id": quote.subscription_id or None,
        "rejection_reason": quote.rejection_reason,
        "signer_name": None if acceptance is None else acceptance.signer_name,
        "signer_email": None if acceptance is None else acceptance.signer_email,
        "accepted_at": None if acceptance is None else acceptance.accepted_at,
        "created_at": quote.created_at,
        "updated_at": quote.updated_at,
    }


def _transition(row: RowMapping) -> Transition:
    return Transition(
        from_status=None if row["from_status"] is None else QuoteStatus(row["from_status"]),
        to_status=QuoteStatus(row["to_status"]),
        version=row["version"],
        actor=row["actor"],
        at=row["at"],
        reason=row["reason"],
    )


class QuoteTransaction:
    """One transaction over quoting's tables: a quote read, changed and written back with what it emits."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._revisions: dict[str, int] = {}

    def next_number(self) -> tuple[int, str]:
        """The next sequence and number; a rolled-back transaction gives it back, so numbers have no gaps."""
        # The row lock on the series (SQLite: the database write lock) orders concurrent creators.
        sequence = self._conn.execute(
            update(numbering)
            .where(numbering.c.series == QUOTE_SERIES)
            .values(last_value=numbering.c.last_value + 1)
            .returning(numbering.c.last_value)
        ).scalar_one()
        return sequence, quote_number(sequence)

    def add(self, quote: Quote, sequence: int, created_by: str) -> None:
        """A new quote with its first version."""
        self._conn.execute(insert(quotes).values(sequence=sequence, revision=1, **_head(quote)))
        self._revisions[quote.id] = 1
        self._add_version(quote, created_by)

    def _add_version(self, quote: Quote, created_by: str) -> None:
        self._conn.execute(
            insert(quote_versions).values(
                quote_id=quote.id,
                version=quote.version,
                terms=dump_terms(quote.terms),
                created_by=created_by,
                created_at=quote.updated_at,
            )
        )

    def get(self, quote_id: str) -> Quote | None:
        row = self._conn.execute(select(quotes).where(quotes.c.id == quote_id)).mappings().first()
        if row is None:
            return None
        self._revisions[quote_id] = row["revision"]
        return _read_quote(self._conn, row)

    def save(self, quote: Quote, *, by: str) -> None:
        """Write the quote back (its approvals and, for a new version, its terms); Conflict if another
        transaction changed it since this one read it."""
        read = self._revisions[quote.id]
        changed = self._conn.execute(
            update(quotes)
            .where(quotes.c.id == quote.id, quotes.c.revision == read)
            .values(revision=read + 1, **_head(quote))
        )
        if changed.rowcount != 1:
            raise Conflict(f"quote {quote.number} changed concurrently; read it again and retry")
        self._revisions[quote.id] = read + 1
        stored = self._conn.execute(
            select(quote_versions.c.version).where(
                quote_versions.c.quote_id == quote.id, quote_versions.c.version == quote.version
            )
        ).first()
        if stored is None:
            self._add_version(quote, by)
        self._conn.execute(
            delete(quote_approvals).where(
                quote_approvals.c.quote_id == quote.id, quote_approvals.c.version == quote.version
            )
        )
        if quote.approvals:
            self._conn.execute(
                insert(quote_approvals),
                [
                    {
                        "quote_id": quote.id,
                        "version": quote.version,
                        "rule_id": a.rule_id,
                        "reason": a.reason,
                        "approver_role": a.approver_role,
                        "approved_by": a.approved_by or None,
                        "approved_at": a.approved_at,
                    }
                    for a in quote.approvals
                ],
            )

    def record(self, quote_id: str, transition: Transition) -> None:
        self._conn.execute(
            insert(quote_transitions).values(
                quote_id=quote_id,
                version=transition.version,
                from_status=None if transition.from_status is None else transition.from_status.value,
                to_status=transition.to_status.value,
                actor=transition.actor,
                at=transition.at,
                reason=transition.reason,
            )
        )

    def enqueue(self, message: OutboxMessage) -> None:
        outbox.enqueue(self._conn, message.subject, message.payload, message.msg_id)

    def claim(self, consumer: str, msg_id: str) -> bool:
        return inbox.claim(self._conn, consumer, msg_id)


def _read_quote(conn: Connection, row: RowMapping) -> Quote:
    terms = conn.execute(
        select(quote_versions.c.terms).where(
            quote_versions.c.quote_id == row["id"], quote_versions.c.version == row["version"]
        )
    ).scalar_one()
    approvals = conn.execute(
        select(quote_approvals)
        .where(quote_approvals.c.quote_id == row["id"], quote_approvals.c.version == row["version"])
        .order_by(quote_approvals.c.rule_id)
    ).mappings()
    acceptance = None
    if row["accepted_at"] is not None:
        acceptance = Acceptance(row["signer_name"], row["signer_email"], row["accepted_at"])
    return Quote(
        id=row["id"],
        number=row["number"],
        status=QuoteStatus(row["status"]),
        version=row["version"],
        terms=load_terms(terms, f"quote_versions[{row['id']}, {row['version']}].terms"),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        approvals=tuple(
            RequiredApproval(
                a["rule_id"], a["reason"], a["approver_role"], a["approved_by"] or "", a["approved_at"]
            )
            for a in approvals
        ),
        acceptance=acceptance,
        subscription_id=row["subscription_id"] or "",
        customer_id=row["customer_id"],
        rejection_reason=row["rejection_reason"],
    )


class QuoteStore:
    """Quotes, their versions, approvals and transitions; changes go through ``transaction``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def transaction(self) -> Iterator[QuoteTransaction]:
        with self._engine.begin() as conn:
            yield QuoteTransaction(conn)

    def get(self, quote_id: str) -> Quote | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(quotes).where(quotes.c.id == quote_id)).mappings().first()
            return None if row is None else _read_quote(conn, row)

    def listing(
        self,
        *,
        customer_id: str | None,
        status: QuoteStatus | None,
        now: datetime,
        before_sequence: int | None,
        limit: int,
    ) -> list[tuple[int, Quote]]:
        """Quotes newest first with their sequence (the page key), below ``before_sequence``; ``status``
        as readers see it (an open quote past valid_until is EXPIRED)."""
        query = select(quotes).order_by(quotes.c.sequence.desc()).limit(limit)
        if customer_id:
            query = query.where(quotes.c.customer_id == customer_id)
        if status is not None:
            open_statuses = ("DRAFT", "SUBMITTED", "APPROVED", "REJECTED")
            lapsed = and_(
                quotes.c.status.in_(open_statuses),
                quotes.c.valid_until.is_not(None),
                quotes.c.valid_until <= now,
            )
            if status is QuoteStatus.EXPIRED:
                query = query.where(or_(quotes.c.status == status.value, lapsed))
            else:
                query = query.where(quotes.c.status == status.value, ~lapsed)
        if before_sequence is not None:
            query = query.where(quotes.c.sequence < before_sequence)
        with self._engine.connect() as conn:
            return [(row["sequence"], _read_quote(conn, row)) for row in conn.execute(query).mappings().all()]

    def history(self, quote_id: str) -> tuple[list[QuoteVersion], list[Transition]]:
        with self._engine.connect() as conn:
            versions = [
                QuoteVersion(
                    row["version"],
                    load_terms(row["terms"], f"quote_versions[{quote_id}, {row['version']}].terms"),
                    row["created_by"],
                    row["created_at"],
                )
                for row in conn.execute(
                    select(quote_versions)
                    .where(quote_versions.c.quote_id == quote_id)
                    .order_by(quote_versions.c.version)
                ).mappings()
            ]
            transitions = [
                _transition(row)
                for row in conn.execute(
                    select(quote_transitions)
                    .where(quote_transitions.c.quote_id == quote_id)
                    .order_by(quote_transitions.c.id)
                ).mappings()
            ]
        return versions, transitions
