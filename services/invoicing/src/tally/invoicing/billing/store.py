"""What billing runs read and write in invoicing's tables: the invoices they drafted before, late usage, billing
controls and alert firings, each a repository on the caller's connection."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, RowMapping

from tally.invoicing.billing.alerts import Controls
from tally.invoicing.billing.drafting import OPENING, REGULAR, ThresholdInvoice
from tally.invoicing.billing.history import RunKey, RunRecord, RunTrigger
from tally.invoicing.billing.usage import LateUsage
from tally.invoicing.domain import BILLED_STATUSES, Invoice, InvoiceKind, InvoiceStatus
from tally.invoicing.store import SqlInvoices, invoice_from_row
from tally.invoicing.tables import (
    alert_firings,
    billing_controls,
    billing_run_failures,
    billing_runs,
    invoice_lines,
    invoices,
    late_usage,
    late_usage_applied,
)
from tally.pricing import Period

_BILLED = [status.value for status in BILLED_STATUSES]


def _billed_usage() -> ColumnElement[bool]:
    """Invoices whose usage can be corrected: not opening invoices, which bill fees only (re-pricing their
    period's usage against them would bill that usage a second time)."""
    return or_(invoices.c.billing_key.is_(None), ~invoices.c.billing_key.like(f"%|{OPENING}"))


def _issued_usage_overlapping(period: Period) -> list[ColumnElement[bool]]:
    """Issued REGULAR invoices of usage whose period overlaps ``period``."""
    return [
        invoices.c.kind == InvoiceKind.REGULAR.value,
        invoices.c.status.in_(_BILLED),
        invoices.c.period_start < period.end,
        invoices.c.period_end > period.start,
        _billed_usage(),
    ]


def _threshold_invoice(row: RowMapping) -> ThresholdInvoice:
    return ThresholdInvoice(row["id"], row["number"], Decimal(row["subtotal"]), Decimal(row["tax"]))


class SqlBilledInvoices:
    """The BilledInvoices repository on one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def billed_through(self) -> dict[str, datetime]:
        rows = self._conn.execute(
            select(invoices.c.subscription_id, func.max(invoices.c.period_end))
            .where(
                invoices.c.billing_key.like(f"%|{REGULAR}"),
                invoices.c.status != InvoiceStatus.DRAFT.value,
            )
            .group_by(invoices.c.subscription_id)
        ).all()
        return {subscription_id: end for subscription_id, end in rows if end is not None}

    def drafted(self, keys: Sequence[str]) -> dict[str, Invoice]:
        rows = self._conn.execute(select(invoices).where(invoices.c.billing_key.in_(list(keys)))).mappings()
        return {row["billing_key"]: invoice_from_row(row) for row in rows}

    def threshold_invoices(self, subscription_id: str, period: Period) -> list[ThresholdInvoice]:
        rows = self._conn.execute(
            select(invoices.c.id, invoices.c.number, invoices.c.subtotal, invoices.c.tax)
            .where(
                invoices.c.subscription_id == subscription_id,
                invoices.c.kind == InvoiceKind.THRESHOLD.value,
                invoices.c.period_start == period.start,
                invoices.c.status.in_(_BILLED),
            )
            .order_by(invoices.c.issued_at)
        ).mappings()
        return [_threshold_invoice(row) for row in rows]

    def all_threshold_invoices(self) -> dict[tuple[str, datetime], list[ThresholdInvoice]]:
        rows = self._conn.execute(
            select(
                invoices.c.subscription_id,
                invoices.c.period_start,
                invoices.c.id,
                invoices.c.number,
                invoices.c.subtotal,
                invoices.c.tax,
            )
            .where(invoices.c.kind == InvoiceKind.THRESHOLD.value, invoices.c.status.in_(_BILLED))
            .order_by(invoices.c.issued_at)
        ).mappings()
        found: dict[tuple[str, datetime], list[ThresholdInvoice]] = {}
        for row in rows:
            found.setdefault((row["subscription_id"], row["period_start"]), []).append(
                _threshold_invoice(row)
            )
        return found

    def count_kind(self, subscription_id: str, period: Period, kind: InvoiceKind) -> int:
        return self._conn.execute(
            select(func.count())
            .select_from(invoices)
            .where(
                invoices.c.subscription_id == subscription_id,
                invoices.c.kind == kind.value,
                invoices.c.period_start == period.start,
            )
        ).scalar_one()

    def usage_billed_overlapping(self, subscription_id: str, period: Period) -> list[Invoice]:
        ids = self._conn.execute(
            select(invoices.c.id)
            .where(invoices.c.subscription_id == subscription_id, *_issued_usage_overlapping(period))
            .order_by(invoices.c.period_start)
        ).scalars()
        found = SqlInvoices(self._conn)
        return [invoice for invoice_id in ids.all() if (invoice := found.get(invoice_id)) is not None]

    def corrections_of(self, invoice_id: str) -> Decimal:
        rows = self._conn.execute(
            select(invoice_lines.c.amount)
            .join(invoices, invoices.c.id == invoice_lines.c.invoice_id)
            .where(
                invoice_lines.c.corrects_invoice_id == invoice_id,
                invoice_lines.c.event_ids.is_not(None),
                invoices.c.status != InvoiceStatus.VOID.value,
            )
        ).scalars()
        return sum((Decimal(amount) for amount in rows), Decimal(0))

    def subscriptions_billed_overlapping(self, customer_id: str, period: Period) -> set[str]:
        return set(
            self._conn.execute(
                select(invoices.c.subscription_id)
                .distinct()
                .where(invoices.c.customer_id == customer_id, *_issued_usage_overlapping(period))
            ).scalars()
        )


class SqlLateUsage:
    """The LateUsageRepository on one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, usage: LateUsage, *, cause: str, detected_at: datetime) -> bool:
        if self._conn.execute(select(late_usage.c.id).where(late_usage.c.id == usage.id)).first() is not None:
            return False
        self._conn.execute(
            insert(late_usage).values(
                id=usage.id,
                customer_id=usage.customer,
                meter_ids=json.dumps(list(usage.meter_ids)),
                event_ids=json.dumps(list(usage.event_ids)),
                cause=cause,
                period_start=usage.period.start,
                period_end=usage.period.end,
                detected_at=detected_at,
            )
        )
        return True

    def pending(self) -> dict[str, list[LateUsage]]:
        rows = self._conn.execute(
            select(late_usage)
            .where(late_usage.c.applied_invoice_id.is_(None))
            .order_by(late_usage.c.detected_at, late_usage.c.id)
        ).mappings()
        waiting = list(rows)
        applied: dict[str, set[str]] = {}
        for late_id, subscription_id in self._conn.execute(
            select(late_usage_applied.c.late_usage_id, late_usage_applied.c.subscription_id)
            .join(late_usage, late_usage.c.id == late_usage_applied.c.late_usage_id)
            .where(late_usage.c.applied_invoice_id.is_(None))
        ):
            applied.setdefault(late_id, set()).add(subscription_id)
        found: dict[str, list[LateUsage]] = {}
        for row in waiting:
            found.setdefault(row["customer_id"], []).append(
                LateUsage(
                    row["id"],
                    row["customer_id"],
                    tuple(json.loads(row["meter_ids"])),
                    tuple(json.loads(row["event_ids"])),
                    Period(row["period_start"], row["period_end"]),
                    frozenset(applied.get(row["id"], ())),
                )
            )
        return found

    def record_applied(self, late_ids: Sequence[str], subscription_id: str, invoice_id: str) -> None:
        self._conn.execute(
            insert(late_usage_applied),
            [
                {"late_usage_id": late_id, "subscription_id": subscription_id, "invoice_id": invoice_id}
                for late_id in late_ids
            ],
        )

    def periods(self, late_ids: Sequence[str]) -> list[tuple[str, Period]]:
        rows = self._conn.execute(
            select(late_usage.c.id, late_usage.c.period_start, late_usage.c.period_end).where(
                late_usage.c.id.in_(list(late_ids))
            )
        ).all()
        return [(late_id, Period(start, end)) for late_id, start, end in rows]

    def accounted(self, late_id: str) -> set[str]:
        return set(
            self._conn.execute(
                select(late_usage_applied.c.subscription_id).where(
                    late_usage_applied.c.late_usage_id == late_id
                )
            ).scalars()
        )

    def mark_done(self, late_id: str, invoice_id: str) -> None:
        self._conn.execute(
            update(late_usage).where(late_usage.c.id == late_id).values(applied_invoice_id=invoice_id)
        )


