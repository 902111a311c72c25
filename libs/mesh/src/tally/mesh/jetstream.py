"""NATS JetStream: connections, streams and consumers declared in code, traced publish, pull consumers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import urlparse

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from tally.mesh import attributes as attr
from tally.mesh.readiness import ReadinessCheck
from tally.mesh.transient import TransientClassifier, peer_outage

__all__ = [
    "DEFAULT_MAX_PAYLOAD",
    "DLQ_CONSUMER_HEADER",
    "DLQ_HEADERS",
    "DLQ_MSG_ID_HEADER",
    "DLQ_REASON_HEADER",
    "MSG_ID_HEADER",
    "ConsumerSpec",
    "Delivery",
    "Handler",
    "PayloadTooLarge",
    "PoisonMessage",
    "PullConsumer",
    "StreamCapacityError",
    "StreamMigrationNeeded",
    "StreamSpec",
    "connect",
    "dlq_spec",
    "dlq_subject",
    "ensure_consumer",
    "ensure_stream",
    "publish",
]

_log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)

MSG_ID_HEADER = "Nats-Msg-Id"
DLQ_REASON_HEADER = "Tally-Dlq-Reason"
DLQ_CONSUMER_HEADER = "Tally-Dlq-Consumer"
DLQ_MSG_ID_HEADER = "Tally-Dlq-Msg-Id"
"""The dead-lettered message's original ``Nats-Msg-Id``: a replay publishes under it, so dedup still applies."""
DLQ_HEADERS = (DLQ_REASON_HEADER, DLQ_CONSUMER_HEADER, DLQ_MSG_ID_HEADER)
"""Headers the dead-letter move adds; a replay strips them."""
DEFAULT_MAX_PAYLOAD = 1024 * 1024
"""The server's default max_payload; a message above it is refused, so callers chunk below it."""

_INSUFFICIENT_RESOURCES = 10047  # "insufficient storage resources available"
_RETENTION = {
    "limits": api.RetentionPolicy.LIMITS,
    "interest": api.RetentionPolicy.INTEREST,
    "workqueue": api.RetentionPolicy.WORK_QUEUE,
}
_DLQ_PREFIX = "dlq."
_MAX_REASON_CHARS = 500
_TOP_UP_WAIT_S = 0.02
"""After a fetch's first message, how long to wait for more when none is ready: about one publish burst."""
_STILL_PAUSED_LOG_S = 60.0
"""While paused, how often the consumer logs that it still is (each retry in between logs at debug level)."""

T = TypeVar("T")


class PoisonMessage(Exception):
    """A message no redelivery can make acceptable (forged, unvouched): dead-lettered at once with the reason."""


class PayloadTooLarge(ValueError):
    """A message is larger than the broker accepts; the caller must split it into chunks."""

    def __init__(self, subject: str, size: int, limit: int) -> None:
        super().__init__(
            f"message for {subject!r} is {size} bytes, above the {limit}-byte limit; split it into chunks"
        )
        self.subject = subject
        self.size = size
        self.limit = limit


