"""``python -m tally.gateway``: wiring only."""

from __future__ import annotations

from pathlib import Path

import httpx

from tally.api.gateway.v1 import gateway_service_pb2_grpc as pb_grpc
from tally.gateway.customer_keys import ApiKeyVerifier, CustomerKeys
from tally.gateway.deliverer import Deliverer
from tally.gateway.domain.webhooks import RetryPolicy
from tally.gateway.events import EventTranslator, WebhookFanOut, consumer_specs
from tally.gateway.http_server import HttpServer
from tally.gateway.key_store import KeyStore
from tally.gateway.links import ConsoleSessions, PortalLinks, Signer
from tally.gateway.peers import READS, Peers
from tally.gateway.reads import CustomerReads
from tally.gateway.server import SCOPES, SERVICE, GatewayAdminServicer
from tally.gateway.settings import GatewaySettings
from tally.gateway.web.api import Api
from tally.gateway.web.app import create_app, templates
from tally.gateway.web.console import Console
from tally.gateway.web.portal import Portal
from tally.gateway.web.viewers import Viewers
from tally.gateway.webhook_admin import WebhookAdmin
from tally.gateway.webhook_store import WebhookStore
from tally.mesh import streams
from tally.mesh.auth import Keyring
from tally.runtime.process import Consumer, Runtime, ServiceDefinition, Wiring, main

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"
PEERS = ("ingestion", "metering", "catalog", "quoting", "invoicing", "erp_sync")


async def wire(runtime: Runtime[GatewaySettings]) -> Wiring:
    settings = runtime.settings
    channels = {
        name: runtime.channel(getattr(settings, f"{name}_target"), idempotent=READS) for name in PEERS
    }
    peers = Peers(channels, settings.peer_deadline_s)
    key_store = KeyStore(runtime.engine)
    webhook_store = WebhookStore(runtime.engine, consumer="gateway-webhooks")
    signer = Signer(key_store)
    await signer.load()
    public_url = settings.public_url or f"http://{settings.http_host}:{settings.http_port}"
    links = PortalLinks(signer, peers, public_url=public_url, default_ttl_s=settings.portal_link_ttl_s)
    verifier = ApiKeyVerifier(
        Keyring.load(runtime.mesh.keyring_path), key_store, cache_s=settings.key_cache_s
    )
    keys = CustomerKeys(key_store, peers)
    keys.revoked = verifier.forget
    http_client = httpx.AsyncClient(follow_redirects=False)
    deliverer = Deliverer(
        webhook_store,
        http_client,
        RetryPolicy(settings.webhook_retry_schedule_s, settings.webhook_disable_after),
        concurrency=settings.webhook_concurrency,
        timeout_s=settings.webhook_timeout_s,
        wake_relay=runtime.relay.wake,
    )
    webhooks = WebhookAdmin(webhook_store, deliverer.wake)
    reads = CustomerReads(peers, webhook_store)
    viewers = Viewers(verifier, links, ConsoleSessions(signer, ttl_s=settings.console_session_s))
    found_templates = templates()
    app = create_app(
        Api(viewers, reads, webhooks, peers),
        Portal(viewers, reads, found_templates, refresh_s=settings.portal_refresh_s),
        Console(viewers, reads, webhooks, peers, found_templates, session_s=settings.console_session_s),
        found_templates,
        max_body_bytes=settings.max_body_bytes,
    )
    http = HttpServer(app, settings.http_host, settings.http_port)
    await http.start()
    translator = EventTranslator(peers)
    return Wiring(
        registrations=[
            (pb_grpc.add_GatewayAdminServiceServicer_to_server, GatewayAdminServicer(keys, links))
        ],
        service_names=[SERVICE],
        scopes=SCOPES,
        consumers=[
            Consumer(spec, WebhookFanOut(webhook_store, translate, deliverer.wake))
            for spec, translate in consumer_specs(translator)
        ],
        background=[deliverer.run_forever],
        on_shutdown=[http.stop, http_client.aclose],
    )


DEFINITION = ServiceDefinition(
    "gateway", MIGRATIONS, GatewaySettings, wire, streams=[*streams.ALL, streams.GATEWAY]
)

if __name__ == "__main__":
    main(DEFINITION)
