"""Invoicing's metrics on the mesh: the invoice counters the use cases count, recorded as ``tally.invoices.*``."""

from __future__ import annotations

from tally.mesh import metrics


class MeshCounters:
    """The InvoiceCounters port on ``tally.mesh.metrics``."""

    def drafted(self, count: int) -> None:
        if count:
            metrics.INVOICES_DRAFTED.add(count)

    def finalized(self, count: int) -> None:
        if count:
            metrics.INVOICES_FINALIZED.add(count)
