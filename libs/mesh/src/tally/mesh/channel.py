"""Outbound gRPC channels: client interceptors, round-robin balancing, retries with a budget, mutual TLS."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import grpc
import grpc.aio

from tally.mesh.interceptors.auth import ClientAuthInterceptor
from tally.mesh.interceptors.deadlines import ClientDeadlineInterceptor
from tally.mesh.interceptors.shapes import every_shape
from tally.mesh.interceptors.tracing import ClientTracingInterceptor
from tally.mesh.server import MAX_MESSAGE_BYTES
from tally.mesh.settings import MeshSettings
from tally.mesh.tls import channel_credentials, tls_material

RETRY_POLICY: dict[str, Any] = {
    "maxAttempts": 4,
    "initialBackoff": "0.1s",
    "maxBackoff": "2s",
    "backoffMultiplier": 2,
    # Only UNAVAILABLE: the request did not take effect and another replica may take it. In Tally
    # RESOURCE_EXHAUSTED means a size or rate limit, which an immediate retry would just hit again.
    "retryableStatusCodes": ["UNAVAILABLE"],
}

RETRY_THROTTLING: dict[str, Any] = {"maxTokens": 10, "tokenRatio": 0.1}
"""The retry budget: once failures outweigh successes, retries stop instead of piling onto an outage."""

CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.enable_retries", 1),
    # Detect a dead server (pod killed without FIN) in ~30 s; 20 s respects the server's 10 s ping floor.
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
)


def service_config(idempotent: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The gRPC service config: round_robin over every resolved address; retries only where safe.

    ``idempotent`` lists ``(package.Service, Method)`` pairs: reads and writes keyed by an idempotency key.
    """
    config: dict[str, Any] = {
        "loadBalancingConfig": [{"round_robin": {}}],
        "retryThrottling": RETRY_THROTTLING,
    }
    names = [{"service": service, "method": method} for service, method in idempotent]
    if names:
        config["methodConfig"] = [{"name": names, "retryPolicy": RETRY_POLICY}]
    return config


def open_channel(
    target: str,
    settings: MeshSettings,
    *,
    idempotent: Iterable[tuple[str, str]] = (),
    token: str | None = None,
) -> grpc.aio.Channel:
    """A channel to ``target`` (``host:port`` or ``dns:///service.namespace:port`` for a headless service).

    Every call is traced, carries ``token`` (default: this service's identity) and gets a deadline.
    """
    options = (*CHANNEL_OPTIONS, ("grpc.service_config", json.dumps(service_config(idempotent))))
    # Tracing outermost, so a call refused locally (deadline already gone) still leaves a span.
    interceptors = every_shape(
        ClientTracingInterceptor(),
        ClientDeadlineInterceptor(settings.default_deadline_s),
        ClientAuthInterceptor(token if token is not None else settings.service_token),
    )
    material = tls_material(settings)
    if material is None:
        return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)
    return grpc.aio.secure_channel(
        target, channel_credentials(material), options=options, interceptors=interceptors
    )
