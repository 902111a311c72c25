"""Quoting's wire shapes: quotes, estimates, histories and comparisons to and from tally.api.quoting.v1.

Reading a quote collects every unreadable field (a decimal, a price, an enum) under its path, e.g.
``quote.ramps[0].lines[1].price.graduated.tiers[2].up_to``; the rules the terms must keep against catalog
are the domain's (``validate_terms``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.common.v1 import money_pb2, period_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as inv
from tally.api.quoting.v1 import quoting_service_pb2 as pb
from tally.domain.errors import FieldViolation, InvalidArgument
from tally.mesh.wire import decimal_to_wire, timestamp_from_wire, timestamp_to_wire
from tally.pricing import BreakdownLine, Discount, EventValues, MatrixUsage, MatrixUsageEntry, Period, Usage
from tally.pricing_wire import (
    Reader,
    breakdown_to_wire,
    discount_from_wire,
    discount_to_wire,
    price_from_wire,
)
from tally.pricing_wire import price_to_wire as engine_price_to_wire
from tally.quoting.domain import (
    Address,
    BillingCycle,
    EstimatedInvoice,
    EstimatedLineKind,
    NegotiatedPrice,
    PeriodComparison,
    PricedQuote,
    Prospect,
    Quote,
    QuoteLine,
    QuoteStatus,
    QuoteTerms,
    QuoteVersion,
    Ramp,
    RequiredApproval,
    Transition,
    UsageAssumption,
    variance_percent,
)

CYCLES = {
    cat.BILLING_CYCLE_MONTHLY: BillingCycle.MONTHLY,
    cat.BILLING_CYCLE_QUARTERLY: BillingCycle.QUARTERLY,
    cat.BILLING_CYCLE_ANNUAL: BillingCycle.ANNUAL,
}
CYCLES_TO_WIRE = {cycle: value for value, cycle in CYCLES.items()}
TERM_FIELDS = {
    "customer_id": "customer_id",
    "prospect": "prospect",
    "currency": "currency",
    "plan_version_id": "plan_version_id",
    "lines": "lines",
    "valid_until": "valid_until",
    "start_at": "start_at",
    "billing_cycle": "billing_cycle",
    "billing_anchor": "anniversary",
    "term_months": "term_months",
    "discounts": "discounts",
    "minimum_commitment": "minimum_commitment",
    "prepaid_credit": "prepaid_credit",
    "ramps": "ramps",
    "usage_assumptions": "assumptions",
    "payment_terms_days": "payment_terms_days",
}
"""UpdateQuote's mask paths and the QuoteTerms field each changes."""
_LINE_KINDS = {
    EstimatedLineKind.RECURRING: inv.INVOICE_LINE_KIND_RECURRING,
    EstimatedLineKind.USAGE: inv.INVOICE_LINE_KIND_USAGE,
    EstimatedLineKind.DISCOUNT: inv.INVOICE_LINE_KIND_DISCOUNT,
    EstimatedLineKind.MINIMUM_TRUE_UP: inv.INVOICE_LINE_KIND_MINIMUM_TRUE_UP,
    EstimatedLineKind.ADJUSTMENT: inv.INVOICE_LINE_KIND_ADJUSTMENT,
    EstimatedLineKind.CREDIT: inv.INVOICE_LINE_KIND_CREDIT,
}


