"""Customers: who is billed, in which currency and with which tax treatment, and what makes one valid."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from tally.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument
from tally.domain.numbers import NumberError, read_number
from tally.money import is_known

MAX_EXTERNAL_ID_LENGTH = 255
MAX_NAME_LENGTH = 500
MAX_TAX_RATE_PERCENT = Decimal(100)
ERPS = frozenset({"NETSUITE", "SAGE_INTACCT"})
"""Keys ``erp_ids`` may use: the ERPs Tally posts to."""
MUTABLE_CUSTOMER_FIELDS = (
    "name",
    "email",
    "currency",
    "billing_address",
    "tax_id",
    "tax_rate_percent",
    "tax_exempt",
    "erp_ids",
    "legal_entity_id",
    "billing_emails",
    "locale",
    "tax_name",
    "tax_jurisdiction",
    "reverse_charge",
    "tax_exempt_reason",
)
"""What UpdateCustomer may change; an empty mask means all of them. ``billing_address.<part>`` changes one part."""
IMMUTABLE_CUSTOMER_FIELDS = ("id", "external_id", "created_at", "updated_at")
MAX_BILLING_EMAILS = 10
LOCALE = re.compile(r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class Address:
    """A billing address as printed on invoices; every part optional."""

    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    """ISO 3166-1 alpha-2, e.g. ``DE``."""


@dataclass(frozen=True)
class CustomerInput:
    """A customer as a caller asked for it: raw strings, not yet validated."""

    external_id: str
    name: str
    currency: str
    email: str = ""
    billing_address: Address = Address()
    tax_id: str = ""
    tax_rate_percent: str = ""
    tax_exempt: bool = False
    erp_ids: Mapping[str, str] = field(default_factory=dict)
    legal_entity_id: str = ""
    billing_emails: tuple[str, ...] = ()
    locale: str = ""
    tax_name: str = ""
    tax_jurisdiction: str = ""
    reverse_charge: bool = False
    tax_exempt_reason: str = ""


@dataclass(frozen=True)
class CustomerDetails:
    """A validated customer's own fields."""

    external_id: str
    name: str
    currency: str
    email: str
    billing_address: Address
    tax_id: str
    tax_rate_percent: Decimal | None
    """None when no rate was given; tax_exempt overrides it either way."""
    tax_exempt: bool
    erp_ids: Mapping[str, str]
    legal_entity_id: str = ""
    """The legal entity invoicing the customer; empty for the install's default issuer."""
    billing_emails: tuple[str, ...] = ()
    """Where its invoices and credit notes are e-mailed; ``email`` when empty."""
    locale: str = ""
    """The language and region of its documents; its legal entity's when empty."""
    tax_name: str = ""
    """"VAT", "Sales tax", "GST"...; "Tax" when empty."""
    tax_jurisdiction: str = ""
    """Where the tax is levied; derived from the billing address when empty."""
    reverse_charge: bool = False
    """The customer accounts for the tax: none is charged and the invoice says so."""
    tax_exempt_reason: str = ""
    """Printed on invoices of an exempt customer."""


@dataclass(frozen=True)
class Customer:
    """A stored customer: its details plus identity, version and timestamps."""

    id: str
    details: CustomerDetails
    version: int
    created_at: datetime
    updated_at: datetime


def canonical_external_id(raw: str) -> str:
    """An external id as stored and looked up: trimmed and in Unicode NFC, the form ingestion gives the customer
    of every usage event, so an id typed with composed or decomposed accents is one customer everywhere."""
    text = raw.strip()
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def validate_customer(raw: CustomerInput, *, path: str = "customer") -> CustomerDetails:
    """The validated details of ``raw``, or InvalidArgument naming every bad field under ``path``."""
    problems: list[FieldViolation] = []

    def bad(name: str, reason: str) -> None:
        problems.append(FieldViolation(f"{path}.{name}", reason))

    external_id = canonical_external_id(raw.external_id)
    if not external_id:
        bad("external_id", "is required")
    elif len(external_id) > MAX_EXTERNAL_ID_LENGTH:
        bad("external_id", f"must be at most {MAX_EXTERNAL_ID_LENGTH} characters")
    name = raw.name.strip()
    if not name:
        bad("name", "is required")
    elif len(name) > MAX_NAME_LENGTH:
        bad("name", f"must be at most {MAX_NAME_LENGTH} characters")
    if not is_known(raw.currency):
        bad("currency", f"unknown currency {raw.currency!r}: expected an ISO 4217 code such as USD")
    email = raw.email.strip()
    if email and "@" not in email:
        bad("email", f"{email!r} is not an email address")
    problems.extend(address_violations(raw.billing_address, f"{path}.billing_address"))
    rate = _tax_rate(raw.tax_rate_percent, bad)
    billing_emails = tuple(address.strip() for address in raw.billing_emails if address.strip())
    if len(billing_emails) > MAX_BILLING_EMAILS:
        bad("billing_emails", f"must be at most {MAX_BILLING_EMAILS} addresses")
    for index, address in enumerate(billing_emails):
        if "@" not in address or any(c in address for c in " ,;<>\r\n\x00"):
            bad(f"billing_emails[{index}]", f"{address!r} is not an email address")
    locale = raw.locale.strip()
    if locale and not LOCALE.match(locale):
        bad("locale", f"{locale!r} is not a locale such as en_US or ja_JP")
    if raw.reverse_charge and raw.tax_exempt:
        bad("reverse_charge", "a customer is either tax exempt or reverse-charged, not both")
    if raw.tax_exempt_reason.strip() and not raw.tax_exempt:
        bad("tax_exempt_reason", "is only printed for a tax-exempt customer: set tax_exempt too")
    for erp in raw.erp_ids:
        if erp not in ERPS:
            bad(f"erp_ids[{erp!r}]", f"unknown ERP {erp!r}: expected one of {', '.join(sorted(ERPS))}")
    if problems:
        raise InvalidArgument(problems)
    return CustomerDetails(
        external_id=external_id,
        name=name,
        currency=raw.currency,
        email=email,
        billing_address=raw.billing_address,
        tax_id=raw.tax_id.strip(),
        tax_rate_percent=rate,
        tax_exempt=raw.tax_exempt,
        erp_ids=dict(raw.erp_ids),
        legal_entity_id=raw.legal_entity_id.strip(),
        billing_emails=billing_emails,
        locale=locale,
        tax_name=raw.tax_name.strip(),
        tax_jurisdiction=raw.tax_jurisdiction.strip(),
        reverse_charge=raw.reverse_charge,
        tax_exempt_reason=raw.tax_exempt_reason.strip(),
    )


