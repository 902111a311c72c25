"""A ready-made world around the fakes: charts the fakes accept, the mapping file that matches them, the
environment that points erp-sync at them, and documents as invoicing announces them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.protobuf.timestamp_pb2 import Timestamp

from tally.api.common.v1 import money_pb2
from tally.api.invoicing.v1 import events_pb2, invoicing_service_pb2
from tally.fake_erp.books import Books
from tally.fake_erp.faults import FaultPlan
from tally.fake_erp.intacct import FakeIntacct
from tally.fake_erp.netsuite import FakeNetSuite, NetSuiteCredentials

NETSUITE_ITEMS = ("501", "502", "510")
"""NetSuite items the fake accepts: 501 usage and fees, 502 prepaid credit, 510 a dedicated charge."""
INTACCT_ACCOUNTS = ("4000", "4010", "2400", "2200")
"""Intacct GL accounts the fake accepts: 4000 income, 4010 a dedicated charge, 2400 prepaid credit, 2200 tax."""

MAPPING = """\
[netsuite]
subsidiary = "1"
tax_code = "10"
income_item = "501"
credit_item = "502"
class = "7"
terms = "2"

[netsuite.currencies]
USD = "1"
EUR = "4"
JPY = "5"

[sage_intacct]
ar_account = "1200"
tax_code = "2200"
income_item = "4000"
credit_item = "2400"
location = "HQ"

[sage_intacct.currencies]
USD = "USD"
EUR = "EUR"
JPY = "JPY"
"""


def fake_netsuite(faults: FaultPlan | None = None) -> FakeNetSuite:
    """A fake NetSuite with the chart the mapping above names, and a REST signing key of its own."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fake = FakeNetSuite(
        NetSuiteCredentials(public_key_pem=public),
        books=Books(items=NETSUITE_ITEMS, currencies=("1", "4", "5"), subsidiaries=("1",)),
        client_private_key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        faults=faults,
    )
    return fake


def fake_intacct(faults: FaultPlan | None = None) -> FakeIntacct:
    return FakeIntacct(books=Books(items=INTACCT_ACCOUNTS, currencies=("USD", "EUR", "JPY")), faults=faults)


def erp_sync_environment(
    workdir: Path,
    *,
    netsuite: FakeNetSuite | None = None,
    intacct: FakeIntacct | None = None,
    netsuite_api: str = "soap",
    mapping: str = MAPPING,
) -> dict[str, str]:
    """The variables that point erp-sync at the fakes (writing the mapping file, and the REST key)."""
    workdir.mkdir(parents=True, exist_ok=True)
    mapping_file = workdir / "erp-mapping.toml"
    mapping_file.write_text(mapping)
    targets = [name for name, fake in (("netsuite", netsuite), ("sage_intacct", intacct)) if fake is not None]
    env = {"TALLY_ERP_TARGETS": ",".join(targets), "TALLY_ERP_MAPPING": str(mapping_file)}
    if netsuite is not None:
        c = netsuite.credentials
        env.update(
            TALLY_NETSUITE_API=netsuite_api,
            TALLY_NETSUITE_URL=netsuite.url,
            TALLY_NETSUITE_ACCOUNT=c.account,
        )
        if netsuite_api == "rest":
            key_file = workdir / "netsuite-rest-key.pem"
            key_file.write_bytes(netsuite.client_private_key_pem)
            env.update(
                TALLY_NETSUITE_CLIENT_ID=c.client_id,
                TALLY_NETSUITE_CERTIFICATE_ID=c.certificate_id,
                TALLY_NETSUITE_PRIVATE_KEY_FILE=str(key_file),
            )
        else:
            env.update(
                TALLY_NETSUITE_CONSUMER_KEY=c.consumer_key,
                TALLY_NETSUITE_CONSUMER_SECRET=c.consumer_secret,
                TALLY_NETSUITE_TOKEN_KEY=c.token_key,
                TALLY_NETSUITE_TOKEN_SECRET=c.token_secret,
            )
    if intacct is not None:
        i = intacct.credentials
        env.update(
            TALLY_INTACCT_URL=intacct.url,
            TALLY_INTACCT_SENDER_ID=i.sender_id,
            TALLY_INTACCT_SENDER_PASSWORD=i.sender_password,
            TALLY_INTACCT_USER_ID=i.user_id,
            TALLY_INTACCT_COMPANY_ID=i.company_id,
            TALLY_INTACCT_USER_PASSWORD=i.user_password,
        )
    return env


