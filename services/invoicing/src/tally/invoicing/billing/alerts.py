"""Billing controls and alerts (pure): a subscription's invoice threshold and alert thresholds, and which alerts
the open period's spend (usage charges to date, before tax) and usage have reached.

An alert fires once per subscription, alert and period: its ``key`` names it within the subscription.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tally.invoicing.billing.drafting import Draft, DraftInputs, draft_invoice, usage_charges_of
from tally.invoicing.billing.taxes import BilledCustomer
from tally.invoicing.billing.usage import charge_quantity
from tally.money import Money
from tally.pricing import BillingTerms, ChargeUsage, Period


@dataclass(frozen=True, slots=True)
class Controls:
    """A subscription's invoice threshold and alerts."""

    subscription_id: str
    currency: str
    invoice_threshold: Decimal | None
    spend_alerts: tuple[Decimal, ...]
    usage_alerts: tuple[tuple[str, Decimal], ...]
    """(charge id, quantity) pairs."""


class AlertKind(enum.StrEnum):
    SPEND = "spend"
    USAGE = "usage"


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert the open period reached."""

    kind: AlertKind
    key: str
    """``spend:<threshold>`` or ``usage:<charge id>:<threshold>``."""
    subscription_id: str
    customer_id: str
    period: Period
    threshold: Decimal
    reached: Decimal
    """The spend to date (SPEND) or the charge's quantity (USAGE)."""
    triggered_at: datetime
    currency: str = ""
    """The spend's currency (SPEND)."""
    charge_id: str = ""
    """The charge whose usage reached the threshold (USAGE)."""


def reached(
    controls: Controls,
    *,
    subscription_id: str,
    customer_id: str,
    period: Period,
    spend: Money,
    usage: Mapping[str, ChargeUsage],
    at: datetime,
) -> list[Alert]:
    """Every alert of ``controls`` that ``spend`` or ``usage`` reached, spend alerts first, in their order."""
    found = [
        Alert(
            AlertKind.SPEND,
            f"spend:{threshold}",
            subscription_id,
            customer_id,
            period,
            threshold,
            spend.amount,
            at,
            currency=spend.currency,
        )
        for threshold in controls.spend_alerts
        if spend.amount >= threshold
    ]
    for charge_id, threshold in controls.usage_alerts:
        quantity = charge_quantity(usage.get(charge_id))
        if quantity >= threshold:
            found.append(
                Alert(
                    AlertKind.USAGE,
                    f"usage:{charge_id}:{threshold}",
                    subscription_id,
                    customer_id,
                    period,
                    threshold,
                    quantity,
                    at,
                    charge_id=charge_id,
                )
            )
    return found


def accrued(
    customer: BilledCustomer, terms: BillingTerms, usage: Mapping[str, ChargeUsage], active: Period
) -> Draft:
    """What the open period's usage charges came to so far (its subtotal is the spend alerts and the invoice
    threshold compare)."""
    return draft_invoice(
        DraftInputs(
            customer=customer,
            plan=usage_charges_of(terms.plan),
            period=terms.period,
            active=active,
            usage=usage,
        )
    )
