"""Reads for the Payments module: a partner sees only its own terminals and FACs."""

from __future__ import annotations

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
