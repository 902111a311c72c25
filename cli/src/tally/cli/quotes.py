"""``tally quotes …``: create a quote from a JSON or YAML file, price it, move it to acceptance, render it,
compare it with what was billed — against a running stack's quoting service."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import yaml
from google.protobuf import json_format

from tally.api.quoting.v1 import quoting_service_pb2 as pb
from tally.api.quoting.v1 import quoting_service_pb2_grpc as pb_grpc
from tally.cli.admin import AdminError, Endpoint, add_endpoint_options, presented_key, resolve_endpoint
from tally.cli.local_tls import stack_channel
from tally.cli.settings import CliSettings
from tally.mesh.errors import field_violations
from tally.money import minor_units

DEADLINE_S = 30.0
"""Pricing and comparing read catalog (and metering and invoicing) on the way."""

Output = Callable[[str], None]

EXAMPLE = """\
a quote file is the JSON (or YAML) form of tally.api.quoting.v1.Quote, e.g.:
  customerId: <catalog customer id>        # or prospect: {externalId, name, taxRatePercent, ...}
  currency: USD
  planVersionId: <plan version id>
  startAt: "2027-01-01T00:00:00Z"
  billingCycle: BILLING_CYCLE_MONTHLY
  termMonths: 12
  validUntil: "2026-12-31T00:00:00Z"
  discounts: [{kind: DISCOUNT_KIND_PERCENTAGE, value: "10"}]
  usageAssumptions: [{meterId: <meter id>, quantity: "120000"}]

examples:
  tally quotes create quote.yaml
  tally quotes price Q-000001
  tally quotes submit Q-000001 && tally quotes approve Q-000001 --comment "ok"
  tally quotes accept Q-000001 --name "Ada Lovelace" --email ada@example.com
  tally quotes pdf Q-000001 --out quote.pdf
  tally quotes compare Q-000001
