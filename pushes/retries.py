"""The retry policy: backoff of a message, a partner paused or down, probes, and the beat's requeue.

See the README ("Retries", "A partner that is down"). Messages wait in the database; the beat
(``messages_requeue_due``) enqueues what is due, and a down partner gets one probe per interval.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from partners.models import Partner
from pushes.models import OutboxMessage, PartnerPushStatus
from pushes.wakeups import fast_path_wake, partner_copy_enqueue_now

logger = logging.getLogger(__name__)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: base x factor^(n-1), capped, then 50-100 % of it."""
    raw = settings.PUSH_RETRY_BASE_SECONDS * settings.PUSH_RETRY_FACTOR ** max(attempts - 1, 0)
    capped = min(raw, settings.PUSH_RETRY_CAP_SECONDS)
    # Jitter spreads the retries of many messages that failed together (a partner outage).
    return timedelta(seconds=capped * (0.5 + random.random() / 2))  # noqa: S311 (not cryptographic)


def is_too_old(message: OutboxMessage, now: datetime) -> bool:
    return now - message.created_at > timedelta(days=settings.PUSH_RETRY_MAX_AGE_DAYS)


def push_status_for(partner: Partner) -> PartnerPushStatus:
    status, _ = PartnerPushStatus.objects.get_or_create(partner=partner)
    return status


def partner_probe_claim(*, status: PartnerPushStatus, now: datetime) -> bool:
    """Take the due probe of a partner that is down; True for exactly one of concurrent claims.

    A conditional UPDATE on the probe time the caller read: the winner moves it on by
    PUSH_PROBE_INTERVAL_SECONDS, and every other claim finds it changed and holds its message.
    """
    claimed = PartnerPushStatus.objects.filter(pk=status.pk, retry_after=status.retry_after).update(
        retry_after=now + timedelta(seconds=settings.PUSH_PROBE_INTERVAL_SECONDS)
    )
    return bool(claimed)


def partner_pause(partner: Partner, reason: str) -> None:
    """Stop pushing to a partner that refuses our calls (401/405) and raise an alert."""
    PartnerPushStatus.objects.update_or_create(
        partner=partner, defaults={"paused": True, "paused_reason": reason[:500], "paused_at": timezone.now()}
    )
    logger.error("Pushes to partner %s paused: %s", partner, reason)


def partner_release_waiting(partner: Partner) -> None:
    """After commit, make a partner's parked messages due now and enqueue them (after an outage)."""
    # Outside the caller's transaction: it holds copy locks that this bulk update must not wait behind.
    partner_id = partner.pk
    transaction.on_commit(lambda: _release_waiting(partner_id))


def _release_waiting(partner_id: int) -> int:
    now = timezone.now()
    waiting = OutboxMessage.objects.filter(partner_id=partner_id, state=OutboxMessage.State.PENDING)
    waiting.filter(next_attempt_at__gt=now).update(next_attempt_at=now)
    return _enqueue_messages(waiting, now)


def messages_requeue_due(limit: int = 5000) -> int:
    """Enqueue the messages that are due, or whose in-flight lease ran out, and have no task queued."""
    now = timezone.now()
    # A task enqueued for a message (at its commit, or by this beat) gets this long before it is
    # doubled: during a backlog the queue must not grow by every due message at every beat.
    grace_ago = now - timedelta(seconds=settings.PUSH_FRESH_MESSAGE_GRACE_SECONDS)
    not_queued = Q(requeued_at__isnull=True) | Q(requeued_at__lt=grace_ago)
    pending = Q(state=OutboxMessage.State.PENDING)
    due = OutboxMessage.objects.filter(
        (pending & Q(attempts__gt=0, next_attempt_at__lte=now) & not_queued)
        | (pending & Q(attempts=0, next_attempt_at__lte=grace_ago) & not_queued)
        | Q(state=OutboxMessage.State.IN_FLIGHT, lease_until__lt=now) & not_queued
    )
    # A paused partner waits for staff; one that is down gets a probe instead (below).
    held = PartnerPushStatus.objects.filter(Q(paused=True) | Q(retry_after__isnull=False)).values(
        "partner_id"
    )
    return _enqueue_messages(due.exclude(partner_id__in=held), now, limit=limit) + _enqueue_probes(now)


def partner_probe_again(partner_id: int, *, now: datetime) -> None:
    """Make a down partner's probe due now and send it after commit (the last one made no call)."""
    PartnerPushStatus.objects.filter(partner_id=partner_id, paused=False, retry_after__isnull=False).update(
        retry_after=now
    )
    transaction.on_commit(lambda: _enqueue_probes(timezone.now(), partner_id=partner_id))


def _enqueue_probes(now: datetime, *, partner_id: int | None = None) -> int:
    """For each partner that is down and due a probe: its oldest pending message, sent alone.

    The message's delivery claims the probe (``partner_probe_claim``); when it gets an answer, the
    partner's other messages are released (``partner_release_waiting``).
    """
    due = PartnerPushStatus.objects.filter(paused=False, retry_after__lte=now)
    if partner_id is not None:
        due = due.filter(partner_id=partner_id)
    probes = 0
    for down_partner_id in due.values_list("partner_id", flat=True):
        # Served by outbox_partner_state_idx (partner, state, created_at). A message waiting for
        # another copy's delivery would make no call.
        oldest = (
            OutboxMessage.objects.filter(
                partner_id=down_partner_id, state=OutboxMessage.State.PENDING, waiting_for__isnull=True
            )
            .order_by("created_at", "id")
            .values_list("pk", "copy_id")
            .first()
        )
        if oldest is None:
            continue
        OutboxMessage.objects.filter(pk=oldest[0]).update(next_attempt_at=now, requeued_at=now)
        # Its copy's own delivery, also for an EVSE status change: the fast path leaves partners
        # that are down alone.
        if partner_copy_enqueue_now(oldest[1]):
            probes += 1
    return probes


def _enqueue_messages(messages: QuerySet[OutboxMessage], now: datetime, *, limit: int = 5000) -> int:
    """Enqueue the delivery of these messages and note when; returns how many."""
    rows = list(messages.order_by().values_list("pk", "copy_id", "fast", "state")[:limit])
    OutboxMessage.objects.filter(pk__in=[pk for pk, _, _, _ in rows]).update(requeued_at=now)
    # Pending status changes go to the batched fast path; the rest (and leases to take over) to
    # their copy's own delivery.
    copy_ids = {
        copy_id for _, copy_id, fast, state in rows if not (fast and state == OutboxMessage.State.PENDING)
    }
    if len(copy_ids) < len(rows):
        fast_path_wake()
    for copy_id in copy_ids:
        if not partner_copy_enqueue_now(copy_id):
            # The broker is down: the rest would fail too. Not noted as enqueued, so the next beat
            # tries them again instead of waiting out PUSH_FRESH_MESSAGE_GRACE_SECONDS.
            OutboxMessage.objects.filter(pk__in=[pk for pk, _, _, _ in rows], requeued_at=now).update(
                requeued_at=None
            )
            return 0
    return len(rows)
