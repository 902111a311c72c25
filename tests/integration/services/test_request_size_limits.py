"""Every service refuses an oversize request before reading it: catalog at its 4 MiB default and at a
smaller TALLY_GRPC_MAX_REQUEST_BYTES, with RESOURCE_EXHAUSTED saying how large is too large."""

import grpc
import pytest

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from tally.testing.databases import sqlite_url
from tally.testing.services import ServiceProcess


@pytest.fixture
def catalog(tmp_path, nats_server):
    service = ServiceProcess(
        "catalog",
        "tally.catalog",
        sqlite_url(tmp_path),
        nats_server.url,
        tmp_path / "catalog",
        env={"TALLY_GRPC_MAX_REQUEST_BYTES": "65536"},
    )
    service.start()
    yield service
    service.kill()


def create(service, name_bytes):
    # The client may send up to 16 MiB, so what refuses is the server's limit, not the client's.
    options = [("grpc.max_send_message_length", 16 * 1024 * 1024)]
    with grpc.insecure_channel(service.target, options=options) as channel:
        return cat_grpc.CatalogServiceStub(channel).CreateCustomer(
            cat.CreateCustomerRequest(customer=cat.Customer(name="x" * name_bytes, external_id="big")),
            metadata=service.metadata(),
            timeout=10,
        )


def test_a_request_above_the_configured_limit_is_refused_and_one_below_is_served(catalog):
    with pytest.raises(grpc.RpcError) as raised:
        create(catalog, 70_000)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in raised.value.details()
    assert "65536" in raised.value.details()
    with pytest.raises(grpc.RpcError) as raised:  # below the limit it reaches the catalog's own rules
        create(catalog, 60_000)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_without_a_setting_catalog_refuses_more_than_4_mib(tmp_path, nats_server):
    service = ServiceProcess(
        "catalog", "tally.catalog", sqlite_url(tmp_path), nats_server.url, tmp_path / "c"
    )
    service.start()
    try:
        with pytest.raises(grpc.RpcError) as raised:
            create(service, 4 * 1024 * 1024 + 1)
        assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert str(4 * 1024 * 1024) in raised.value.details()
    finally:
        service.kill()
