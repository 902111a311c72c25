"""The customer portal in headless Chromium, customer-scoped access, the OpenAPI document and HTTP ingest,
against a running local Tally (seven services)."""

from __future__ import annotations

import io
import shutil
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from gateway_world import World
from openapi_spec_validator import validate
from pypdf import PdfReader

from tally.gateway.web.openapi import document

CHROMIUM = "/usr/bin/chromium"
# This machine's network is closed: without these, Chromium spends its start on connections it cannot make.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".tally" / "screenshots"
"""Where the reviewer finds the screenshots (git-ignored)."""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    found = World(tmp_path_factory.mktemp("portal") / "stack", {})
    found.start()
    yield found
    found.stop()


def money(amount: str, currency: str = "USD") -> str:
    return f"{currency} {Decimal(amount):,}"


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_portal_shows_metered_usage_cost_to_date_pdf_and_live_updates(world, tmp_path):
    from playwright.sync_api import sync_playwright

    world.ingest("acme", 7, "portal-first")
    world.wait_for_usage("acme", 7)
    preview = world.preview("acme")
    invoice = next(i for i in world.invoices("acme") if i.number)
    link = world.portal_link("acme")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1400}, accept_downloads=True)
        page.goto(link)
        total = page.locator('#usage-totals tr[data-meter="api_calls"] .current-total')
        total.wait_for()
        # The chart and the table show what metering counts; the cost to date is PreviewInvoice's.
        assert total.inner_text() == "7"
        assert page.locator("#chart canvas").count() >= 1
        assert page.locator("#cost-total").inner_text() == money(preview.total.amount)
        assert "API calls" in page.locator("#cost-lines").inner_text()
        assert money(preview.lines[0].amount.amount) in page.locator("#cost-lines").inner_text()
        page.screenshot(path=str(tmp_path / "portal.png"), full_page=True)

        with page.expect_download() as download:
            page.locator(f'#invoices a.pdf[href$="{invoice.id}/pdf"]').click()
        pdf = Path(download.value.path()).read_bytes()
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        assert invoice.number in text

        # New usage shows on the open page without a reload. The acceptance point is 2 s after metering
        # counted it; the test allows 4 s as a margin for a loaded machine and reports what it measured.
        world.ingest("acme", 5, "portal-second")
        counted_at = world.wait_for_usage("acme", 12)
        page.wait_for_function(
            "document.querySelector('#usage-totals tr[data-meter=\"api_calls\"] .current-total').textContent === '12'",
            timeout=4000,
        )
        shown_after = time.monotonic() - counted_at
        page.screenshot(path=str(tmp_path / "portal-live.png"), full_page=True)
        browser.close()
    assert shown_after < 4.0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name in ("portal.png", "portal-live.png"):
        shutil.copy(tmp_path / name, SCREENSHOTS / name)


@pytest.mark.slow
def test_a_customer_key_or_link_reads_its_own_customer_only(world):
    acme_key = world.customer_key("acme")
    globex = world.customers["globex"]
    globex_invoice = next(i for i in world.invoices("globex") if i.number)
    acme_invoice = next(i for i in world.invoices("acme") if i.number)
    with httpx.Client(base_url=world.url, headers={"authorization": f"Bearer {acme_key}"}) as api:
        assert api.get("/v1/customers/acme/usage").status_code == 200
        assert api.get(f"/v1/invoices/{acme_invoice.id}/pdf").status_code == 200
        for path in (
            "/v1/customers/globex/usage",
            f"/v1/customers/{globex.id}/invoices",
            f"/v1/invoices/{globex_invoice.id}",
            f"/v1/invoices/{globex_invoice.id}/pdf",
        ):
            reply = api.get(path)
            assert reply.status_code == 403, path
            assert reply.headers["content-type"] == "application/problem+json"
            assert reply.json()["status"] == 403

    with httpx.Client(base_url=world.url, follow_redirects=True) as browser:
        opened = browser.get(world.portal_link("acme"))
        assert opened.status_code == 200
        assert browser.get(f"/portal/invoices/{globex_invoice.id}/pdf").status_code == 403
        assert browser.get(f"/portal/invoices/{acme_invoice.id}/pdf").status_code == 200

    token = world.portal_link("acme").split("token=")[1]
    body, mac = token.split(".")
    tampered = world.portal_link("globex").split("token=")[1].split(".")[0] + "." + mac
    expired = world.portal_link("acme", ttl_seconds=1)
    time.sleep(2.1)
    for url in (
        f"{world.url}/portal/open?token={tampered}",
        expired,
        f"{world.url}/portal/open?token={body}.x{mac}",
    ):
        refused = httpx.get(url)
        assert refused.status_code == 403, url
    assert "expired" in httpx.get(expired).text


@pytest.mark.slow
def test_the_served_openapi_document_validates_and_lists_every_api_route(world):
    served = httpx.get(f"{world.url}/v1/openapi.json").json()
    validate(served)
    assert served == document()
    from tally.gateway.web.api import Api

    routes = {route.path for route in Api.routes(Api.__new__(Api))}
    assert routes == set(served["paths"])


