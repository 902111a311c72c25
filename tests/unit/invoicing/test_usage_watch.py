"""The usage watch against the fakes: a batch naming a watched customer (read undecoded) gets the customer's alerts
evaluated and fired once per period, a batch of anyone else costs nothing, and a sweep catches usage no signal
announced."""

import asyncio
from datetime import UTC, datetime, timedelta

from invoicing_world import APRIL, D, World

from tally.api.ingestion.v1 import events_pb2 as ingestion
from tally.invoicing import events
from tally.invoicing.billing.alerts import Controls
from tally.invoicing.billing.watch import UsageWatch, encoded_customer
from tally.mesh import streams


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


def batch(*customers: str) -> bytes:
    return ingestion.UsageBatchAccepted(
        batch_id="b-1",
        events=[
            ingestion.UsageEvent(event_id=f"e-{n}", customer=customer, event_type="api_call", timestamp_ms=1)
            for n, customer in enumerate(customers)
        ],
    ).SerializeToString()


def watched_world() -> tuple[World, UsageWatch]:
    world = World()
    acme = world.customer()
    world.subscribe("sub_1", acme)
    world.now = at(4, 10)
    watch = UsageWatch(
        world.transactions,
        world.catalog,
        world.metering,
        world.wake,
        alerted=events.alert_triggered,
        partition_of=streams.usage_partition,
        follow_ups=(timedelta(milliseconds=10), timedelta(milliseconds=40)),
        sweep=timedelta(hours=1),
        clock=world.clock,
    )
    return world, watch


def alerts(world: World) -> list[str]:
    return [msg_id for msg_id, _, _ in world.published(streams.ALERT_TRIGGERED)]


def test_a_customer_is_found_in_a_batch_by_its_encoded_id_without_decoding_it():
    assert encoded_customer("acme") in batch("globex", "acme")
    assert encoded_customer("acme") not in batch("globex", "acme-two")
    assert encoded_customer("x" * 200)[:3] == b"\x12\xc8\x01"  # the length is a varint


async def test_a_batch_naming_a_watched_customer_fires_its_alerts_once_per_period():
    world, watch = watched_world()
    await world.controls.set(
        Controls("sub_1", "USD", None, spend_alerts=(D("25"),), usage_alerts=(("calls", D(3)),))
    )
    await watch.refresh()
    partition = streams.usage_partition("acme")

    world.calls("acme", at(4, 2), at(4, 3))
    assert await watch.evaluate("sub_1", world.now) == 0  # 2 calls, 20.00: nothing reached
    world.calls("acme", at(4, 4))
    watch.signal(partition, batch("globex"))  # another customer's batch: nothing to look at
    assert await watch.look_at_due(world.now + timedelta(seconds=1)) == 0
    watch.signal(partition, batch("globex", "acme"))
    assert await watch.look_at_due(world.now) == 0  # its first look is a moment after the signal
    assert await watch.look_at_due(world.now + timedelta(milliseconds=10)) == 1
    april = APRIL.isoformat()
    assert sorted(alerts(world)) == [f"alert:sub_1:spend:25:{april}", f"alert:sub_1:usage:calls:3:{april}"]
    assert await watch.look_at_due(world.now + timedelta(milliseconds=40)) == 1  # the follow-up look
    assert await watch.look_at_due(world.now + timedelta(seconds=5)) == 0  # and then no more
    await watch.sweep()
    assert len(alerts(world)) == 2  # fired once per period


async def test_the_run_loop_sweeps_at_start_and_reads_new_controls_at_once():
    world, watch = watched_world()
    world.calls("acme", at(4, 2))
    runner = asyncio.create_task(watch.run())
    try:
        await asyncio.sleep(0.05)
        assert watch.partitions == frozenset()
        await world.controls.set(Controls("sub_1", "USD", None, spend_alerts=(D("5"),), usage_alerts=()))
        watch.controls_changed()
        for _ in range(100):
            if alerts(world):
                break
            await asyncio.sleep(0.01)
    finally:
        runner.cancel()
    assert alerts(world) == [f"alert:sub_1:spend:5:{APRIL.isoformat()}"]
    assert watch.partitions == {streams.usage_partition("acme")}


async def test_a_customer_watched_after_new_controls_is_followed_though_its_first_batch_went_unheard():
    # Usage sent right after an alert was set can pass before the wire layer listens to its partition: the
    # customer is looked at over the next seconds anyway, not only at the next sweep.
    world, watch = watched_world()
    await world.controls.set(Controls("sub_1", "USD", None, spend_alerts=(), usage_alerts=(("calls", D(3)),)))
    await watch.sweep(follow_new=True)
    assert alerts(world) == []  # nothing counted yet when the controls were read
    world.calls("acme", at(4, 2), at(4, 3), at(4, 4))  # counted, but no signal was heard
    assert await watch.look_at_due(world.now + timedelta(milliseconds=10)) == 1
    assert alerts(world) == [f"alert:sub_1:usage:calls:3:{APRIL.isoformat()}"]
    assert await watch.look_at_due(world.now + timedelta(milliseconds=40)) == 1  # the last follow-up

    await watch.sweep(follow_new=True)  # already watched: no new follow-ups
    assert await watch.look_at_due(world.now + timedelta(seconds=5)) == 0
