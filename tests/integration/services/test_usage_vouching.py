"""Metering counts only usage ingestion vouched for: forged UsageBatchAccepted messages are never counted."""

import asyncio
import time
from datetime import UTC, datetime

import grpc
import nats.errors
import pytest

from tally.api.common.v1 import period_pb2
from tally.api.ingestion.v1 import events_pb2
from tally.api.metering.v1 import metering_service_pb2 as pb
from tally.api.metering.v1 import metering_service_pb2_grpc as pb_grpc
from tally.mesh import jetstream, nats_access, streams
from tally.mesh.vouching import VOUCHER_HEADER, UsageVoucher
from tally.testing.nats_server import NatsServer
from tally.testing.services import ServiceProcess

KEY = "k" * 48
T0 = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp() * 1000)
HOUR_MS = 3_600_000


@pytest.fixture
def metering(tmp_path, secured_nats_server, database_url):
    env = {**secured_nats_server.service_env("metering"), "TALLY_USAGE_SIGNING_KEY": KEY}
    service = ServiceProcess(
        "metering", "tally.metering", database_url, secured_nats_server.url, tmp_path / "metering", env=env
    )
    service.start()
    yield service
    service.kill()


def batch(batch_id: str, values: list[str]) -> tuple[str, str, bytes]:
    """(subject, msg id, payload) of a UsageBatchAccepted for acme, one event per value."""
    events = [
        events_pb2.UsageEvent(
            event_id=f"{batch_id}-{i}",
            customer="acme",
            event_type="call",
            timestamp_ms=T0 + i,
            properties={"v": v},
        )
        for i, v in enumerate(values)
    ]
    message = events_pb2.UsageBatchAccepted(
        batch_id=batch_id, producer_id="p1", received_at_ms=T0, events=events
    )
    subject = streams.usage_batch_subject(streams.usage_partition("acme"))
    return subject, f"p1/{batch_id}/0/0", message.SerializeToString()


async def publish_as(
    server: NatsServer, identity: str, sends: list[tuple[str, str, bytes, dict[str, str]]]
) -> None:
    nc = await jetstream.connect(
        server.url,
        name=f"test-{identity}",
        nkey_seed=server.seed(identity),
        inbox_prefix=nats_access.inbox_prefix(identity),
    )
    try:
        for subject, msg_id, payload, headers in sends:
            await jetstream.publish(nc.jetstream(), subject, payload, msg_id, headers=headers, timeout_s=2.0)
    finally:
        await nc.close()


async def dead_letters(server: NatsServer) -> list[tuple[str | None, str]]:
    nc = await jetstream.connect(server.url, name="test-operator", nkey_seed=server.seed("operator"))
    try:
        js = nc.jetstream()
        info = await js.stream_info(f"{streams.USAGE.name}_DLQ")
        found = []
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(f"{streams.USAGE.name}_DLQ", sequence)
            headers = msg.headers or {}
            found.append((headers.get(jetstream.MSG_ID_HEADER), headers.get(jetstream.DLQ_REASON_HEADER, "")))
        return found
    finally:
        await nc.close()


def test_forged_usage_batches_are_never_counted(metering, secured_nats_server):
    voucher = UsageVoucher([KEY.encode()])
    md = metering.metadata()
    with grpc.insecure_channel(metering.target) as channel:
        stub = pb_grpc.MeteringServiceStub(channel)
        total = stub.CreateMeter(
            pb.CreateMeterRequest(
                meter=pb.Meter(
                    key="total",
                    name="Total",
                    event_type="call",
                    aggregation=pb.AGGREGATION_SUM,
                    value_property="v",
                )
            ),
            metadata=md,
        ).meter

        genuine = batch("genuine", ["1.5", "2.25"])
        no_voucher = batch("forged-1", ["1000"])
        wrong_key = batch("forged-2", ["2000"])
        stolen = batch("forged-3", ["3000"])  # carries the genuine batch's voucher, which signs other bytes
        asyncio.run(
            publish_as(
                secured_nats_server,
                # Ingestion's own NATS identity (a leaked credential): NATS lets it publish, metering still refuses.
                "ingestion",
                [
                    (*no_voucher, {}),
                    (*wrong_key, {VOUCHER_HEADER: UsageVoucher([b"w" * 48]).sign(*wrong_key)}),
                    (*stolen, {VOUCHER_HEADER: voucher.sign(*genuine)}),
                    (*genuine, {VOUCHER_HEADER: voucher.sign(*genuine)}),
                ],
            )
        )
        # Any other identity cannot even put a batch on the usage subjects.
        forged_elsewhere = batch("forged-4", ["4000"])
        with pytest.raises((nats.errors.Error, TimeoutError)):
            asyncio.run(
                publish_as(
                    secured_nats_server,
                    "metering",
                    [(*forged_elsewhere, {VOUCHER_HEADER: voucher.sign(*forged_elsewhere)})],
                )
            )

        def usage() -> str:
            window = period_pb2.Period()
            window.start.FromMilliseconds(T0)
            window.end.FromMilliseconds(T0 + HOUR_MS)
            reply = stub.GetUsage(
                pb.GetUsageRequest(customer="acme", meter_id=total.id, period=window), metadata=md
            )
            return reply.buckets[0].quantity if reply.buckets else "0"

        deadline = time.monotonic() + 20
        refused: list[tuple[str | None, str]] = []
        while time.monotonic() < deadline:
            refused = asyncio.run(dead_letters(secured_nats_server))
            if usage() == "3.75" and len(refused) == 3:
                break
            time.sleep(0.2)
        assert usage() == "3.75"
        # Dead-lettered at once (no redelivery could make them genuine), each reason naming the message.
        for forged in ("p1/forged-1/0/0", "p1/forged-2/0/0", "p1/forged-3/0/0"):
            assert sum(f"'{forged}'" in reason for _, reason in refused) == 1, refused
        assert all("no valid voucher from ingestion" in reason for _, reason in refused), refused
        time.sleep(1.0)  # nothing arrives late either
        assert usage() == "3.75"
    assert "Violation" in secured_nats_server.log()  # metering's identity was refused the usage subject
