"""Stream settings: sizes as nats.conf writes them, replicas within JetStream's range, a retry hint on
UNAVAILABLE."""

from __future__ import annotations

import pytest
from google.rpc import code_pb2, error_details_pb2

from tally.domain.errors import Unavailable
from tally.mesh import streams
from tally.mesh.errors import to_rpc_status
from tally.mesh.settings import MeshSettings, SettingsError, load, parse_size

REQUIRED = {
    "TALLY_DATABASE_URL": "sqlite://",
    "TALLY_NATS_URL": "x",
    "TALLY_KEYRING": "k",
    "TALLY_SERVICE_TOKEN": "t",
}


@pytest.mark.parametrize(
    ("raw", "size"),
    [
        ("1048576", 1048576),
        ("64MB", 64 * 1024**2),
        ("64M", 64 * 1024**2),
        ("1GiB", 1024**3),
        ("45GB", 45 * 1024**3),
    ],
)
def test_sizes_read_as_nats_conf_reads_them(raw: str, size: int) -> None:
    assert parse_size(raw) == size


@pytest.mark.parametrize("raw", ["", "MB", "1.5GB", "-1", "0", "12 parsecs"])
def test_a_size_that_is_not_one_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match=r"expected a size|positive size"):
        parse_size(raw)


def test_stream_settings_default_to_one_replica_and_bounded_sizes_and_name_a_bad_value() -> None:
    settings = load(MeshSettings, REQUIRED)
    assert (settings.stream_replicas, settings.usage_stream_max_bytes, settings.jetstream_store_bytes) == (
        1,
        1024**3,
        None,
    )
    usage = streams.sized(streams.USAGE, settings)
    assert (usage.retention, usage.consumers, usage.max_age_s) == (
        "interest",
        (streams.METERING_USAGE,),
        7 * 86400.0,
    )
    with pytest.raises(SettingsError) as bad:
        load(MeshSettings, REQUIRED | {"TALLY_STREAM_REPLICAS": "7", "TALLY_USAGE_STREAM_MAX_BYTES": "lots"})
    assert "TALLY_STREAM_REPLICAS is invalid: JetStream keeps 1 to 5 replicas" in str(bad.value)
    assert "TALLY_USAGE_STREAM_MAX_BYTES is invalid" in str(bad.value)


def test_store_needed_counts_every_stream_and_its_dead_letters() -> None:
    settings = load(
        MeshSettings,
        REQUIRED | {"TALLY_USAGE_STREAM_MAX_BYTES": "8MB", "TALLY_EVENT_STREAM_MAX_BYTES": "1MB"},
    )
    specs = [streams.sized(spec, settings) for spec in streams.EVERY]
    assert streams.store_needed(specs) == (8 + 1 + 7 * (1 + 0.125)) * 1024**2


def test_unavailable_with_a_wait_carries_retry_info() -> None:
    status = to_rpc_status(Unavailable("the event store is full", retry_after_s=5.0))
    assert status.code == code_pb2.UNAVAILABLE
    (detail,) = status.details
    info = error_details_pb2.RetryInfo()
    assert detail.Unpack(info)
    assert info.retry_delay.seconds == 5
    # Every UNAVAILABLE says when to retry: a second unless the raiser knows better.
    (default,) = to_rpc_status(Unavailable("peer down")).details
    assert default.Unpack(info)
    assert info.retry_delay.seconds == 1