async def connect(
    servers: str | Sequence[str],
    name: str,
    *,
    reconnect_wait_s: float = 0.5,
    connect_timeout_s: float = 2.0,
    nkey_seed: str | None = None,
    inbox_prefix: str | None = None,
    tls: ssl.SSLContext | None = None,
) -> NATS:
    """Connect to NATS and keep reconnecting forever: a broker restart must never end a service.

    ``nkey_seed`` is this process's NATS identity (the server checks its signature of a nonce; the seed never
    leaves the process); ``inbox_prefix`` replaces ``_INBOX`` for replies, so permissions can keep them
    private to this identity; ``tls`` verifies the server (and may carry a client certificate).
    """

    async def on_error(exc: Exception) -> None:
        _log.warning("nats connection %s: %s", name, exc)

    async def on_disconnected() -> None:
        _log.warning("nats connection %s: disconnected, reconnecting", name)

    async def on_reconnected() -> None:
        url = client.connected_url
        _log.info("nats connection %s: reconnected to %s", name, url.netloc if url else "?")

    async def on_closed() -> None:
        _log.info("nats connection %s: closed", name)

    if isinstance(servers, str):
        servers = [s.strip() for s in servers.split(",") if s.strip()]
    client = NATS()
    secured: dict[str, Any] = {}
    if nkey_seed:
        secured["nkeys_seed_str"] = nkey_seed
    if inbox_prefix:
        secured["inbox_prefix"] = inbox_prefix
    if tls is not None:
        secured["tls"] = tls
        # Servers a cluster announces are IP addresses: verify each against the configured name instead.
        hostname = urlparse(servers[0] if "://" in servers[0] else f"nats://{servers[0]}").hostname
        if hostname:
            secured["tls_hostname"] = hostname
    await client.connect(
        servers=list(servers),
        name=name,
        **secured,
        max_reconnect_attempts=-1,
        reconnect_time_wait=reconnect_wait_s,  # type: ignore[arg-type]  # nats-py annotates int, accepts float
        connect_timeout=connect_timeout_s,  # type: ignore[arg-type]
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
        closed_cb=on_closed,
    )
    return client


