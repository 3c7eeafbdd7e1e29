"""Reads for pushes: who receives what, where, and how healthy each partner's queue is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from partners.models import Partner, PartnerEndpoint, Party
from pushes.models import DeliveryAttempt, OutboxMessage, PartnerCopy

RECEIVER = PartnerEndpoint.InterfaceRole.RECEIVER
SENDER = PartnerEndpoint.InterfaceRole.SENDER

# The interface we call for each module: the partner's Receiver for our data; for payments the PTP
# owns terminals, so we call its Sender interface (mod_payments.asciidoc, 'Sender Interface').
INTERFACE_OF_MODULE: dict[str, str] = {
    "locations": RECEIVER,
    "tariffs": RECEIVER,
    "sessions": RECEIVER,
    "cdrs": RECEIVER,
    "payments": SENDER,
}


def partners_with_endpoint(module: str) -> QuerySet[Partner]:
    """Registered partners whose version details list the interface we would call for ``module``."""
    return Partner.objects.filter(
        status=Partner.Status.REGISTERED,
        endpoints__module=module,
        endpoints__interface_role=INTERFACE_OF_MODULE[module],
    ).distinct()


def partners_seeing_party(module: str, party: Party) -> list[Partner]:
    """Partners that receive ``module`` and may see ``party``'s data (no parties chosen: all)."""
    partners = partners_with_endpoint(module).annotate(party_count=Count("parties", distinct=True))
    return [
        partner
        for partner in partners.filter(Q(party_count=0) | Q(parties=party)).distinct()
        if partner.version
    ]


def endpoint_url(partner: Partner, module: str) -> str | None:
    endpoint = (
        PartnerEndpoint.objects.filter(
            partner=partner, module=module, interface_role=INTERFACE_OF_MODULE[module]
        )
        .values_list("url", flat=True)
        .first()
    )
    return endpoint.rstrip("/") if endpoint else None


def copy_is_current(copy: PartnerCopy, last_updated: datetime | None) -> bool:
    """Whether the partner holds our latest state: acknowledged, not older, nothing open."""
    if copy.acknowledged_at is None:
        return False
    if last_updated is not None and (
        copy.acknowledged_last_updated is None or copy.acknowledged_last_updated < last_updated
    ):
        return False
    return not copy.messages.filter(
        state__in=(OutboxMessage.State.PENDING, OutboxMessage.State.IN_FLIGHT)
    ).exists()


@dataclass
class PartnerHealth:
    partner: Partner
    queue_depth: int
    dead_letters: int
    oldest_pending_at: datetime | None
    attempts_24h: int
    failures_24h: int
    paused: bool
    paused_reason: str

    @property
    def failure_rate(self) -> float | None:
        return self.failures_24h / self.attempts_24h if self.attempts_24h else None


def partner_health(partner: Partner) -> PartnerHealth:
    """Queue depth, oldest pending message and the failure rate over 24 hours of one partner."""
    open_states = (OutboxMessage.State.PENDING, OutboxMessage.State.IN_FLIGHT)
    queue = OutboxMessage.objects.filter(partner=partner).aggregate(
        depth=Count("id", filter=Q(state__in=open_states)),
        dead=Count("id", filter=Q(state=OutboxMessage.State.DEAD)),
        oldest=Min("created_at", filter=Q(state__in=open_states)),
    )
    since = timezone.now() - timedelta(hours=24)
    attempts = DeliveryAttempt.objects.filter(partner=partner, started_at__gte=since).aggregate(
        total=Count("id"),
        failed=Count(
            "id",
            filter=Q(
                outcome__in=(
                    DeliveryAttempt.Outcome.RETRY,
                    DeliveryAttempt.Outcome.UNKNOWN,
                    DeliveryAttempt.Outcome.PAUSED,
                    DeliveryAttempt.Outcome.REJECTED,
                )
            ),
        ),
    )
    status: Any = getattr(partner, "push_status", None)
    return PartnerHealth(
        partner=partner,
        queue_depth=queue["depth"],
        dead_letters=queue["dead"],
        oldest_pending_at=queue["oldest"],
        attempts_24h=attempts["total"],
        failures_24h=attempts["failed"],
        paused=bool(status and status.paused),
        paused_reason=status.paused_reason if status else "",
    )
