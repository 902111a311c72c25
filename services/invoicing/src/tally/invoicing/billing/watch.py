"""Spend and usage alerts evaluated as usage is counted, not only by billing runs: an alert reaches its webhook
within seconds of the usage that crossed it.

Cheap at any rate of usage, because only the customers being watched cost anything:
- the watch holds the customers (by the external id usage events name them by) whose subscriptions have spend or
  usage alerts, and the usage partitions they fall in; the wire layer listens to those partitions only;
- a usage batch is a signal, not data: it is matched against the watched customers' encoded ids without being
  decoded, and a hit marks the customer dirty;
- dirty customers are evaluated together, a moment after the signal and again and again over the next seconds
  (the signal arrives about when metering stores the batch, so a look may come before metering counted it; a
  stream of batches keeps the customer looked at, never later than the schedule's first wait);
  evaluating asks catalog for the terms and metering for the usage to date, as a billing run does, and fires each
  alert reached once per period (``controls.fire_alerts``);
- signals are a fast path, not the record: a sweep evaluates every watched subscription when the watch starts and
  every ``sweep`` after, so usage counted while no signal was heard (a restart) still fires its alerts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from tally.invoicing.billing.alerts import Alert, Controls, accrued, reached
from tally.invoicing.billing.controls import fire_alerts
from tally.invoicing.billing.ports import BillingTransaction, CatalogPeer, MeteringPeer
from tally.invoicing.billing.runs import event_values
from tally.invoicing.billing.terms import BILLED_SUBSCRIPTIONS, BilledParty, active_interval
from tally.invoicing.billing.usage import usage_from_quantities, usage_queries
from tally.invoicing.domain import OutboxMessage
from tally.invoicing.ports import Transactions, read
from tally.pricing import Period

_log = logging.getLogger(__name__)
FOLLOW_UPS = tuple(
    timedelta(seconds=s)
    for s in (0.1, 0.4, 0.8, 1.2, 1.6, 2.0, 2.5, 3.0, 4.0, 5.0, 6.5, 8.0, 10.0, 13.0, 16.0, 20.0)
)
"""When a signalled customer is looked at, after the signal: often at first, when metering most likely counts the
batch, then less and less (a loaded metering may take seconds); every look costs one terms and one usage read per
watched subscription of the customer."""


def _now() -> datetime:
    return datetime.now(UTC)


def encoded_customer(external_id: str) -> bytes:
    """How a usage event names its customer on the wire (field 2, length-delimited): what a batch is searched for."""
    data = external_id.encode()
    length, size = bytearray(), len(data)
    while True:
        byte = size & 0x7F
        size >>= 7
        if size:
            length.append(byte | 0x80)
        else:
            length.append(byte)
            break
    return b"\x12" + bytes(length) + data


class UsageWatch:
    def __init__(
        self,
        transactions: Transactions[BillingTransaction],
        catalog: CatalogPeer,
        metering: MeteringPeer,
        wake_relay: Callable[[], None],
        *,
        alerted: Callable[[Alert], OutboxMessage],
        partition_of: Callable[[str], int],
        follow_ups: Sequence[timedelta] = FOLLOW_UPS,
        sweep: timedelta = timedelta(minutes=1),
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._transactions = transactions
        self._catalog = catalog
        self._metering = metering
        self._wake_relay = wake_relay
        self._alerted = alerted
        self._partition_of = partition_of
        self._follow_ups = tuple(follow_ups)
        self._sweep = sweep
        self._clock = clock
        self._watched: dict[str, set[str]] = {}
        """Subscription ids with alerts, per customer external id."""
        self._needles: dict[int, list[tuple[bytes, str]]] = {}
        self._controls: dict[str, Controls] = {}
        self._parties: dict[str, BilledParty] = {}
        self._due: dict[str, datetime] = {}
        """When each signalled customer is next looked at."""
        self._pending: dict[str, list[datetime]] = {}
        self._changed = asyncio.Event()
        self._woken = asyncio.Event()
        self._stale = False

    @property
    def partitions(self) -> frozenset[int]:
        """The usage partitions the watched customers fall in: the only ones worth listening to."""
        return frozenset(self._needles)

    async def wait_for_change(self) -> None:
        """Returns once the watched partitions may have changed."""
        await self._changed.wait()
        self._changed.clear()

    async def refresh(self, *, follow_new: bool = False) -> None:
        """Reads which subscriptions have alerts, and their customers, again (after SetBillingControls, and at
        every sweep).

        ``follow_new`` (after SetBillingControls): a customer watched from now on is looked at over the next
        seconds as if a batch had been signalled, because usage sent right after the alert was set may pass
        before the wire layer listens to the customer's partition."""
        controls = await read(self._transactions, lambda tx: tx.controls.all())
        watched: dict[str, set[str]] = {}
        kept: dict[str, Controls] = {}
        for subscription_id, found in controls.items():
            if not (found.spend_alerts or found.usage_alerts):
                continue
            try:
                subscription = await self._catalog.subscription(subscription_id)
                party = self._parties.get(subscription.customer_id)
                if party is None:
                    party = self._parties[subscription.customer_id] = await self._catalog.customer(
                        subscription.customer_id
                    )
            except Exception:
                _log.exception("watching subscription %s: catalog did not answer", subscription_id)
                continue
            if subscription.status not in BILLED_SUBSCRIPTIONS:
                continue
            kept[subscription_id] = found
            watched.setdefault(party.external_id, set()).add(subscription_id)
        needles: dict[int, list[tuple[bytes, str]]] = {}
        for external_id in watched:
            needles.setdefault(self._partition_of(external_id), []).append(
                (encoded_customer(external_id), external_id)
            )
        before = self.partitions
        newly = watched.keys() - self._watched.keys()
        self._watched, self._controls, self._needles = watched, kept, needles
        if follow_new:
            for external_id in newly:
                self._follow(external_id)
        if self.partitions != before:
            self._changed.set()
            _log.info(
                "watching %d subscription(s) with alerts, of %d customer(s), in usage partitions %s",
                len(kept),
                len(watched),
                sorted(self.partitions),
            )

    def controls_changed(self) -> None:
        """Billing controls were set: what is watched is read again (and evaluated) at once."""
        self._stale = True
        self._woken.set()

    def signal(self, partition: int, data: bytes) -> None:
        """A usage batch of ``partition`` was accepted: each watched customer it names is looked at soon."""
        for needle, external_id in self._needles.get(partition, ()):
            if needle in data:
                self._follow(external_id)

    def _follow(self, external_id: str) -> None:
        """Look at the customer often over the next seconds, then less (``follow_ups``)."""
        now = self._clock()
        looks = [now + wait for wait in self._follow_ups]
        # A customer already due keeps its first look: a stream of batches never pushes it back.
        self._due[external_id] = min(self._due.get(external_id, looks[0]), looks[0])
        self._pending[external_id] = looks
        self._woken.set()

    async def evaluate(self, subscription_id: str, at: datetime) -> int:
        """Fires the alerts the subscription's open period reached by ``at``; returns how many fired now."""
        controls = self._controls.get(subscription_id)
        if controls is None:
            return 0
        subscription = await self._catalog.subscription(subscription_id)
        active = active_interval(subscription)
        if not active.start <= at < active.end:
            return 0
        party = self._parties.get(subscription.customer_id) or await self._catalog.customer(
            subscription.customer_id
        )
        terms = await self._catalog.terms(subscription_id, at)
        to_date = Period(terms.period.start, max(at, terms.period.start + timedelta(microseconds=1)))
        answers, values = await asyncio.gather(
            self._metering.usage(usage_queries(terms, party.external_id, to_date)),
            event_values(self._metering, terms, party, to_date),
        )
        usage = usage_from_quantities(terms, answers, values)
        due = reached(
            controls,
            subscription_id=subscription_id,
            customer_id=subscription.customer_id,
            period=terms.period,
            spend=accrued(party.billed, terms, usage, active).subtotal,
            usage=usage,
            at=at,
        )
        if not due:
            return 0
        fired = await asyncio.to_thread(fire_alerts, self._transactions, due, self._alerted)
        if fired:
            self._wake_relay()
            _log.info("subscription %s: %d alert(s) fired as usage was counted", subscription_id, fired)
        return fired

    async def _evaluate_all(self, subscription_ids: Sequence[str], at: datetime) -> None:
        for subscription_id in subscription_ids:
            try:
                await self.evaluate(subscription_id, at)
            except Exception:
                _log.exception(
                    "evaluating the alerts of subscription %s failed; the next look retries", subscription_id
                )

    async def sweep(self, *, follow_new: bool = False) -> None:
        """Refreshes what is watched and evaluates every watched subscription."""
        await self.refresh(follow_new=follow_new)
        await self._evaluate_all(sorted(self._controls), self._clock())

    async def look_at_due(self, now: datetime) -> int:
        """Evaluates the subscriptions of every customer due to be looked at by ``now``; returns how many."""
        due = [external_id for external_id, at in self._due.items() if at <= now]
        for external_id in due:
            later = [at for at in self._pending.get(external_id, []) if at > now]
            self._pending[external_id] = later
            if later:
                self._due[external_id] = later[0]
            else:
                self._due.pop(external_id, None)
                self._pending.pop(external_id, None)
        subscriptions = sorted({s for external_id in due for s in self._watched.get(external_id, ())})
        await self._evaluate_all(subscriptions, now)
        return len(subscriptions)

    async def run(self) -> None:
        """Evaluates signalled customers as they come due, and sweeps every ``sweep``, until cancelled; a failure
        (a peer down) is logged and the loop goes on."""
        next_sweep = self._clock()
        while True:
            try:
                now = self._clock()
                if now >= next_sweep or self._stale:
                    changed, self._stale = self._stale, False
                    next_sweep = now + self._sweep
                    await self.sweep(follow_new=changed)
                if await self.look_at_due(self._clock()):
                    continue
            except Exception:
                _log.exception("watching usage for alerts failed; trying again")
                next_sweep = min(next_sweep, self._clock() + timedelta(seconds=5))
            wait = min([*self._due.values(), next_sweep]) - self._clock()
            self._woken.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), timeout=max(wait.total_seconds(), 0.01))
