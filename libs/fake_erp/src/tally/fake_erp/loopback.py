"""The HTTP server a fake ERP runs on 127.0.0.1, injecting its fault plan before the protocol sees a call."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol, Self
from urllib.parse import parse_qs, urlsplit

from tally.fake_erp.faults import Fault, FaultPlan


@dataclass(frozen=True)
class Exchange:
    """One request as the protocol sees it."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class ErpProtocol(Protocol):
    def faultable(self, exchange: Exchange) -> tuple[bool, bool]:
        """(whether faults may hit this call, whether it writes)."""

    def handle(self, exchange: Exchange) -> Reply: ...


class LoopbackServer:
    """A threaded HTTP/1.1 server on a free loopback port, serving one protocol under a fault plan."""

    def __init__(self, protocol: ErpProtocol, faults: FaultPlan) -> None:
        self.protocol = protocol
        self.faults = faults
        self.calls = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # the tests' output stays readable
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                exchange = Exchange(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                server.calls += 1
                may_fail, write = server.protocol.faultable(exchange)
                fault = server.faults.next(write=write) if may_fail else None
                if fault is Fault.TIMEOUT:
                    time.sleep(server.faults.stall_s)
                    self._drop()
                    return
                if fault is Fault.SERVER_ERROR:
                    self._send(Reply(503, b"Service Unavailable", {"Content-Type": "text/plain"}))
                    return
                if fault is Fault.RATE_LIMITED:
                    retry = str(server.faults.retry_after_s)
                    self._send(Reply(429, b"Too Many Requests", {"Retry-After": retry}))
                    return
                reply = server.protocol.handle(exchange)
                if fault is Fault.APPLIED_THEN_DROPPED:
                    self._drop()
                    return
                self._send(reply)

            def _drop(self) -> None:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-erp", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class LoopbackFake:
    """What every fake ERP shares: its server's lifecycle and the number of calls it answered."""

    _server: LoopbackServer

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def calls(self) -> int:
        return self._server.calls

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
