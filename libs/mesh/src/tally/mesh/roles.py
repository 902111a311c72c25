"""Who holds which scopes: the operator roles people get keys for, and each service's own identity.

Each set is the least that lets its holder do its job. ``docs/security.md`` shows the same sets in
tables, and a test checks that document against this module and against every RPC's declared scope.
"""

from __future__ import annotations

from tally.mesh.auth import ALL_SCOPES

_READS = frozenset(
    {
        "catalog:read",
        "meters:read",
        "usage:read",
        "invoices:read",
        "quotes:read",
        "erp:read",
        "insights:read",
        # Simulating a price change reads usage and plans and writes nothing.
        "insights:simulate",
        # The gateway's operator access over HTTP: the finance console and /v1 for every customer.
        "finance",
    }
)

OPERATOR_ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset({ALL_SCOPES}),
    "finance-read": _READS,
    "finance-write": _READS
    | {
        "catalog:write",
        "invoices:write",
        "quotes:write",
        "quotes:approve",
        "quotes:accept",
        "erp:write",
        "usage:correct",
    },
    "support": frozenset(
        {"catalog:read", "meters:read", "usage:read", "invoices:read", "quotes:read", "finance"}
    ),
}
"""Operator role → scopes. Only ``admin`` administers producers, keys, meters and portal links."""

SERVICE_SCOPES: dict[str, frozenset[str]] = {
    "ingestion": frozenset(),
    "metering": frozenset(),
    "catalog": frozenset(),
    "erp_sync": frozenset(),
    "invoicing": frozenset({"catalog:read", "usage:read"}),
    "quoting": frozenset({"catalog:read", "usage:read", "invoices:read"}),
    "insights": frozenset({"catalog:read", "meters:read", "usage:read", "invoices:read"}),
    "gateway": frozenset(
        {"catalog:read", "meters:read", "usage:read", "invoices:read", "quotes:read", "erp:read"}
    ),
}
"""Service → the scopes of the RPCs it calls on other services (a service that calls none holds none).

Its key is its identity on those calls; it never needs ``*``. The gateway forwards a producer's own key
to Ingest, so it holds no ``usage:write``."""


def service_scopes(service: str) -> frozenset[str]:
    """The scopes of ``service``'s key; a name outside SERVICE_SCOPES is a mistake, not an empty set."""
    try:
        return SERVICE_SCOPES[service.replace("-", "_")]
    except KeyError:
        raise ValueError(f"no scopes are defined for service {service!r}") from None


def role_scopes(role: str) -> frozenset[str]:
    """The scopes of an operator ``role``; naming the roles there are when it is unknown."""
    try:
        return OPERATOR_ROLES[role]
    except KeyError:
        raise ValueError(f"unknown role {role!r}: one of {', '.join(OPERATOR_ROLES)}") from None