class _Reading:
    """Collects every unreadable field of a quote, so one InvalidArgument names them all."""

    def __init__(self) -> None:
        self.read = Reader()
        self.problems: list[FieldViolation] = []

    def price(self, message: cat.Price, field: str) -> NegotiatedPrice | None:
        try:
            return NegotiatedPrice(price_from_wire(message, field=field), message.meter_id)
        except InvalidArgument as exc:
            self.problems.extend(exc.violations)
            return None

    def lines(self, messages: Iterable[pb.QuoteLine], field: str) -> tuple[QuoteLine, ...]:
        lines = []
        for index, message in enumerate(messages):
            at = f"{field}[{index}]"
            price = self.price(message.price, f"{at}.price") if message.HasField("price") else None
            included = self.read.optional(message.included_quantity, f"{at}.included_quantity")
            lines.append(QuoteLine(message.charge_id, message.description.strip(), price, included))
        return tuple(lines)

    def discounts(self, messages: Iterable[cat.Discount], field: str) -> tuple[Discount, ...]:
        return tuple(
            discount_from_wire(self.read, m, f"{field}[{index}]") for index, m in enumerate(messages)
        )

    def amount(self, money: money_pb2.Money, currency: str, field: str) -> Decimal:
        if money.currency != currency:
            self.problems.append(
                FieldViolation(
                    f"{field}.currency", f"must be the quote's currency {currency}, got {money.currency!r}"
                )
            )
        return self.read.decimal(money.amount, f"{field}.amount")

    def usage(self, message: pb.UsageAssumption, field: str) -> Usage:
        match message.WhichOneof("usage"):
            case "event_values":
                values = message.event_values.values
                return EventValues(
                    tuple(
                        self.read.decimal(v, f"{field}.event_values.values[{i}]")
                        for i, v in enumerate(values)
                    )
                )
            case "matrix_usage":
                return MatrixUsage(
                    tuple(
                        MatrixUsageEntry(
                            tuple(entry.dimension_values),
                            self.read.decimal(entry.quantity, f"{field}.matrix_usage.entries[{i}].quantity"),
                        )
                        for i, entry in enumerate(message.matrix_usage.entries)
                    )
                )
            case "quantity":
                return self.read.decimal(message.quantity, f"{field}.quantity")
        self.problems.append(FieldViolation(field, "set quantity, event_values or matrix_usage"))
        return Decimal(0)

    def prospect(self, message: cat.Customer, currency: str, field: str) -> Prospect:
        if message.currency and message.currency != currency:
            self.problems.append(
                FieldViolation(
                    f"{field}.currency", f"must be the quote's currency {currency}, got {message.currency!r}"
                )
            )
        address = message.billing_address
        return Prospect(
            external_id=message.external_id.strip(),
            name=message.name.strip(),
            email=message.email.strip(),
            address=Address(
                address.line1,
                address.line2,
                address.city,
                address.region,
                address.postal_code,
                address.country,
            ),
            tax_id=message.tax_id.strip(),
            tax_rate_percent=self.read.optional(message.tax_rate_percent, f"{field}.tax_rate_percent"),
            tax_exempt=message.tax_exempt,
        )


def terms_from_wire(message: pb.Quote, *, field: str = "quote") -> QuoteTerms:
    """The terms of a quote as sent; InvalidArgument naming every field that cannot be read."""
    reading = _Reading()
    currency = message.currency
    ramps = tuple(
        Ramp(
            start_month=ramp.start_month,
            months=ramp.months,
            lines=reading.lines(ramp.lines, f"{field}.ramps[{index}].lines"),
            discounts=reading.discounts(ramp.discounts, f"{field}.ramps[{index}].discounts"),
            description=ramp.description.strip(),
        )
        for index, ramp in enumerate(message.ramps)
    )
    assumptions = tuple(
        UsageAssumption(
            meter_id=assumption.meter_id,
            charge_id=assumption.charge_id,
            period=assumption.period,
            usage=reading.usage(assumption, f"{field}.usage_assumptions[{index}]"),
        )
        for index, assumption in enumerate(message.usage_assumptions)
    )
    terms = QuoteTerms(
        customer_id=message.customer_id.strip(),
        prospect=reading.prospect(message.prospect, currency, f"{field}.prospect")
        if message.HasField("prospect")
        else None,
        currency=currency,
        plan_version_id=message.plan_version_id,
        start_at=timestamp_from_wire(message.start_at),
        term_months=message.term_months,
        billing_cycle=CYCLES.get(message.billing_cycle),
        valid_until=timestamp_from_wire(message.valid_until),
        anniversary=message.billing_anchor == cat.BILLING_ANCHOR_ANNIVERSARY,
        payment_terms_days=message.payment_terms_days,
        lines=reading.lines(message.lines, f"{field}.lines"),
        discounts=reading.discounts(message.discounts, f"{field}.discounts"),
        minimum_commitment=reading.amount(message.minimum_commitment, currency, f"{field}.minimum_commitment")
        if message.HasField("minimum_commitment")
        else None,
        prepaid_credit=reading.amount(message.prepaid_credit, currency, f"{field}.prepaid_credit")
        if message.HasField("prepaid_credit")
        else None,
        ramps=ramps,
        assumptions=assumptions,
    )
    problems = reading.problems + reading.read.violations
    if problems:
        raise InvalidArgument(problems)
    return terms


