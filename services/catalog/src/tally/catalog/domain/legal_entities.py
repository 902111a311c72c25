"""Legal entities: the companies of a group that issue invoices, each with its own details and number series, and
what makes one valid."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from tally.catalog.domain.customers import Address, address_violations
from tally.domain.errors import FieldViolation, InvalidArgument

MAX_LOGO_BYTES = 512 * 1024
MAX_PAYMENT_TERMS_DAYS = 365
MAX_REMITTANCE_LINES = 8
NUMBER_PREFIX = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")
"""Capital letters and digits, a letter first, at most 8: printed ahead of every number of its series."""
RESERVED_PREFIXES = frozenset({"INV", "CN"})
"""The install's own series (an empty prefix uses them)."""
LOCALE = re.compile(r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")
LOGO_TYPES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
MUTABLE_LEGAL_ENTITY_FIELDS = (
    "legal_name",
    "address",
    "tax_id",
    "registration_id",
    "email",
    "remittance_lines",
    "logo",
    "payment_terms_days",
    "locale",
)
"""What UpdateLegalEntity may change (``number_prefix`` too, while it is empty); an empty mask means all."""


@dataclass(frozen=True)
class LegalEntity:
    """A legal entity as stored."""

    id: str
    legal_name: str
    address: Address = field(default_factory=Address)
    tax_id: str = ""
    registration_id: str = ""
    email: str = ""
    remittance_lines: tuple[str, ...] = ()
    logo: bytes = b""
    number_prefix: str = ""
    payment_terms_days: int = 0
    """0: invoicing's default."""
    locale: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


def logo_type(logo: bytes) -> str | None:
    """The logo's media type by its signature; None when it is neither PNG nor JPEG."""
    return next((media for magic, media in LOGO_TYPES if logo.startswith(magic)), None)


def validate_legal_entity(entity: LegalEntity, path: str = "legal_entity") -> LegalEntity:
    """The entity with its text trimmed, or InvalidArgument naming every bad field under ``path``."""
    problems: list[FieldViolation] = []

    def bad(name: str, reason: str) -> None:
        problems.append(FieldViolation(f"{path}.{name}", reason))

    cleaned = replace(
        entity,
        legal_name=entity.legal_name.strip(),
        tax_id=entity.tax_id.strip(),
        registration_id=entity.registration_id.strip(),
        email=entity.email.strip(),
        remittance_lines=tuple(line.strip() for line in entity.remittance_lines if line.strip()),
        number_prefix=entity.number_prefix.strip(),
        locale=entity.locale.strip(),
    )
    if not cleaned.legal_name:
        bad("legal_name", "is required")
    elif len(cleaned.legal_name) > 500:
        bad("legal_name", "must be at most 500 characters")
    problems.extend(address_violations(cleaned.address, f"{path}.address"))
    if cleaned.email and "@" not in cleaned.email:
        bad("email", f"{cleaned.email!r} is not an email address")
    if len(cleaned.remittance_lines) > MAX_REMITTANCE_LINES:
        bad("remittance_lines", f"must be at most {MAX_REMITTANCE_LINES} lines")
    if any(len(line) > 200 or "\x00" in line for line in cleaned.remittance_lines):
        bad("remittance_lines", "each line must be at most 200 characters, without NUL")
    if cleaned.logo:
        if len(cleaned.logo) > MAX_LOGO_BYTES:
            bad("logo", f"must be at most {MAX_LOGO_BYTES} bytes, got {len(cleaned.logo)}")
        elif logo_type(cleaned.logo) is None:
            bad("logo", "must be a PNG or JPEG image")
    prefix = cleaned.number_prefix
    if prefix and not NUMBER_PREFIX.match(prefix):
        bad("number_prefix", f"{prefix!r} must be 1 to 8 capital letters and digits, a letter first, e.g. UK")
    elif prefix in RESERVED_PREFIXES:
        bad("number_prefix", f"{prefix!r} is the install's own series; choose another, e.g. UK")
    if not 0 <= cleaned.payment_terms_days <= MAX_PAYMENT_TERMS_DAYS:
        bad(
            "payment_terms_days",
            f"must be between 0 and {MAX_PAYMENT_TERMS_DAYS}, got {entity.payment_terms_days}",
        )
    if cleaned.locale and not LOCALE.match(cleaned.locale):
        bad("locale", f"{cleaned.locale!r} is not a locale such as en_GB or ja_JP")
    if problems:
        raise InvalidArgument(problems)
    return cleaned


def legal_entity_update_fields(paths: Sequence[str], current: LegalEntity) -> tuple[str, ...]:
    """The fields an update mask names (every mutable field if empty); InvalidArgument naming ``update_mask``."""
    allowed = MUTABLE_LEGAL_ENTITY_FIELDS + (() if current.number_prefix else ("number_prefix",))
    if not paths:
        return allowed
    if "number_prefix" in paths and current.number_prefix:
        raise InvalidArgument.field(
            "update_mask", "cannot change number_prefix once set: its series has numbered documents"
        )
    unknown = [p for p in paths if p not in allowed]
    if unknown:
        raise InvalidArgument.field(
            "update_mask", f"unknown field(s) {', '.join(unknown)}: expected {', '.join(allowed)}"
        )
    return tuple(dict.fromkeys(paths))
