"""``tally erp status|retry|reconcile``: the ERP sync ledger of a running stack, its retries and reconciliation."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import grpc

from tally.api.common.v1 import money_pb2, period_pb2
from tally.api.erp_sync.v1 import erp_sync_service_pb2 as pb
from tally.api.erp_sync.v1 import erp_sync_service_pb2_grpc as pb_grpc
from tally.cli.admin import AdminError, add_endpoint_options, presented_key, resolve_endpoint
from tally.cli.local_tls import stack_channel
from tally.cli.settings import CliSettings
from tally.mesh.wire import timestamp_to_wire
from tally.money import minor_units

DEADLINE_S = 10.0
RECONCILE_DEADLINE_S = 120.0
"""Reconcile reads a period's documents back from the ERP: longer than the default deadline."""
_FAILED_SHOWN = 20
_ERPS = {"netsuite": pb.ERP_NETSUITE, "sage_intacct": pb.ERP_SAGE_INTACCT}

Output = Callable[[str], None]


class ErpCommandError(Exception):
    """A failure to report on one line, without a traceback."""


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser], defaults: CliSettings) -> None:
    erp = commands.add_parser("erp", help="ERP sync: status, retry a failed posting, reconcile a period")
    actions = erp.add_subparsers(dest="erp_command", required=True)

    def endpoint(command: argparse.ArgumentParser) -> None:
        add_endpoint_options(command, defaults, "erp-sync's address (default: the running local stack's)")

    endpoint(actions.add_parser("status", help="records per ERP and state, payments read back, failures"))
    retry = actions.add_parser(
        "retry", help="post FAILED records again (the mapping file is read again first)"
    )
    endpoint(retry)
    retry.add_argument("record_ids", nargs="*", help="sync record ids")
    retry.add_argument("--all-failed", action="store_true", help="every FAILED record")
    reconcile = actions.add_parser("reconcile", help="compare a period's documents with an ERP's, as a table")
    endpoint(reconcile)
    reconcile.add_argument("--erp", choices=sorted(_ERPS), default="netsuite")
    reconcile.add_argument(
        "--from", dest="start", type=date.fromisoformat, required=True, help="first day (UTC)"
    )
    reconcile.add_argument(
        "--to", dest="end", type=date.fromisoformat, required=True, help="day after the last"
    )


def run(args: argparse.Namespace, out: Output = print) -> int:
    try:
        endpoint = resolve_endpoint(args.data_dir, args.target, presented_key(args), service="erp_sync")
    except AdminError as exc:
        raise ErpCommandError(str(exc)) from None
    metadata = (("authorization", f"Bearer {endpoint.key}"),)
    with stack_channel(args.data_dir, endpoint.target) as channel:
        stub = pb_grpc.ErpSyncServiceStub(channel)
        try:
            if args.erp_command == "status":
                return _status(stub, metadata, out)
            if args.erp_command == "retry":
                return _retry(stub, metadata, args, out)
            return _reconcile(stub, metadata, args, out)
        except grpc.RpcError as exc:
            raise ErpCommandError(f"erp-sync answered {exc.code().name}: {exc.details()}") from None


def _name(erp: int) -> str:
    return pb.Erp.Name(erp).removeprefix("ERP_").lower()


def _failed(stub: pb_grpc.ErpSyncServiceStub, metadata: tuple[tuple[str, str], ...]) -> list[pb.SyncRecord]:
    found: list[pb.SyncRecord] = []
    token = ""
    while True:
        reply = stub.ListSyncRecords(
            pb.ListSyncRecordsRequest(
                state=pb.SYNC_STATE_FAILED, page={"page_size": 500, "page_token": token}
            ),
            metadata=metadata,
            timeout=DEADLINE_S,
        )
        found += reply.records
        token = reply.page.next_page_token
        if not token:
            return found


