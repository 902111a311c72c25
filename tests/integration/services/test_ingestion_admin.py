"""Ingestion's producers and API keys, through the admin RPCs and the `tally producers/keys` commands, against
a real ingestion process (SQLite and PostgreSQL)."""

import asyncio
import json
import time

import grpc
import nats
import nats.errors
import pytest

from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as pb
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as pb_grpc
from tally.cli.__main__ import main as tally
from tally.testing.services import ServiceProcess


@pytest.fixture
def ingestion(tmp_path, nats_server, database_url):
    service = ServiceProcess(
        "ingestion", "tally.ingestion", database_url, nats_server.url, tmp_path / "ingestion"
    )
    service.start()
    yield service
    service.kill()


@pytest.fixture
def channel(ingestion):
    with grpc.insecure_channel(ingestion.target) as channel:
        yield channel


@pytest.fixture
def admin(channel):
    return pb_grpc.IngestionAdminServiceStub(channel)


@pytest.fixture
def usage(channel):
    return pb_grpc.IngestionServiceStub(channel)


def event(event_id):
    return events_pb2.UsageEvent(
        event_id=event_id, customer="acme", event_type="api_call", timestamp_ms=int(time.time() * 1000)
    )


async def _stored_batches(url):
    client = await nats.connect(url)
    try:
        sub = await client.jetstream().pull_subscribe("tally.usage.batches.>", stream="USAGE")
        batches = []
        while True:
            try:
                msgs = await sub.fetch(100, timeout=1)
            except TimeoutError:  # nats or asyncio: both are TimeoutError
                return batches
            batches.extend(events_pb2.UsageBatchAccepted.FromString(msg.data) for msg in msgs)
    finally:
        await client.close()


def rpc_error(call, *args, **kwargs):
    with pytest.raises(grpc.RpcError) as raised:
        call(*args, **kwargs)
    return raised.value


def test_producer_key_lifecycle_ingest_carries_the_producer_and_revocation_is_immediate(
    ingestion, admin, usage, nats_server
):
    md = ingestion.metadata()
    producer = admin.CreateProducer(pb.CreateProducerRequest(name="api-gateway"), metadata=md).producer
    created = admin.CreateApiKey(pb.CreateApiKeyRequest(producer_id=producer.id, name="prod"), metadata=md)
    assert created.secret.startswith(f"tly_{created.api_key.id}_")
    assert list(created.api_key.scopes) == ["usage:write"]
    key = created.secret

    reply = usage.Ingest(
        pb.IngestRequest(batch_id="k1", events=[event("x1")]), metadata=ingestion.metadata(key)
    )
    assert reply.accepted_count == 1
    [batch] = asyncio.run(_stored_batches(nats_server.url))
    assert (batch.batch_id, batch.producer_id, [e.event_id for e in batch.events]) == (
        "k1",
        f"producer:{producer.id}",
        ["x1"],
    )

    listed = admin.ListApiKeys(pb.ListApiKeysRequest(producer_id=producer.id), metadata=md)
    assert [(k.id, k.name, k.prefix) for k in listed.api_keys] == [
        (created.api_key.id, "prod", f"tly_{created.api_key.id}_")
    ]
    assert key.split("_", 2)[2] not in str(listed)

    revoked = admin.RevokeApiKey(pb.RevokeApiKeyRequest(api_key_id=created.api_key.id), metadata=md)
    assert revoked.api_key.HasField("revoked_at")
    error = rpc_error(usage.Ingest, pb.IngestRequest(events=[event("x2")]), metadata=ingestion.metadata(key))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED

    assert admin.ListApiKeys(pb.ListApiKeysRequest(producer_id=producer.id), metadata=md).api_keys == []
    with_revoked = admin.ListApiKeys(
        pb.ListApiKeysRequest(producer_id=producer.id, include_revoked=True), metadata=md
    )
    assert [k.revoked_at for k in with_revoked.api_keys] == [revoked.api_key.revoked_at]


