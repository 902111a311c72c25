import time

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from tally.api.catalog.v1 import catalog_service_pb2 as catalog_pb
from tally.api.common.v1 import pagination_pb2
from tally.api.quoting.v1 import quoting_service_pb2 as pb
from tally.api.quoting.v1 import quoting_service_pb2_grpc as pb_grpc
from tally.mesh.errors import field_violations
from tally.testing.services import ServiceProcess


@pytest.fixture
def quoting(tmp_path, nats_server, database_url):
    service = ServiceProcess("quoting", "tally.quoting", database_url, nats_server.url, tmp_path / "quoting")
    service.start()
    yield service
    service.kill()


def quote(customer_id="cus_acme", currency="EUR", **overrides):
    fields = dict(
        customer_id=customer_id,
        currency=currency,
        plan_version_id="pv_growth_1",
        billing_cycle=catalog_pb.BILLING_CYCLE_MONTHLY,
        term_months=12,
        valid_until=Timestamp(seconds=int(time.time()) + 30 * 86400),
        lines=[
            pb.QuoteLine(charge_id="ch_api_calls", description="API calls", estimated_quantity="125000.5"),
            pb.QuoteLine(charge_id="ch_platform_fee"),
        ],
    )
    fields.update(overrides)
    return pb.Quote(**fields)


def test_quotes_are_numbered_in_order_and_read_back_as_drafts(quoting):
    with grpc.insecure_channel(quoting.target) as channel:
        stub = pb_grpc.QuotingServiceStub(channel)
        first = stub.CreateQuote(pb.CreateQuoteRequest(quote=quote()), metadata=quoting.metadata()).quote
        second = stub.CreateQuote(
            pb.CreateQuoteRequest(quote=quote("cus_bluth", currency="USD")), metadata=quoting.metadata()
        ).quote
        assert (first.number, second.number) == ("Q-000001", "Q-000002")
        assert (first.status, first.version, first.currency, second.currency) == (
            pb.QUOTE_STATUS_DRAFT,
            1,
            "EUR",
            "USD",
        )
        assert [(line.charge_id, line.estimated_quantity) for line in first.lines] == [
            ("ch_api_calls", "125000.5"),
            ("ch_platform_fee", ""),
        ]
        assert (first.plan_version_id, first.billing_cycle, first.term_months) == (
            "pv_growth_1",
            catalog_pb.BILLING_CYCLE_MONTHLY,
            12,
        )

        fetched = stub.GetQuote(pb.GetQuoteRequest(quote_id=first.id), metadata=quoting.metadata()).quote
        assert fetched == first

        newest_first = stub.ListQuotes(
            pb.ListQuotesRequest(page=pagination_pb2.PageRequest(page_size=1)), metadata=quoting.metadata()
        )
        assert [q.number for q in newest_first.quotes] == ["Q-000002"]
        rest = stub.ListQuotes(
            pb.ListQuotesRequest(
                page=pagination_pb2.PageRequest(page_size=1, page_token=newest_first.page.next_page_token)
            ),
            metadata=quoting.metadata(),
        )
        assert [q.number for q in rest.quotes] == ["Q-000001"]
        assert rest.page.next_page_token == ""

        for_acme = stub.ListQuotes(pb.ListQuotesRequest(customer_id="cus_acme"), metadata=quoting.metadata())
        assert [q.number for q in for_acme.quotes] == ["Q-000001"]
        submitted = stub.ListQuotes(
            pb.ListQuotesRequest(status=pb.QUOTE_STATUS_SUBMITTED), metadata=quoting.metadata()
        )
        assert list(submitted.quotes) == []


def test_a_refused_quote_takes_no_number(quoting):
    with grpc.insecure_channel(quoting.target) as channel:
        stub = pb_grpc.QuotingServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.CreateQuote(
                pb.CreateQuoteRequest(quote=quote("", currency="XXX")), metadata=quoting.metadata()
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in field_violations(refused.value)] == [
            "quote.customer_id",
            "quote.currency",
        ]
        created = stub.CreateQuote(pb.CreateQuoteRequest(quote=quote()), metadata=quoting.metadata()).quote
        assert created.number == "Q-000001"


def test_an_unknown_quote_is_not_found(quoting):
    with grpc.insecure_channel(quoting.target) as channel:
        stub = pb_grpc.QuotingServiceStub(channel)
        with pytest.raises(grpc.RpcError) as missing:
            stub.GetQuote(pb.GetQuoteRequest(quote_id="no-such-quote"), metadata=quoting.metadata())
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        assert [v.field for v in field_violations(missing.value)] == ["quote_id"]
