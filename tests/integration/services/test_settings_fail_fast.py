"""A missing or malformed required setting stops a service at start, naming the variable."""

import os
import subprocess
import sys

import pytest

SERVICES = ["ingestion", "metering", "catalog", "quoting", "invoicing", "erp_sync"]


def run_service(name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", f"tally.{name}"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("name", SERVICES)
def test_missing_required_settings_are_named(name, tmp_path):
    result = run_service(name, {"TALLY_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite"})
    assert result.returncode == 2
    for variable in ("TALLY_NATS_URL", "TALLY_KEYRING", "TALLY_SERVICE_TOKEN"):
        assert f"{variable} is required" in result.stderr
    assert "TALLY_DATABASE_URL" not in result.stderr


def test_a_malformed_setting_is_named_with_the_reason(tmp_path):
    result = run_service(
        "catalog",
        {
            "TALLY_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite",
            "TALLY_NATS_URL": "nats://127.0.0.1:1",
            "TALLY_KEYRING": str(tmp_path / "keyring.json"),
            "TALLY_SERVICE_TOKEN": "x",
            "TALLY_GRPC_PORT": "seventy",
        },
    )
    assert result.returncode == 2
    assert "TALLY_GRPC_PORT is invalid" in result.stderr
