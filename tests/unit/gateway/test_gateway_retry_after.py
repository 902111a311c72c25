"""A peer's RESOURCE_EXHAUSTED with RetryInfo reaches an HTTP client as 429 with Retry-After."""

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from starlette.requests import Request

from tally.domain.errors import ResourceExhausted, Unavailable
from tally.gateway.peers import domain_error
from tally.gateway.web.problems import json_problem
from tally.mesh.errors import to_status


class _Refused(grpc.aio.AioRpcError):
    def __init__(self, status: grpc.Status) -> None:
        super().__init__(
            status.code, grpc.aio.Metadata(), grpc.aio.Metadata(*status.trailing_metadata), status.details
        )


def test_retry_info_survives_the_hop_and_becomes_a_rounded_up_retry_after():
    sent = to_status(ResourceExhausted("producer p is over its rate limit", retry_after_s=1.2))
    [detail] = status_pb2.Status.FromString(dict(sent.trailing_metadata)["grpc-status-details-bin"]).details
    delay = error_details_pb2.RetryInfo()
    assert detail.Unpack(delay) and delay.retry_delay.ToNanoseconds() == 1_200_000_000

    error = domain_error(_Refused(sent), "ingestion")
    assert isinstance(error, ResourceExhausted) and error.retry_after_s == 1.2


async def test_a_rate_limited_request_is_answered_429_with_retry_after():
    request = Request({"type": "http", "method": "POST", "path": "/v1/usage/batches", "headers": []})
    response = await json_problem(request, ResourceExhausted("over its rate limit", retry_after_s=1.2))
    assert (response.status_code, response.headers["retry-after"]) == (429, "2")
    plain = await json_problem(request, ResourceExhausted("a batch is too large"))
    assert "retry-after" not in plain.headers


def test_status_without_retry_info_has_none():
    sent = rpc_status.to_status(status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message="too big"))
    error = domain_error(_Refused(sent), "catalog")
    assert isinstance(error, ResourceExhausted) and error.retry_after_s is None


async def test_an_ingest_whose_outcome_is_unknown_is_answered_503_with_the_peers_retry_after():
    sent = to_status(Unavailable("the event store did not confirm batch 'b1'", retry_after_s=5.0))
    error = domain_error(_Refused(sent), "ingestion")
    assert isinstance(error, Unavailable) and error.retry_after_s == 5.0
    request = Request({"type": "http", "method": "POST", "path": "/v1/usage/batches", "headers": []})
    response = await json_problem(request, error)
    assert (response.status_code, response.headers["retry-after"]) == (503, "5")
