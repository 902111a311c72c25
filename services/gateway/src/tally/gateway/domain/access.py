"""Who is asking through the gateway, and the one rule that keeps a customer to its own data."""

from __future__ import annotations

from dataclasses import dataclass

from tally.domain.errors import PermissionDenied

OPERATOR_SCOPE = "finance"
"""The keyring scope that makes a key an operator's (finance console, every customer); ``*`` includes it."""

CUSTOMER_PRINCIPAL = "customer:"


@dataclass(frozen=True)
class Viewer:
    """The authenticated caller of one HTTP request: an operator, or one customer (key or portal link)."""

    name: str
    customer_id: str | None
    """The only customer this viewer may see; None for an operator, who may see every customer."""

    @property
    def is_operator(self) -> bool:
        return self.customer_id is None

    def ensure_may_read(self, customer_id: str) -> None:
        """PermissionDenied unless this viewer may see ``customer_id``'s data."""
        if self.customer_id is not None and self.customer_id != customer_id:
            raise PermissionDenied(f"{self.name} may only read its own customer's data")

    def ensure_operator(self) -> None:
        if not self.is_operator:
            raise PermissionDenied(f"{self.name} is a customer's credential; this needs an operator key")


def customer_viewer(customer_id: str, via: str) -> Viewer:
    return Viewer(name=f"{CUSTOMER_PRINCIPAL}{customer_id} ({via})", customer_id=customer_id)
