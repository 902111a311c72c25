"""Running a Tally service as a real process for a test: its own keyring, database and port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tally.api.common.v1 import period_pb2
from tally.api.metering.v1 import metering_service_pb2 as metering_pb
from tally.api.metering.v1 import metering_service_pb2_grpc as metering_grpc
from tally.mesh.auth import ALL_SCOPES, Keyring, generate_key
from tally.mesh.roles import service_scopes
from tally.testing.ports import free_port


@dataclass
class ServiceProcess:
    """A service started with ``python -m <module>``; ``admin_key`` may call every RPC."""

    name: str
    module: str
    database_url: str
    nats_url: str
    workdir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    port: int = 0
    admin_key: str = ""
    keyring: Keyring = field(default_factory=Keyring)
    process: subprocess.Popen[bytes] | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def keyring_path(self) -> Path:
        return self.workdir / "keyring.json"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def add_key(self, principal: str, scopes: list[str]) -> str:
        """A new key in this service's keyring (takes effect at the next start)."""
        plaintext, record = generate_key(principal, scopes)
        self.keyring.add(record)
        self.keyring.save(self.keyring_path)
        return plaintext

    def environment(self) -> dict[str, str]:
        # The same least-privilege scopes a deployed service's key holds, so tests prove they suffice.
        # Named by its module, so a replica ("metering-1") holds its service's scopes.
        service = self.module.removeprefix("tally.")
        service_key = self.add_key(f"service:{service}", sorted(service_scopes(service)))
        env = dict(os.environ)
        env.update(
            TALLY_DATABASE_URL=self.database_url,
            TALLY_NATS_URL=self.nats_url,
            TALLY_KEYRING=str(self.keyring_path),
            TALLY_SERVICE_TOKEN=service_key,
            TALLY_GRPC_HOST="127.0.0.1",
            TALLY_GRPC_PORT=str(self.port),
            TALLY_TRACE_EXPORT=f"file:{self.workdir / f'{self.name}.spans.jsonl'}",
        )
        env.update(self.env)
        return env

    def start(self, timeout: float = 30.0, *, ready: bool = True) -> None:
        """Start the process and wait until it reports SERVING (``ready=False``: only until it answers health)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.admin_key:
            self.admin_key = self.add_key("admin", [ALL_SCOPES])
        if not self.port:
            self.port = free_port()
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module], env=self.environment(), stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
            status = self.health()
            if status == health_pb2.HealthCheckResponse.SERVING or (not ready and status is not None):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not healthy after {timeout}s:\n{self.log()}")

    def health(self, service: str = "") -> int | None:
        with grpc.insecure_channel(self.target) as channel:
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=service), timeout=1.0
                )
            except grpc.RpcError:
                return None
        return int(reply.status)

    def metadata(self, key: str | None = None) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {key or self.admin_key}"),)

    def create_count_meter(self, key: str = "api_calls", event_type: str = "api_call") -> str:
        """On a metering process: a COUNT meter of ``event_type`` events; its id."""
        with grpc.insecure_channel(self.target) as channel:
            reply = metering_grpc.MeteringServiceStub(channel).CreateMeter(
                metering_pb.CreateMeterRequest(
                    meter=metering_pb.Meter(
                        key=key, name=key, event_type=event_type, aggregation=metering_pb.AGGREGATION_COUNT
                    )
                ),
                metadata=self.metadata(),
            )
        return reply.meter.id

    def usage_total(
        self, meter_id: str, customers: Iterable[str], start_ms: int, end_ms: int, timeout: float = 10.0
    ) -> Decimal:
        """On a metering process: the meter's quantity over [start_ms, end_ms), summed over ``customers``."""
        period = period_pb2.Period()
        period.start.FromMilliseconds(start_ms)
        period.end.FromMilliseconds(end_ms)
        total = Decimal(0)
        with grpc.insecure_channel(self.target) as channel:
            stub = metering_grpc.MeteringServiceStub(channel)
            for customer in customers:
                reply = stub.GetUsage(
                    metering_pb.GetUsageRequest(customer=customer, meter_id=meter_id, period=period),
                    metadata=self.metadata(),
                    timeout=timeout,
                )
                total += sum((Decimal(bucket.quantity) for bucket in reply.buckets), Decimal(0))
        return total

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait: the service drains and exits 0."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"{self.name} did not stop within {timeout}s:\n{self.log()}") from None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