def update_paths(paths: Iterable[str]) -> tuple[str, ...]:
    """The QuoteTerms fields an update mask names (all of them when empty); InvalidArgument naming the mask."""
    paths = list(paths)
    unknown = [path for path in paths if path not in TERM_FIELDS]
    if unknown:
        raise InvalidArgument.field(
            "update_mask", f"cannot change {', '.join(unknown)}: expected {', '.join(TERM_FIELDS)}"
        )
    return tuple(TERM_FIELDS[path] for path in paths) or tuple(TERM_FIELDS.values())


def status_from_wire(status: pb.QuoteStatus) -> QuoteStatus | None:
    if status == pb.QUOTE_STATUS_UNSPECIFIED:
        return None
    return QuoteStatus(pb.QuoteStatus.Name(status).removeprefix("QUOTE_STATUS_"))


def status_to_wire(status: QuoteStatus) -> pb.QuoteStatus:
    return pb.QuoteStatus.Value(f"QUOTE_STATUS_{status.value}")


def money(amount: Decimal, currency: str) -> money_pb2.Money:
    return money_pb2.Money(amount=decimal_to_wire(amount), currency=currency)


def period_to_wire(period: Period) -> period_pb2.Period:
    return period_pb2.Period(start=timestamp_to_wire(period.start), end=timestamp_to_wire(period.end))


def _optional(value: Decimal | None) -> str:
    return "" if value is None else decimal_to_wire(value)


def _lines_to_wire(lines: Iterable[QuoteLine]) -> list[pb.QuoteLine]:
    found = []
    for line in lines:
        message = pb.QuoteLine(
            charge_id=line.charge_id,
            description=line.description,
            included_quantity=_optional(line.included_quantity),
        )
        if line.price is not None:
            message.price.CopyFrom(engine_price_to_wire(line.price.price, meter_id=line.price.meter_id))
        found.append(message)
    return found


def _usage_to_wire(assumption: UsageAssumption) -> pb.UsageAssumption:
    message = pb.UsageAssumption(
        meter_id=assumption.meter_id, charge_id=assumption.charge_id, period=assumption.period
    )
    usage = assumption.usage
    if isinstance(usage, EventValues):
        message.event_values.values.extend(decimal_to_wire(v) for v in usage.values)
    elif isinstance(usage, MatrixUsage):
        message.matrix_usage.entries.extend(
            cat.MatrixUsageEntry(
                dimension_values=list(e.dimension_values), quantity=decimal_to_wire(e.quantity)
            )
            for e in usage.entries
        )
    else:
        message.quantity = decimal_to_wire(usage)
    return message


def prospect_to_wire(prospect: Prospect, currency: str) -> cat.Customer:
    a = prospect.address
    return cat.Customer(
        external_id=prospect.external_id,
        name=prospect.name,
        email=prospect.email,
        currency=currency,
        billing_address=cat.Address(
            line1=a.line1,
            line2=a.line2,
            city=a.city,
            region=a.region,
            postal_code=a.postal_code,
            country=a.country,
        ),
        tax_id=prospect.tax_id,
        tax_rate_percent=_optional(prospect.tax_rate_percent),
        tax_exempt=prospect.tax_exempt,
    )