def _status(stub: pb_grpc.ErpSyncServiceStub, metadata: tuple[tuple[str, str], ...], out: Output) -> int:
    summary = stub.GetSyncSummary(pb.GetSyncSummaryRequest(), metadata=metadata, timeout=DEADLINE_S)
    states = ("PENDING", "SENDING", "POSTED", "FAILED")
    rows: dict[int, dict[str, int]] = {}
    for count in summary.counts:
        row = rows.setdefault(count.erp, {})
        row[pb.SyncState.Name(count.state).removeprefix("SYNC_STATE_")] = count.records
        row["retried"] = row.get("retried", 0) + count.retried
    payments = {p.erp: p.payments for p in summary.payments}
    out(f"{'erp':<14}" + "".join(f"{s.lower():>10}" for s in (*states, "retried")) + f"{'payments':>10}")
    for erp in sorted(set(rows) | set(payments)):
        row = rows.get(erp, {})
        cells = "".join(f"{row.get(s, 0):>10,}" for s in (*states, "retried"))
        out(f"{_name(erp):<14}{cells}{payments.get(erp, 0):>10,}")
    for erp in summary.unconfigured:
        out(
            f"\n{_name(erp)} is enabled without connection settings: its documents are queued, not posted "
            "(see services/erp_sync/README.md)"
        )
    failed = _failed(stub, metadata) if any(r.get("FAILED") for r in rows.values()) else []
    if failed:
        out(f"\nfailed ({len(failed)}; `tally erp retry <id>` posts one again once its cause is fixed):")
        for record in failed[:_FAILED_SHOWN]:
            out(f"  {record.id}  {_name(record.erp):<13} {record.erp_key:<40} {record.last_error}")
    return 0


def _retry(
    stub: pb_grpc.ErpSyncServiceStub,
    metadata: tuple[tuple[str, str], ...],
    args: argparse.Namespace,
    out: Output,
) -> int:
    ids = list(args.record_ids)
    if args.all_failed:
        ids += [record.id for record in _failed(stub, metadata)]
    if not ids:
        raise ErpCommandError("name the sync records to retry, or pass --all-failed")
    for record_id in ids:
        reply = stub.RetrySync(
            pb.RetrySyncRequest(sync_record_id=record_id), metadata=metadata, timeout=DEADLINE_S
        )
        state = pb.SyncState.Name(reply.record.state).removeprefix("SYNC_STATE_")
        out(f"{record_id}  {_name(reply.record.erp)}  {reply.record.erp_key}  {state}")
    return 0


def _money(money: money_pb2.Money) -> str:
    if not money.currency:
        return "—"
    return f"{money.currency} {Decimal(money.amount or '0'):,.{minor_units(money.currency)}f}"


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _reconcile(
    stub: pb_grpc.ErpSyncServiceStub,
    metadata: tuple[tuple[str, str], ...],
    args: argparse.Namespace,
    out: Output,
) -> int:
    period = period_pb2.Period(
        start=timestamp_to_wire(_midnight(args.start)), end=timestamp_to_wire(_midnight(args.end))
    )
    reply = stub.Reconcile(
        pb.ReconcileRequest(erp=_ERPS[args.erp], period=period),
        metadata=metadata,
        timeout=RECONCILE_DEADLINE_S,
    )
    out(
        f"{args.erp} against Tally, {args.start} → {args.end}: {reply.documents_checked:,} documents checked, "
        f"{len(reply.mismatches)} mismatches"
    )
    if not reply.mismatches:
        return 0
    out(f"{'mismatch':<18}{'number':<18}{'erp key':<40}{'tally':>18}{'erp':>18}  detail")
    for m in reply.mismatches:
        kind = pb.MismatchKind.Name(m.kind).removeprefix("MISMATCH_KIND_")
        out(
            f"{kind:<18}{m.document_number or '—':<18}{m.erp_key:<40}{_money(m.tally_amount):>18}"
            f"{_money(m.erp_amount):>18}  {m.detail}"
        )
    return 1
