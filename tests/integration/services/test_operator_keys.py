"""`tally keyring` issues operator keys by role into a keyring file: a real service lets each role do what
its scopes allow and nothing else, and refuses a revoked key from its next start."""

import grpc
import pytest

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from tally.cli.__main__ import main as tally
from tally.mesh.auth import Keyring
from tally.testing.databases import sqlite_url
from tally.testing.services import ServiceProcess


def issue(capsys, keyring, principal, role):
    assert tally(["keyring", "issue", principal, "--role", role, "--keyring", str(keyring)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("key ") and f"for {principal} ({role}: " in printed[0]
    return printed[-1]


def test_role_keys_from_the_keyring_command_do_what_their_role_allows(tmp_path, nats_server, capsys):
    catalog = ServiceProcess(
        "catalog", "tally.catalog", sqlite_url(tmp_path), nats_server.url, tmp_path / "c"
    )
    catalog.workdir.mkdir(parents=True)
    reader = issue(capsys, catalog.keyring_path, "rita@example.com", "finance-read")
    writer = issue(capsys, catalog.keyring_path, "will@example.com", "finance-write")
    catalog.keyring = Keyring.load(catalog.keyring_path)
    catalog.start()
    try:
        with grpc.insecure_channel(catalog.target) as channel:
            stub = cat_grpc.CatalogServiceStub(channel)
            create = cat.CreateCustomerRequest(
                customer=cat.Customer(name="Acme", external_id="acme", currency="USD")
            )
            with pytest.raises(grpc.RpcError) as refused:
                stub.CreateCustomer(create, metadata=catalog.metadata(reader))
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "lacks scope 'catalog:write'" in refused.value.details()
            stub.CreateCustomer(create, metadata=catalog.metadata(writer))
            listed = stub.ListCustomers(cat.ListCustomersRequest(), metadata=catalog.metadata(reader))
            assert [c.external_id for c in listed.customers] == ["acme"]
        catalog.stop()

        key_id = writer.split("_")[1]
        assert tally(["keyring", "revoke", key_id, "--keyring", str(catalog.keyring_path)]) == 0
        assert tally(["keyring", "list", "--keyring", str(catalog.keyring_path)]) == 0
        listing = capsys.readouterr().out
        assert f"{key_id}  revoked   will@example.com" in listing
        catalog.keyring = Keyring.load(catalog.keyring_path)
        catalog.start()
        with grpc.insecure_channel(catalog.target) as channel:
            with pytest.raises(grpc.RpcError) as refused:
                cat_grpc.CatalogServiceStub(channel).ListCustomers(
                    cat.ListCustomersRequest(), metadata=catalog.metadata(writer)
                )
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        catalog.kill()


def test_an_unknown_role_is_refused_naming_the_roles(tmp_path, capsys):
    with pytest.raises(SystemExit):
        tally(["keyring", "issue", "x", "--role", "root", "--keyring", str(tmp_path / "k.json")])
    assert "finance-read" in capsys.readouterr().err
