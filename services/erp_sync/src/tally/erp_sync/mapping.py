"""How Tally's documents map onto one ERP's books: subsidiary, currencies, items or GL accounts, tax code,
segments and terms, checked as a whole so every mistake is named at once (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tally.erp_sync.documents import DocumentLine
from tally.erp_sync.domain import Erp

_TEXT_FIELDS = (
    "subsidiary",
    "ar_account",
    "tax_code",
    "income_item",
    "credit_item",
    "department",
    "class",
    "location",
    "terms",
)
_TABLES = ("currencies", "items")
_REQUIRED = {
    Erp.NETSUITE: ("subsidiary", "tax_code", "income_item", "currencies"),
    Erp.SAGE_INTACCT: ("ar_account", "tax_code", "income_item", "currencies"),
}


class MappingError(ValueError):
    """A mapping is incomplete or malformed; ``problems`` names each key at fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid ERP mapping: " + "; ".join(problems))
        self.problems = problems


class MappingGap(Exception):
    """A document needs a mapping entry that is missing: a permanent failure until the mapping is fixed."""


@dataclass(frozen=True)
class ErpMapping:
    """One ERP's mapping. NetSuite takes record ids (items, tax codes); Intacct takes GL account numbers."""

    income_item: str
    """Item (NetSuite) or income GL account (Intacct) of a line whose charge has no entry in ``items``."""
    tax_code: str
    """NetSuite tax code of every line; Intacct GL account the tax line is booked to."""
    currencies: Mapping[str, str]
    """ISO 4217 code → the ERP's currency id."""
    items: Mapping[str, str] = field(default_factory=dict)
    """Plan charge id → item / income GL account."""
    credit_item: str = ""
    """Item / GL account of prepaid credit applied to an invoice; ``income_item`` when empty."""
    subsidiary: str = ""
    ar_account: str = ""
    department: str = ""
    class_: str = ""
    location: str = ""
    terms: str = ""

    @property
    def segments(self) -> dict[str, str]:
        """The segments set on every document and line, by their NetSuite names: department, class, location."""
        named = (("department", self.department), ("class", self.class_), ("location", self.location))
        return {name: value for name, value in named if value}

    def item_for(self, line: DocumentLine) -> str:
        if line.prepaid_credit:
            return self.credit_item or self.income_item
        return self.items.get(line.charge_id, self.income_item)

    def currency_for(self, code: str) -> str:
        try:
            return self.currencies[code]
        except KeyError:
            raise MappingGap(f"the mapping has no currency {code} (add it under currencies)") from None


def parse_mapping(erp: Erp, raw: Any) -> ErpMapping:
    """The mapping of ``erp`` from its table in the mapping file; MappingError names every problem."""
    section = erp.value.lower()
    if not isinstance(raw, Mapping):
        raise MappingError([f"[{section}] is missing: every enabled ERP needs its mapping table"])
    problems = [
        f"{section}.{key} is not a mapping key (expected one of {', '.join((*_TEXT_FIELDS, *_TABLES))})"
        for key in raw
        if key not in _TEXT_FIELDS and key not in _TABLES
    ]
    values: dict[str, Any] = {}
    malformed = set()
    for key in _TEXT_FIELDS:
        value = raw.get(key, "")
        if not isinstance(value, str | int) or isinstance(value, bool):
            problems.append(f"{section}.{key} must be a string id, got {type(value).__name__}")
            malformed.add(key)
            continue
        values["class_" if key == "class" else key] = str(value).strip()
    for key in _TABLES:
        table = raw.get(key, {})
        if not isinstance(table, Mapping):
            problems.append(f"{section}.{key} must be a table")
            malformed.add(key)
            continue
        for name, value in table.items():
            if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
                problems.append(f"{section}.{key}.{name} must be a non-empty string id")
        values[key] = {str(name): str(value).strip() for name, value in table.items()}
    for key in _REQUIRED[erp]:
        if not values.get(key) and key not in malformed:
            problems.append(f"{section}.{key} is required")
    for code in values.get("currencies", {}):
        if len(code) != 3 or not code.isalpha() or not code.isupper():
            problems.append(f"{section}.currencies.{code} is not an ISO 4217 code")
    if problems:
        raise MappingError(problems)
    return ErpMapping(**values)