@dataclass(frozen=True)
class StreamSpec:
    """A JetStream stream as declared in code; ``ensure_stream`` makes the broker match it."""

    name: str
    """Stream name, upper case by convention (``USAGE``); its dead-letter stream is ``<name>_DLQ``."""
    subjects: tuple[str, ...]
    """Subjects the stream captures, wildcards allowed (``usage.>``)."""
    max_age_s: float = 7 * 24 * 3600.0
    """How long messages are kept, in seconds."""
    duplicate_window_s: float = 120.0
    """How long the broker remembers a ``Nats-Msg-Id`` to drop re-publishes, in seconds."""
    storage: Literal["file", "memory"] = "file"
    """File storage survives broker restarts; memory is for throwaway streams only."""
    replicas: int = 1
    """Copies kept in a cluster (1 on a single server, 3 in production clusters)."""
    retention: Literal["limits", "interest", "workqueue"] = "limits"
    """``interest``: a message is freed once every consumer acked it; ``limits``: kept until max age or
    size (for streams whose history is read again)."""
    max_bytes: int = -1
    """Most bytes the stream may hold (-1: unbounded). When full, publishes are refused (discard new):
    a message once stored is never dropped to make room."""
    consumers: tuple[ConsumerSpec, ...] = ()
    """Durable consumers declared with the stream, before it takes a message: an ``interest`` stream drops
    what no consumer wants at publish time, so the consumers that must see everything exist first."""
    dlq_max_bytes: int = -1
    """Most bytes its dead-letter stream may hold (-1: unbounded)."""


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable pull consumer as declared in code; ``ensure_consumer`` makes the broker match it."""

    stream: str
    """Name of the stream the consumer reads."""
    durable: str
    """Durable name: the consumer group shared by every replica of the consuming service."""
    filter_subject: str | None = None
    """Only subjects matching this filter are delivered (None: the whole stream)."""
    max_deliver: int = 5
    """Deliveries before a message that fails on its own content is moved to the dead-letter stream; transient
    failures (a database or peer away) pause the consumer instead and never count against it."""
    ack_wait_s: float = 30.0
    """Seconds the broker waits for an ack before redelivering (in-progress pings extend it)."""
    backoff_s: tuple[float, ...] = (1.0, 5.0, 30.0)
    """Redelivery delay after the n-th failed delivery (the last entry repeats)."""
    max_ack_pending: int = 10_000
    """Messages delivered but not yet acked across all replicas; bounds memory and in-flight work."""


def dlq_subject(subject: str) -> str:
    """The dead-letter subject a failed message on ``subject`` is moved to."""
    return _DLQ_PREFIX + subject


def dlq_spec(spec: StreamSpec) -> StreamSpec:
    """The dead-letter stream of ``spec``: subjects prefixed with ``dlq.``, same age and replicas, kept by
    limits (nothing consumes it: an operator reads and replays it)."""
    return StreamSpec(
        name=f"{spec.name}_DLQ",
        subjects=tuple(dlq_subject(s) for s in spec.subjects),
        max_age_s=spec.max_age_s,
        duplicate_window_s=spec.duplicate_window_s,
        storage=spec.storage,
        replicas=spec.replicas,
        max_bytes=spec.dlq_max_bytes,
    )


def _stream_config(spec: StreamSpec) -> api.StreamConfig:
    return api.StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        max_age=spec.max_age_s,
        duplicate_window=spec.duplicate_window_s,
        storage=api.StorageType.FILE if spec.storage == "file" else api.StorageType.MEMORY,
        num_replicas=spec.replicas,
        retention=_RETENTION[spec.retention],
        max_bytes=spec.max_bytes,
        discard=api.DiscardPolicy.NEW,
    )


class StreamMigrationNeeded(RuntimeError):
    """The broker holds the stream with a configuration it cannot change in place (e.g. its retention)."""


class StreamCapacityError(RuntimeError):
    """The declared streams do not fit the JetStream store."""


async def _exists(js: JetStreamContext, name: str) -> bool:
    try:
        await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        return False
    return True


async def _ensure_one_stream(js: JetStreamContext, spec: StreamSpec) -> None:
    config = _stream_config(spec)
    # Look first: the broker checks a create against the free store before noticing the stream exists, so
    # re-creating a stream larger than what is left fails even when nothing would change.
    if not await _exists(js, spec.name):
        try:
            await js.add_stream(config)
        except nats.js.errors.APIError:
            if not await _exists(js, spec.name):
                raise  # refused, not beaten to it by another replica
        else:
            for consumer in spec.consumers:
                await ensure_consumer(js, consumer)
            return
    # The stream exists: its consumers first, so a switch to interest retention drops nothing they want.
    for consumer in spec.consumers:
        await ensure_consumer(js, consumer)
    try:
        await js.update_stream(config)
    except nats.js.errors.APIError as exc:
        current = api.RetentionPolicy((await js.stream_info(spec.name)).config.retention or "limits")
        if current == config.retention:
            raise
        raise StreamMigrationNeeded(
            f"stream {spec.name} has {current.value} retention but is declared with "
            f"{spec.retention}; JetStream cannot change that in place. Stop its publishers, let its consumers "
            f"drain it, then run `tally streams migrate {spec.name}` (docs/operations.md, Stream migration)"
        ) from exc


async def ensure_stream(js: JetStreamContext, spec: StreamSpec) -> None:
    """Create or update the stream, its declared consumers and its dead-letter stream; safe on every start.

    Raises StreamCapacityError when the broker has no room left for the stream's ``max_bytes``, and
    StreamMigrationNeeded when the stream exists with a retention that cannot change in place.
    """
    for declared in (spec, dlq_spec(spec)):
        try:
            await _ensure_one_stream(js, declared)
        except nats.js.errors.APIError as exc:
            if exc.err_code != _INSUFFICIENT_RESOURCES:
                raise
            raise StreamCapacityError(
                f"JetStream has no room for stream {declared.name} (max_bytes {declared.max_bytes} x "
                f"{declared.replicas} replica(s)): the store is smaller than the streams declared on it. Raise "
                "the server's max_file_store or lower TALLY_USAGE_STREAM_MAX_BYTES / TALLY_EVENT_STREAM_MAX_BYTES"
            ) from exc


async def ensure_consumer(js: JetStreamContext, spec: ConsumerSpec) -> None:
    """Create or update the durable pull consumer; safe to call on every start."""
    config = api.ConsumerConfig(
        name=spec.durable,
        durable_name=spec.durable,
        ack_policy=api.AckPolicy.EXPLICIT,
        deliver_policy=api.DeliverPolicy.ALL,
        filter_subject=spec.filter_subject,
        ack_wait=spec.ack_wait_s,
        # The broker's own max_deliver would silently drop a message whose dead-letter publish failed
        # on the last delivery; PullConsumer enforces spec.max_deliver itself and keeps the broker unlimited.
        max_deliver=-1,
        max_ack_pending=spec.max_ack_pending,
    )
    await js.add_consumer(spec.stream, config)


def _headers_size(headers: Mapping[str, str]) -> int:
    # "NATS/1.0\r\n" + "key: value\r\n" per header + final "\r\n": what the server counts against max_payload.
    return 12 + sum(len(k) + len(v) + 4 for k, v in headers.items())


async def publish(
    js: JetStreamContext,
    subject: str,
    payload: bytes,
    msg_id: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 5.0,
    parent: Context | None = None,
    max_payload: int = DEFAULT_MAX_PAYLOAD,
) -> api.PubAck:
    """Publish and wait until JetStream stored it; a re-publish of ``msg_id`` returns ``duplicate=True``.

    The PRODUCER span is a child of ``parent`` (default: the current context), and its context travels in
    the W3C ``traceparent`` header so the consumer's span continues this trace.
    """
    outgoing = dict(headers) if headers else {}
    outgoing[MSG_ID_HEADER] = msg_id
    with _tracer.start_as_current_span(
        f"{subject} publish",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={
            attr.MESSAGING_SYSTEM: "nats",
            attr.MESSAGING_DESTINATION: subject,
            attr.MESSAGING_OPERATION: "send",
            attr.MESSAGING_MESSAGE_ID: msg_id,
            attr.MESSAGING_BODY_SIZE: len(payload),
        },
    ):
        propagate.inject(outgoing)
        size = len(payload) + _headers_size(outgoing)
        if size > max_payload:
            raise PayloadTooLarge(subject, size, max_payload)
        return await js.publish(subject, payload, timeout=timeout_s, headers=outgoing)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a handler sees of one delivered message."""

    subject: str
    data: bytes
    headers: Mapping[str, str]
    msg_id: str | None
    """The publisher's ``Nats-Msg-Id``: the key to claim in the inbox."""
    delivery_count: int
    """1 on first delivery; higher means this is a redelivery."""
    stream_sequence: int


