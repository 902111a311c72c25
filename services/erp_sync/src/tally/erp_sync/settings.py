"""erp-sync's settings beyond the mesh's: which ERPs documents are posted to."""

from __future__ import annotations

from dataclasses import dataclass

from tally.erp_sync.domain import Erp, parse_targets
from tally.mesh.settings import setting


@dataclass(frozen=True)
class ErpSyncSettings:
    """The enabled ERPs; ERP credentials come with posting."""

    erp_targets: tuple[Erp, ...] = setting(
        "TALLY_ERP_TARGETS",
        default=(Erp.NETSUITE,),
        parse=parse_targets,
        doc="comma list of ERPs documents are posted to: netsuite, sage_intacct",
    )
    """ERPs every finalized invoice and issued credit note is queued for, e.g. ``netsuite,sage_intacct``."""
