"""Error mapping: each DomainError becomes one gRPC status with google.rpc details, and back for callers."""

from __future__ import annotations

import grpc
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from tally.domain.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from tally.mesh.transient import TransientClassifier

OUTAGE_RETRY_DELAY_S = 1
"""The RetryInfo delay sent with an outage's UNAVAILABLE: clients back off from there on their own."""

INTERNAL_MESSAGE = "internal error"
"""What the caller sees for a bug: the traceback goes to the log and the trace, never over the wire."""

DEADLINE_MESSAGE = "deadline exceeded waiting for a dependency"

# Most specific first: isinstance matching lets a service subclass a DomainError and keep its code.
_CODES: tuple[tuple[type[DomainError], int], ...] = (
    (InvalidArgument, code_pb2.INVALID_ARGUMENT),
    (NotFound, code_pb2.NOT_FOUND),
    (AlreadyExists, code_pb2.ALREADY_EXISTS),
    (FailedPrecondition, code_pb2.FAILED_PRECONDITION),
    (Conflict, code_pb2.ABORTED),
    (Unauthenticated, code_pb2.UNAUTHENTICATED),
    (PermissionDenied, code_pb2.PERMISSION_DENIED),
    (ResourceExhausted, code_pb2.RESOURCE_EXHAUSTED),
    (Unavailable, code_pb2.UNAVAILABLE),
)


def to_rpc_status(exc: BaseException, transient: TransientClassifier | None = None) -> status_pb2.Status:
    """The google.rpc.Status for ``exc``: a domain error keeps its message; a failure ``transient`` recognises
    (the database or a peer away) is UNAVAILABLE with RetryInfo; anything else is INTERNAL."""
    if isinstance(exc, DomainError):
        for kind, code in _CODES:
            if isinstance(exc, kind):
                status = status_pb2.Status(code=code, message=exc.message)
                _add_details(status, exc)
                return status
        # A DomainError subclass outside the table is still an intended, caller-safe failure.
        return status_pb2.Status(code=code_pb2.FAILED_PRECONDITION, message=exc.message)
    if isinstance(exc, grpc.RpcError) and exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        # A dependency ran out of our caller's time budget: the caller's deadline is what expired.
        return status_pb2.Status(code=code_pb2.DEADLINE_EXCEEDED, message=DEADLINE_MESSAGE)
    reason = transient(exc) if transient is not None else None
    if reason is not None:
        status = status_pb2.Status(
            code=code_pb2.UNAVAILABLE, message=f"temporarily unavailable: {reason}; retry"
        )
        status.details.add().Pack(
            error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=OUTAGE_RETRY_DELAY_S))
        )
        return status
    return status_pb2.Status(code=code_pb2.INTERNAL, message=INTERNAL_MESSAGE)


def to_status(exc: BaseException, transient: TransientClassifier | None = None) -> grpc.Status:
    """The grpc.Status (code, details, trailing ``grpc-status-details-bin``) to abort an RPC with."""
    return rpc_status.to_status(to_rpc_status(exc, transient))


def _add_details(status: status_pb2.Status, exc: DomainError) -> None:
    if isinstance(exc, Unavailable | ResourceExhausted) and exc.retry_after_s is not None:
        retry = error_details_pb2.RetryInfo()
        retry.retry_delay.FromNanoseconds(max(1, round(exc.retry_after_s * 1e9)))
        status.details.add().Pack(retry)
    elif isinstance(exc, InvalidArgument):
        status.details.add().Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.reason)
                    for v in exc.violations
                ]
            )
        )
    elif isinstance(exc, Unavailable):
        delay = error_details_pb2.RetryInfo()
        delay.retry_delay.FromNanoseconds(int(exc.retry_after_s * 1e9))
        status.details.add().Pack(delay)
    elif isinstance(exc, NotFound | AlreadyExists):
        if exc.field:
            reason = "not found" if isinstance(exc, NotFound) else "already exists"
            status.details.add().Pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=exc.field, description=f"{exc.resource} {exc.identifier!r} {reason}"
                        )
                    ]
                )
            )
        status.details.add().Pack(
            error_details_pb2.ResourceInfo(
                resource_type=exc.resource, resource_name=exc.identifier, description=exc.message
            )
        )


def _decoded(rpc_error: grpc.RpcError) -> status_pb2.Status | None:
    # grpc.aio's AioRpcError is not a grpc.Call, so rpc_status.from_call cannot read it; read the
    # trailing metadata ourselves, which works for both the sync and the aio error types.
    trailing = rpc_error.trailing_metadata()
    for key, value in trailing or ():
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    return None


def field_violations(rpc_error: grpc.RpcError) -> list[FieldViolation]:
    """Every field violation a failed call carried in BadRequest details (empty when there are none)."""
    status = _decoded(rpc_error)
    if status is None:
        return []
    violations: list[FieldViolation] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations.extend(FieldViolation(v.field, v.description) for v in bad_request.field_violations)
    return violations


def retry_info(rpc_error: grpc.RpcError) -> error_details_pb2.RetryInfo | None:
    """The google.rpc.RetryInfo detail of a failed call (UNAVAILABLE, RESOURCE_EXHAUSTED), if the server sent one."""
    status = _decoded(rpc_error)
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info
    return None


def retry_delay_s(rpc_error: grpc.RpcError) -> float | None:
    """Seconds a retryable failure asks the caller to wait (its RetryInfo); None when the server sent none."""
    info = retry_info(rpc_error)
    return None if info is None else info.retry_delay.ToNanoseconds() / 1e9


def resource_info(rpc_error: grpc.RpcError) -> error_details_pb2.ResourceInfo | None:
    """The ResourceInfo detail of a NOT_FOUND / ALREADY_EXISTS failure, if the server sent one."""
    status = _decoded(rpc_error)
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ResourceInfo.DESCRIPTOR):
            info = error_details_pb2.ResourceInfo()
            detail.Unpack(info)
            return info
    return None
