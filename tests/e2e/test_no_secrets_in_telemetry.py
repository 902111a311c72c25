"""No API key, service token, portal token or customer payload appears in any log line or span of a local
stack that ran a full flow: producer and customer keys issued, usage sent (over gRPC and HTTP, some of it
rejected), rejections listed, usage and invoices read, a portal link opened, billing previewed."""

from __future__ import annotations

import secrets
import time
from dataclasses import replace
from pathlib import Path

import grpc
import httpx
import pytest
from gateway_world import World

from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ing
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ing_grpc
from tally.cli.stack import Stack
from tally.mesh.auth import parse_key


def _secret_part(key: str) -> str:
    """What makes a key a credential: an API key's id (``tly_<id>_``) may be shown, its secret never; any
    other secret (the usage signing key) is secret whole."""
    parsed = parse_key(key)
    return key if parsed is None else parsed[1]


def _telemetry(data_dir: Path) -> list[tuple[str, str]]:
    """(file, line) for every line of every service's log and of its exported spans (one JSON span a line,
    attributes and events included)."""
    lines = []
    for path in sorted((data_dir / "logs").glob("*.log")) + sorted((data_dir / "traces").glob("*.jsonl")):
        for line in path.read_text(errors="replace").splitlines():
            lines.append((path.name, line))
    return lines


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_no_key_token_or_event_payload_appears_in_any_log_line_or_span(tmp_path):
    world = World(tmp_path / "stack", {})
    world.stack = Stack(replace(world.config, trace_to_files=True))
    canary = f"canary-{secrets.token_hex(6)}"
    payloads = {f"{canary}-card", f"{canary}-note", f"{canary}-rejected", f"{canary}-http"}
    world.start()
    try:
        md = world.metadata()
        with grpc.insecure_channel(world.target("ingestion")) as channel:
            admin = ing_grpc.IngestionAdminServiceStub(channel)
            producer = admin.CreateProducer(ing.CreateProducerRequest(name="checkout"), metadata=md).producer
            producer_key = admin.CreateApiKey(
                ing.CreateApiKeyRequest(producer_id=producer.id, scopes=["usage:write", "usage:read"]),
                metadata=md,
            ).secret
            as_producer = (("authorization", f"Bearer {producer_key}"),)
            now_ms = int(time.time() * 1000)
            reply = ing_grpc.IngestionServiceStub(channel).Ingest(
                ing.IngestRequest(
                    batch_id="canary-batch",
                    events=[
                        events_pb2.UsageEvent(
                            event_id="e-1",
                            customer="acme",
                            event_type="api_call",
                            timestamp_ms=now_ms,
                            properties={"card": f"{canary}-card", "note": f"{canary}-note"},
                        ),
                        events_pb2.UsageEvent(  # no customer: rejected, and its payload kept for ListRejected
                            event_id="e-2",
                            event_type="api_call",
                            timestamp_ms=now_ms,
                            properties={"card": f"{canary}-rejected"},
                        ),
                    ],
                ),
                metadata=as_producer,
            )
            assert (reply.accepted_count, len(reply.rejected)) == (1, 1)
            rejected = ing_grpc.IngestionServiceStub(channel).ListRejected(
                ing.ListRejectedRequest(), metadata=as_producer
            )
            assert rejected.rejected[0].event.properties["card"] == f"{canary}-rejected"

        over_http = httpx.post(
            f"{world.url}/v1/usage/batches",
            json={
                "events": [
                    {
                        "event_id": "h-1",
                        "customer": "acme",
                        "event_type": "api_call",
                        "timestamp_ms": now_ms,
                        "properties": {"memo": f"{canary}-http"},
                    }
                ]
            },
            headers={"authorization": f"Bearer {producer_key}"},
        )
        assert over_http.status_code == 200, over_http.text
        world.wait_for_usage("acme", 2)

        customer_key = world.customer_key("acme")
        as_customer = {"authorization": f"Bearer {customer_key}"}
        assert httpx.get(f"{world.url}/v1/customers/me/invoices", headers=as_customer).status_code == 200
        assert httpx.get(f"{world.url}/v1/customers/me/cost-to-date", headers=as_customer).status_code == 200
        link = world.portal_link("acme")
        portal_token = link.rsplit("=", 1)[1]
        with httpx.Client(follow_redirects=True) as browser:
            assert browser.get(link).status_code == 200
        world.preview("acme")
        world.run_billing()
    finally:
        world.stop()  # flushes every service's spans to its file

    data_dir = world.config.data_dir
    keys = {path.name: path.read_text().strip() for path in (data_dir / "secrets").glob("*.key")}
    keys |= {"producer key": producer_key, "customer key": customer_key}
    needles = {name: _secret_part(key) for name, key in keys.items()}
    needles["portal token"] = portal_token
    needles |= {f"payload {value}": value for value in payloads}
    lines = _telemetry(data_dir)
    assert len(lines) > 100  # the files are there and hold the run
    assert {"ingestion.jsonl", "gateway.jsonl", "ingestion.log"} <= {file for file, _ in lines}
    # The producer's own calls are in what was searched: its principal (not its key) is on their spans.
    assert any(f"producer:{producer.id}" in line for file, line in lines if file == "ingestion.jsonl")
    found = [
        (name, file, line[:300]) for file, line in lines for name, needle in needles.items() if needle in line
    ]
    assert found == []
