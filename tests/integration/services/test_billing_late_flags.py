"""Billing right after sending flags no on-time event late; an event arriving after the close still is.

Metering, catalog and invoicing as real processes (the ``stack`` of test_invoicing_billing), metering with its
default close margin: before usage watermarks, a close flagged every event of the period stored in the 30 s
before the invoice read usage, so billing seconds after sending marked all of them late.
"""

import json
import time
from datetime import UTC, datetime, timedelta

import grpc
import sqlalchemy
from test_invoicing_billing import (  # noqa: F401 - the stack fixture
    APRIL,
    MARCH,
    invoices_of,
    late_usage_rows,
    make_catalog,
    make_meter,
    ms,
    run_billing,
    send_calls,
    send_late_call,
    stack,
    stamp,
    wait_for_usage,
)

from tally.api.common.v1 import pagination_pb2, period_pb2
from tally.api.metering.v1 import metering_service_pb2 as met
from tally.api.metering.v1 import metering_service_pb2_grpc as met_grpc
from tally.persistence.engine import create_engine


def late_flags(metering) -> dict[str, bool]:
    """Every stored event of acme's March and whether metering flagged it late (ListEvents, all pages)."""
    flags: dict[str, bool] = {}
    token = ""
    with grpc.insecure_channel(metering.target) as channel:
        stub = met_grpc.MeteringServiceStub(channel)
        while True:
            reply = stub.ListEvents(
                met.ListEventsRequest(
                    customer="acme",
                    period=period_pb2.Period(start=stamp(MARCH), end=stamp(APRIL)),
                    page=pagination_pb2.PageRequest(page_size=1000, page_token=token),
                ),
                metadata=metering.metadata(),
            )
            flags.update((stored.event.event_id, stored.late) for stored in reply.events)
            token = reply.page.next_page_token
            if not token:
                return flags


def wait_until_closed(metering, timeout_s=20.0):
    engine = create_engine(metering.database_url)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with engine.connect() as conn:
                closed = conn.execute(
                    sqlalchemy.text("SELECT closed_until_ms FROM closed_periods WHERE customer = 'acme'")
                ).scalar()
            if closed is not None and closed >= ms(APRIL):
                return
            assert time.monotonic() < deadline, "metering never learned that March was invoiced"
            time.sleep(0.1)
    finally:
        engine.dispose()


def test_billing_seconds_after_sending_flags_no_on_time_event_late(stack, database_url):  # noqa: F811
    catalog, metering, invoicing = stack
    meter_id = make_meter(metering)
    _, _, subscription = make_catalog(catalog, meter_id)
    moments = [MARCH + timedelta(minutes=minute) for minute in range(0, 30 * 24 * 60, 144)]
    sent = send_calls(metering, "b1", moments[:150]) + send_calls(metering, "b2", moments[150:])
    wait_for_usage(metering, meter_id, MARCH, APRIL, len(sent))
    run_billing(invoicing, datetime(2026, 4, 2, tzinfo=UTC))  # within seconds of sending
    [march] = invoices_of(invoicing, subscription.id)
    [usage_line] = [line for line in march.lines if line.description == "API calls"]
    assert usage_line.quantity == str(len(sent))
    wait_until_closed(metering)
    time.sleep(1.0)  # the close's UsageLate, had there been one, would have reached invoicing by now
    flags = late_flags(metering)
    assert len(flags) == len(sent) == 300
    assert [event_id for event_id, late in flags.items() if late] == []
    assert late_usage_rows(database_url) == []

    # A March call stored after the close is late, reported, and the only late event.
    [late] = send_late_call(metering, database_url, datetime(2026, 3, 30, tzinfo=UTC))
    flags = late_flags(metering)
    assert [event_id for event_id, is_late in flags.items() if is_late] == [late]
    [(event_ids, _)] = late_usage_rows(database_url)
    assert json.loads(event_ids) == [late]
