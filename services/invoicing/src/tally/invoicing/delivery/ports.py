"""Delivery's ports: the delivery log it keeps, the mail server it hands e-mails to, and its transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from tally.invoicing.credit_notes.ports import CreditNoteTransaction
from tally.invoicing.delivery.domain import Attempt, Delivery, DeliveryKey, Email


class DeliveryLog(Protocol):
    def add(self, delivery: Delivery) -> None: ...

    def get(self, delivery_id: str) -> Delivery | None:
        """The delivery with its attempts."""
        ...

    def lease_due(self, now: datetime, *, until: datetime, limit: int) -> list[Delivery]:
        """PENDING deliveries due by ``now`` that no one holds, now held until ``until`` (so replicas never send
        the same attempt twice)."""
        ...

    def record(self, delivery: Delivery, attempt: Attempt) -> None:
        """Stores the delivery as it is after ``attempt`` (state, schedule, counts; lease released) and the
        attempt in its log."""
        ...

    def find(self, document_id: str, *, after: DeliveryKey | None, limit: int) -> list[Delivery]:
        """Deliveries (of one document, or all for an empty id) newest first, with their attempts."""
        ...


class DeliveryTransaction(CreditNoteTransaction, Protocol):
    @property
    def deliveries(self) -> DeliveryLog: ...


class MailServer(Protocol):
    async def send(self, email: Email, *, message_id: str) -> str:
        """Hands ``email`` to the server; its answer on success. Raises on a refusal or a connection failure."""
        ...
