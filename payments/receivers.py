"""Payments act on the charging flow's events (``sessions.events``)."""

from __future__ import annotations

from typing import Any

from payments.models import FinancialAdviceConfirmation
from sessions import events
from sessions.models import Cdr


def _session_cdr_created(sender: type, cdr: Cdr, **kwargs: Any) -> None:
    """A FAC that arrived before its CDR is linked now (same partner, same authorization_reference)."""
    if not cdr.authorization_reference:
        return
    FinancialAdviceConfirmation.objects.filter(
        partner=cdr.partner, authorization_reference=cdr.authorization_reference, cdr__isnull=True
    ).update(cdr=cdr, session=cdr.session)


def connect() -> None:
    events.session_cdr_created.connect(_session_cdr_created, dispatch_uid="payments_session_cdr_created")