def _set_moment(
    message: pb.Quote | pb.RequiredApproval | pb.QuoteAcceptance, name: str, at: datetime | None
) -> None:
    if at is not None:
        getattr(message, name).CopyFrom(timestamp_to_wire(at))


def terms_to_wire(terms: QuoteTerms, message: pb.Quote) -> pb.Quote:
    """``message`` with the terms filled in."""
    message.customer_id = message.customer_id or terms.customer_id
    message.currency = terms.currency
    message.plan_version_id = terms.plan_version_id
    message.lines.extend(_lines_to_wire(terms.lines))
    message.term_months = terms.term_months
    message.payment_terms_days = terms.payment_terms_days
    message.billing_anchor = (
        cat.BILLING_ANCHOR_ANNIVERSARY if terms.anniversary else cat.BILLING_ANCHOR_CALENDAR
    )
    if terms.billing_cycle is not None:
        message.billing_cycle = CYCLES_TO_WIRE[terms.billing_cycle]
    _set_moment(message, "valid_until", terms.valid_until)
    _set_moment(message, "start_at", terms.start_at)
    if terms.prospect is not None:
        message.prospect.CopyFrom(prospect_to_wire(terms.prospect, terms.currency))
    message.discounts.extend(discount_to_wire(d) for d in terms.discounts)
    if terms.minimum_commitment is not None:
        message.minimum_commitment.CopyFrom(money(terms.minimum_commitment, terms.currency))
    if terms.prepaid_credit is not None:
        message.prepaid_credit.CopyFrom(money(terms.prepaid_credit, terms.currency))
    for ramp in terms.ramps:
        message.ramps.add(
            start_month=ramp.start_month,
            months=ramp.months,
            lines=_lines_to_wire(ramp.lines),
            discounts=[discount_to_wire(d) for d in ramp.discounts],
            description=ramp.description,
        )
    message.usage_assumptions.extend(_usage_to_wire(a) for a in terms.assumptions)
    return message


def _approval_to_wire(approval: RequiredApproval) -> pb.RequiredApproval:
    message = pb.RequiredApproval(
        rule_id=approval.rule_id,
        reason=approval.reason,
        approver_role=approval.approver_role,
        approved_by=approval.approved_by,
    )
    _set_moment(message, "approved_at", approval.approved_at)
    return message


def quote_to_wire(quote: Quote, now: datetime) -> pb.Quote:
    """The quote with its status as of ``now`` (an open quote past valid_until reads EXPIRED)."""
    message = pb.Quote(
        id=quote.id,
        number=quote.number,
        customer_id=quote.customer_id,
        status=status_to_wire(quote.status_at(now)),
        version=quote.version,
        rejection_reason=quote.rejection_reason,
        subscription_id=quote.subscription_id,
        required_approvals=[_approval_to_wire(a) for a in quote.approvals],
        created_at=timestamp_to_wire(quote.created_at),
        updated_at=timestamp_to_wire(quote.updated_at),
    )
    terms_to_wire(quote.terms, message)
    if quote.acceptance is not None:
        message.acceptance.CopyFrom(
            pb.QuoteAcceptance(
                signer_name=quote.acceptance.signer_name,
                signer_email=quote.acceptance.signer_email,
                accepted_at=timestamp_to_wire(quote.acceptance.accepted_at),
            )
        )
    return message


def version_to_wire(quote: Quote, version: QuoteVersion) -> pb.Quote:
    """One past version: its own terms under the quote's identity."""
    message = pb.Quote(
        id=quote.id,
        number=quote.number,
        version=version.version,
        created_at=timestamp_to_wire(version.created_at),
    )
    return terms_to_wire(version.terms, message)


