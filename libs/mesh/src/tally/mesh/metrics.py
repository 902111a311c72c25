"""Metrics: every instrument Tally records, each named once (semantic conventions where they exist).

Instruments follow ``telemetry.configure`` the way tracers do: record on them anywhere, at any time, and the
values reach whatever provider is configured now (none: nothing is recorded). Names, units and attribute
keys are declared here and in ``tally.mesh.attributes`` only; services call ``add``/``record``/``observe``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from nats.js import JetStreamContext
from opentelemetry import metrics as otel_metrics
from opentelemetry.metrics import CallbackOptions, Observation

from tally.mesh import attributes, telemetry

__all__ = [
    "CONSUMER_LAG",
    "ERP_POSTINGS",
    "EVENTS_INGESTED",
    "EVENTS_QUARANTINED",
    "EVENTS_REJECTED",
    "INVOICES_DRAFTED",
    "INVOICES_FINALIZED",
    "OUTBOX_BACKLOG",
    "RPC_CLIENT_DURATION",
    "RPC_SERVER_DURATION",
    "Counter",
    "Histogram",
    "Observation",
    "ObservedGauge",
    "consumer_lag",
]

_log = logging.getLogger(__name__)

Attributes = Mapping[str, str | int | float | bool]

DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
"""The bucket boundaries the RPC semantic conventions recommend for durations in seconds."""


class _Instrument:
    """Resolves the underlying OpenTelemetry instrument on the meter configured now."""

    def __init__(self, name: str, unit: str, description: str) -> None:
        self.name = name
        self.unit = unit
        self.description = description
        self._lock = threading.Lock()
        self._generation = -1
        self._delegate: Any = None

    def _current(self) -> Any:
        if telemetry.meter_generation() != self._generation:
            with self._lock:
                generation, meter = telemetry.current_meter()
                if generation != self._generation:
                    self._delegate = self._create(meter)
                    self._generation = generation
        return self._delegate

    def _create(self, meter: otel_metrics.Meter) -> Any:
        raise NotImplementedError


class Counter(_Instrument):
    """A monotonic count (events, invoices, postings)."""

    def _create(self, meter: otel_metrics.Meter) -> otel_metrics.Counter:
        return meter.create_counter(self.name, unit=self.unit, description=self.description)

    def add(self, amount: int | float, attributes: Attributes | None = None) -> None:
        self._current().add(amount, attributes)


class Histogram(_Instrument):
    """A distribution of measurements (durations in seconds)."""

    def __init__(
        self, name: str, unit: str, description: str, boundaries: Sequence[float] = DURATION_BUCKETS_S
    ) -> None:
        super().__init__(name, unit, description)
        self._boundaries = boundaries

    def _create(self, meter: otel_metrics.Meter) -> otel_metrics.Histogram:
        return meter.create_histogram(
            self.name,
            unit=self.unit,
            description=self.description,
            explicit_bucket_boundaries_advisory=self._boundaries,
        )

    def record(self, value: float, attributes: Attributes | None = None) -> None:
        self._current().record(value, attributes)


Reading = Callable[[], Iterable[Observation]]
"""Called at each collection (on the exporter's thread): the current values, with their attributes."""


class ObservedGauge(_Instrument):
    """A value read when metrics are collected (backlogs, lags), from every reading registered on it."""

    def __init__(self, name: str, unit: str, description: str) -> None:
        super().__init__(name, unit, description)
        self._readings: list[Reading] = []
        telemetry.on_meter_provider_change(self._current)

    def _create(self, meter: otel_metrics.Meter) -> otel_metrics.ObservableGauge:
        return meter.create_observable_gauge(
            self.name, callbacks=[self._collect], unit=self.unit, description=self.description
        )

    def observe(self, reading: Reading) -> Callable[[], None]:
        """Report ``reading``'s values from now on; call the returned function to stop."""
        with self._lock:
            self._readings.append(reading)
        self._current()

        def stop() -> None:
            with self._lock:
                if reading in self._readings:
                    self._readings.remove(reading)

        return stop

    def _collect(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            readings = list(self._readings)
        observations: list[Observation] = []
        for reading in readings:
            try:
                observations.extend(reading())
            except Exception as exc:  # a broker or database away: no value this time, not a crash
                _log.debug("metric %s: a reading failed: %s", self.name, exc)
        return observations


# --- RPC (semantic conventions: rpc.server.call.duration, rpc.client.call.duration) -----------------------
RPC_SERVER_DURATION = Histogram(
    "rpc.server.call.duration", "s", "Duration of an incoming gRPC call, from its start to its status."
)
RPC_CLIENT_DURATION = Histogram(
    "rpc.client.call.duration", "s", "Duration of an outgoing gRPC call, from its start to its status."
)

# --- usage ------------------------------------------------------------------------------------------------
EVENTS_INGESTED = Counter(
    "tally.events.ingested", "{event}", "Usage events Ingest accepted (stored in JetStream)."
)
EVENTS_REJECTED = Counter(
    "tally.events.rejected", "{event}", "Usage events Ingest refused, by reason (attribute tally.reason)."
)
EVENTS_QUARANTINED = Counter(
    "tally.events.quarantined",
    "{event}",
    "Usage events metering could not apply and set aside with their reason, by producer (tally.producer).",
)

# --- messaging -------------------------------------------------------------------------------------------
CONSUMER_LAG = ObservedGauge(
    "tally.consumer.lag",
    "{message}",
    "Messages of a stream a durable consumer has not acknowledged yet (not delivered + delivered unacked).",
)
OUTBOX_BACKLOG = ObservedGauge(
    "tally.outbox.backlog", "{message}", "Outbox rows committed but not yet published to JetStream."
)

# --- billing ---------------------------------------------------------------------------------------------
INVOICES_DRAFTED = Counter("tally.invoices.drafted", "{invoice}", "Invoices drafted (or re-rated as drafts).")
INVOICES_FINALIZED = Counter("tally.invoices.finalized", "{invoice}", "Invoices finalized (numbered).")
ERP_POSTINGS = Counter(
    "tally.erp.postings",
    "{posting}",
    "Documents posted to an ERP, by system, document kind and outcome (tally.erp.system, tally.document, "
    "tally.outcome).",
)


def consumer_lag(
    js: JetStreamContext,
    consumers: Sequence[tuple[str, str]],
    loop: asyncio.AbstractEventLoop,
    *,
    timeout_s: float = 2.0,
) -> Reading:
    """A reading of ``CONSUMER_LAG`` for (stream, durable) pairs, asked of the broker on ``loop``.

    Metrics are collected on the exporter's thread while the NATS client lives on the service's event loop:
    the question goes to that loop and the answer is awaited, within ``timeout_s``.
    """

    async def ask() -> list[Observation]:
        observations = []
        for stream, durable in consumers:
            info = await js.consumer_info(stream, durable, timeout=timeout_s)
            observations.append(
                Observation(
                    (info.num_pending or 0) + (info.num_ack_pending or 0),
                    {attributes.STREAM: stream, attributes.MESSAGING_CONSUMER_GROUP: durable},
                )
            )
        return observations

    def read() -> list[Observation]:
        if loop.is_closed():
            return []
        return asyncio.run_coroutine_threadsafe(ask(), loop).result(timeout=timeout_s * (len(consumers) + 1))

    return read
