"""One nats-server per test module, and catalog with quoting as processes for the lifecycle tests; each test
uses customers and quotes of its own."""

import pytest
from quote_stack import Stub, start_trusting

from tally.api.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from tally.api.quoting.v1 import quoting_service_pb2_grpc as pb_grpc
from tally.mesh.auth import generate_key
from tally.mesh.roles import service_scopes
from tally.testing.databases import sqlite_url
from tally.testing.nats_server import NatsServer
from tally.testing.services import ServiceProcess


@pytest.fixture(scope="module")
def nats_module(tmp_path_factory):
    server = NatsServer(tmp_path_factory.mktemp("nats"))
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def peers(tmp_path_factory, nats_module):
    """Catalog and quoting (quoting calls catalog with its own service key)."""
    root = tmp_path_factory.mktemp("quoting-stack")
    token, record = generate_key("service:quoting", service_scopes("quoting"))
    (root / "c").mkdir()
    (root / "q").mkdir()
    catalog = ServiceProcess("catalog", "tally.catalog", sqlite_url(root / "c"), nats_module.url, root / "c")
    start_trusting([catalog], [record])
    quoting = ServiceProcess(
        "quoting",
        "tally.quoting",
        sqlite_url(root / "q"),
        nats_module.url,
        root / "q",
        env={"TALLY_SERVICE_TOKEN": token, "TALLY_CATALOG_TARGET": catalog.target},
    )
    keys = {
        "rep": quoting.add_key("rep", ["quotes:read", "quotes:write", "quotes:approve", "quotes:accept"]),
        "dana": quoting.add_key("dana", ["quotes:read", "quotes:approve", "quotes:approve:sales_director"]),
    }
    start_trusting([quoting], [record])
    yield catalog, quoting, keys
    for service in (quoting, catalog):
        service.kill()


@pytest.fixture(scope="module")
def catalog(peers):
    stub = Stub(peers[0], cat_grpc.CatalogServiceStub)
    yield stub
    stub.close()


@pytest.fixture(scope="module")
def quotes(peers):
    stub = Stub(peers[1], pb_grpc.QuotingServiceStub)
    yield stub
    stub.close()


@pytest.fixture(scope="module")
def as_rep(peers):
    """Quoting as a sales rep: writes, approves and accepts quotes, but holds no approver role."""
    stub = Stub(peers[1], pb_grpc.QuotingServiceStub, key=peers[2]["rep"])
    yield stub
    stub.close()


@pytest.fixture(scope="module")
def as_director(peers):
    """Quoting as Dana, whose key holds the sales_director approver role."""
    stub = Stub(peers[1], pb_grpc.QuotingServiceStub, key=peers[2]["dana"])
    yield stub
    stub.close()
