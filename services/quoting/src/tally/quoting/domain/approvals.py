"""Approval rules as data: which deals need whose approval, and the facts of a deal they are judged on.

A rule compares one fact of the priced deal with a threshold and, when the deal goes past it, asks for an
approver holding a role (an API key scope ``quotes:approve:<role>``). The rules are configuration
(``TALLY_QUOTING_APPROVAL_RULES``), evaluated when a quote is submitted; what each version required, and
who approved it, is kept with the quote.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from tally.money import is_known
from tally.pricing import DiscountKind
from tally.quoting.domain.contract_value import ContractValue
from tally.quoting.domain.estimate import Estimate, EstimatedLineKind
from tally.quoting.domain.terms import QuoteTerms

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def _plain(value: Decimal) -> str:
    """A number as people write it: 30 rather than 30.00, 12.5 rather than 12.50."""
    return format(value.normalize(), "f")


class Metric(enum.Enum):
    """The fact a rule looks at; each goes past its threshold upward but PRICE_PERCENT_OF_LIST (downward)."""

    DISCOUNT_PERCENT = "discount_percent"
    """The largest discount granted: any quoted percentage discount, or the effective discount against list."""
    CONTRACT_VALUE = "contract_value"
    """Total contract value, in the rule's currency (rules in other currencies do not apply)."""
    PRICE_PERCENT_OF_LIST = "price_percent_of_list"
    """The lowest negotiated charge, as a percentage of what its list price bills for the same usage (the
    plan's floor is this percentage of list)."""
    PAYMENT_TERMS_DAYS = "payment_terms_days"


@dataclass(frozen=True)
class ApprovalRule:
    id: str
    metric: Metric
    threshold: Decimal
    approver_role: str
    currency: str = ""
    """For CONTRACT_VALUE: the currency the threshold is in."""

    def reason(self, facts: DealFacts) -> str | None:
        """Why this deal needs the rule's approval, or None."""
        match self.metric:
            case Metric.DISCOUNT_PERCENT:
                if facts.discount_percent > self.threshold:
                    return (
                        f"discount of {_plain(facts.discount_percent)} % is over {_plain(self.threshold)} %"
                    )
            case Metric.CONTRACT_VALUE:
                if facts.currency == self.currency and facts.contract_value > self.threshold:
                    return (
                        f"total contract value {facts.currency} {facts.contract_value:,} is over "
                        f"{self.currency} {self.threshold:,}"
                    )
            case Metric.PRICE_PERCENT_OF_LIST:
                lowest = facts.lowest_price_percent
                if lowest is not None and lowest < self.threshold:
                    return (
                        f"a negotiated price bills {lowest} % of list, below the floor of {self.threshold} %"
                    )
            case Metric.PAYMENT_TERMS_DAYS:
                if facts.payment_terms_days > self.threshold:
                    return f"payment terms of {facts.payment_terms_days} days are over {_plain(self.threshold)} days"
        return None


@dataclass(frozen=True)
class DealFacts:
    currency: str
    discount_percent: Decimal
    contract_value: Decimal
    lowest_price_percent: Decimal | None
    """None when no charge's price is negotiated (or its list price bills nothing)."""
    payment_terms_days: int


@dataclass(frozen=True)
class RequiredApproval:
    """An approval a quote version needs, and whether it was given."""

    rule_id: str
    reason: str
    approver_role: str
    approved_by: str = ""
    approved_at: datetime | None = None

    @property
    def given(self) -> bool:
        return self.approved_at is not None


_PRICED_KINDS = (EstimatedLineKind.USAGE, EstimatedLineKind.RECURRING)


def _by_charge(estimate: Estimate) -> dict[str, Decimal]:
    amounts: dict[str, Decimal] = {}
    for invoice in estimate.invoices:
        for line in invoice.lines:
            if line.kind in _PRICED_KINDS:
                amounts[line.charge_id] = amounts.get(line.charge_id, ZERO) + line.amount
    return amounts


def deal_facts(terms: QuoteTerms, priced: Estimate, at_list: Estimate, value: ContractValue) -> DealFacts:
    quoted = [d.value for d in terms.every_discount() if d.kind is DiscountKind.PERCENTAGE]
    negotiated = {line.charge_id for line in terms.every_line() if line.price is not None}
    ours, listed = _by_charge(priced), _by_charge(at_list)
    percents = [
        (ours.get(charge, ZERO) / listed[charge] * HUNDRED).quantize(Decimal("0.01"))
        for charge in sorted(negotiated)
        if listed.get(charge, ZERO) > 0
    ]
    return DealFacts(
        currency=priced.currency,
        discount_percent=max([value.effective_discount_percent, *quoted]),
        contract_value=value.total,
        lowest_price_percent=min(percents) if percents else None,
        payment_terms_days=terms.payment_terms_days,
    )


def required_approvals(rules: Sequence[ApprovalRule], facts: DealFacts) -> tuple[RequiredApproval, ...]:
    found = []
    for rule in rules:
        reason = rule.reason(facts)
        if reason is not None:
            found.append(RequiredApproval(rule.id, reason, rule.approver_role))
    return tuple(found)


DEFAULT_RULES = (
    ApprovalRule("discount-over-20", Metric.DISCOUNT_PERCENT, Decimal(20), "sales_director"),
    ApprovalRule("usd-tcv-over-100000", Metric.CONTRACT_VALUE, Decimal(100_000), "finance", "USD"),
    ApprovalRule("eur-tcv-over-100000", Metric.CONTRACT_VALUE, Decimal(100_000), "finance", "EUR"),
    ApprovalRule("jpy-tcv-over-15000000", Metric.CONTRACT_VALUE, Decimal(15_000_000), "finance", "JPY"),
    ApprovalRule("price-below-floor", Metric.PRICE_PERCENT_OF_LIST, Decimal(70), "pricing"),
    ApprovalRule("payment-terms-over-30", Metric.PAYMENT_TERMS_DAYS, Decimal(30), "finance"),
)


def parse_rules(raw: str) -> tuple[ApprovalRule, ...]:
    """Rules from JSON: ``[{"id", "metric", "threshold", "approver_role", "currency"?}, ...]``; ValueError
    naming the first bad rule and field."""
    try:
        items = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(items, list):
        raise ValueError("expected a JSON list of rules")
    rules = []
    for index, item in enumerate(items):
        at = f"rule {index}"
        if not isinstance(item, dict) or not {"id", "metric", "threshold", "approver_role"} <= item.keys():
            raise ValueError(f"{at}: needs id, metric, threshold and approver_role")
        unknown = set(item) - {"id", "metric", "threshold", "approver_role", "currency"}
        if unknown:
            raise ValueError(f"{at}: unknown field(s) {', '.join(sorted(unknown))}")
        try:
            metric = Metric(item["metric"])
        except ValueError:
            raise ValueError(f"{at}: metric must be one of {', '.join(m.value for m in Metric)}") from None
        try:
            threshold = Decimal(str(item["threshold"]))
        except InvalidOperation:
            raise ValueError(f"{at}: threshold {item['threshold']!r} is not a decimal") from None
        currency = str(item.get("currency", ""))
        if metric is Metric.CONTRACT_VALUE and not is_known(currency):
            raise ValueError(f"{at}: a contract_value rule needs an ISO 4217 currency")
        if not str(item["id"]) or not str(item["approver_role"]):
            raise ValueError(f"{at}: id and approver_role must not be empty")
        rules.append(ApprovalRule(str(item["id"]), metric, threshold, str(item["approver_role"]), currency))
    return tuple(rules)