def transition_to_wire(transition: Transition) -> pb.QuoteTransition:
    return pb.QuoteTransition(
        from_status=pb.QUOTE_STATUS_UNSPECIFIED
        if transition.from_status is None
        else status_to_wire(transition.from_status),
        to_status=status_to_wire(transition.to_status),
        version=transition.version,
        actor=transition.actor,
        at=timestamp_to_wire(transition.at),
        reason=transition.reason,
    )


def _breakdown(lines: tuple[BreakdownLine, ...]) -> list[cat.BreakdownLine]:
    return [breakdown_to_wire(line) for line in lines]


def _invoice_to_wire(invoice: EstimatedInvoice, currency: str) -> pb.EstimatedInvoice:
    return pb.EstimatedInvoice(
        kind=pb.ESTIMATED_INVOICE_KIND_OPENING if invoice.opening else pb.ESTIMATED_INVOICE_KIND_PERIOD,
        period_index=invoice.period_index,
        period=period_to_wire(invoice.period),
        lines=[
            pb.EstimatedLine(
                kind=_LINE_KINDS[line.kind],
                description=line.description,
                charge_id=line.charge_id,
                quantity=_optional(line.quantity),
                breakdown=_breakdown(line.breakdown),
                amount=money(line.amount, currency),
                tax=money(line.tax, currency),
                service_period=None if line.service_period is None else period_to_wire(line.service_period),
            )
            for line in invoice.lines
        ],
        subtotal=money(invoice.subtotal, currency),
        tax=money(invoice.tax, currency),
        total=money(invoice.total, currency),
        credits_applied=money(invoice.credits_applied, currency),
        amount_due=money(invoice.amount_due, currency),
    )


def estimate_to_wire(priced: PricedQuote) -> pb.QuoteEstimate:
    currency = priced.estimate.currency
    value = priced.value
    return pb.QuoteEstimate(
        currency=currency,
        invoices=[_invoice_to_wire(invoice, currency) for invoice in priced.estimate.invoices],
        total_contract_value=money(value.total, currency),
        annual_contract_value=money(value.annual, currency),
        first_year_value=money(value.first_year, currency),
        list_value=money(value.list_total, currency),
        effective_discount_percent=decimal_to_wire(value.effective_discount_percent),
        tax=money(value.tax, currency),
        credit_remaining=money(priced.estimate.credit_remaining, currency),
    )


def _percent(value: Decimal | None) -> str:
    return "" if value is None else decimal_to_wire(value)


def comparison_to_wire(
    subscription_id: str, periods: tuple[PeriodComparison, ...], currency: str
) -> pb.CompareQuoteToActualResponse:
    estimated = sum((p.estimated for p in periods), Decimal(0))
    invoiced = sum((p.invoiced for p in periods), Decimal(0))
    return pb.CompareQuoteToActualResponse(
        subscription_id=subscription_id,
        estimated_total=money(estimated, currency),
        actual_total=money(invoiced, currency),
        variance=money(invoiced - estimated, currency),
        periods=[
            pb.PeriodComparison(
                period_index=p.period_index,
                period=period_to_wire(p.period),
                usage=[
                    pb.UsageComparison(
                        meter_id=u.meter_id,
                        assumed_quantity=decimal_to_wire(u.assumed),
                        metered_quantity=decimal_to_wire(u.metered),
                        variance=decimal_to_wire(u.variance),
                        variance_percent=_percent(variance_percent(u.metered, u.assumed)),
                    )
                    for u in p.usage
                ],
                estimated_subtotal=money(p.estimated, currency),
                invoiced_subtotal=money(p.invoiced, currency),
                variance=money(p.variance, currency),
                variance_percent=_percent(variance_percent(p.invoiced, p.estimated)),
                invoice_numbers=list(p.invoice_numbers),
            )
            for p in periods
        ],
    )
