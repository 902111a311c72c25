"""``tally erp status|retry|reconcile`` against a running erp-sync."""

from datetime import UTC, datetime, timedelta

from erp_sync_world import (
    BROKEN,
    fake_erps,  # noqa: F401 - the fakes fixture
    invoice_message,
    posted_count,
    publish_all,
    records,
    start_erp_sync,
    wait_until,
)

from tally.api.erp_sync.v1 import erp_sync_service_pb2 as pb
from tally.cli.__main__ import main
from tally.fake_erp.books import INVOICE
from tally.fake_erp.setup import MAPPING, Line, invoice_finalized


def test_status_retry_and_reconcile_from_the_command_line(tmp_path, nats_server, database_url, fakes, capsys):
    netsuite, _ = fakes
    service = start_erp_sync(tmp_path, nats_server.url, database_url, netsuite, None, mapping=BROKEN)
    endpoint = ["--target", service.target, "--key", service.admin_key]
    try:
        publish_all(
            nats_server.url,
            [
                invoice_message(
                    invoice_finalized(
                        f"inv-{n}",
                        customer_id="acme",
                        number=f"INV-2026-00000{n}",
                        lines=[Line("Fee", "49.00", "9.80")],
                    )
                )
                for n in (1, 2)
            ],
        )
        wait_until(lambda: len(records(service, state=pb.SYNC_STATE_FAILED)) == 2, 60, "2 records FAILED")
        capsys.readouterr()
        assert main(["erp", "status", *endpoint]) == 0
        status = capsys.readouterr().out.splitlines()
        assert status[0].split() == ["erp", "pending", "sending", "posted", "failed", "retried", "payments"]
        assert status[1].split() == ["netsuite", "0", "0", "0", "2", "0", "0"]
        assert "Invalid item reference key '599'." in status[4]

        (tmp_path / "erp" / "erp-mapping.toml").write_text(MAPPING)
        assert main(["erp", "retry", "--all-failed", *endpoint]) == 0
        assert [line.split()[-1] for line in capsys.readouterr().out.splitlines()] == ["PENDING", "PENDING"]
        wait_until(lambda: posted_count(service) == 2, 60, "2 records POSTED")

        netsuite.books.delete(INVOICE, "tally-inv-inv-2")
        today = datetime.now(UTC).date()
        period = ["--from", str(today - timedelta(days=1)), "--to", str(today + timedelta(days=1))]
        assert main(["erp", "reconcile", "--erp", "netsuite", *period, *endpoint]) == 1
        table = capsys.readouterr().out.splitlines()
        assert table[0].endswith("2 documents checked, 1 mismatches")
        assert table[1].split() == ["mismatch", "number", "erp", "key", "tally", "erp", "detail"]
        assert table[2].split() == [
            "MISSING_IN_ERP",
            "INV-2026-000002",
            "tally-inv-inv-2",
            "USD",
            "58.80",
            "—",
            "not",
            "found",
            "in",
            "the",
            "ERP",
        ]
    finally:
        service.kill()