def test_a_key_without_usage_write_is_denied_and_cannot_administer(ingestion, admin, usage):
    md = ingestion.metadata()
    producer = admin.CreateProducer(pb.CreateProducerRequest(name="reporting"), metadata=md).producer
    reader = admin.CreateApiKey(
        pb.CreateApiKeyRequest(producer_id=producer.id, scopes=["usage:read"]), metadata=md
    ).secret
    error = rpc_error(
        usage.Ingest, pb.IngestRequest(events=[event("r1")]), metadata=ingestion.metadata(reader)
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert usage.ListRejected(pb.ListRejectedRequest(), metadata=ingestion.metadata(reader)).rejected == []

    writer = admin.CreateApiKey(pb.CreateApiKeyRequest(producer_id=producer.id), metadata=md).secret
    error = rpc_error(admin.ListProducers, pb.ListProducersRequest(), metadata=ingestion.metadata(writer))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    error = rpc_error(admin.ListProducers, pb.ListProducersRequest())
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


def test_admin_requests_are_checked_naming_the_field(ingestion, admin):
    md = ingestion.metadata()
    error = rpc_error(admin.CreateProducer, pb.CreateProducerRequest(name=" "), metadata=md)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "producer.name" in error.details()

    admin.CreateProducer(pb.CreateProducerRequest(name="billing-api"), metadata=md)
    error = rpc_error(admin.CreateProducer, pb.CreateProducerRequest(name="billing-api"), metadata=md)
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS

    error = rpc_error(admin.CreateApiKey, pb.CreateApiKeyRequest(producer_id="nobody"), metadata=md)
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "producer_id" in error.details()

    error = rpc_error(admin.RevokeApiKey, pb.RevokeApiKeyRequest(api_key_id="0000"), metadata=md)
    assert error.code() == grpc.StatusCode.NOT_FOUND

    [producer] = admin.ListProducers(pb.ListProducersRequest(), metadata=md).producers
    error = rpc_error(
        admin.CreateApiKey, pb.CreateApiKeyRequest(producer_id=producer.id, scopes=["*"]), metadata=md
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "scopes" in error.details()


def test_producers_list_in_name_order_across_pages(ingestion, admin):
    md = ingestion.metadata()
    for name in ["c", "a", "e", "b", "d"]:
        admin.CreateProducer(pb.CreateProducerRequest(name=name), metadata=md)
    names, token = [], ""
    while True:
        reply = admin.ListProducers(
            pb.ListProducersRequest(page={"page_size": 2, "page_token": token}), metadata=md
        )
        names.append([p.name for p in reply.producers])
        token = reply.page.next_page_token
        if not token:
            break
    assert names == [["a", "b"], ["c", "d"], ["e"]]


def test_the_cli_manages_producers_and_keys_of_a_running_stack(ingestion, usage, tmp_path, capsys):
    data_dir = tmp_path / "stack"
    (data_dir / "secrets").mkdir(parents=True)
    (data_dir / "stack.json").write_text(json.dumps({"services": {"ingestion": ingestion.target}}))
    (data_dir / "secrets" / "admin.key").write_text(ingestion.admin_key + "\n")
    stack = ["--data-dir", str(data_dir)]

    assert tally(["producers", "create", "web-app", *stack]) == 0
    producer_id = capsys.readouterr().out.strip()  # the id alone, for $(tally producers create …)
    assert tally(["producers", "list", *stack]) == 0
    assert f"{producer_id}  web-app" in capsys.readouterr().out

    assert tally(["keys", "create", "--producer", producer_id, *stack]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    key = lines[-1]
    key_id = key.split("_")[1]
    assert lines[0] == f"key {key_id} for producer {producer_id} (scopes: usage:write)"
    assert (
        usage.Ingest(pb.IngestRequest(events=[event("w1")]), metadata=ingestion.metadata(key)).accepted_count
        == 1
    )

    # Explicit --target/--key work without a stack directory.
    flags = ["--target", ingestion.target, "--key", ingestion.admin_key, "--data-dir", str(tmp_path / "none")]
    assert tally(["keys", "create", "--producer", producer_id, "--scope", "usage:read", *flags]) == 0
    assert "(scopes: usage:read)" in capsys.readouterr().out

    assert tally(["keys", "revoke", key_id, *stack]) == 0
    assert f"key {key_id} revoked at" in capsys.readouterr().out
    error = rpc_error(usage.Ingest, pb.IngestRequest(events=[event("w2")]), metadata=ingestion.metadata(key))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED

    assert tally(["keys", "list", "--producer", producer_id, *stack]) == 0
    listing = capsys.readouterr().out
    assert key.split("_", 2)[2] not in listing
    statuses = {line.split()[0]: line.split()[1] for line in listing.splitlines()[1:]}
    assert statuses[key_id] == "revoked"
    assert sorted(statuses.values()) == ["active", "revoked"]

    assert tally(["keys", "create", "--producer", "nobody", *stack]) == 1
    assert "NOT_FOUND" in capsys.readouterr().err


def test_the_cli_says_clearly_when_no_stack_runs(tmp_path, capsys):
    assert tally(["producers", "list", "--data-dir", str(tmp_path)]) == 1
    assert f"no local stack is running from {tmp_path}" in capsys.readouterr().err

    assert tally(["producers", "list", "--target", "127.0.0.1:1", "--key", "tly_x_y"]) == 1
    assert "127.0.0.1:1 is not answering" in capsys.readouterr().err


def test_a_producer_key_lists_only_its_own_rejections_and_holds_only_producer_scopes(ingestion, admin, usage):
    md = ingestion.metadata()
    keys = {}
    for name in ("shop", "bank"):
        producer = admin.CreateProducer(pb.CreateProducerRequest(name=name), metadata=md).producer
        secret = admin.CreateApiKey(
            pb.CreateApiKeyRequest(producer_id=producer.id, scopes=["usage:write", "usage:read"]), metadata=md
        ).secret
        keys[name] = (f"producer:{producer.id}", ingestion.metadata(secret))
    shop_id, shop = keys["shop"]
    bank_id, bank = keys["bank"]
    card = events_pb2.UsageEvent(
        event_id="c1", event_type="payment", timestamp_ms=int(time.time() * 1000), properties={"pan": "4111"}
    )  # no customer: rejected, and its payload (a card-number-like property) kept for the shop to inspect
    assert [r.field for r in usage.Ingest(pb.IngestRequest(events=[card]), metadata=shop).rejected] == [
        "events[0].customer"
    ]

    [own] = usage.ListRejected(pb.ListRejectedRequest(), metadata=shop).rejected
    assert (own.producer_id, own.event.properties["pan"]) == (shop_id, "4111")
    assert usage.ListRejected(pb.ListRejectedRequest(), metadata=bank).rejected == []
    error = rpc_error(usage.ListRejected, pb.ListRejectedRequest(producer_id=shop_id), metadata=bank)
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "producer_id" in error.details()
    assert usage.ListRejected(pb.ListRejectedRequest(producer_id=bank_id), metadata=bank).rejected == []
    # The operator sees every producer's.
    assert [r.producer_id for r in usage.ListRejected(pb.ListRejectedRequest(), metadata=md).rejected] == [
        shop_id
    ]

    for scope in ("invoices:write", "catalog:write", "meters:write", "usage:correct", "admin"):
        error = rpc_error(
            admin.CreateApiKey, pb.CreateApiKeyRequest(producer_id=bank_id, scopes=[scope]), metadata=md
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert f"scopes: {scope!r} is not a producer scope" in error.details()