def address_violations(address: Address, path: str) -> list[FieldViolation]:
    """What is wrong with an address: its country must be an ISO 3166-1 alpha-2 code."""
    country = address.country
    if country and not (len(country) == 2 and country.isascii() and country.isalpha() and country.isupper()):
        return [
            FieldViolation(f"{path}.country", f"{country!r} is not an ISO 3166-1 alpha-2 code such as DE")
        ]
    return []


_ADDRESS_PATHS = {f"billing_address.{part.name}": part.name for part in dataclasses.fields(Address)}
"""Mask paths that change one part of the billing address, and the part each changes."""


def customer_update_fields(paths: Sequence[str]) -> tuple[str, ...]:
    """The fields an update mask names (every mutable field if empty); InvalidArgument naming ``update_mask``."""
    if not paths:
        return MUTABLE_CUSTOMER_FIELDS
    immutable = [p for p in paths if p in IMMUTABLE_CUSTOMER_FIELDS]
    if immutable:
        raise InvalidArgument.field("update_mask", f"cannot change {', '.join(immutable)}: immutable")
    unknown = [p for p in paths if p not in MUTABLE_CUSTOMER_FIELDS and p not in _ADDRESS_PATHS]
    if unknown:
        raise InvalidArgument.field(
            "update_mask",
            f"unknown field(s) {', '.join(unknown)}: expected {', '.join(MUTABLE_CUSTOMER_FIELDS)}"
            " or billing_address.<part>",
        )
    return tuple(dict.fromkeys(paths))


def update_customer(
    current: CustomerDetails,
    wanted: CustomerInput,
    paths: Sequence[str],
    *,
    has_subscriptions: Callable[[], bool],
    path: str = "customer",
) -> CustomerDetails:
    """``current`` with the masked fields of ``wanted``, validated as a whole.

    InvalidArgument naming ``update_mask`` for a bad mask, or every bad field under ``path``;
    FailedPrecondition for a new currency while the customer has subscriptions (priced in the old one).
    """
    fields = customer_update_fields(paths)
    merged = replace(
        _raw(current), **{name: getattr(wanted, name) for name in fields if name in MUTABLE_CUSTOMER_FIELDS}
    )
    for masked in fields:
        if masked in _ADDRESS_PATHS:
            part = _ADDRESS_PATHS[masked]
            address = replace(merged.billing_address, **{part: getattr(wanted.billing_address, part)})
            merged = replace(merged, billing_address=address)
    updated = validate_customer(merged, path=path)
    if updated.currency != current.currency and has_subscriptions():
        raise FailedPrecondition(
            f"cannot change the currency from {current.currency} to {updated.currency}: the customer has"
            " subscriptions priced in it"
        )
    return updated


def _raw(details: CustomerDetails) -> CustomerInput:
    """A stored customer as a caller would send it, so an update re-validates the whole customer."""
    return CustomerInput(
        external_id=details.external_id,
        name=details.name,
        currency=details.currency,
        email=details.email,
        billing_address=details.billing_address,
        tax_id=details.tax_id,
        tax_rate_percent="" if details.tax_rate_percent is None else str(details.tax_rate_percent),
        tax_exempt=details.tax_exempt,
        erp_ids=details.erp_ids,
        legal_entity_id=details.legal_entity_id,
        billing_emails=details.billing_emails,
        locale=details.locale,
        tax_name=details.tax_name,
        tax_jurisdiction=details.tax_jurisdiction,
        reverse_charge=details.reverse_charge,
        tax_exempt_reason=details.tax_exempt_reason,
    )


def _tax_rate(raw: str, bad: Callable[[str, str], None]) -> Decimal | None:
    if not raw.strip():
        return None
    try:
        rate = read_number(raw.strip())
    except NumberError as exc:
        bad("tax_rate_percent", f"must be a decimal number of percent ({exc.code}: {exc.reason})")
        return None
    if not rate.is_finite() or rate < 0 or rate > MAX_TAX_RATE_PERCENT:
        bad("tax_rate_percent", f"must be between 0 and 100 percent, got {raw!r}")
        return None
    return rate
