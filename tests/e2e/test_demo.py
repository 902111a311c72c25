"""`tally demo` ends with last month invoiced: a table of invoices, lines and totals, and the PDFs in a named folder."""

import re
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from tally.cli.topology import SERVICES
from tally.testing.ports import free_port

NUMBER = r"INV-\d{4}-\d{6}"


def consecutive_free_ports(count: int) -> int:
    for _ in range(50):
        base = free_port()
        if all(_is_free(base + offset) for offset in range(count)):
            return base
    raise RuntimeError("no run of free ports found")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def run_demo(data_dir) -> str:
    command = [
        sys.executable, "-m", "tally.cli", "demo", "--events", "20000", "--data-dir", str(data_dir),
        "--base-port", str(consecutive_free_ports(max(s.offset for s in SERVICES) + 1)), "--nats-port", str(free_port()),
        "--nats-monitor-port", str(free_port()),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result.stdout


def invoice_blocks(out: str) -> dict[str, str]:
    """Each printed invoice table by its number."""
    blocks = re.split(rf"\n\n(?=\w+ \([^)]*\)  {NUMBER})", out.split("\ninvoices for ", 1)[1])
    return {re.search(NUMBER, block).group(): block.split("\n\n")[0] for block in blocks[1:]}


def amounts(block: str, currency: str) -> dict[str, list[Decimal]]:
    """The amounts in ``currency`` on each row of an invoice table, by the row's label."""
    rows: dict[str, list[Decimal]] = {}
    for row in block.splitlines()[2:]:
        label = re.split(r"\s{2,}", row.strip())[0]
        values = re.findall(rf"{currency} (-?[\d,]+(?:\.\d+)?)", row)
        rows[label] = [Decimal(value.replace(",", "")) for value in values]
    return rows


@pytest.mark.timeout(300)
def test_the_demo_invoices_last_month_and_writes_the_pdfs_to_the_folder_it_names(tmp_path):
    now = datetime.now(UTC)
    if now.day == 1 and now.hour < 1:
        pytest.skip(
            "last month ended less than invoicing's 60-minute grace ago: its invoices are still drafts"
        )
    this_month_start = now.date().replace(day=1)
    last_month_start = (this_month_start - timedelta(days=1)).replace(day=1)
    out = run_demo(tmp_path / "demo")

    folder = (tmp_path / "demo" / "invoices").resolve()
    assert f"3 invoice PDFs written to {folder}/:" in out
    blocks = invoice_blocks(out)
    assert sorted(path.name for path in folder.glob("*.pdf")) == sorted(f"{number}.pdf" for number in blocks)
    assert len(blocks) == 3
    for number in blocks:
        text = "".join(page.extract_text() for page in PdfReader(folder / f"{number}.pdf").pages)
        assert number in text

    by_customer = {block.split(" ", 1)[0]: block for block in blocks.values()}
    assert sorted(by_customer) == ["acme", "initech", "tanaka"]
    # initech was quoted, approved and accepted in the demo: catalog made it a customer and subscribed it.
    assert "  quote Q-000001" in by_customer["initech"].splitlines()[0]
    assert "Launch partner 25 %" in by_customer["initech"]
    assert re.search(
        r"quote Q-000001 against \w+ \d{4}: estimated USD [\d,]+\.\d\d, invoiced [\d,]+\.\d\d", out
    )
    for customer, currency, fee, fee_tax, grant in (
        ("acme", "USD", "49.00", "9.80", Decimal("100.00")),
        ("tanaka", "JPY", "7000", "700", Decimal(0)),
    ):
        block = by_customer[customer]
        assert f"  {last_month_start} → {this_month_start}  due " in block.splitlines()[0]
        rows = amounts(block, currency)
        # The platform fee is billed in arrears for the whole month: exactly the plan's fee, taxed at 20 % / 10 %.
        assert rows["Platform fee"] == [Decimal(fee), Decimal(fee_tax)]
        lines = [values for label, values in rows.items() if len(values) == 2]
        assert len(lines) == 6
        (subtotal,), (tax,), (credits,), (total,), (due,) = (
            rows[label] for label in ("subtotal", "tax", "credits", "total", "amount due")
        )
        assert subtotal == sum(amount for amount, _ in lines)
        assert tax == sum(line_tax for _, line_tax in lines)
        assert total == subtotal + tax
        assert credits == -min(grant, total)
        assert due == total + credits
    # Posted to the demo's fake NetSuite through netsuitesdk, once each, with NetSuite's id beside each table;
    # one paid in full there comes back as PAID; the printed trace runs from the billing run to the posting.
    for block in blocks.values():
        assert re.search(r"  NetSuite #\d+$", block.splitlines()[0])
    assert re.search(
        rf"paid USD [\d.]+ in full against {NUMBER} in NetSuite: .* invoicing now shows it PAID", out
    )
    path = out.split("from the billing run to NetSuite", 1)[1].split("\n\n", 1)[0]
    assert "InvoicingService/RunBilling  [invoicing, server]" in path
    assert "erp-sync post invoice to netsuite  [erp_sync, internal]" in path
    assert "netsuite-soap upsert invoice  [erp_sync, client]" in path
    # Each finalized invoice was e-mailed with its PDF to the customer through the demo's local SMTP server.
    mail = out.split("e-mailed through a local SMTP server", 1)[1]
    for number in blocks:
        assert re.search(
            rf"  to \S+@\S+ +Invoice {number} from Tally Demo Ltd  \[{number}\.pdf, [\d,]+ bytes\]", mail
        )
    # Every process ran as its own NATS identity and none was refused anything it needed (the permissions
    # of tally.mesh.nats_access are complete), nor did any connect without credentials.
    nats_log = (tmp_path / "demo" / "logs" / "nats-server.log").read_text()
    assert "Violation" not in nats_log, [line for line in nats_log.splitlines() if "Violation" in line][:5]
    assert "Authorization Error" not in nats_log
    # No secret (API keys, NATS seeds, the usage signing key) and no event payload (the demo's first batch
    # sends the property endpoint=/v1/search) appears in any process's log or in any span of the run.
    data_dir = tmp_path / "demo"
    secrets = {
        str(path.relative_to(data_dir)): path.read_text().strip()
        for path in [*(data_dir / "secrets").rglob("*.key"), *(data_dir / "secrets").rglob("*.nk")]
    }
    assert len(secrets) >= 2 * len(SERVICES) + 2, sorted(secrets)
    payload = "/v1/search"
    seen = ""
    for record in [*(data_dir / "logs").glob("*.log"), *(data_dir / "traces").glob("*.jsonl")]:
        text = record.read_text(errors="replace")
        leaked = [name for name, secret in secrets.items() if secret in text]
        assert not leaked, f"{record.name} holds {leaked}"
        assert payload not in text, f"{record.name} holds an event's payload"
        seen += text
    assert "demo-batch-1" in seen  # the spans of that very batch were read (its id is not a secret)
    # Everything the run left in the data dir (databases, spans, logs, keys, invoice PDFs) is the user's only.
    loose = [
        f"{path.relative_to(data_dir)} {oct(path.stat().st_mode & 0o777)}"
        for path in [data_dir, *data_dir.rglob("*")]
        if path.stat().st_mode & 0o077
    ]
    assert not loose, loose