"""


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser], defaults: CliSettings) -> None:
    quotes = commands.add_parser(
        "quotes",
        help="create, price, approve and accept quotes on a running stack",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = quotes.add_subparsers(dest="action", required=True)

    def action(name: str, help_text: str, *, quote: bool = True) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help_text)
        if quote:
            parser.add_argument("quote", help="quote id or number (Q-000042)")
        add_endpoint_options(parser, defaults, "quoting's host:port (default: from the running local stack)")
        return parser

    action("create", "create a draft quote from a JSON or YAML file (- for stdin)", quote=False).add_argument(
        "file"
    )
    action("price", "print the estimated invoices and contract values")
    action("submit", "submit a draft for approval (approved at once when no rule applies)")
    action("approve", "approve a submitted quote with the key's roles").add_argument("--comment", default="")
    accept = action("accept", "record the customer's acceptance (catalog then makes the subscription)")
    accept.add_argument("--name", required=True, help="who signed for the customer")
    accept.add_argument("--email", required=True, help="the signer's e-mail address")
    action("pdf", "write the quote's PDF").add_argument(
        "--out", type=Path, help="file (default: <number>.pdf)"
    )
    action("compare", "compare an accepted quote with the usage metered and the amounts invoiced")


def read_quote(path: str) -> pb.Quote:
    """The Quote a JSON or YAML file describes; AdminError naming what is wrong with it."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as exc:
        raise AdminError(f"cannot read {path}: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise AdminError(f"{path} is neither JSON nor YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise AdminError(f"{path} must hold one quote (a mapping), not {type(raw).__name__}")
    try:
        return json_format.ParseDict(_plain(raw), pb.Quote())
    except json_format.ParseError as exc:
        raise AdminError(f"{path} is not a tally.api.quoting.v1.Quote: {exc}") from None


def _plain(value: Any) -> Any:
    """YAML values as the JSON form expects them: numbers and dates as strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _money(amount: str, currency: str) -> str:
    return f"{currency} {Decimal(amount or '0'):,.{minor_units(currency)}f}"


def _status(status: int) -> str:
    return pb.QuoteStatus.Name(status).removeprefix("QUOTE_STATUS_")


def _resolve(stub: pb_grpc.QuotingServiceStub, metadata: Sequence[tuple[str, str]], ref: str) -> pb.Quote:
    """The quote an id or a number names (a number is looked up in the list, newest first)."""
    if not ref.upper().startswith("Q-"):
        return stub.GetQuote(pb.GetQuoteRequest(quote_id=ref), metadata=metadata, timeout=DEADLINE_S).quote
    token = ""
    while True:
        reply = stub.ListQuotes(
            pb.ListQuotesRequest(page={"page_size": 500, "page_token": token}),
            metadata=metadata,
            timeout=DEADLINE_S,
        )
        for quote in reply.quotes:
            if quote.number == ref.upper():
                return quote
        token = reply.page.next_page_token
        if not token:
            raise AdminError(f"no quote numbered {ref}")


def describe(quote: pb.Quote) -> str:
    line = f"quote {quote.number} v{quote.version} {_status(quote.status)} ({quote.id})"
    needed = [a for a in quote.required_approvals if not a.approved_by]
    if needed and quote.status == pb.QUOTE_STATUS_SUBMITTED:
        line += "; needs " + "; ".join(f"{a.approver_role} ({a.reason})" for a in needed)
    if quote.subscription_id:
        line += f"; subscription {quote.subscription_id}"
    return line


def estimate_lines(estimate: pb.QuoteEstimate) -> list[str]:
    """The estimate as a table: one row per invoice, then the contract values."""
    currency = estimate.currency
    rows = [f"  {'invoice':<30}{'subtotal':>18}{'tax':>16}{'total':>18}"]
    for invoice in estimate.invoices:
        start, end = invoice.period.start.ToDatetime(), invoice.period.end.ToDatetime()
        label = (
            "opening (fees in advance)"
            if invoice.kind == pb.ESTIMATED_INVOICE_KIND_OPENING
            else f"{start:%Y-%m-%d} → {end:%Y-%m-%d}"
        )
        rows.append(
            f"  {label:<30}{_money(invoice.subtotal.amount, currency):>18}"
            f"{_money(invoice.tax.amount, currency):>16}{_money(invoice.total.amount, currency):>18}"
        )
    rows += [
        f"  TCV {_money(estimate.total_contract_value.amount, currency)}, "
        f"ACV {_money(estimate.annual_contract_value.amount, currency)}, "
        f"first year {_money(estimate.first_year_value.amount, currency)}",
        f"  at list {_money(estimate.list_value.amount, currency)}: "
        f"effective discount {estimate.effective_discount_percent} %",
    ]
    return rows


def comparison_lines(compared: pb.CompareQuoteToActualResponse) -> list[str]:
    currency = compared.estimated_total.currency
    rows = [f"subscription {compared.subscription_id}"]
    for period in compared.periods:
        start = period.period.start.ToDatetime()
        rows.append(
            f"  period {period.period_index} ({start:%Y-%m-%d}): estimated "
            f"{_money(period.estimated_subtotal.amount, currency)}, invoiced "
            f"{_money(period.invoiced_subtotal.amount, currency)}, variance "
            f"{_money(period.variance.amount, currency)} ({period.variance_percent or '–'} %)"
        )
        for usage in period.usage:
            rows.append(
                f"    meter {usage.meter_id}: assumed {usage.assumed_quantity}, metered {usage.metered_quantity}"
                f" ({usage.variance_percent or '–'} %)"
            )
    rows.append(
        f"  total: estimated {_money(compared.estimated_total.amount, currency)}, invoiced "
        f"{_money(compared.actual_total.amount, currency)}, variance {_money(compared.variance.amount, currency)}"
    )
    return rows


def _explain(exc: grpc.RpcError, endpoint: Endpoint) -> str:
    if not isinstance(exc, grpc.Call):
        return str(exc)
    if exc.code() == grpc.StatusCode.UNAVAILABLE:
        return f"quoting at {endpoint.target} is not answering (is the stack running? `tally status`)"
    found = [f"{exc.code().name}: {exc.details()}"]
    found += [f"  {v.field}: {v.reason}" for v in field_violations(exc)]
    return "\n".join(found)


def run(args: argparse.Namespace, out: Output = print) -> int:
    endpoint = resolve_endpoint(args.data_dir, args.target, presented_key(args), service="quoting")
    metadata = (("authorization", f"Bearer {endpoint.key}"),)
    with stack_channel(args.data_dir, endpoint.target) as channel:
        stub = pb_grpc.QuotingServiceStub(channel)
        try:
            _act(stub, metadata, args, out)
        except grpc.RpcError as exc:
            raise AdminError(_explain(exc, endpoint)) from None
    return 0


def _act(
    stub: pb_grpc.QuotingServiceStub,
    metadata: Sequence[tuple[str, str]],
    args: argparse.Namespace,
    out: Output,
) -> None:
    def call(method: Callable[..., Any], request: Any) -> Any:
        return method(request, metadata=metadata, timeout=DEADLINE_S)

    if args.action == "create":
        out(describe(call(stub.CreateQuote, pb.CreateQuoteRequest(quote=read_quote(args.file))).quote))
        return
    quote = _resolve(stub, metadata, args.quote)
    if args.action == "price":
        out(describe(quote))
        for row in estimate_lines(call(stub.PriceQuote, pb.PriceQuoteRequest(quote_id=quote.id)).estimate):
            out(row)
    elif args.action == "submit":
        out(
            describe(
                call(stub.SubmitQuote, pb.SubmitQuoteRequest(quote_id=quote.id, version=quote.version)).quote
            )
        )
    elif args.action == "approve":
        request = pb.ApproveQuoteRequest(quote_id=quote.id, version=quote.version, comment=args.comment)
        out(describe(call(stub.ApproveQuote, request).quote))
    elif args.action == "accept":
        request = pb.AcceptQuoteRequest(
            quote_id=quote.id, version=quote.version, accepted_by=args.name, accepted_by_email=args.email
        )
        out(describe(call(stub.AcceptQuote, request).quote))
    elif args.action == "pdf":
        rendered = call(stub.GetQuotePdf, pb.GetQuotePdfRequest(quote_id=quote.id))
        path = args.out or Path(rendered.filename)
        path.write_bytes(rendered.pdf)
        out(f"quote {quote.number} written to {path}")
    else:
        for row in comparison_lines(
            call(stub.CompareQuoteToActual, pb.CompareQuoteToActualRequest(quote_id=quote.id))
        ):
            out(row)
