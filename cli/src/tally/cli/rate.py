"""``tally rate``: the pricing engine from the command line, offline — a price file and a usage in, JSON out."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tally.api.catalog.v1 import catalog_service_pb2 as pb
from tally.domain.errors import InvalidArgument
from tally.pricing_wire import price_from_json, price_to_wire, rate_on_wire

EXIT_BAD_INPUT = 2

EXAMPLE = """\
examples:
  tally rate --price graduated.json --quantity 12
  tally rate --price percentage.json --values 40,70,50,0
  tally rate --price matrix.json --matrix 'alpha,west=10;beta,east=5'
  echo '{"currency":"USD","unit":{"unitPrice":"0.0004"}}' | tally rate --price - --quantity 12345
"""


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser(
        "rate",
        help="price a usage with a price (JSON form of tally.api.catalog.v1.Price), offline",
        description="Prints the unrounded amount, its currency and the breakdown as JSON. "
        "Bad input exits 2 naming the field.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument(
        "--price", required=True, help="price file in the Price message's JSON form; - for stdin"
    )
    usage = command.add_mutually_exclusive_group(required=True)
    usage.add_argument(
        "--quantity", help="a quantity (unit, graduated, volume, package, tiered package, flat)"
    )
    usage.add_argument("--values", help="event values in event order, comma separated (percentage)")
    usage.add_argument("--matrix", help="'v1,v2=quantity;…' per combination of dimension values (matrix)")


def _matrix(raw: str) -> pb.MatrixUsage:
    entries = []
    for index, part in enumerate(p for p in raw.split(";") if p.strip()):
        values, equals, quantity = part.rpartition("=")
        if not equals or not values.strip():
            raise InvalidArgument.field(
                f"usage.matrix_usage.entries[{index}]", f"expected 'value[,value]=quantity', got {part!r}"
            )
        entries.append(
            pb.MatrixUsageEntry(
                dimension_values=[v.strip() for v in values.split(",")], quantity=quantity.strip()
            )
        )
    return pb.MatrixUsage(entries=entries)


def request(args: argparse.Namespace) -> pb.RateRequest:
    """The RateRequest the arguments describe; InvalidArgument naming the field when one is bad."""
    try:
        text = sys.stdin.read() if args.price == "-" else Path(args.price).read_text()
    except OSError as exc:
        raise InvalidArgument.field("price", f"cannot read {args.price}: {exc.strerror}") from None
    message = price_to_wire(price_from_json(text))
    if args.quantity is not None:
        return pb.RateRequest(price=message, quantity=args.quantity.strip())
    if args.values is not None:
        values = [v.strip() for v in args.values.split(",") if v.strip()]
        return pb.RateRequest(price=message, event_values=pb.EventValues(values=values))
    return pb.RateRequest(price=message, matrix_usage=_matrix(args.matrix))


def as_json(response: pb.RateResponse) -> dict[str, object]:
    """What ``tally rate`` prints: every breakdown field present, empty flat fees as "0"."""
    return {
        "amount": response.amount.amount,
        "currency": response.amount.currency,
        "breakdown": [
            {
                "description": line.description,
                "tier_index": line.tier_index,
                "units": line.units,
                "unit_price": line.unit_price,
                "flat_fee": line.flat_fee or "0",
                "subtotal": line.subtotal,
            }
            for line in response.breakdown
        ],
    }


def run(args: argparse.Namespace) -> int:
    try:
        response = rate_on_wire(request(args))
    except InvalidArgument as exc:
        for violation in exc.violations:
            print(f"tally rate: {violation}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(as_json(response), indent=2, ensure_ascii=False))
    return 0
