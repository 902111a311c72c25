"""Scale-out on one machine: three nats-server processes in a cluster with R3 streams, two ingestion and two
metering replicas on PostgreSQL. One NATS node and one metering replica are killed mid-stream: every
acknowledged event is counted exactly once."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tally.mesh import jetstream, streams
from tally.testing.scale_out import scaled_out

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(900)]

BATCHES = 80
SIZE = 500


async def stream_replicas(url: str) -> dict[str, int]:
    nc = await jetstream.connect(url, name="test")
    try:
        js = nc.jetstream()
        declared = (streams.USAGE, streams.METERING, streams.INVOICING)  # by ingestion and metering
        return {spec.name: (await js.stream_info(spec.name)).config.num_replicas for spec in declared}
    finally:
        await nc.close()


def test_a_lost_nats_node_and_a_lost_metering_replica_lose_and_double_nothing(tmp_path):
    with scaled_out(tmp_path) as world:
        assert set(asyncio.run(stream_replicas(world.cluster.url)).values()) == {3}
        done: list[int] = []

        def producer(first: int) -> None:
            for seq in range(first, BATCHES, 2):
                done.append(world.send(seq, SIZE))

        producers = [threading.Thread(target=producer, args=(i,)) for i in range(2)]
        for thread in producers:
            thread.start()
        while len(done) < BATCHES // 4:
            time.sleep(0.05)
        # SIGKILL both: no lame-duck mode for the broker, no drain for metering (its unacked fetch comes back).
        world.cluster.servers[0].kill()
        world.metering[0].kill()
        for thread in producers:
            thread.join(timeout=300)
        assert len(done) == BATCHES, "a producer gave up"
        assert world.acknowledged == BATCHES * SIZE
        assert world.settle(BATCHES * SIZE) == BATCHES * SIZE
        print(f"\n{BATCHES * SIZE} events, {world.refusals} retried answers while the node was lost")
