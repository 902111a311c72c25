"""Quoting's tables: quotes and the counter that numbers them without gaps."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.engine import RowMapping

from tally.persistence.types import UtcDateTime
from tally.quoting.domain import Quote, QuoteLine, QuoteStatus, QuoteTerms, quote_number

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
    Column("plan_version_id", Text, nullable=False),
    Column("billing_cycle", Text, nullable=False),
    Column("term_months", Integer, nullable=False),
    Column("valid_until", UtcDateTime(), nullable=True),
    Column("start_at", UtcDateTime(), nullable=True),
    Column("lines", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("sequence", name="uq_quotes_sequence"),
    UniqueConstraint("number", name="uq_quotes_number"),
)

numbering = Table(
    "numbering",
    metadata,
    Column("series", Text, primary_key=True),
    Column("last_value", BigInteger, nullable=False),
)
"""One row per number series; the migration seeds ``quote`` at 0."""

QUOTE_SERIES = "quote"


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _lines_json(lines: tuple[QuoteLine, ...]) -> str:
    return json.dumps(
        [
            {
                "charge_id": line.charge_id,
                "description": line.description,
                "estimated_quantity": _decimal(line.estimated_quantity),
                "included_quantity": _decimal(line.included_quantity),
            }
            for line in lines
        ]
    )


def _lines(raw: str) -> tuple[QuoteLine, ...]:
    return tuple(
        QuoteLine(
            charge_id=item["charge_id"],
            description=item["description"],
            estimated_quantity=None
            if item["estimated_quantity"] is None
            else Decimal(item["estimated_quantity"]),
            included_quantity=None
            if item["included_quantity"] is None
            else Decimal(item["included_quantity"]),
        )
        for item in json.loads(raw)
    )


def _quote(row: RowMapping) -> Quote:
    created_at = row["created_at"]
    updated_at = row["updated_at"]
    assert created_at is not None and updated_at is not None
    return Quote(
        id=row["id"],
        number=row["number"],
        status=QuoteStatus(row["status"]),
        version=row["version"],
        terms=QuoteTerms(
            customer_id=row["customer_id"],
            currency=row["currency"],
            plan_version_id=row["plan_version_id"],
            lines=_lines(row["lines"]),
            valid_until=row["valid_until"],
            start_at=row["start_at"],
            billing_cycle=row["billing_cycle"],
            term_months=row["term_months"],
        ),
        created_at=created_at,
        updated_at=updated_at,
    )


class QuoteStore:
    """The quotes table; a new quote takes the next number in the same transaction that stores it."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, make: Callable[[str], Quote]) -> Quote:
        """Store the quote ``make(number)`` builds; a rolled-back insert gives its number back."""
        with self._engine.begin() as conn:
            # The row lock on the series (SQLite: the database write lock) orders concurrent creators, so
            # numbers are assigned once each and, since they commit or roll back with the quote, gap-free.
            sequence = conn.execute(
                update(numbering)
                .where(numbering.c.series == QUOTE_SERIES)
                .values(last_value=numbering.c.last_value + 1)
                .returning(numbering.c.last_value)
            ).scalar_one()
            quote = make(quote_number(sequence))
            conn.execute(insert(quotes).values(sequence=sequence, **_row(quote)))
        return quote

    def get(self, quote_id: str) -> Quote | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(quotes).where(quotes.c.id == quote_id)).mappings().first()
        return None if row is None else _quote(row)

    def list(
        self, *, customer_id: str | None, status: QuoteStatus | None, before_sequence: int | None, limit: int
    ) -> list[tuple[int, Quote]]:
        """Quotes newest first, each with its sequence (the page key), starting below ``before_sequence``."""
        query = select(quotes).order_by(quotes.c.sequence.desc()).limit(limit)
        if customer_id:
            query = query.where(quotes.c.customer_id == customer_id)
        if status is not None:
            query = query.where(quotes.c.status == status.value)
        if before_sequence is not None:
            query = query.where(quotes.c.sequence < before_sequence)
        with self._engine.connect() as conn:
            return [(row["sequence"], _quote(row)) for row in conn.execute(query).mappings()]


def _row(quote: Quote) -> dict[str, Any]:
    terms = quote.terms
    return {
        "id": quote.id,
        "number": quote.number,
        "customer_id": terms.customer_id,
        "status": quote.status.value,
        "version": quote.version,
        "currency": terms.currency,
        "plan_version_id": terms.plan_version_id,
        "billing_cycle": terms.billing_cycle,
        "term_months": terms.term_months,
        "valid_until": terms.valid_until,
        "start_at": terms.start_at,
        "lines": _lines_json(terms.lines),
        "created_at": quote.created_at,
        "updated_at": quote.updated_at,
    }
