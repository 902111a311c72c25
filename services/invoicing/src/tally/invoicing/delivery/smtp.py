"""The mail server, over SMTP (aiosmtplib): an e-mail with its PDF attached, handed to the configured server
within a timeout, over STARTTLS and with a login when configured."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate

import aiosmtplib

from tally.invoicing.delivery.domain import Email


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how to hand e-mails over."""

    host: str
    port: int
    sender: str
    """The envelope sender and the From address (the issuer's name is its display name)."""
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout_seconds: float = 10.0


def mime(email: Email, *, sender: str, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((email.sender_name, sender))
    message["To"] = ", ".join(email.recipients)
    if email.reply_to:
        message["Reply-To"] = email.reply_to
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    message.set_content(email.body)
    message.add_attachment(
        email.attachment, maintype="application", subtype="pdf", filename=email.attachment_name
    )
    return message


class SmtpMail:
    """The MailServer port on aiosmtplib: one connection per e-mail (deliveries are few and far between)."""

    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def send(self, email: Email, *, message_id: str) -> str:
        server = self._server
        errors, answer = await aiosmtplib.send(
            mime(email, sender=server.sender, message_id=message_id),
            hostname=server.host,
            port=server.port,
            username=server.username or None,
            password=server.password or None,
            start_tls=server.starttls,
            use_tls=False,
            timeout=server.timeout_seconds,
        )
        if errors:
            # Some recipients were refused, the others took it (every one refused raises): sending again would
            # reach those twice, so it is sent, with the refusals in its log.
            refused = ", ".join(f"{address}: {code} {text}" for address, (code, text) in errors.items())
            return f"{answer}; refused {refused}"
        return answer
