"""Quoting's settings beyond the mesh's: its peers, the approval rules and who issues the quotes."""

from __future__ import annotations

from dataclasses import dataclass

from tally.mesh.settings import setting
from tally.quoting.domain import DEFAULT_RULES, ApprovalRule, parse_rules


@dataclass(frozen=True)
class QuotingSettings:
    catalog_target: str = setting(
        "TALLY_CATALOG_TARGET",
        default="",
        doc="catalog's gRPC address: quotes are checked against its plan versions and customers (every RPC "
        "but reading stored quotes needs it)",
    )
    metering_target: str = setting(
        "TALLY_METERING_TARGET",
        default="",
        doc="metering's gRPC address; CompareQuoteToActual needs it",
    )
    invoicing_target: str = setting(
        "TALLY_INVOICING_TARGET",
        default="",
        doc="invoicing's gRPC address; CompareQuoteToActual needs it",
    )
    approval_rules: tuple[ApprovalRule, ...] = setting(
        "TALLY_QUOTING_APPROVAL_RULES",
        default=DEFAULT_RULES,
        parse=parse_rules,
        doc='JSON list of rules [{"id", "metric", "threshold", "approver_role", "currency"?}]',
    )
    """Which deals need whose approval; the default asks for the issue's four (see the README)."""
    issuer_name: str = setting(
        "TALLY_QUOTE_ISSUER_NAME", default="Tally Demo Ltd", doc="name of the issuer printed on quote PDFs"
    )