Handler = Callable[[Delivery], Awaitable[None]]

SpanAttributes = Mapping[str, str | int | float | bool]
BatchHandler = Callable[[Sequence[Delivery]], Awaitable[Sequence[SpanAttributes]]]
"""Handles every message of one fetch in one go (one transaction); returns span attributes per delivery."""


class _StoppedWhilePaused(Exception):
    """The consumer was asked to stop while waiting out an outage: hand the messages back unsettled."""


@dataclass
class _Batch:
    """One fetch's messages, handled in order; those from ``position`` on are not settled yet."""

    msgs: list[Msg]
    position: int = 0


class PullConsumer:
    """Durable pull consumer loop: ack after the handler returns, pause through outages, dead-letter bad content.

    The handler commits its own transaction (claiming the message in the inbox) before returning; only then
    is the message acked, so a crash anywhere before the ack means a redelivery, never a loss.

    A handler failure that ``transient`` recognises (its database or a peer away) pauses the consumer: it
    keeps the message in hand (in-progress pings stop the broker from redelivering it), fetches nothing new,
    and retries the same message with capped exponential backoff until the dependency answers, however long
    that takes. Only other failures are naked with the spec's backoff and, at ``max_deliver``, dead-lettered.
    """

    def __init__(
        self,
        js: JetStreamContext,
        spec: ConsumerSpec,
        handler: Handler | None = None,
        *,
        together: BatchHandler | None = None,
        batch: int = 100,
        fetch_timeout_s: float = 1.0,
        retry_wait_s: float = 0.5,
        transient: TransientClassifier = peer_outage,
        pause_initial_s: float = 0.5,
        pause_max_s: float = 10.0,
    ) -> None:
        """``together`` handles a whole fetch in one call; if it fails on content, each message is retried on
        its own, so one bad message cannot hold back the others. ``transient`` tells outages from content
        failures; while paused, retries wait ``pause_initial_s`` doubling up to ``pause_max_s``."""
        self._js = js
        self._spec = spec
        self._together = together
        if handler is None:
            if together is None:
                raise ValueError("PullConsumer needs a handler or a batch handler")
            handler = _one_at_a_time(together)
        self._handler = handler
        self._batch = batch
        self._fetch_timeout_s = fetch_timeout_s
        self._retry_wait_s = retry_wait_s
        self._transient = transient
        self._pause_initial_s = pause_initial_s
        self._pause_max_s = pause_max_s
        self._paused: str | None = None
        self._paused_since = 0.0
        self._paused_logged = 0.0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._span_attributes = {
            attr.MESSAGING_SYSTEM: "nats",
            attr.MESSAGING_OPERATION: "process",
            attr.MESSAGING_CONSUMER_GROUP: spec.durable,
        }

    @property
    def durable(self) -> str:
        return self._spec.durable

    @property
    def paused(self) -> str | None:
        """Why the consumer is waiting out an outage (the transient reason), or None while it is working."""
        return self._paused

    def readiness(self) -> ReadinessCheck:
        """A readiness check that fails while the consumer is paused, naming it, the reason and for how long."""

        async def check() -> str | None:
            reason = self._paused
            if reason is None:
                return None
            return (
                f"consumer {self._spec.durable} paused {time.monotonic() - self._paused_since:.0f}s: {reason}"
            )

        return check

    async def start(self) -> None:
        """Declare the consumer and start the loop in a background task."""
        await ensure_consumer(self._js, self._spec)
        sub = await self._js.pull_subscribe_bind(durable=self._spec.durable, stream=self._spec.stream)
        self._task = asyncio.create_task(self._run(sub), name=f"pull-consumer:{self._spec.durable}")

    async def stop(self) -> None:
        """Finish the message in hand, then stop fetching; unacked messages are redelivered later."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self, sub: JetStreamContext.PullSubscription) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    msgs = await self._fetch(sub)
                except TimeoutError:
                    # nats.errors.TimeoutError, or a bare asyncio.TimeoutError when the fetch deadline ran out:
                    # nothing to do, or the broker is away and the client reconnects on its own.
                    continue
                except nats.errors.ConnectionClosedError:
                    # The client reconnects forever, so closed means its owner closed it: nothing left to do.
                    if not self._stopping.is_set():
                        _log.error("%s: connection closed, consumer stopped", self._spec.durable)
                    return
                except Exception:
                    if self._stopping.is_set():
                        break
                    _log.exception("fetch from %s failed; retrying", self._spec.durable)
                    await asyncio.sleep(self._retry_wait_s)
                    continue
                try:
                    await self._process(msgs)
                except Exception:
                    # An ack or nak lost to a disconnect: the broker redelivers after ack_wait.
                    _log.exception("%s: settling a batch failed", self._spec.durable)
        finally:
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()

    async def _fetch(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        """Waits for the first message only, then takes whatever else is ready, up to the batch.

        Once it has to wait at all, nats-py's ``fetch(n)`` waits for all n messages or the whole timeout, so
        under light traffic a lone message would sit there for the fetch timeout before being handled.
        """
        msgs = await sub.fetch(1, timeout=self._fetch_timeout_s)
        if self._batch > 1:
            # Nothing else ready (or the connection hiccuped): handle the one in hand.
            with contextlib.suppress(TimeoutError, nats.errors.Error):
                msgs += await sub.fetch(self._batch - 1, timeout=_TOP_UP_WAIT_S)
        return msgs

    async def _process(self, msgs: list[Msg]) -> None:
        batch = _Batch(msgs)
        keep_alive = asyncio.create_task(self._keep_alive(batch))
        try:
            if self._together is not None and len(msgs) > 1 and await self._process_together(msgs):
                return
            for msg in msgs:
                if self._stopping.is_set():
                    # Hand the rest back now rather than after ack_wait, so another replica takes them.
                    await msg.nak()
                else:
                    await self._handle(msg)
                batch.position += 1
        finally:
            keep_alive.cancel()

    async def _keep_alive(self, batch: _Batch) -> None:
        # Messages waiting behind a slow one must not pass ack_wait and be redelivered to another replica
        # while still queued here; one timer per batch costs nothing when batches are quick.
        while True:
            await asyncio.sleep(self._spec.ack_wait_s / 2)
            for msg in batch.msgs[batch.position :]:
                try:
                    await msg.in_progress()
                except Exception:
                    _log.debug("in-progress ack failed", exc_info=True)

    async def _process_together(self, msgs: list[Msg]) -> bool:
        """Handle the fetch in one call and ack it all; False (nothing settled) if that call failed."""
        assert self._together is not None
        if self._stopping.is_set() or any(msg.metadata.num_delivered > 1 for msg in msgs):
            return False  # redeliveries go one at a time: they may be the message that failed a batch
        opened = [self._open(msg) for msg in msgs]
        deliveries = [delivery for delivery, _ in opened]
        together = self._together

        async def handle_all() -> Sequence[SpanAttributes]:
            # One span for the one call that handles them all (its transaction's spans nest under it), linked
            # to each message's own span: every message's trace leads to the work done for it.
            batch_span = _tracer.start_span(
                f"{self._spec.durable} process batch",
                kind=SpanKind.CONSUMER,
                links=[Link(span.get_span_context()) for _, span in opened],
                attributes={**self._span_attributes, attr.MESSAGING_BATCH_COUNT: len(msgs)},
            )
            with trace.use_span(batch_span, end_on_exit=True):
                return await together(deliveries)

        try:
            results = await self._through_outages(handle_all)
        except _StoppedWhilePaused:
            for _, span in opened:
                span.end()
            return False  # stopping: the caller hands every message back
        except Exception as exc:
            for _, span in opened:
                span.add_event("batch handling failed; retrying messages one at a time", {"error": str(exc)})
                span.end()
            _log.warning(
                "%s: handling %d messages together failed (%s); one at a time",
                self._spec.durable,
                len(msgs),
                exc,
            )
            return False
        for (_, span), attributes in zip(opened, results, strict=True):
            span.set_attributes(attributes)
            span.end()
        for msg in msgs:
            await msg.ack()
        return True

    def _open(self, msg: Msg) -> tuple[Delivery, trace.Span]:
        """The message's Delivery and its CONSUMER span (a child of the producer span), not yet current."""
        delivery, parent, links, attributes = self._describe(msg)
        span = _tracer.start_span(
            f"{msg.subject} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            links=links,
            attributes=attributes,
        )
        return delivery, span

    def _describe(self, msg: Msg) -> tuple[Delivery, Context, list[Link] | None, dict[str, str | int]]:
        meta = msg.metadata
        headers = msg.headers or {}
        parent = propagate.extract(headers)
        producer = trace.get_current_span(parent).get_span_context()
        delivery = Delivery(
            subject=msg.subject,
            data=msg.data,
            headers=headers,
            msg_id=headers.get(MSG_ID_HEADER),
            delivery_count=meta.num_delivered,
            stream_sequence=meta.sequence.stream,
        )
        span_attributes: dict[str, str | int] = {
            **self._span_attributes,
            attr.MESSAGING_DESTINATION: msg.subject,
            attr.MESSAGING_DELIVERY_COUNT: meta.num_delivered,
            attr.MESSAGING_BODY_SIZE: len(msg.data),
        }
        if delivery.msg_id is not None:
            span_attributes[attr.MESSAGING_MESSAGE_ID] = delivery.msg_id
        return delivery, parent, [Link(producer)] if producer.is_valid else None, span_attributes

    async def _handle(self, msg: Msg) -> None:
        delivery, parent, links, span_attributes = self._describe(msg)
        with _tracer.start_as_current_span(
            f"{msg.subject} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            links=links,
            attributes=span_attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            # No dead-lettering on the delivery count alone: restarts during an outage raise it too, and only
            # a failure of the message's own content (below, in _reject) may send it to the dead-letter stream.
            try:
                await self._through_outages(lambda: self._handler(delivery))
            except _StoppedWhilePaused:
                await msg.nak()  # another replica (or the next start) takes it when the dependency is back
                return
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                await self._reject(msg, delivery, exc)
                return
            await msg.ack()

    async def _through_outages(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work``; while it fails transiently, pause and run it again, however long the outage lasts.

        Raises what ``work`` raised when that is not transient, and _StoppedWhilePaused on stop.
        """
        wait_s = self._pause_initial_s
        while True:
            try:
                result = await work()
            except Exception as exc:
                reason = self._transient(exc)
                if reason is None:
                    self._resume()  # the dependency answered; the content is at fault
                    raise
                if self._stopping.is_set():
                    raise _StoppedWhilePaused(reason) from exc
                self._pause(reason, exc, wait_s)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=wait_s)
                wait_s = min(wait_s * 2, self._pause_max_s)
                continue
            self._resume()
            return result

    def _pause(self, reason: str, exc: Exception, wait_s: float) -> None:
        now = time.monotonic()
        if self._paused != reason:  # paused now, or for another reason than before (a lock, then an outage)
            if self._paused is None:
                self._paused_since = now
            self._paused_logged = now
            _log.warning(
                "%s: paused, %s (%s: %s); retrying the same message in %.1fs",
                self._spec.durable,
                reason,
                type(exc).__name__,
                str(exc).splitlines()[0] if str(exc) else "",
                wait_s,
            )
        elif now - self._paused_logged >= _STILL_PAUSED_LOG_S:
            self._paused_logged = now
            _log.warning(
                "%s: still paused after %.0fs: %s", self._spec.durable, now - self._paused_since, reason
            )
        else:
            _log.debug("%s: still paused: %s; next try in %.1fs", self._spec.durable, reason, wait_s)
        self._paused = reason

    def _resume(self) -> None:
        if self._paused is not None:
            _log.info(
                "%s: resumed after %.1fs paused (%s)",
                self._spec.durable,
                time.monotonic() - self._paused_since,
                self._paused,
            )
            self._paused = None

    async def _reject(self, msg: Msg, delivery: Delivery, exc: Exception) -> None:
        if isinstance(exc, PoisonMessage) or delivery.delivery_count >= self._spec.max_deliver:
            await self._dead_letter(msg, delivery, f"{type(exc).__name__}: {exc}")
            return
        backoff = self._spec.backoff_s
        delay = backoff[min(delivery.delivery_count, len(backoff)) - 1] if backoff else None
        _log.warning(
            "%s: message %s (delivery %d) failed, redelivering in %ss: %s",
            self._spec.durable,
            delivery.msg_id,
            delivery.delivery_count,
            delay,
            exc,
        )
        await msg.nak(delay=delay)

    async def _dead_letter(self, msg: Msg, delivery: Delivery, reason: str) -> None:
        headers = dict(delivery.headers)
        # Header values cannot hold line breaks; keep the reason on one bounded line.
        headers[DLQ_REASON_HEADER] = " ".join(reason.split())[:_MAX_REASON_CHARS]
        headers[DLQ_CONSUMER_HEADER] = self._spec.durable
        if delivery.msg_id is not None:
            headers[DLQ_MSG_ID_HEADER] = delivery.msg_id
        try:
            await publish(
                self._js,
                dlq_subject(delivery.subject),
                delivery.data,
                f"{self._spec.stream}:{delivery.stream_sequence}:{self._spec.durable}",
                headers=headers,
            )
        except Exception:
            _log.exception("%s: dead-letter publish failed; message will be redelivered", self._spec.durable)
            await msg.nak(delay=self._spec.backoff_s[-1] if self._spec.backoff_s else None)
            return
        _log.error("%s: message %s moved to dead-letter: %s", self._spec.durable, delivery.msg_id, reason)
        await msg.term()


def _one_at_a_time(together: BatchHandler) -> Handler:
    async def handle(delivery: Delivery) -> None:
        (attributes,) = await together([delivery])
        trace.get_current_span().set_attributes(attributes)

    return handle
