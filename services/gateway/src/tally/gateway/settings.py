"""Gateway settings beyond the mesh's: where HTTP listens, its peers, links, sessions and webhook retries."""

from __future__ import annotations

from dataclasses import dataclass

from tally.gateway.domain.webhooks import DEFAULT_RETRY_SCHEDULE_S
from tally.mesh.settings import parse_byte_count, parse_port, parse_seconds, setting


def parse_schedule(raw: str) -> tuple[float, ...]:
    delays = tuple(parse_seconds(part.strip()) for part in raw.split(",") if part.strip())
    if not delays:
        raise ValueError("expected comma-separated seconds, e.g. 5,60,300")
    return delays


def parse_count(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError(f"must be a positive whole number, got {raw!r}")
    return value


@dataclass(frozen=True)
class GatewaySettings:
    """HTTP listener, peer addresses, link and session lifetimes, webhook delivery policy."""

    ingestion_target: str = setting("TALLY_INGESTION_TARGET", doc="ingestion's gRPC address")
    """ingestion's gRPC address (host:port or dns:///name:port)."""
    metering_target: str = setting("TALLY_METERING_TARGET", doc="metering's gRPC address")
    """metering's gRPC address."""
    catalog_target: str = setting("TALLY_CATALOG_TARGET", doc="catalog's gRPC address")
    """catalog's gRPC address."""
    quoting_target: str = setting("TALLY_QUOTING_TARGET", doc="quoting's gRPC address")
    """quoting's gRPC address."""
    invoicing_target: str = setting("TALLY_INVOICING_TARGET", doc="invoicing's gRPC address")
    """invoicing's gRPC address."""
    erp_sync_target: str = setting("TALLY_ERP_SYNC_TARGET", doc="erp-sync's gRPC address")
    """erp-sync's gRPC address."""

    http_host: str = setting("TALLY_HTTP_HOST", default="0.0.0.0", doc="address the HTTP server binds")
    """Address the HTTP server (API, portal, console) binds to."""

    http_port: int = setting("TALLY_HTTP_PORT", default=8080, parse=parse_port, doc="HTTP port")
    """Port of the HTTP server."""

    public_url: str = setting(
        "TALLY_GATEWAY_PUBLIC_URL", default="", doc="base URL customers reach the gateway at (portal links)"
    )
    """Base URL printed in portal links, e.g. https://billing.example.com; default http://<host>:<port>."""

    max_body_bytes: int = setting(
        "TALLY_GATEWAY_MAX_BODY_BYTES",
        default=6 * 1024 * 1024,
        parse=parse_byte_count,
        doc="largest HTTP request body accepted, in bytes (413 beyond)",
    )
    """Largest HTTP request body the gateway reads; a larger one is refused with 413 before it is buffered.
    The default leaves room above the 5 MiB JSON usage batch, which is refused with its own message."""

    peer_deadline_s: float = setting(
        "TALLY_GATEWAY_PEER_DEADLINE_SECONDS",
        default=5.0,
        parse=parse_seconds,
        doc="deadline of each peer call",
    )
    """Deadline of every call the gateway makes to another service (a page waits no longer than this)."""

    portal_link_ttl_s: float = setting(
        "TALLY_PORTAL_LINK_TTL_SECONDS",
        default=3600.0,
        parse=parse_seconds,
        doc="default life of a portal link",
    )
    """How long a portal link opens the portal when no other lifetime is asked for (and its session lasts)."""

    console_session_s: float = setting(
        "TALLY_CONSOLE_SESSION_SECONDS", default=8 * 3600.0, parse=parse_seconds, doc="console session life"
    )
    """How long an operator stays logged in to the console."""

    portal_refresh_s: float = setting(
        "TALLY_PORTAL_REFRESH_SECONDS", default=1.0, parse=parse_seconds, doc="portal live-data poll interval"
    )
    """How often an open portal page asks for fresh usage and cost to date."""

    key_cache_s: float = setting(
        "TALLY_GATEWAY_KEY_CACHE_SECONDS", default=2.0, parse=parse_seconds, doc="customer key cache"
    )
    """A revoked customer key stops working on every replica within this many seconds."""

    webhook_retry_schedule_s: tuple[float, ...] = setting(
        "TALLY_WEBHOOK_RETRY_SECONDS",
        default=DEFAULT_RETRY_SCHEDULE_S,
        parse=parse_schedule,
        doc="waits before each webhook retry, comma separated (default: 11 attempts over ~3 days)",
    )
    """Seconds to wait after the n-th failed attempt of a delivery; after the last, the delivery fails."""

    webhook_disable_after: int = setting(
        "TALLY_WEBHOOK_DISABLE_AFTER_FAILURES",
        default=30,
        parse=parse_count,
        doc="consecutive failed attempts that disable an endpoint",
    )
    """An endpoint whose attempts failed this many times in a row is disabled (and an alert published)."""

    webhook_timeout_s: float = setting(
        "TALLY_WEBHOOK_TIMEOUT_SECONDS", default=10.0, parse=parse_seconds, doc="timeout of one webhook POST"
    )
    """How long one delivery attempt waits for the endpoint's answer."""

    webhook_concurrency: int = setting(
        "TALLY_WEBHOOK_CONCURRENCY", default=16, parse=parse_count, doc="webhook POSTs in flight per replica"
    )
    """Attempts in flight at once on one replica."""
