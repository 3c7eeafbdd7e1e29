"""Reads for pushes: who receives what, where, and how healthy each partner's queue is."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from partners.models import Partner, PartnerEndpoint, Party
from partners.selectors import partners_seeing_party_q
from pushes.models import DeliveryAttempt, OutboxMessage, PartnerCopy, PullCursor

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


def partners_seeing_party(module: str, party: Party | int | Any) -> QuerySet[Partner]:
    """Partners that receive ``module`` and may see ``party``'s data (partners.selectors' rule).

    ``party``: the party, its id, or a subquery that selects its id. Unpublished locations are
    not filtered out: the GET of locations lists them too (ocpi_api.selectors.locations_for_partner).
    """
    # It runs for every pushed change, so one join and no aggregate.
    return (
        partners_with_endpoint(module)
        .filter(partners_seeing_party_q(party=party))
        .exclude(version="")
        .distinct()
    )


_endpoint_cache: dict[tuple[int, str], tuple[float, str | None]] = {}
ENDPOINT_CACHE_SECONDS = 5.0


def endpoint_url(partner: Partner, module: str) -> str | None:
    """The partner's URL for ``module``; remembered for a few seconds in each worker process."""
    key = (partner.pk, module)
    cached = _endpoint_cache.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    url = _endpoint_url(partner, module)
    _endpoint_cache[key] = (time.monotonic() + ENDPOINT_CACHE_SECONDS, url)
    return url


def forget_endpoints(**kwargs: Any) -> None:
    """Drop remembered endpoint URLs (an endpoint changed, or staff resumed a partner)."""
    _endpoint_cache.clear()


def _endpoint_url(partner: Partner, module: str) -> str | None:
    endpoint = (
        PartnerEndpoint.objects.filter(
            partner=partner, module=module, interface_role=INTERFACE_OF_MODULE[module]
        )
        .values_list("url", flat=True)
        .first()
    )
    return endpoint.rstrip("/") if endpoint else None


def _comparable(value: Any, nested_key: str | None = None) -> Any:
    """A body without last_updated anywhere and without the nested objects that have their own copies."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if k not in ("last_updated", nested_key)}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


def copy_is_current(copy: PartnerCopy) -> bool:
    """Whether the partner holds our latest state: nothing open, and what it acknowledged is ours now.

    last_updated is left out of the comparison: a receiver moves a location's last_updated when one of
    its EVSEs changes (mod_locations), and so do we, so it says nothing about the location's fields.
    """
    from pushes import payloads

    if copy.messages.filter(state__in=(OutboxMessage.State.PENDING, OutboxMessage.State.IN_FLIGHT)).exists():
        return False
    if copy.object_type not in payloads.MODEL_OF_TYPE or ":" in copy.object_id:
        return copy.acknowledged_at is not None
    obj = payloads.load_object(copy.object_type, copy.object_id)
    if obj is None:
        return copy.deleted or copy.acknowledged_at is None
    if copy.object_type == "cdr":
        return bool(copy.remote_url)
    if copy.acknowledged_body is None:
        return False
    nested = {"location": "evses", "evse": "connectors"}.get(copy.object_type)
    ours = payloads.body_for(copy.object_type, obj, copy.partner.version)
    return _comparable(ours, nested) == _comparable(copy.acknowledged_body, nested)


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
    stuck: int = 0
    last_push_at: datetime | None = None
    last_pull_at: datetime | None = None

    @property
    def failure_rate(self) -> float | None:
        return self.failures_24h / self.attempts_24h if self.attempts_24h else None


def partner_health(partner: Partner) -> PartnerHealth:
    """Queue depth, stuck and dead messages, failure rate over 24 hours, last push and pull."""
    open_states = (OutboxMessage.State.PENDING, OutboxMessage.State.IN_FLIGHT)
    now = timezone.now()
    # Stuck: due for longer than the scheduler may stay silent (nobody sent the retry), or held
    # under a lease that ran out (its worker died and nobody took it over).
    overdue = now - timedelta(seconds=settings.SCHEDULER_STALE_SECONDS)
    queue = OutboxMessage.objects.filter(partner=partner).aggregate(
        depth=Count("id", filter=Q(state__in=open_states)),
        dead=Count("id", filter=Q(state=OutboxMessage.State.DEAD)),
        oldest=Min("created_at", filter=Q(state__in=open_states)),
        stuck=Count(
            "id",
            filter=Q(state=OutboxMessage.State.PENDING, next_attempt_at__lt=overdue)
            | Q(state=OutboxMessage.State.IN_FLIGHT, lease_until__lt=now),
        ),
    )
    last_pull_at = PullCursor.objects.filter(partner=partner).aggregate(last=Max("last_run_at"))["last"]
    last_push_at = DeliveryAttempt.objects.filter(
        partner=partner, outcome=DeliveryAttempt.Outcome.DELIVERED
    ).aggregate(last=Max("started_at"))["last"]
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
        stuck=queue["stuck"],
        last_push_at=last_push_at,
        last_pull_at=last_pull_at,
    )
