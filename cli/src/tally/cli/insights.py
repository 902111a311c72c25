"""``tally insights``: the insights service's own anomaly detector and forecaster on a CSV file, offline."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from tally.domain.errors import InvalidArgument
from tally.insights.detection import DetectorSettings, detect
from tally.insights.forecasting import Forecaster

EXIT_BAD_INPUT = 2
MS_EPOCH_ABOVE = 100_000_000_000
"""An integer timestamp above this (year 5138 in seconds) is in milliseconds."""

EXAMPLE = """\
examples:
  tally insights anomalies --csv usage.csv
  tally insights forecast --csv usage.csv --horizon 168
  (rows: timestamp,value — ISO 8601 (UTC unless it says otherwise) or Unix seconds/milliseconds; a header
  row is skipped; a missing row or an empty value is no data, not zero)
"""


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser(
        "insights",
        help="find anomalies in, or forecast, a usage series from a CSV file, offline",
        description="Runs the same detector and forecaster as the insights service. Prints JSON. "
        "Bad input exits 2 naming the line.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = command.add_subparsers(dest="insights_command", required=True)
    anomalies = actions.add_parser("anomalies", help="print the series' anomalies as JSON")
    anomalies.add_argument("--csv", required=True, help="timestamp,value rows; - for stdin")
    anomalies.add_argument(
        "--sensitivity",
        type=float,
        default=DetectorSettings().outlier_sigmas,
        help="standard deviations a single point must be off to be an anomaly (default %(default)s)",
    )
    forecast = actions.add_parser("forecast", help="print the next N steps with 80 %% intervals as JSON")
    forecast.add_argument("--csv", required=True, help="timestamp,value rows; - for stdin")
    forecast.add_argument("--horizon", type=int, required=True, help="steps to forecast")


def _timestamp(raw: str, line: int) -> int:
    text = raw.strip()
    try:
        number = int(text)
    except ValueError:
        pass
    else:
        return number // 1000 if number > MS_EPOCH_ABOVE else number
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument.field(
            f"line {line}", f"timestamp {raw!r} is neither ISO 8601 nor Unix seconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def read_series(text: str) -> tuple[list[int], list[float]]:
    """The (timestamps in seconds, values) of CSV rows ``timestamp,value``, in time order."""
    rows: list[tuple[int, float]] = []
    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 2:
            raise InvalidArgument.field(f"line {line}", f"expected 'timestamp,value', got {','.join(row)!r}")
        raw_ts, raw_value = row[0], row[1].strip()
        if line == 1 and not raw_ts.strip()[:1].isdigit():
            continue  # a header
        ts = _timestamp(raw_ts, line)
        if not raw_value:
            continue
        try:
            value = Decimal(raw_value)
        except InvalidOperation:
            raise InvalidArgument.field(f"line {line}", f"value {raw_value!r} is not a number") from None
        if not value.is_finite() or abs(value) > Decimal("1e15"):
            raise InvalidArgument.field(
                f"line {line}", f"value {raw_value!r} must be a finite number below 1e15"
            )
        rows.append((ts, float(value)))
    rows.sort()
    for (before, _), (after, _), line in zip(rows, rows[1:], range(2, len(rows) + 1), strict=False):
        if before == after:
            raise InvalidArgument.field(
                f"row {line}", f"timestamp {datetime.fromtimestamp(after, UTC).isoformat()} appears twice"
            )
    if len(rows) < 2:
        raise InvalidArgument.field("csv", "needs at least two rows of timestamp,value")
    return [ts for ts, _ in rows], [value for _, value in rows]


def _iso(ts: int | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _number(value: float) -> float:
    return round(value, 6) if math.isfinite(value) else 0.0


def _anomalies(timestamps: list[int], values: list[float], sensitivity: float) -> dict[str, Any]:
    found = detect(timestamps, values, settings=DetectorSettings(outlier_sigmas=sensitivity))
    return {
        "anomalies": [
            {
                "kind": a.kind.value,
                "start": _iso(a.start_s),
                "end": _iso(a.end_s),
                "observed": _number(a.observed),
                "expected": _number(a.expected),
                "expected_low": _number(a.expected_low),
                "expected_high": _number(a.expected_high),
                "score": round(a.score, 2),
                "severity": a.severity.value,
                "reason": a.reason,
                "detected_at": _iso(a.detected_s),
            }
            for a in found
        ]
    }


def _forecast(timestamps: list[int], values: list[float], horizon: int) -> dict[str, Any]:
    if horizon <= 0 or horizon > 100_000:
        raise InvalidArgument.field("horizon", f"must be between 1 and 100,000 steps, got {horizon}")
    forecaster = Forecaster(timestamps, values)
    points = forecaster.forecast(horizon)
    return {
        "step_seconds": forecaster.cadence.step_s,
        "forecast": [
            {
                "timestamp": _iso(p.ts),
                "value": _number(p.value),
                "low": _number(p.low),
                "high": _number(p.high),
            }
            for p in points
        ],
    }


def run(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.csv == "-" else Path(args.csv).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"tally insights: cannot read {args.csv}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        timestamps, values = read_series(text)
        if args.insights_command == "anomalies":
            result = _anomalies(timestamps, values, args.sensitivity)
        else:
            result = _forecast(timestamps, values, args.horizon)
    except InvalidArgument as exc:
        for violation in exc.violations:
            print(f"tally insights: {violation}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
