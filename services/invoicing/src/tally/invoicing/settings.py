"""Invoicing's settings beyond the mesh's: payment terms and who issues the invoices."""

from __future__ import annotations

from dataclasses import dataclass

from tally.mesh.settings import parse_bool, parse_port, setting


def parse_count(raw: str) -> int:
    """A whole number (of days, minutes, seconds...), zero or more."""
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(f"{raw!r} is not a whole number") from None
    if value < 0:
        raise ValueError(f"{raw!r} is negative")
    return value


def parse_waits(raw: str) -> tuple[float, ...]:
    """Seconds to wait before each retry, comma separated: ``5,30,120``."""
    try:
        waits = tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"{raw!r} is not a comma-separated list of seconds") from None
    if not waits or any(wait < 0 or wait != wait for wait in waits):
        raise ValueError(f"{raw!r} needs at least one wait, each ≥ 0 seconds")
    return waits


def parse_address(raw: str) -> tuple[str, ...]:
    """Address lines separated by ``|``: ``1 Ledger Lane|London EC1A 1AA``; blank lines are dropped."""
    return tuple(line.strip() for line in raw.split("|") if line.strip())


@dataclass(frozen=True)
class InvoicingSettings:
    """Invoicing-specific settings: payment terms, the default issuer, peers, billing runs, delivery."""

    payment_terms_days: int = setting(
        "TALLY_INVOICE_PAYMENT_TERMS_DAYS",
        default=30,
        parse=parse_count,
        doc="days from issue to due date of a finalized invoice",
    )
    """A finalized invoice is due this many days after it is issued (due_at = issued_at + terms)."""

    issuer_name: str = setting(
        "TALLY_INVOICE_ISSUER_NAME",
        default="Tally Demo Ltd",
        doc="name of the issuer printed on invoice and credit note PDFs",
    )
    """Who issues the invoices, as printed at the top of every PDF."""
    issuer_address: tuple[str, ...] = setting(
        "TALLY_INVOICE_ISSUER_ADDRESS",
        default=(),
        parse=parse_address,
        doc="issuer's address lines on the PDFs, separated by |",
    )
    """The issuer's address, one printed line each."""
    issuer_email: str = setting(
        "TALLY_INVOICE_ISSUER_EMAIL", default="", doc="issuer's e-mail address on the PDFs"
    )
    """Printed under the issuer's address; empty prints none."""
    issuer_tax_id: str = setting(
        "TALLY_INVOICE_ISSUER_TAX_ID", default="", doc="issuer's tax id (VAT number) on the PDFs"
    )
    """Printed as "Tax ID: …"; empty prints none."""

    catalog_target: str = setting(
        "TALLY_CATALOG_TARGET",
        default="",
        doc="catalog's gRPC address (host:port or dns:///name:port); billing runs and previews need it",
    )
    metering_target: str = setting(
        "TALLY_METERING_TARGET",
        default="",
        doc="metering's gRPC address; billing runs and previews need it",
    )
    grace_minutes: int = setting(
        "TALLY_BILLING_GRACE_MINUTES",
        default=60,
        parse=parse_count,
        doc="minutes after a period ends during which its draft is re-rated with late usage before finalizing",
    )
    run_interval_seconds: int = setting(
        "TALLY_BILLING_INTERVAL_SECONDS",
        default=0,
        parse=parse_count,
        doc="seconds between scheduled billing runs (0: only when RunBilling is called)",
    )
    smtp_host: str = setting(
        "TALLY_SMTP_HOST",
        default="",
        doc="mail server finalized invoices and credit notes are e-mailed through (empty: none are e-mailed)",
    )
    smtp_port: int = setting("TALLY_SMTP_PORT", default=587, parse=parse_port, doc="the mail server's port")
    smtp_sender: str = setting(
        "TALLY_SMTP_FROM",
        default="billing@tally.invalid",
        doc="address delivered documents are sent from (the issuing entity's name is its display name)",
    )
    smtp_username: str = setting("TALLY_SMTP_USERNAME", default="", doc="login at the mail server, if any")
    smtp_password: str = setting("TALLY_SMTP_PASSWORD", default="", doc="password of that login", secret=True)
    smtp_starttls: bool = setting(
        "TALLY_SMTP_STARTTLS", default=False, parse=parse_bool, doc="upgrade the connection with STARTTLS"
    )
    smtp_timeout_seconds: int = setting(
        "TALLY_SMTP_TIMEOUT_SECONDS",
        default=10,
        parse=parse_count,
        doc="timeout of one hand-over to the server",
    )
    delivery_retry_seconds: tuple[float, ...] = setting(
        "TALLY_DELIVERY_RETRY_SECONDS",
        default=(5.0, 30.0, 120.0, 600.0, 3600.0, 21600.0),
        parse=parse_waits,
        doc="waits before each retry of a failed delivery, comma separated; when spent, the delivery fails",
    )
    concurrency: int = setting(
        "TALLY_BILLING_CONCURRENCY",
        default=256,
        parse=parse_count,
        doc="subscriptions a billing run bills at once",
    )
