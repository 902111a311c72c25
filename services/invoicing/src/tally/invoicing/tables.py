"""Invoicing's tables (SQLAlchemy Core): the schema its migrations create, in one place."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from tally.persistence.types import UtcDateTime

metadata = MetaData()

invoices = Table(
    "invoices",
    metadata,
    Column("id", Text, primary_key=True),
    Column("number", Text, nullable=True),
    Column("customer_id", Text, nullable=False),
    Column("subscription_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("period_start", UtcDateTime(), nullable=False),
    Column("period_end", UtcDateTime(), nullable=False),
    # Amounts are decimal strings: exact on every database, never floats.
    Column("subtotal", Text, nullable=False),
    Column("tax", Text, nullable=False),
    Column("credits_applied", Text, nullable=False),
    Column("total", Text, nullable=False),
    Column("amount_due", Text, nullable=False),
    Column("issued_at", UtcDateTime(), nullable=True),
    Column("due_at", UtcDateTime(), nullable=True),
    Column("paid_at", UtcDateTime(), nullable=True),
    Column("voided_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("kind", Text, nullable=False, server_default="REGULAR"),
    Column("billing_key", Text, nullable=True),
    Column("customer_snapshot", Text, nullable=True),
    Column("usage_read_at", UtcDateTime(), nullable=True),
    Column("usage_watermark", BigInteger, nullable=True),
    Column("credits_before_tax", Text, nullable=False, server_default="0"),
    Column("credited", Text, nullable=False, server_default="0"),
    Column("paid", Text, nullable=False, server_default="0"),
    Column("issuer_snapshot", Text, nullable=True),
    Column("document_references", Text, nullable=True),
    UniqueConstraint("number", name="uq_invoices_number"),
    UniqueConstraint("billing_key", name="uq_invoices_billing_key"),
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("id", Text, primary_key=True),
    Column("invoice_id", Text, ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("kind", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("charge_id", Text, nullable=False),
    Column("meter_id", Text, nullable=False),
    Column("quantity", Text, nullable=True),
    Column("unit_price", Text, nullable=True),
    Column("amount", Text, nullable=False),
    Column("tax", Text, nullable=False),
    Column("tax_rate_percent", Text, nullable=True),
    Column("currency", Text, nullable=False),
    Column("service_period_start", UtcDateTime(), nullable=True),
    Column("service_period_end", UtcDateTime(), nullable=True),
    Column("breakdown", Text, nullable=True),
    Column("event_ids", Text, nullable=True),
    Column("group_values", Text, nullable=True),
    Column("corrects_invoice_id", Text, nullable=True),
    UniqueConstraint("invoice_id", "position", name="uq_invoice_lines_position"),
)

number_series = Table(
    "number_series",
    metadata,
    Column("series", Text, primary_key=True),
    Column("next_value", BigInteger, nullable=False),
)
"""The next value of each gapless series (``INV-2026``, ``CN-2026``)."""

payments = Table(
    "payments",
    metadata,
    Column("payment_id", Text, primary_key=True),
    Column("invoice_id", Text, ForeignKey("invoices.id"), nullable=False),
    Column("erp", Text, nullable=False),
    Column("amount", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("erp_reference", Text, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

credit_notes = Table(
    "credit_notes",
    metadata,
    Column("id", Text, primary_key=True),
    Column("number", Text, nullable=False),
    Column("invoice_id", Text, ForeignKey("invoices.id"), nullable=False),
    Column("customer_id", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("memo", Text, nullable=False),
    Column("subtotal", Text, nullable=False),
    Column("tax", Text, nullable=False),
    Column("total", Text, nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("applied", Text, nullable=False, server_default="0"),
    Column("carried_forward", Text, nullable=False, server_default="0"),
    UniqueConstraint("number", name="uq_credit_notes_number"),
)

credit_note_lines = Table(
    "credit_note_lines",
    metadata,
    Column("id", Text, primary_key=True),
    Column("credit_note_id", Text, ForeignKey("credit_notes.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("invoice_line_id", Text, nullable=True),
    Column("description", Text, nullable=False),
    Column("quantity", Text, nullable=True),
    Column("amount", Text, nullable=False),
    Column("tax", Text, nullable=False),
    Column("event_ids", Text, nullable=True),
    UniqueConstraint("credit_note_id", "position", name="uq_credit_note_lines_position"),
)

credit_grants = Table(
    "credit_grants",
    metadata,
    Column("id", Text, primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("amount", Text, nullable=False),
    Column("cost_basis", Text, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("effective_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("before_tax", Boolean, nullable=False, server_default=false()),
    Column("source", Text, nullable=False, server_default="CATALOG"),
)
"""Credit grants: catalog's, copied (source CATALOG), and customer credit carried beyond an invoice by a credit
note or an overpayment (source CREDIT_NOTE, PAYMENT). What was granted; what is left is the ledger's sum."""

