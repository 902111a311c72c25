"""Domain errors: what went wrong in billing terms, mapped to wire status codes in one place (tally.mesh)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field: its path in the request (e.g. ``events[3].timestamp_ms``) and why."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class DomainError(Exception):
    """Base of every error a use case raises on purpose; the message is safe to show to the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DomainError):
    """The request is malformed; ``violations`` names each bad field and the reason."""

    def __init__(self, violations: Iterable[FieldViolation] | FieldViolation) -> None:
        if isinstance(violations, FieldViolation):
            violations = [violations]
        self.violations = tuple(violations)
        if not self.violations:
            raise ValueError("InvalidArgument needs at least one field violation")
        super().__init__("; ".join(str(v) for v in self.violations))

    @classmethod
    def field(cls, field: str, reason: str) -> InvalidArgument:
        return cls(FieldViolation(field, reason))


class NotFound(DomainError):
    """A referenced resource does not exist; ``field`` names the request field that referenced it."""

    def __init__(self, resource: str, identifier: str, field: str | None = None) -> None:
        self.resource = resource
        self.identifier = identifier
        self.field = field
        super().__init__(f"{resource} {identifier!r} not found" + (f" (field {field})" if field else ""))


class AlreadyExists(DomainError):
    """A resource with the same natural key exists already."""

    def __init__(self, resource: str, identifier: str, field: str | None = None) -> None:
        self.resource = resource
        self.identifier = identifier
        self.field = field
        super().__init__(f"{resource} {identifier!r} already exists")


class FailedPrecondition(DomainError):
    """The resource is in a state that forbids the operation (a finalized invoice, a revoked key)."""


class Conflict(DomainError):
    """The request contradicts data accepted earlier (same event id, different payload)."""


class Unauthenticated(DomainError):
    """The caller presented no credentials, or credentials that are not valid."""


class PermissionDenied(DomainError):
    """The caller is known but lacks the scope the operation needs."""


class ResourceExhausted(DomainError):
    """A size or rate limit was exceeded (batch too large, too many properties).

    ``retry_after_s``, when known, is how long the caller should wait before the same request can
    succeed (a rate limit refilling); it travels as google.rpc.RetryInfo."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unavailable(DomainError):
    """A dependency (the broker, another service) cannot be reached now; the caller may retry after
    ``retry_after_s`` seconds (sent as google.rpc.RetryInfo)."""

    def __init__(self, message: str, *, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
