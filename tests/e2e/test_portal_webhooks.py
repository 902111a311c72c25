"""Webhooks end to end: alerts from invoicing reach a real HTTP endpoint signed per Standard Webhooks, with
retries, a delivery log, replay, and an endpoint disabled (and an alert published) after repeated failure."""

from __future__ import annotations

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import httpx
import pytest
from gateway_world import World
from standardwebhooks import Webhook

from tally.api.gateway.v1 import events_pb2 as gateway_events
from tally.api.invoicing.v1 import invoicing_service_pb2 as inv
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as inv_grpc
from tally.mesh import streams

FAILURES_BEFORE_SUCCESS = 5
DISABLE_AFTER = 7


class Receiver:
    """A real HTTP server: each path answers 500 for its first N requests (N from the path), then 204."""

    def __init__(self) -> None:
        self.requests: dict[str, list[tuple[float, dict[str, str], bytes]]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                seen = receiver.requests.setdefault(self.path, [])
                seen.append((time.monotonic(), {k.lower(): v for k, v in self.headers.items()}, body))
                fail_first = int(self.path.rsplit("/", 1)[1])
                self.send_response(500 if len(seen) <= fail_first else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, name: str, fail_first: int) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{name}/{fail_first}"

    def wait(self, path: str, count: int, timeout: float) -> list[tuple[float, dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.requests.get(path, [])) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{path}: {len(self.requests.get(path, []))} of {count} requests in {timeout}s"
                )
            time.sleep(0.02)
        return self.requests[path]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    found = World(
        tmp_path_factory.mktemp("webhooks") / "stack",
        {
            # No billing loop: invoicing evaluates alerts as usage is counted (its usage watch).
            "TALLY_WEBHOOK_RETRY_SECONDS": "0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2",
            "TALLY_WEBHOOK_DISABLE_AFTER_FAILURES": str(DISABLE_AFTER),
        },
    )
    found.start()
    yield found
    found.stop()


@pytest.fixture(scope="module")
def receiver():
    found = Receiver()
    yield found
    found.server.shutdown()


def register(world: World, url: str, customer: str) -> dict:
    reply = httpx.post(
        f"{world.url}/v1/webhooks/endpoints",
        json={"url": url, "event_types": ["alert.triggered"], "customer_id": world.customers[customer].id},
        headers={"authorization": f"Bearer {world.admin_key}"},
    )
    assert reply.status_code == 201, reply.text
    return reply.json()


def usage_alert(world: World, customer: str, threshold: str) -> None:
    with grpc.insecure_channel(world.target("invoicing")) as channel:
        inv_grpc.InvoicingServiceStub(channel).SetBillingControls(
            inv.SetBillingControlsRequest(
                controls=inv.BillingControls(
                    subscription_id=world.customers[customer].subscription_id,
                    usage_alerts=[inv.UsageAlert(charge_id="calls", threshold=threshold)],
                )
            ),
            metadata=world.metadata(),
        )


def api(world: World, method: str, path: str) -> httpx.Response:
    return httpx.request(method, f"{world.url}{path}", headers={"authorization": f"Bearer {world.admin_key}"})


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_an_alert_reaches_its_webhook_within_two_seconds_of_the_usage_being_counted(world, receiver):
    endpoint = register(world, receiver.url("globex-alerts", 0), "globex")
    usage_alert(world, "globex", "3")
    world.ingest("globex", 3, "alert-globex")
    counted_at = world.wait_for_usage("globex", 3)
    (received_at, headers, body), *_ = receiver.wait("/globex-alerts/0", 1, timeout=30)
    # The acceptance point: within 2 s of metering counting the usage (measured here, no extra margin).
    assert received_at - counted_at < 2.0, f"{received_at - counted_at:.2f}s"
    message = Webhook(endpoint["secret"]).verify(body, headers)
    assert message["type"] == "alert.triggered"
    assert message["data"]["kind"] == "usage"
    assert message["data"]["alert"]["quantity"] == "3"
    assert message["data"]["alert"]["customer_id"] == world.customers["globex"].id


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_failing_endpoint_gets_the_event_once_accepted_signed_then_replayed_and_every_attempt_is_logged(
    world, receiver
):
    path = f"/acme-alerts/{FAILURES_BEFORE_SUCCESS}"
    endpoint = register(world, receiver.url("acme-alerts", FAILURES_BEFORE_SUCCESS), "acme")
    usage_alert(world, "acme", "2")
    world.ingest("acme", 2, "alert-acme")
    requests = receiver.wait(path, FAILURES_BEFORE_SUCCESS + 1, timeout=30)
    time.sleep(1.0)  # nothing more may arrive once the endpoint accepted it
    assert len(receiver.requests[path]) == FAILURES_BEFORE_SUCCESS + 1
    ids = {headers["webhook-id"] for _, headers, _ in requests}
    assert len(ids) == 1, "every attempt carries the same webhook-id"
    accepted = requests[-1]
    assert Webhook(endpoint["secret"]).verify(accepted[2], accepted[1])["type"] == "alert.triggered"

    (delivery,) = api(world, "GET", f"/v1/webhooks/deliveries?endpoint_id={endpoint['id']}").json()[
        "deliveries"
    ]
    assert delivery["state"] == "succeeded"
    assert delivery["attempts"] == FAILURES_BEFORE_SUCCESS + 1
    replayed = api(world, "POST", f"/v1/webhooks/deliveries/{delivery['id']}/replay")
    assert replayed.status_code == 202
    again = receiver.wait(path, FAILURES_BEFORE_SUCCESS + 2, timeout=10)[-1]
    assert again[1]["webhook-id"] in ids
    Webhook(endpoint["secret"]).verify(again[2], again[1])

    deadline = time.monotonic() + 10
    while True:
        log = api(world, "GET", f"/v1/webhooks/deliveries/{delivery['id']}").json()["attempt_log"]
        if len(log) == FAILURES_BEFORE_SUCCESS + 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [(a["status_code"], a["replay"]) for a in log] == [(500, False)] * FAILURES_BEFORE_SUCCESS + [
        (204, False),
        (204, True),
    ]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_an_endpoint_failing_again_and_again_is_disabled_with_an_alert(world, receiver):
    path = "/always-down/1000"
    endpoint = register(world, receiver.url("always-down", 1000), "acme")
    usage_alert(world, "acme", "1")  # a new alert for acme (the threshold 1 was not fired this period)
    world.ingest("acme", 1, "alert-acme-more")
    receiver.wait(path, DISABLE_AFTER, timeout=30)
    deadline = time.monotonic() + 10
    while (state := api(world, "GET", f"/v1/webhooks/endpoints/{endpoint['id']}").json())["enabled"]:
        assert time.monotonic() < deadline, state
        time.sleep(0.1)
    assert state["consecutive_failures"] == DISABLE_AFTER
    assert f"disabled after {DISABLE_AFTER} failed attempts in a row" in state["disabled_reason"]
    time.sleep(0.6)
    assert len(receiver.requests[path]) == DISABLE_AFTER, "nothing is sent to a disabled endpoint"

    async def last_alert() -> gateway_events.WebhookEndpointDisabled:
        import nats

        # The stack's NATS admits only its identities: read the stream as the operator.
        operator = (world.config.data_dir / "secrets" / "nats" / "operator.nk").read_text().strip()
        client = await nats.connect(world.config.nats_url, nkeys_seed_str=operator)
        try:
            message = await client.jetstream().get_last_msg(
                streams.GATEWAY.name, streams.WEBHOOK_ENDPOINT_DISABLED
            )
        finally:
            await client.close()
        return gateway_events.WebhookEndpointDisabled.FromString(message.data)

    alert = asyncio.run(last_alert())
    assert (alert.endpoint_id, alert.url, alert.consecutive_failures) == (
        endpoint["id"],
        endpoint["url"],
        DISABLE_AFTER,
    )
    assert alert.last_error == "HTTP 500"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_payment_recorded_outside_an_erp_settles_the_invoice_and_sends_invoice_paid(world, receiver):
    reply = httpx.post(
        f"{world.url}/v1/webhooks/endpoints",
        json={
            "url": receiver.url("globex-paid", 0),
            "event_types": ["invoice.paid"],
            "customer_id": world.customers["globex"].id,
        },
        headers={"authorization": f"Bearer {world.admin_key}"},
    )
    assert reply.status_code == 201, reply.text
    endpoint = reply.json()
    invoice = next(i for i in world.invoices("globex") if i.number)
    with grpc.insecure_channel(world.target("invoicing")) as channel:
        paid = inv_grpc.InvoicingServiceStub(channel).RecordPayment(
            inv.RecordPaymentRequest(
                invoice_id=invoice.id,
                payment_id="wire-2026-0001",
                amount=invoice.amount_due,
                reference="bank transfer 0001",
            ),
            metadata=world.metadata(),
        )
    assert paid.invoice.status == inv.INVOICE_STATUS_PAID
    assert (paid.amount_applied.amount, paid.invoice.amount_remaining.amount) == (
        invoice.amount_due.amount,
        "0.00",
    )
    (_, headers, body), *_ = receiver.wait("/globex-paid/0", 1, timeout=30)
    message = Webhook(endpoint["secret"]).verify(body, headers)
    assert message["type"] == "invoice.paid"
    assert message["data"]["invoice"]["id"] == invoice.id
    assert message["data"]["invoice"]["amount_remaining"]["amount"] == "0.00"
