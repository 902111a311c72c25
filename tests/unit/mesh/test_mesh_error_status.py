"""Domain errors map to gRPC status codes and google.rpc details, the same way every time."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from tally.domain.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from tally.domain.errors import FieldViolation as Violation
from tally.mesh.errors import to_status


def _details(status: grpc.Status) -> status_pb2.Status:
    (key, value), *_ = status.trailing_metadata
    assert key == "grpc-status-details-bin"
    return status_pb2.Status.FromString(value)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidArgument.field("quantity", "must be positive"), grpc.StatusCode.INVALID_ARGUMENT),
        (NotFound("meter", "api_calls"), grpc.StatusCode.NOT_FOUND),
        (AlreadyExists("customer", "acme"), grpc.StatusCode.ALREADY_EXISTS),
        (FailedPrecondition("invoice INV-7 is finalized"), grpc.StatusCode.FAILED_PRECONDITION),
        (Conflict("event e1 was accepted with another payload"), grpc.StatusCode.ABORTED),
        (Unauthenticated("no key"), grpc.StatusCode.UNAUTHENTICATED),
        (PermissionDenied("lacks usage:write"), grpc.StatusCode.PERMISSION_DENIED),
        (ResourceExhausted("batch over 4 MiB"), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (Unavailable("broker unreachable"), grpc.StatusCode.UNAVAILABLE),
    ],
)
def test_each_domain_error_has_its_code_and_keeps_its_message(
    error: DomainError, code: grpc.StatusCode
) -> None:
    status = to_status(error)

    assert status.code == code
    assert status.details == error.message
    assert _details(status).message == error.message


def test_invalid_argument_carries_every_field_violation() -> None:
    error = InvalidArgument(
        [
            Violation("events[0].customer_id", "is required"),
            Violation("events[3].timestamp_ms", "is in the future"),
        ]
    )

    (detail,) = _details(to_status(error)).details
    bad_request = error_details_pb2.BadRequest()
    assert detail.Unpack(bad_request)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("events[0].customer_id", "is required"),
        ("events[3].timestamp_ms", "is in the future"),
    ]


def test_not_found_names_the_field_and_the_resource() -> None:
    details = _details(to_status(NotFound("plan", "pro-2024", field="plan_id"))).details

    bad_request = error_details_pb2.BadRequest()
    info = error_details_pb2.ResourceInfo()
    assert details[0].Unpack(bad_request) and details[1].Unpack(info)
    assert [v.field for v in bad_request.field_violations] == ["plan_id"]
    assert (info.resource_type, info.resource_name) == ("plan", "pro-2024")


def test_not_found_without_a_field_has_only_resource_info() -> None:
    (detail,) = _details(to_status(NotFound("invoice", "INV-1"))).details
    assert detail.Is(error_details_pb2.ResourceInfo.DESCRIPTOR)


def test_unexpected_exception_is_internal_and_reveals_nothing() -> None:
    status = to_status(KeyError("SELECT secret FROM producers"))

    assert status.code == grpc.StatusCode.INTERNAL
    assert status.details == "internal error"
    assert "secret" not in repr(status.trailing_metadata)
