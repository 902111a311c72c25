"""ERP posting benchmark: invoices announced on JetStream → erp-sync → the fake NetSuite (SOAP, through
netsuitesdk), with no faults and with 30 % of calls failing, beside a baseline.

Runs a real nats-server and a real erp-sync process; the fake NetSuite runs in this process. Reports, as
medians over several runs, postings per second from the first InvoiceFinalized published to the last record
POSTED. The baseline, measured in the same run on the same machine, is the same SDK upserting invoices into
the same fake directly (no erp-sync, no ledger, no retries), from as many threads as erp-sync's concurrency:
the ratio to it is what to compare across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

from tally.api.erp_sync.v1 import erp_sync_service_pb2 as pb
from tally.api.erp_sync.v1 import erp_sync_service_pb2_grpc as pb_grpc
from tally.erp_sync.adapters.netsuite_soap import NetSuiteSoap, TokenCredentials
from tally.erp_sync.domain import DocumentKind, Erp
from tally.erp_sync.mapping_file import load_mappings
from tally.erp_sync.messages import document_from_payload
from tally.fake_erp.setup import Line, erp_sync_environment, fake_netsuite, invoice_finalized
from tally.mesh import jetstream, streams
from tally.testing.databases import sqlite_url
from tally.testing.nats_server import NatsServer
from tally.testing.services import ServiceProcess

CONCURRENCY = 8


def invoices(run: int, count: int) -> list:
    return [
        invoice_finalized(
            f"r{run}-inv-{n}",
            customer_id=f"cust-{n % 20}",
            number=f"INV-2026-{n:06d}",
            lines=[Line("Usage", f"{100 + n}.25", "20.05"), Line("Platform fee", "49.00", "9.80")],
        )
        for n in range(count)
    ]


async def _publish(nats_url: str, events: list) -> None:
    nc = await jetstream.connect(nats_url, name="bench-invoicing")
    try:
        js = nc.jetstream()
        for event in events:
            payload = event.SerializeToString()
            await jetstream.publish(
                js, streams.INVOICE_FINALIZED, payload, f"invoice-finalized:{event.invoice.id}"
            )
    finally:
        await nc.close()


def _posted(service: ServiceProcess) -> int:
    with grpc.insecure_channel(service.target) as channel:
        summary = pb_grpc.ErpSyncServiceStub(channel).GetSyncSummary(
            pb.GetSyncSummaryRequest(), metadata=service.metadata(), timeout=10
        )
    return sum(c.records for c in summary.counts if c.state == pb.SYNC_STATE_POSTED)


def through_erp_sync(workdir: Path, run: int, count: int, fault_rate: float) -> float:
    """Postings per second through erp-sync for ``count`` invoices, with ``fault_rate`` of calls failing."""
    netsuite = fake_netsuite().start()
    netsuite.faults.rate = fault_rate
    netsuite.faults.stall_s = 1.3
    nats = NatsServer(workdir / "nats")
    nats.start()
    env = erp_sync_environment(workdir / "erp", netsuite=netsuite)
    env.update(
        TALLY_ERP_TIMEOUT_SECONDS="1",
        TALLY_ERP_CONCURRENCY=str(CONCURRENCY),
        TALLY_ERP_MAX_ATTEMPTS="40",
        TALLY_ERP_BACKOFF_SECONDS="0.05",
        TALLY_ERP_BACKOFF_MAX_SECONDS="1",
        TALLY_ERP_PAYMENT_POLL_SECONDS="60",
        TALLY_TRACE_EXPORT="none",
    )
    service = ServiceProcess(
        "erp_sync", "tally.erp_sync", sqlite_url(workdir), nats.url, workdir / "erp_sync", env=env
    )
    service.start()
    try:
        events = invoices(run, count)
        started = time.perf_counter()
        asyncio.run(_publish(nats.url, events))
        while _posted(service) < count:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        twice = [
            key
            for key in (f"tally-inv-{e.invoice.id}" for e in events)
            if len(netsuite.books.find("invoice", key)) != 1
        ]
        if twice:
            raise RuntimeError(f"{len(twice)} invoices not posted exactly once")
        return count / elapsed
    finally:
        service.kill()
        nats.kill()
        netsuite.stop()


def direct_sdk(workdir: Path, run: int, count: int) -> float:
    """Baseline: the same SDK upserting the same invoices into the same fake, no erp-sync in between."""
    netsuite = fake_netsuite().start()
    try:
        c = netsuite.credentials
        adapter = NetSuiteSoap(
            TokenCredentials(c.account, c.consumer_key, c.consumer_secret, c.token_key, c.token_secret),
            base_url=netsuite.url,
            timeout_s=5,
        )
        env = erp_sync_environment(workdir / "erp", netsuite=netsuite)
        mapping_file = Path(env["TALLY_ERP_MAPPING"])
        mapping = load_mappings(mapping_file, (Erp.NETSUITE,))[Erp.NETSUITE]
        documents = [
            document_from_payload(DocumentKind.INVOICE, e.invoice.SerializeToString())
            for e in invoices(run, count)
        ]
        customers = {d.customer_id: adapter.ensure_customer(d, mapping) for d in documents}
        started = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(lambda d: adapter.post(d, customers[d.customer_id], mapping), documents))
        return count / (time.perf_counter() - started)
    finally:
        netsuite.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"baseline_sdk_direct": [], "no_faults": [], "faults_30pct": []}
    with tempfile.TemporaryDirectory(prefix="tally-bench-erp-") as tmp:
        root = Path(tmp)
        for run in range(args.runs):
            results["baseline_sdk_direct"].append(direct_sdk(root / f"base-{run}", run, args.invoices))
            results["no_faults"].append(through_erp_sync(root / f"clean-{run}", run, args.invoices, 0.0))
            results["faults_30pct"].append(through_erp_sync(root / f"faults-{run}", run, args.invoices, 0.30))
    medians = {name: statistics.median(values) for name, values in results.items()}
    summary = {
        "benchmark": "erp_postings",
        "invoices": args.invoices,
        "runs": args.runs,
        "concurrency": CONCURRENCY,
        **{f"{name}_per_s": round(value, 1) for name, value in medians.items()},
        "no_faults_vs_baseline": round(medians["no_faults"] / medians["baseline_sdk_direct"], 3),
        "faults_vs_baseline": round(medians["faults_30pct"] / medians["baseline_sdk_direct"], 3),
    }
    print(json.dumps(summary), flush=True)
    print(
        f"ERP postings/s to the fake NetSuite (median of {args.runs}): baseline SDK direct "
        f"{medians['baseline_sdk_direct']:.1f}, through erp-sync {medians['no_faults']:.1f} with no faults "
        f"({summary['no_faults_vs_baseline']:.0%} of baseline), {medians['faults_30pct']:.1f} with 30 % faults "
        f"({summary['faults_vs_baseline']:.0%})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