@pytest.mark.slow
def test_http_ingest_answers_each_event_as_grpc_ingest_does(world):
    now_ms = int(time.time() * 1000)
    events = [
        {"event_id": "h-1", "customer": "acme", "event_type": "api_call", "timestamp_ms": now_ms},
        {"event_id": "h-2", "customer": "", "event_type": "api_call", "timestamp_ms": now_ms},
        {"event_id": "h-3", "customer": "acme", "event_type": "api_call", "timestamp_ms": now_ms + 3_600_000},
    ]
    import grpc

    from tally.api.ingestion.v1 import events_pb2
    from tally.api.ingestion.v1 import ingestion_service_pb2 as ing
    from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ing_grpc

    with grpc.insecure_channel(world.target("ingestion")) as channel:
        over_grpc = ing_grpc.IngestionServiceStub(channel).Ingest(
            ing.IngestRequest(
                batch_id="grpc-mixed",
                events=[events_pb2.UsageEvent(**{**e, "event_id": "g" + e["event_id"]}) for e in events],
            ),
            metadata=world.metadata(),
        )
    auth = {"authorization": f"Bearer {world.admin_key}"}
    mixed = httpx.post(
        f"{world.url}/v1/usage/batches", json={"batch_id": "http-mixed", "events": events}, headers=auth
    )
    assert mixed.status_code == 207
    answer = mixed.json()
    assert answer["accepted_count"] == over_grpc.accepted_count == 1
    assert [(r["index"], r["code"], r["field"], r["reason"]) for r in answer["rejected"]] == [
        (r.index, r.code, r.field, r.reason) for r in over_grpc.rejected
    ]
    assert [e["status"] for e in answer["events"]] == [202, 400, 400]

    all_bad = httpx.post(f"{world.url}/v1/usage/batches", json={"events": events[1:]}, headers=auth)
    assert all_bad.status_code == 400
    assert [e["status"] for e in all_bad.json()["events"]] == [400, 400]
    assert all_bad.headers["content-type"] == "application/problem+json"

    malformed = httpx.post(
        f"{world.url}/v1/usage/batches",
        json={"events": [{"event_id": 5, "timestamp_ms": "soon"}]},
        headers=auth,
    )
    assert malformed.status_code == 400
    assert {e["field"] for e in malformed.json()["errors"]} == {
        "events[0].event_id",
        "events[0].timestamp_ms",
    }
    assert httpx.post(f"{world.url}/v1/usage/batches", json={"events": []}).status_code == 401


@pytest.mark.slow
def test_the_cli_issues_customer_keys_and_portal_links(world):
    import subprocess
    import sys

    def tally(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "tally.cli", *args, "--data-dir", str(world.config.data_dir)],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    key = tally("keys", "create", "--customer", "globex").strip().splitlines()[-1]
    reply = httpx.get(f"{world.url}/v1/customers/me/invoices", headers={"authorization": f"Bearer {key}"})
    assert reply.status_code == 200
    assert {i["customer_id"] for i in reply.json()["invoices"]} == {world.customers["globex"].id}
    key_id = key.split("_")[1]
    assert key_id in tally("keys", "list", "--customer", "globex")
    tally("keys", "revoke", key_id, "--customer")
    time.sleep(2.5)  # the key cache lets a revoked key through for at most 2 s on other replicas
    assert (
        httpx.get(f"{world.url}/v1/customers/me", headers={"authorization": f"Bearer {key}"}).status_code
        == 401
    )

    link = tally("portal-link", "globex").splitlines()[0]
    with httpx.Client(follow_redirects=True) as browser:
        page = browser.get(link)
    assert page.status_code == 200
    assert "Globex Corp" in page.text


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_finance_console_needs_an_operator_login_and_links_each_row_to_its_detail(world, tmp_path):
    from playwright.sync_api import sync_playwright

    invoice = next(i for i in world.invoices("acme") if i.number)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{world.url}/console")
        assert page.url.endswith("/console/login")
        page.fill("input[name=key]", world.customer_key("acme"))
        page.click("button.primary")
        assert "not an operator" in page.inner_text("main")
        page.fill("input[name=key]", world.admin_key)
        page.click("button.primary")
        page.wait_for_url(f"{world.url}/console")
        assert "Acme Ltd" in page.inner_text("main") and "Globex Corp" in page.inner_text("main")
        assert "USD 49.00" in page.inner_text("main")  # MRR: the monthly platform fee
        page.screenshot(path=str(tmp_path / "console.png"), full_page=True)
        page.goto(f"{world.url}/console/invoices?status=FINALIZED")
        page.click(f"text={invoice.number}")
        assert f"Invoice {invoice.number}" in page.inner_text("h1")
        assert "Platform fee" in page.inner_text("main")
        page.screenshot(path=str(tmp_path / "console-invoice.png"), full_page=True)
        page.goto(f"{world.url}/console/billing")
        runs = page.inner_text("main")
        # The world's billing run: two subscriptions, an invoice each, finalized; no failures.
        assert "RPC" in runs and "Subscriptions the runs could not bill" in runs
        assert "cannot be listed" not in runs
        browser.close()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name in ("console.png", "console-invoice.png"):
        shutil.copy(tmp_path / name, SCREENSHOTS / name)


@pytest.mark.slow
def test_an_oversize_http_body_is_refused_with_413_declared_or_chunked(world):
    auth = {"authorization": f"Bearer {world.admin_key}"}
    huge = b"x" * (6 * 1024 * 1024 + 1)
    refused = httpx.post(f"{world.url}/v1/usage/batches", content=huge, headers=auth)
    assert refused.status_code == 413
    assert "larger than this gateway accepts (6291456 bytes" in refused.json()["title"]

    def chunks():  # no content-length: counted as it arrives
        for _ in range(7):
            yield b"x" * (1024 * 1024)

    refused = httpx.post(f"{world.url}/v1/usage/batches", content=chunks(), headers=auth)
    assert refused.status_code == 413
