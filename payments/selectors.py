"""Reads for the Payments module: a partner sees only its own terminals and FACs."""

from __future__ import annotations

from django.db.models import QuerySet

from partners.models import Partner
from payments.models import FinancialAdviceConfirmation, PaymentTerminal


def terminal_for_partner(*, partner: Partner, terminal_id: str) -> PaymentTerminal | None:
    return (
        PaymentTerminal.objects.filter(partner=partner, terminal_id=terminal_id)
        .prefetch_related("locations", "evses")
        .first()
    )


def fac_for_partner(*, partner: Partner, fac_id: str) -> FinancialAdviceConfirmation | None:
    return FinancialAdviceConfirmation.objects.filter(partner=partner, fac_id=fac_id).first()


def unmatched_facs() -> QuerySet[FinancialAdviceConfirmation]:
    """FACs whose authorization_reference matched no session or CDR (for finance and the admin)."""
    return FinancialAdviceConfirmation.objects.filter(session__isnull=True, cdr__isnull=True)


def terminals_with_assignments() -> QuerySet[PaymentTerminal]:
    """Terminals with the locations and EVSEs they are assigned to (for the admin list)."""
    return (
        PaymentTerminal.objects.select_related("partner")
        .prefetch_related("locations", "evses__location")
        .order_by("partner__name", "terminal_id")
    )
