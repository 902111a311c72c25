"""Drafts stored before quotes had versions become version 1 with every term they had."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy

from tally.persistence.engine import create_engine
from tally.persistence.migrations import upgrade
from tally.quoting.domain import BillingCycle, QuoteLine, QuoteStatus, UsageAssumption
from tally.quoting.store import QuoteStore

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "quoting" / "migrations"
CREATED = datetime(2026, 5, 1, tzinfo=UTC)


def test_an_old_draft_becomes_version_one_with_its_lines_and_estimates(database_url):
    engine = create_engine(database_url)
    try:
        upgrade(engine, MIGRATIONS, revision="0001")
        lines = [
            {
                "charge_id": "calls",
                "description": "API calls",
                "estimated_quantity": "125000.5",
                "included_quantity": None,
            },
            {
                "charge_id": "platform",
                "description": "",
                "estimated_quantity": None,
                "included_quantity": "0",
            },
        ]
        with engine.begin() as conn:
            conn.execute(
                sqlalchemy.text(
                    "INSERT INTO quotes (id, sequence, number, customer_id, status, version, currency,"
                    " plan_version_id, billing_cycle, term_months, valid_until, start_at, lines, created_at,"
                    " updated_at) VALUES ('q1', 1, 'Q-000001', 'cus-1', 'DRAFT', 1, 'EUR', 'pv-1',"
                    " 'BILLING_CYCLE_MONTHLY', 12, :valid, NULL, :lines, :created, :created)"
                ),
                {"valid": datetime(2026, 6, 1, tzinfo=UTC), "lines": json.dumps(lines), "created": CREATED},
            )
        upgrade(engine, MIGRATIONS)

        quote = QuoteStore(engine).get("q1")
        assert quote is not None
        assert (quote.number, quote.status, quote.version, quote.customer_id) == (
            "Q-000001",
            QuoteStatus.DRAFT,
            1,
            "cus-1",
        )
        terms = quote.terms
        assert (
            terms.currency,
            terms.plan_version_id,
            terms.billing_cycle,
            terms.term_months,
            terms.start_at,
        ) == (
            "EUR",
            "pv-1",
            BillingCycle.MONTHLY,
            12,
            None,
        )
        assert terms.valid_until == datetime(2026, 6, 1, tzinfo=UTC)
        assert terms.lines == (QuoteLine("calls", "API calls"), QuoteLine("platform", "", None, Decimal(0)))
        assert terms.assumptions == (UsageAssumption("", "calls", 0, Decimal("125000.5")),)
        _, transitions = QuoteStore(engine).history("q1")
        assert [(t.from_status, t.to_status, t.at) for t in transitions] == [
            (None, QuoteStatus.DRAFT, CREATED)
        ]
    finally:
        engine.dispose()
