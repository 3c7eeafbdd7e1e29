"""Finance's view of the CDRs: each CDR beside what the PTP captured for it."""

from __future__ import annotations

from sessions.models import Cdr


class CdrReconciliation(Cdr):
    """A CDR as finance reconciles it with the financial advice confirmations (no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "reconciled CDR"
        verbose_name_plural = "CDR reconciliation"
        permissions = (
            ("export_cdrs", "Can export CDRs (CSV, XLSX, OCPI JSON)"),
            ("view_token_uid", "Can see token uids unmasked"),
        )
