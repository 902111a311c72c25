"""A table locked for minutes elsewhere fails GetUsage fast as UNAVAILABLE with RetryInfo instead of holding a
worker thread for the whole lock (PostgreSQL: every query runs under a lock timeout)."""

from __future__ import annotations

import threading
import time

import grpc
import pytest
import sqlalchemy

from tally.api.common.v1 import period_pb2
from tally.api.metering.v1 import metering_service_pb2 as met
from tally.api.metering.v1 import metering_service_pb2_grpc as met_grpc
from tally.mesh.errors import retry_delay_s
from tally.persistence.engine import normalize_url
from tally.testing.services import ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_get_usage_under_a_long_table_lock_answers_unavailable_in_seconds(
    tmp_path, nats_server, postgres_url
):
    metering = ServiceProcess(
        "metering",
        "tally.metering",
        postgres_url,
        nats_server.url,
        tmp_path / "metering",
        env={"TALLY_DATABASE_LOCK_TIMEOUT_SECONDS": "1"},
    )
    metering.start()
    locker = sqlalchemy.create_engine(normalize_url(postgres_url), poolclass=sqlalchemy.pool.NullPool)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with locker.begin() as conn:
            conn.exec_driver_sql("LOCK TABLE events, rollups IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(150)

    holder = threading.Thread(target=hold)
    try:
        with grpc.insecure_channel(metering.target) as channel:
            stub = met_grpc.MeteringServiceStub(channel)
            meter_id = stub.CreateMeter(
                met.CreateMeterRequest(
                    meter=met.Meter(
                        key="calls", name="Calls", event_type="call", aggregation=met.AGGREGATION_COUNT
                    )
                ),
                metadata=metering.metadata(),
            ).meter.id
            holder.start()
            assert locked.wait(10)
            period = period_pb2.Period()
            period.start.FromSeconds(0)
            period.end.FromSeconds(86_400)
            started = time.monotonic()
            with pytest.raises(grpc.RpcError) as failed:
                stub.GetUsage(
                    met.GetUsageRequest(customer="acme", meter_id=meter_id, period=period),
                    metadata=metering.metadata(),
                    timeout=30,
                )
            took = time.monotonic() - started
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
        assert (
            failed.value.details()
            == "temporarily unavailable: a database lock was not granted in time; retry"
        )
        assert retry_delay_s(failed.value) == 1.0
        assert took < 10, f"GetUsage waited {took:.1f}s for the lock"
    finally:
        release.set()
        if holder.is_alive():
            holder.join()
        locker.dispose()
        metering.kill()
