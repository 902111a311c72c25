"""A mail server on loopback (aiosmtpd) that keeps every message it accepts: the demo shows the invoices Tally
e-mailed through it, and tests read them. It can refuse the first messages (451) to show retries."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class _Keeper:
    def __init__(self, mailbox: Mailbox) -> None:
        self._mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return self._mailbox.arrived(envelope.content, tuple(envelope.rcpt_tos))


class Mailbox:
    """``refuse_first`` messages are answered "451 try again later" before any is accepted."""

    def __init__(self, *, port: int, refuse_first: int = 0) -> None:
        self.port = port
        self.refuse_first = refuse_first
        self.refused = 0
        self.messages: list[tuple[EmailMessage, tuple[str, ...]]] = []
        self._lock = threading.Lock()
        self._controller = Controller(_Keeper(self), hostname="127.0.0.1", port=port)

    def arrived(self, content: bytes, recipients: tuple[str, ...]) -> str:
        with self._lock:
            if self.refused < self.refuse_first:
                self.refused += 1
                return "451 4.3.0 Mailbox busy, try again later"
            message = email.message_from_bytes(content, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            self.messages.append((message, recipients))
            return "250 2.0.0 Message accepted for delivery"

    @classmethod
    def on_a_free_port(cls) -> Mailbox:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return cls(port=port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def wait(self, count: int, timeout: float) -> list[tuple[EmailMessage, tuple[str, ...]]]:
        """The first ``count`` messages accepted, once they are; AssertionError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages[:count])
            time.sleep(0.05)
        raise AssertionError(f"{len(self.messages)} of {count} messages arrived within {timeout} s")


def attachment(message: EmailMessage) -> tuple[str, bytes]:
    """The (file name, bytes) of the message's one attachment."""
    [part] = list(message.iter_attachments())
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return part.get_filename() or "", payload


def render_sent(mailbox: Mailbox) -> str:
    """What the demo's mail server received: one line per message, with its attachment."""
    if not mailbox.messages:
        return f"nothing was e-mailed to the local mail server on 127.0.0.1:{mailbox.port}"
    lines = [f"e-mailed through a local SMTP server (aiosmtpd on 127.0.0.1:{mailbox.port}):"]
    for message, recipients in mailbox.messages:
        name, pdf = attachment(message)
        lines.append(f"  to {', '.join(recipients):<28} {message['Subject']}  [{name}, {len(pdf):,} bytes]")
    return "\n".join(lines)
