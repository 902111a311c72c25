"""Invoicing's database transactions: every repository bound to one connection, committed only when the use case
says so (the Transactions port of every capability, on SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from tally.invoicing.billing.store import (
    SqlAlertFirings,
    SqlBilledInvoices,
    SqlBillingRuns,
    SqlControls,
    SqlLateUsage,
)
from tally.invoicing.credit_ledger.store import SqlCreditLedger
from tally.invoicing.credit_notes.store import SqlCreditNotes
from tally.invoicing.delivery.store import SqlDeliveries
from tally.invoicing.store import (
    SqlEntityLogos,
    SqlInbox,
    SqlInvoices,
    SqlNumberSeries,
    SqlOutbox,
    SqlPayments,
)


class SqlTransaction:
    """One connection's transaction and the repositories on it."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.invoices = SqlInvoices(conn)
        self.payments = SqlPayments(conn)
        self.numbers = SqlNumberSeries(conn)
        self.ledger = SqlCreditLedger(conn)
        self.inbox = SqlInbox(conn)
        self.outbox = SqlOutbox(conn)
        self.credit_notes = SqlCreditNotes(conn)
        self.billed = SqlBilledInvoices(conn)
        self.late_usage = SqlLateUsage(conn)
        self.controls = SqlControls(conn)
        self.alert_firings = SqlAlertFirings(conn)
        self.runs = SqlBillingRuns(conn)
        self.logos = SqlEntityLogos(conn)
        self.deliveries = SqlDeliveries(conn)

    def commit(self) -> None:
        self._conn.commit()


class SqlTransactions:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def begin(self) -> Iterator[SqlTransaction]:
        """The connection's transaction starts with its first statement; closing the connection without a commit
        rolls it back."""
        with self._engine.connect() as conn:
            yield SqlTransaction(conn)
