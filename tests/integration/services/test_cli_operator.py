"""The operator's CLI against any deployment: `tally status --target`, and the admin key from a file or the
environment rather than the command line, with `tally producers create` printing just the id."""

from __future__ import annotations

import re
import uuid

import pytest

from tally.cli.__main__ import main as tally
from tally.testing.databases import sqlite_url
from tally.testing.ports import free_port
from tally.testing.services import ServiceProcess


@pytest.fixture
def ingestion(tmp_path, nats_server):
    service = ServiceProcess(
        "ingestion", "tally.ingestion", sqlite_url(tmp_path), nats_server.url, tmp_path / "ingestion"
    )
    service.start()
    yield service
    service.kill()


def test_status_checks_any_endpoint_by_target(ingestion, capsys) -> None:
    assert tally(["status", "--target", ingestion.target]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["ENDPOINT", "TARGET", "READINESS", "LIVENESS"]
    assert row.split() == [ingestion.target, ingestion.target, "SERVING", "SERVING"]

    nowhere = f"127.0.0.1:{free_port()}"
    assert tally(["status", "--target", ingestion.target, "--target", nowhere]) == 1
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert rows == [
        [ingestion.target, ingestion.target, "SERVING", "SERVING"],
        [nowhere, nowhere, "UNREACHABLE", "UNREACHABLE"],
    ]

    assert tally(["status", "--target", ingestion.target, "--cert-file", "/dev/null"]) == 2
    assert "--cert-file and --key-file go together" in capsys.readouterr().out


def test_the_admin_key_comes_from_a_file_or_the_environment_and_create_prints_the_id(
    ingestion, tmp_path, capsys, monkeypatch
) -> None:
    key_file = tmp_path / "admin.key"
    key_file.write_text(ingestion.admin_key + "\n")
    target = ["--target", ingestion.target, "--data-dir", str(tmp_path / "no-stack")]

    assert tally(["producers", "create", "checkout", "--key-file", str(key_file), *target]) == 0
    printed = capsys.readouterr()
    assert uuid.UUID(printed.out.strip())  # stdout is the id and nothing else
    assert printed.err.strip() == "producer checkout created"

    monkeypatch.setenv("TALLY_ADMIN_KEY_FILE", str(key_file))
    assert tally(["producers", "create", "billing-export", *target]) == 0
    second = capsys.readouterr().out.strip()
    monkeypatch.delenv("TALLY_ADMIN_KEY_FILE")
    monkeypatch.setenv("TALLY_ADMIN_KEY", ingestion.admin_key)
    assert tally(["producers", "list", *target]) == 0
    listing = capsys.readouterr().out
    assert re.search(rf"{second}\s+billing-export", listing) and "checkout" in listing

    monkeypatch.delenv("TALLY_ADMIN_KEY")
    assert tally(["producers", "list", "--key-file", str(tmp_path / "missing.key"), *target]) == 1
    assert f"cannot read the admin key from {tmp_path / 'missing.key'}" in capsys.readouterr().err
    monkeypatch.setenv("TALLY_ADMIN_KEY", "tly_not_a_key")
    assert tally(["producers", "list", *target]) == 1
    assert "refused the admin key" in capsys.readouterr().err
