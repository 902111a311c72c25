"""Quoting's wire shapes: quotes to and from tally.api.quoting.v1 messages."""

from __future__ import annotations

from decimal import Decimal

from tally.api.catalog.v1 import catalog_service_pb2 as catalog_pb
from tally.api.quoting.v1 import quoting_service_pb2 as pb
from tally.mesh.wire import decimal_to_wire, timestamp_from_wire, timestamp_to_wire
from tally.quoting.domain import Quote, QuoteInput, QuoteLineInput, QuoteStatus

CURRENCY_FIELD = "quote.currency"


def quote_input(message: pb.Quote) -> QuoteInput:
    return QuoteInput(
        customer_id=message.customer_id,
        currency=message.currency,
        plan_version_id=message.plan_version_id,
        lines=[
            QuoteLineInput(
                charge_id=line.charge_id,
                description=line.description,
                estimated_quantity=line.estimated_quantity,
                included_quantity=line.included_quantity,
                negotiated_price=line.HasField("price"),
            )
            for line in message.lines
        ],
        valid_until=timestamp_from_wire(message.valid_until),
        start_at=timestamp_from_wire(message.start_at),
        billing_cycle=""
        if message.billing_cycle == catalog_pb.BILLING_CYCLE_UNSPECIFIED
        else catalog_pb.BillingCycle.Name(message.billing_cycle),
        term_months=message.term_months,
    )


def status_from_wire(status: pb.QuoteStatus) -> QuoteStatus | None:
    if status == pb.QUOTE_STATUS_UNSPECIFIED:
        return None
    return QuoteStatus(pb.QuoteStatus.Name(status).removeprefix("QUOTE_STATUS_"))


def _quantity(value: Decimal | None) -> str:
    return "" if value is None else decimal_to_wire(value)


def quote_to_wire(quote: Quote) -> pb.Quote:
    terms = quote.terms
    message = pb.Quote(
        id=quote.id,
        number=quote.number,
        customer_id=terms.customer_id,
        status=pb.QuoteStatus.Value(f"QUOTE_STATUS_{quote.status.value}"),
        version=quote.version,
        currency=terms.currency,
        plan_version_id=terms.plan_version_id,
        lines=[
            pb.QuoteLine(
                charge_id=line.charge_id,
                description=line.description,
                estimated_quantity=_quantity(line.estimated_quantity),
                included_quantity=_quantity(line.included_quantity),
            )
            for line in terms.lines
        ],
        billing_cycle=terms.billing_cycle or None,
        term_months=terms.term_months,
        created_at=timestamp_to_wire(quote.created_at),
        updated_at=timestamp_to_wire(quote.updated_at),
    )
    if terms.valid_until is not None:
        message.valid_until.CopyFrom(timestamp_to_wire(terms.valid_until))
    if terms.start_at is not None:
        message.start_at.CopyFrom(timestamp_to_wire(terms.start_at))
    return message
