"""Reads about sessions, commands and CDRs for the back office (admin pages, finance, support)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from payments.models import FinancialAdviceConfirmation
from sessions.models import Cdr, ChargingSession, ReceivedCommand, SessionStatus


def sessions_live() -> QuerySet[ChargingSession]:
    """PENDING and ACTIVE sessions, newest first, with what a list of them shows."""
    return (
        ChargingSession.objects.filter(status__in=(SessionStatus.PENDING, SessionStatus.ACTIVE))
        .select_related("party", "partner", "location", "evse", "connector", "tariff")
        .order_by("-start_date_time")
    )


def session_meter_readings(*, session: ChargingSession) -> QuerySet:
    """The readings a session was priced from, in time order."""
    return session.meter_readings.order_by("timestamp")


def cdrs_with_financial_advice() -> QuerySet[Cdr]:
    """CDRs with their FACs (what Payter captured for the same authorization_reference)."""
    return (
        Cdr.objects.select_related("party", "partner", "session")
        .prefetch_related(
            Prefetch(
                "financial_advice",
                queryset=FinancialAdviceConfirmation.objects.order_by("-last_updated"),
            )
        )
        .order_by("-end_date_time")
    )


def cdr_credits(*, cdr: Cdr) -> QuerySet[Cdr]:
    """The credit CDRs that cancel ``cdr`` (mod_cdrs, credit_reference_id)."""
    return Cdr.objects.filter(party=cdr.party, credit=True, credit_reference_id=cdr.cdr_id)


def command_results_undelivered() -> QuerySet[ReceivedCommand]:
    """Commands whose CommandResult is decided but not yet accepted by the partner."""
    return (
        ReceivedCommand.objects.filter(delivered_at__isnull=True)
        .exclude(result="")
        .select_related("partner", "session")
        .order_by("result_at")
    )
