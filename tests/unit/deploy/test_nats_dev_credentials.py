"""The dev cluster's committed NATS credentials agree with each other and with the access table in code."""

from __future__ import annotations

from pathlib import Path

from tally.mesh import nats_access

DEV = Path(__file__).resolve().parents[3] / "deploy" / "k8s" / "components" / "dev-credentials"
SERVICES = ("ingestion", "metering", "catalog", "quoting", "invoicing", "erp-sync", "gateway", "insights")


def _env(service: str) -> dict[str, str]:
    lines = (DEV / f"{service}.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_dev_authorization_admits_each_dev_seed_with_todays_permissions() -> None:
    keys = {
        service.replace("-", "_"): nats_access.public_key(_env(service)["TALLY_NATS_NKEY_SEED"])
        for service in SERVICES
    }
    keys["operator"] = nats_access.public_key((DEV / "nats-operator.nk").read_text())
    committed = (DEV / "nats-authorization.conf").read_text()
    # Stale after a change to tally.mesh.nats_access: rerun `tally nats-credentials` on the dev seeds.
    assert committed.split("\n", 1)[1] == nats_access.authorization_block(
        {name: keys[name] for name in [i.name for i in (*nats_access.IDENTITIES, nats_access.OPERATOR)]}
    )
    assert len(set(keys.values())) == len(keys)  # one identity each, never shared


def test_ingestion_and_metering_share_the_usage_signing_key_and_no_one_else_holds_it() -> None:
    holders = {service for service in SERVICES if "TALLY_USAGE_SIGNING_KEY" in _env(service)}
    assert holders == {"ingestion", "metering"}
    assert _env("ingestion")["TALLY_USAGE_SIGNING_KEY"] == _env("metering")["TALLY_USAGE_SIGNING_KEY"]
