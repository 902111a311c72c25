"""Webhook use cases for people: register endpoints, switch them on and off, read the delivery log, replay."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from tally.domain.errors import InvalidArgument, NotFound
from tally.gateway.domain.access import Viewer
from tally.gateway.domain.webhooks import new_secret, validate_endpoint
from tally.gateway.webhook_store import STATES, Attempt, Delivery, Endpoint, WebhookStore

MAX_PAGE = 200


@dataclass(frozen=True)
class DeliveryDetail:
    delivery: Delivery
    endpoint: Endpoint
    attempts: list[Attempt]


class WebhookAdmin:
    """Operators manage every endpoint; a customer only its own (created with its key, scoped to it)."""

    def __init__(
        self,
        store: WebhookStore,
        wake: Callable[[], None],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._wake = wake
        self._clock = clock

    async def register(
        self, viewer: Viewer, url: object, event_types: object, description: object, customer_id: object
    ) -> Endpoint:
        valid = validate_endpoint(url, event_types, description)
        if viewer.customer_id is not None:
            if customer_id not in (None, viewer.customer_id):
                raise InvalidArgument.field(
                    "customer_id", "a customer key registers endpoints for its own customer only"
                )
            owner: str | None = viewer.customer_id
        elif customer_id is None or isinstance(customer_id, str):
            owner = customer_id or None
        else:
            raise InvalidArgument.field("customer_id", "must be a customer id, or absent for every customer")
        now = self._clock()
        endpoint = Endpoint(
            id=f"ep_{secrets.token_hex(8)}",
            url=valid.url,
            description=valid.description,
            event_types=valid.event_types,
            customer_id=owner,
            secret=new_secret(),
            enabled=True,
            disabled_reason="",
            consecutive_failures=0,
            created_at=now,
            updated_at=now,
        )
        return await asyncio.to_thread(self._store.add_endpoint, endpoint)

    async def endpoints(self, viewer: Viewer) -> list[Endpoint]:
        return await asyncio.to_thread(self._store.endpoints, viewer.customer_id)

    async def endpoint(self, viewer: Viewer, endpoint_id: str) -> Endpoint:
        endpoint = await asyncio.to_thread(self._store.endpoint, endpoint_id)
        self._ensure_owner(viewer, endpoint)
        return endpoint

    async def set_enabled(self, viewer: Viewer, endpoint_id: str, enabled: object) -> Endpoint:
        if not isinstance(enabled, bool):
            raise InvalidArgument.field("enabled", "must be true or false")
        await self.endpoint(viewer, endpoint_id)
        endpoint = await asyncio.to_thread(self._store.set_enabled, endpoint_id, enabled, self._clock())
        if enabled:
            self._wake()
        return endpoint

    async def deliveries(
        self, viewer: Viewer, *, endpoint_id: str | None, state: str | None, before_id: int | None, limit: int
    ) -> list[Delivery]:
        if state is not None and state not in STATES:
            raise InvalidArgument.field("state", f"must be one of {list(STATES)}, got {state!r}")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidArgument.field("limit", f"must be between 1 and {MAX_PAGE}")
        if endpoint_id is not None:
            await self.endpoint(viewer, endpoint_id)
        return await asyncio.to_thread(
            self._store.deliveries,
            customer_id=viewer.customer_id,
            endpoint_id=endpoint_id,
            state=state,
            before_id=before_id,
            limit=limit,
        )

    async def delivery(self, viewer: Viewer, delivery_id: int) -> DeliveryDetail:
        delivery, endpoint, attempts = await asyncio.to_thread(self._store.delivery, delivery_id)
        self._ensure_owner(viewer, endpoint, as_delivery=delivery_id)
        return DeliveryDetail(delivery, endpoint, attempts)

    async def replay(self, viewer: Viewer, delivery_id: int) -> DeliveryDetail:
        await self.delivery(viewer, delivery_id)
        await asyncio.to_thread(self._store.request_replay, delivery_id, self._clock())
        self._wake()
        return await self.delivery(viewer, delivery_id)

    @staticmethod
    def _ensure_owner(viewer: Viewer, endpoint: Endpoint, as_delivery: int | None = None) -> None:
        if viewer.customer_id is not None and endpoint.customer_id != viewer.customer_id:
            # Another customer's endpoint does not exist as far as this viewer can tell.
            if as_delivery is not None:
                raise NotFound("webhook delivery", str(as_delivery), "delivery_id")
            raise NotFound("webhook endpoint", endpoint.id, "endpoint_id")