credit_ledger = Table(
    "credit_ledger",
    metadata,
    Column("id", Text, primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("credit_grant_id", Text, ForeignKey("credit_grants.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("amount", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("grant_balance_after", Text, nullable=False),
    Column("invoice_id", Text, nullable=True),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("description", Text, nullable=False),
)
"""One signed movement per grant: GRANTED (+), BURNED (−), EXPIRED (−), REVERSED (+)."""

late_usage = Table(
    "late_usage",
    metadata,
    Column("id", Text, primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("meter_ids", Text, nullable=False),
    Column("event_ids", Text, nullable=False),
    Column("cause", Text, nullable=False),
    Column("period_start", UtcDateTime(), nullable=False),
    Column("period_end", UtcDateTime(), nullable=False),
    Column("detected_at", UtcDateTime(), nullable=False),
    Column("applied_invoice_id", Text, nullable=True),
)
"""UsageLate messages waiting to become adjustment lines on a customer's next invoice; ``applied_invoice_id``
is set once every subscription it concerns has accounted for it."""

late_usage_applied = Table(
    "late_usage_applied",
    metadata,
    Column("late_usage_id", Text, primary_key=True),
    Column("subscription_id", Text, primary_key=True),
    Column("invoice_id", Text, nullable=False),
)
"""Which subscription's invoice accounted for a late-usage row (one customer may have several subscriptions)."""

billing_controls = Table(
    "billing_controls",
    metadata,
    Column("subscription_id", Text, primary_key=True),
    Column("currency", Text, nullable=False),
    Column("invoice_threshold", Text, nullable=True),
    Column("spend_alerts", Text, nullable=False),
    Column("usage_alerts", Text, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

alert_firings = Table(
    "alert_firings",
    metadata,
    Column("subscription_id", Text, primary_key=True),
    Column("alert", Text, primary_key=True),
    Column("period_start", UtcDateTime(), primary_key=True),
    Column("fired_at", UtcDateTime(), nullable=False),
)

billing_runs = Table(
    "billing_runs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("trigger", Text, nullable=False),
    Column("as_of", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("evaluated", Integer, nullable=False, server_default="0"),
    Column("drafted", Integer, nullable=False, server_default="0"),
    Column("finalized", Integer, nullable=False, server_default="0"),
    Column("failed", Integer, nullable=False, server_default="0"),
    Column("error", Text, nullable=False, server_default=""),
)
"""Every billing run, with its counts; ``error`` when the run itself failed."""

billing_run_failures = Table(
    "billing_run_failures",
    metadata,
    Column("run_id", Text, ForeignKey("billing_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("subscription_id", Text, primary_key=True),
    Column("reason", Text, nullable=False),
)

legal_entities = Table(
    "legal_entities",
    metadata,
    Column("id", Text, primary_key=True),
    Column("logo", LargeBinary, nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)
"""Each issuing entity's logo as catalog last served it (the printed text is on each invoice's snapshot)."""

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Text, primary_key=True),
    Column("document_kind", Text, nullable=False),
    Column("document_id", Text, nullable=False),
    Column("document_number", Text, nullable=False),
    Column("customer_id", Text, nullable=False),
    Column("recipients", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("leased_until", UtcDateTime(), nullable=True),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("message_id", Text, nullable=False, server_default=""),
    Column("sent_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)
"""One e-mail per issued document (and per resend request): its recipients, state and schedule."""

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", Text, ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("attempted_at", UtcDateTime(), nullable=False),
    Column("outcome", Text, nullable=False),
    Column("detail", Text, nullable=False),
)
"""Every attempt to hand a delivery to the SMTP server: its outcome and the server's answer or error."""