@dataclass(frozen=True)
class Line:
    description: str
    amount: str
    tax: str = "0"
    charge_id: str = ""


def _money(amount: str | Decimal, currency: str) -> money_pb2.Money:
    return money_pb2.Money(amount=str(amount), currency=currency)


def _stamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def invoice_finalized(
    invoice_id: str,
    *,
    customer_id: str,
    number: str,
    lines: Sequence[Line],
    currency: str = "USD",
    credits: str = "0",
    issued_at: datetime | None = None,
) -> events_pb2.InvoiceFinalized:
    """An InvoiceFinalized as invoicing publishes it: prepaid ``credits`` become a CREDIT line."""
    issued = issued_at or datetime.now(UTC)
    pb = invoicing_service_pb2
    wire_lines = [
        pb.InvoiceLine(
            id=f"{invoice_id}-l{i}",
            kind=pb.INVOICE_LINE_KIND_USAGE,
            description=line.description,
            charge_id=line.charge_id,
            amount=_money(line.amount, currency),
            tax=_money(line.tax, currency),
        )
        for i, line in enumerate(lines)
    ]
    subtotal = sum((Decimal(line.amount) for line in lines), Decimal(0))
    tax = sum((Decimal(line.tax) for line in lines), Decimal(0))
    credit = Decimal(credits)
    if credit:
        wire_lines.append(
            pb.InvoiceLine(
                id=f"{invoice_id}-credit",
                kind=pb.INVOICE_LINE_KIND_CREDIT,
                description="Prepaid credit",
                amount=_money(-credit, currency),
            )
        )
    invoice = pb.Invoice(
        id=invoice_id,
        number=number,
        customer_id=customer_id,
        customer_external_id=customer_id,
        customer_name=f"{customer_id.title()} Ltd",
        status=pb.INVOICE_STATUS_FINALIZED,
        currency=currency,
        lines=wire_lines,
        subtotal=_money(subtotal, currency),
        tax=_money(tax, currency),
        credits_applied=_money(credit, currency),
        total=_money(subtotal + tax, currency),
        amount_due=_money(subtotal + tax - credit, currency),
        issued_at=_stamp(issued),
        due_at=_stamp(issued + timedelta(days=30)),
    )
    return events_pb2.InvoiceFinalized(invoice=invoice)


def credit_note_issued(
    note_id: str,
    *,
    invoice_id: str,
    customer_id: str,
    number: str,
    lines: Sequence[Line],
    currency: str = "USD",
    issued_at: datetime | None = None,
) -> events_pb2.CreditNoteIssued:
    pb = invoicing_service_pb2
    subtotal = sum((Decimal(line.amount) for line in lines), Decimal(0))
    tax = sum((Decimal(line.tax) for line in lines), Decimal(0))
    note = pb.CreditNote(
        id=note_id,
        number=number,
        invoice_id=invoice_id,
        customer_id=customer_id,
        currency=currency,
        lines=[
            pb.CreditNoteLine(
                id=f"{note_id}-l{i}",
                description=line.description,
                amount=_money(line.amount, currency),
                tax=_money(line.tax, currency),
            )
            for i, line in enumerate(lines)
        ],
        subtotal=_money(subtotal, currency),
        tax=_money(tax, currency),
        total=_money(subtotal + tax, currency),
        issued_at=_stamp(issued_at or datetime.now(UTC)),
    )
    return events_pb2.CreditNoteIssued(credit_note=note)
