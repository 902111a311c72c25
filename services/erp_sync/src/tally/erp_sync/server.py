"""erp-sync's gRPC servicer: wire ↔ domain for the ledger's reports, RetrySync, Reconcile and the summary."""

from __future__ import annotations

import grpc

from tally.api.common.v1 import pagination_pb2
from tally.api.erp_sync.v1 import erp_sync_service_pb2 as pb
from tally.api.erp_sync.v1 import erp_sync_service_pb2_grpc as pb_grpc
from tally.erp_sync.handlers import SyncReports, SyncRetry
from tally.erp_sync.messages import (
    erp_from_wire,
    kind_from_wire,
    mismatch_to_wire,
    record_to_wire,
    state_from_wire,
)
from tally.erp_sync.reconciler import Reconciler
from tally.erp_sync.store import SyncFilter, SyncKey
from tally.mesh.wire import timestamp_from_wire
from tally.persistence.paging import decode_time_key, page_of, page_size, time_key

SERVICE = "tally.api.erp_sync.v1.ErpSyncService"
SCOPES = {
    f"/{SERVICE}/GetSyncStatus": "erp:read",
    f"/{SERVICE}/ListSyncRecords": "erp:read",
    f"/{SERVICE}/GetSyncSummary": "erp:read",
    f"/{SERVICE}/Reconcile": "erp:read",
    f"/{SERVICE}/RetrySync": "erp:write",
}


def _key(token: str) -> SyncKey | None:
    decoded = decode_time_key(token)
    return None if decoded is None else SyncKey(*decoded)


class ErpSyncServicer(pb_grpc.ErpSyncServiceServicer):
    def __init__(self, reports: SyncReports, retry: SyncRetry, reconciler: Reconciler) -> None:
        self._reports = reports
        self._retry = retry
        self._reconciler = reconciler

    async def GetSyncStatus(
        self, request: pb.GetSyncStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSyncStatusResponse:
        records = await self._reports.status(kind_from_wire(request.document_kind), request.document_id)
        return pb.GetSyncStatusResponse(records=[record_to_wire(record) for record in records])

    async def ListSyncRecords(
        self, request: pb.ListSyncRecordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSyncRecordsResponse:
        limit = page_size(request.page.page_size)
        where = SyncFilter(
            erp=erp_from_wire(request.erp),
            state=state_from_wire(request.state),
            document_kind=kind_from_wire(request.document_kind),
        )
        found = await self._reports.list(where, after=_key(request.page.page_token), limit=limit + 1)
        page, token = page_of(found, limit, lambda record: time_key(record.updated_at, record.id))
        return pb.ListSyncRecordsResponse(
            records=[record_to_wire(record) for record in page],
            page=pagination_pb2.PageResponse(next_page_token=token),
        )

    async def RetrySync(
        self, request: pb.RetrySyncRequest, context: grpc.aio.ServicerContext
    ) -> pb.RetrySyncResponse:
        record = await self._retry.retry(request.sync_record_id)
        return pb.RetrySyncResponse(record=record_to_wire(record))

    async def Reconcile(
        self, request: pb.ReconcileRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReconcileResponse:
        checked, mismatches = await self._reconciler.reconcile(
            erp_from_wire(request.erp),
            timestamp_from_wire(request.period.start),
            timestamp_from_wire(request.period.end),
        )
        return pb.ReconcileResponse(
            documents_checked=checked, mismatches=[mismatch_to_wire(mismatch) for mismatch in mismatches]
        )

    async def GetSyncSummary(
        self, request: pb.GetSyncSummaryRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSyncSummaryResponse:
        counts, payments = await self._reports.summary()
        return pb.GetSyncSummaryResponse(
            counts=[
                pb.SyncCount(erp=f"ERP_{erp.value}", state=f"SYNC_STATE_{state.value}", records=n, retried=r)
                for erp, state, n, r in counts
            ],
            payments=[pb.PaymentCount(erp=f"ERP_{erp.value}", payments=n) for erp, n in payments],
            unconfigured=[f"ERP_{erp.value}" for erp in self._reports.unconfigured],
        )
