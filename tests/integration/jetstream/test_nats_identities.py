"""NATS identities against a real nats-server with authorization: who may connect, publish and consume what."""

from __future__ import annotations

import asyncio

import nats.errors
import pytest
from nats.aio.client import Client as NATS

from tally.mesh import jetstream, nats_access, streams
from tally.mesh.auth import generate_key
from tally.mesh.jetstream import ConsumerSpec
from tally.testing.nats_server import NatsServer

pytestmark = pytest.mark.usefixtures("secured_nats_server")


async def _connect(server: NatsServer, identity: str | None) -> tuple[NATS, list[Exception]]:
    """A client as ``identity`` (None: no credentials), and the asynchronous errors the server sent it."""
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    client = NATS()
    options: dict[str, object] = {}
    if identity is not None:
        options = {
            "nkeys_seed_str": server.seed(identity),
            "inbox_prefix": nats_access.inbox_prefix(identity),
        }
    await client.connect(
        servers=[server.url], allow_reconnect=False, connect_timeout=2, error_cb=on_error, **options
    )
    return client, errors


async def _stored(server: NatsServer, stream: str) -> int:
    operator, _ = await _connect(server, "operator")
    try:
        return (await operator.jetstream().stream_info(stream)).state.messages
    finally:
        await operator.close()


async def test_a_client_without_credentials_cannot_connect(secured_nats_server: NatsServer) -> None:
    client = NATS()
    with pytest.raises((nats.errors.Error, OSError)):
        await client.connect(servers=[secured_nats_server.url], allow_reconnect=False, connect_timeout=2)
    assert not client.is_connected


async def test_a_seed_the_server_does_not_know_cannot_connect(secured_nats_server: NatsServer) -> None:
    client = NATS()
    with pytest.raises((nats.errors.Error, OSError)):
        await client.connect(
            servers=[secured_nats_server.url],
            allow_reconnect=False,
            connect_timeout=2,
            nkeys_seed_str=nats_access.generate_seed(),
        )
    assert not client.is_connected


async def test_a_producers_api_key_is_no_nats_credential(secured_nats_server: NatsServer) -> None:
    producer_key, _ = generate_key("producer:acme", ["usage:write"])
    for options in ({"token": producer_key}, {"user": "acme", "password": producer_key}):
        client = NATS()
        with pytest.raises((nats.errors.Error, OSError)):
            await client.connect(
                servers=[secured_nats_server.url], allow_reconnect=False, connect_timeout=2, **options
            )
        assert not client.is_connected


async def test_only_ingestion_may_publish_usage(secured_nats_server: NatsServer) -> None:
    ingestion, _ = await _connect(secured_nats_server, "ingestion")
    try:
        js = ingestion.jetstream()
        await jetstream.ensure_stream(js, streams.USAGE)
        ack = await jetstream.publish(js, streams.usage_batch_subject(3), b"batch", "p/b/3/0")
        assert ack.seq == 1
    finally:
        await ingestion.close()

    for forger in ("metering", "invoicing", "gateway", "insights"):
        client, errors = await _connect(secured_nats_server, forger)
        try:
            with pytest.raises((nats.errors.Error, TimeoutError)):
                await jetstream.publish(
                    client.jetstream(),
                    streams.usage_batch_subject(3),
                    b"forged",
                    f"{forger}/x",
                    timeout_s=1.0,
                )
            # Core publish too: the server drops it and says why.
            await client.publish(streams.usage_batch_subject(3), b"forged")
            await client.flush()
            await asyncio.sleep(0.1)
            assert any("permissions violation" in str(error).lower() for error in errors), errors
        finally:
            await client.close()
    assert await _stored(secured_nats_server, streams.USAGE.name) == 1


async def test_ingestion_cannot_publish_metering_or_invoicing_subjects(
    secured_nats_server: NatsServer,
) -> None:
    metering, _ = await _connect(secured_nats_server, "metering")
    try:
        await jetstream.ensure_stream(metering.jetstream(), streams.METERING)
        await jetstream.ensure_stream(metering.jetstream(), streams.INVOICING)
    finally:
        await metering.close()
    ingestion, errors = await _connect(secured_nats_server, "ingestion")
    try:
        for subject in (streams.USAGE_LATE, streams.METER_CHANGED, streams.INVOICE_FINALIZED):
            with pytest.raises((nats.errors.Error, TimeoutError)):
                await jetstream.publish(ingestion.jetstream(), subject, b"forged", subject, timeout_s=1.0)
    finally:
        await ingestion.close()
    assert any("permissions violation" in str(error).lower() for error in errors)
    assert await _stored(secured_nats_server, streams.METERING.name) == 0
    assert await _stored(secured_nats_server, streams.INVOICING.name) == 0


async def test_a_service_may_not_drive_another_services_consumer(secured_nats_server: NatsServer) -> None:
    metering, _ = await _connect(secured_nats_server, "metering")
    try:
        js = metering.jetstream()
        await jetstream.ensure_stream(js, streams.USAGE)
        await jetstream.ensure_consumer(
            js, ConsumerSpec(streams.USAGE.name, "metering-usage", f"{streams.USAGE_BATCHES}.>")
        )
    finally:
        await metering.close()
    insights, errors = await _connect(secured_nats_server, "insights")
    try:
        js = insights.jetstream()
        # Whoever declares USAGE declares metering's consumer with it (interest retention keeps batches for
        # it), but only metering may pull from it or ack its messages.
        with pytest.raises((nats.errors.Error, TimeoutError)):
            await insights.request(
                f"$JS.API.CONSUMER.MSG.NEXT.{streams.USAGE.name}.metering-usage",
                b'{"batch": 1, "expires": 500000000}',
                timeout=1.0,
            )
        with pytest.raises((nats.errors.Error, TimeoutError)):
            await js.consumer_info(streams.METERING.name, "invoicing-usage-late", timeout=1.0)
        assert any("permissions violation" in str(error).lower() for error in errors), errors
        # Its own consumer on the same stream is fine.
        await jetstream.ensure_consumer(
            js, ConsumerSpec(streams.USAGE.name, "insights-usage-activity", f"{streams.USAGE_BATCHES}.>")
        )
    finally:
        await insights.close()


async def test_one_identity_cannot_read_another_identitys_replies(secured_nats_server: NatsServer) -> None:
    snooper, errors = await _connect(secured_nats_server, "insights")
    try:
        await snooper.subscribe(f"{nats_access.inbox_prefix('ingestion')}.>")
        await snooper.subscribe("_INBOX.>")
        await snooper.flush()
        await asyncio.sleep(0.1)
    finally:
        await snooper.close()
    assert sum("permissions violation for subscription" in str(error).lower() for error in errors) == 2
