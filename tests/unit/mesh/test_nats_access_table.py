"""The NATS access table matches what each service really declares, and renders a config nats-server reads."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest

from tally.catalog.__main__ import DEFINITION as CATALOG
from tally.catalog.quote_acceptance import QUOTES_CONSUMER
from tally.erp_sync.__main__ import DEFINITION as ERP_SYNC
from tally.erp_sync.events import CREDIT_NOTES_CONSUMER, INVOICES_CONSUMER
from tally.gateway.__main__ import DEFINITION as GATEWAY
from tally.gateway.events import consumer_specs
from tally.ingestion.__main__ import DEFINITION as INGESTION
from tally.ingestion.events import METER_PROJECTION
from tally.insights.__main__ import DEFINITION as INSIGHTS
from tally.insights.events import LATE_USAGE, USAGE_ACTIVITY
from tally.invoicing.__main__ import DEFINITION as INVOICING
from tally.invoicing.events import (
    DELIVER_CREDIT_NOTES,
    DELIVER_INVOICES,
    LATE_USAGE_CONSUMER,
    PAYMENTS_CONSUMER,
)
from tally.mesh import nats_access
from tally.mesh.jetstream import ConsumerSpec
from tally.metering.__main__ import DEFINITION as METERING
from tally.metering.closing import CLOSING_CONSUMER
from tally.metering.events import USAGE_CONSUMER
from tally.quoting.__main__ import DEFINITION as QUOTING
from tally.quoting.events import SUBSCRIPTIONS_CONSUMER
from tally.testing.nats_server import nats_server_binary

_ANY_TRANSLATOR = SimpleNamespace(
    invoice_finalized=None,
    invoice_paid=None,
    credit_note_issued=None,
    alert_triggered=None,
    usage_late=None,
    quote_accepted=None,
    payment_recorded=None,
)

DECLARED: dict[str, tuple[object, list[ConsumerSpec]]] = {
    "ingestion": (INGESTION, [METER_PROJECTION]),
    "metering": (METERING, [USAGE_CONSUMER, CLOSING_CONSUMER]),
    "catalog": (CATALOG, [QUOTES_CONSUMER]),
    "quoting": (QUOTING, [SUBSCRIPTIONS_CONSUMER]),
    "invoicing": (
        INVOICING,
        [DELIVER_INVOICES, DELIVER_CREDIT_NOTES, PAYMENTS_CONSUMER, LATE_USAGE_CONSUMER],
    ),
    "erp_sync": (ERP_SYNC, [INVOICES_CONSUMER, CREDIT_NOTES_CONSUMER]),
    "gateway": (GATEWAY, [spec for spec, _ in consumer_specs(_ANY_TRANSLATOR)]),  # type: ignore[arg-type]
    "insights": (INSIGHTS, [USAGE_ACTIVITY, LATE_USAGE]),
}


def test_every_service_has_an_identity() -> None:
    assert sorted(identity.name for identity in nats_access.IDENTITIES) == sorted(DECLARED)


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_an_identity_grants_exactly_the_streams_and_consumers_its_service_declares(name: str) -> None:
    definition, consumers = DECLARED[name]
    identity = nats_access.BY_NAME[name]
    assert sorted(s.name for s in identity.streams) == sorted(s.name for s in definition.streams)  # type: ignore[attr-defined]
    assert sorted((g.stream, g.durable, g.filter_subject) for g in identity.consumers) == sorted(
        (c.stream, c.durable, c.filter_subject) for c in consumers
    )


def test_only_ingestion_may_publish_usage_and_only_invoicing_invoicing_subjects() -> None:
    def publishers(subject: str) -> list[str]:
        return sorted(
            identity.name
            for identity in nats_access.IDENTITIES
            if subject in nats_access.permissions(identity)["publish"]["allow"]
        )

    assert publishers("tally.usage.batches.>") == ["ingestion"]
    assert publishers("tally.invoicing.>") == ["invoicing"]
    assert publishers("tally.metering.>") == ["metering"]
    for identity in nats_access.IDENTITIES:
        allowed = nats_access.permissions(identity)
        assert ">" not in allowed["publish"]["allow"]
        assert allowed["subscribe"]["allow"][0] == f"{nats_access.inbox_prefix(identity.name)}.>"


def test_the_rendered_authorization_is_a_valid_nats_server_config(tmp_path) -> None:
    names = [identity.name for identity in (*nats_access.IDENTITIES, nats_access.OPERATOR)]
    seeds = nats_access.write_seeds(tmp_path / "nkeys", names)
    assert {oct(path.stat().st_mode & 0o777) for path in seeds.values()} == {"0o600"}
    keys = {name: nats_access.public_key(path.read_text()) for name, path in seeds.items()}
    assert all(key.startswith("U") for key in keys.values())
    config = tmp_path / "nats.conf"
    config.write_text(nats_access.authorization_block(keys))
    checked = subprocess.run(
        [str(nats_server_binary()), "-c", str(config), "-t"], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # Seeds are private; the config holds public keys only.
    assert not any(path.read_text().strip() in config.read_text() for path in seeds.values())
