"""What staff do with pushes in the admin: retry now, replay, discard, resume a partner."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from partners.models import Partner
from pushes import selectors
from pushes.models import OutboxMessage, PartnerCopy, PartnerPushStatus
from pushes.retries import partner_release_waiting
from pushes.services import message_create
from pushes.wakeups import partner_copy_enqueue_after_commit


def message_retry_now(message: OutboxMessage) -> bool:
    """Make a pending or dead message due now (a dead one comes back with a fresh retry budget).

    Its attempt count goes on: the admin shows every attempt the message took, manual ones too.
    """
    with transaction.atomic():
        updated = OutboxMessage.objects.filter(
            pk=message.pk, state__in=(OutboxMessage.State.PENDING, OutboxMessage.State.DEAD)
        ).update(
            state=OutboxMessage.State.PENDING,
            next_attempt_at=timezone.now(),
            created_at=timezone.now(),
        )
        if updated:
            # Staff asked for it now: the partner's own backoff does not hold it back.
            PartnerPushStatus.objects.filter(partner_id=message.partner_id).update(retry_after=None)
            partner_copy_enqueue_after_commit(message.copy_id)
    return bool(updated)


def partner_messages_retry_now(*, partner: Partner) -> int:
    """Make every waiting and dead message of a partner due now; how many."""
    messages = OutboxMessage.objects.filter(
        partner=partner, state__in=(OutboxMessage.State.PENDING, OutboxMessage.State.DEAD)
    ).order_by("id")
    return sum(1 for message in messages if message_retry_now(message))


def message_replay(message: OutboxMessage) -> OutboxMessage:
    """Send the object again as a whole: a new message with a full PUT (or the event re-sent)."""
    with transaction.atomic():
        copy = PartnerCopy.objects.select_for_update(of=("self",)).order_by().get(pk=message.copy_id)
        if message.kind == OutboxMessage.Kind.STATE:
            copy.force_put = True
            copy.save(update_fields=["force_put"])
        elif message.action == OutboxMessage.Action.POST_CDR:
            # A replayed CDR is posted again only if the partner does not have it (checked first).
            copy.remote_url = ""
            copy.save(update_fields=["remote_url"])
        replay = message_create(
            copy,
            kind=message.kind,
            action=message.action,
            changed_fields=message.changed_fields,
            payload=message.payload,
            url=message.url,
        )
        if message.action == OutboxMessage.Action.POST_CDR:
            replay.outcome_unknown = True
            replay.save(update_fields=["outcome_unknown"])
        if message.state == OutboxMessage.State.DEAD:
            message.state = OutboxMessage.State.DISCARDED
            message.last_error = f"{message.last_error}\nReplaced by #{replay.pk}".strip()
            message.save(update_fields=["state", "last_error"])
    return replay


def message_discard(message: OutboxMessage) -> bool:
    """Give up on a message that is not in flight."""
    updated = OutboxMessage.objects.filter(
        pk=message.pk, state__in=(OutboxMessage.State.PENDING, OutboxMessage.State.DEAD)
    ).update(state=OutboxMessage.State.DISCARDED)
    return bool(updated)


def partner_resume(partner: Partner) -> int:
    """Resume pushes to a partner; its waiting messages become due now. Returns how many wait."""
    selectors.forget_endpoints()  # staff may have fixed an endpoint too
    with transaction.atomic():
        PartnerPushStatus.objects.update_or_create(
            partner=partner,
            defaults={
                "paused": False,
                "paused_reason": "",
                "retry_after": None,
                "consecutive_failures": 0,
                "failure_counted_at": None,
            },
        )
        partner_release_waiting(partner)
    return OutboxMessage.objects.filter(partner=partner, state=OutboxMessage.State.PENDING).count()