def _controls(row: RowMapping) -> Controls:
    threshold = row["invoice_threshold"]
    return Controls(
        subscription_id=row["subscription_id"],
        currency=row["currency"],
        invoice_threshold=None if threshold is None else Decimal(threshold),
        spend_alerts=tuple(Decimal(v) for v in json.loads(row["spend_alerts"])),
        usage_alerts=tuple(
            (a["charge_id"], Decimal(a["threshold"])) for a in json.loads(row["usage_alerts"])
        ),
    )


class SqlControls:
    """The ControlsRepository on one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def all(self) -> dict[str, Controls]:
        rows = self._conn.execute(select(billing_controls)).mappings()
        return {row["subscription_id"]: _controls(row) for row in rows}

    def get(self, subscription_id: str) -> Controls | None:
        row = (
            self._conn.execute(
                select(billing_controls).where(billing_controls.c.subscription_id == subscription_id)
            )
            .mappings()
            .first()
        )
        return None if row is None else _controls(row)

    def put(self, controls: Controls, *, now: datetime) -> None:
        self._conn.execute(
            delete(billing_controls).where(billing_controls.c.subscription_id == controls.subscription_id)
        )
        self._conn.execute(
            insert(billing_controls).values(
                subscription_id=controls.subscription_id,
                currency=controls.currency,
                invoice_threshold=None
                if controls.invoice_threshold is None
                else str(controls.invoice_threshold),
                spend_alerts=json.dumps([str(v) for v in controls.spend_alerts]),
                usage_alerts=json.dumps(
                    [
                        {"charge_id": charge, "threshold": str(quantity)}
                        for charge, quantity in controls.usage_alerts
                    ]
                ),
                updated_at=now,
            )
        )


class SqlAlertFirings:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def fire_once(self, subscription_id: str, alert: str, period_start: datetime, *, at: datetime) -> bool:
        seen = self._conn.execute(
            select(alert_firings.c.alert).where(
                alert_firings.c.subscription_id == subscription_id,
                alert_firings.c.alert == alert,
                alert_firings.c.period_start == period_start,
            )
        ).first()
        if seen is not None:
            return False
        self._conn.execute(
            insert(alert_firings).values(
                subscription_id=subscription_id, alert=alert, period_start=period_start, fired_at=at
            )
        )
        return True


class SqlBillingRuns:
    """The BillingRunLog on one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def start(self, run: RunRecord) -> None:
        self._conn.execute(
            insert(billing_runs).values(
                id=run.id, trigger=run.trigger.value, as_of=run.as_of, started_at=run.started_at
            )
        )

    def finish(self, run: RunRecord) -> None:
        self._conn.execute(
            update(billing_runs)
            .where(billing_runs.c.id == run.id)
            .values(
                finished_at=run.finished_at,
                evaluated=run.evaluated,
                drafted=run.drafted,
                finalized=run.finalized,
                failed=len(run.failures),
                error=run.error,
            )
        )
        if run.failures:
            self._conn.execute(
                insert(billing_run_failures),
                [
                    {"run_id": run.id, "subscription_id": subscription_id, "reason": reason}
                    for subscription_id, reason in dict(run.failures).items()
                ],
            )

    def recent(self, *, after: RunKey | None, limit: int) -> list[RunRecord]:
        query = (
            select(billing_runs)
            .order_by(billing_runs.c.started_at.desc(), billing_runs.c.id.desc())
            .limit(limit)
        )
        if after is not None:
            query = query.where(
                or_(
                    billing_runs.c.started_at < after.started_at,
                    and_(billing_runs.c.started_at == after.started_at, billing_runs.c.id < after.id),
                )
            )
        rows = list(self._conn.execute(query).mappings())
        failures: dict[str, list[tuple[str, str]]] = {row["id"]: [] for row in rows}
        if rows:
            for run_id, subscription_id, reason in self._conn.execute(
                select(
                    billing_run_failures.c.run_id,
                    billing_run_failures.c.subscription_id,
                    billing_run_failures.c.reason,
                )
                .where(billing_run_failures.c.run_id.in_(list(failures)))
                .order_by(billing_run_failures.c.subscription_id)
            ):
                failures[run_id].append((subscription_id, reason))
        return [
            RunRecord(
                id=row["id"],
                trigger=RunTrigger(row["trigger"]),
                as_of=row["as_of"],
                started_at=row["started_at"],
                finished_at=row["finished_at"],
                evaluated=row["evaluated"],
                drafted=row["drafted"],
                finalized=row["finalized"],
                failures=tuple(failures[row["id"]]),
                error=row["error"],
            )
            for row in rows
        ]
