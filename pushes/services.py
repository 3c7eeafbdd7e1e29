"""Writes for pushes: record a change in the outbox, in the transaction that makes it.

Call sites say what changed (``object_changed(obj, changed_fields)``, ``cdr_created(cdr)``, ...);
this module decides which partners get it and writes one outbox message per partner. A change to
an object whose latest-state message is still waiting is folded into that message (coalescing), so
after an outage a partner gets one PUT or one PATCH with the net change. The delivery task is
enqueued only after commit, so a worker never sees a message whose change was rolled back.
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from cpo_portal.compiled import CompiledQuery
from cpo_portal.enqueue import enqueue_on_commit, enqueue_safely
from locations.models import Connector, Evse, Location
from partners.models import Partner
from payments.models import PaymentTerminal
from pushes import payloads, selectors
from pushes.models import ObjectType, OutboxMessage, PartnerCopy, PartnerPushStatus
from sessions.models import Cdr, ChargingSession
from tariffs.models import Tariff

logger = logging.getLogger(__name__)

FAST_QUEUE = "push_fast"
# Kinds of enqueue counted by cpo_portal.enqueue when Redis is down.
PUSH_DELIVERY = "push delivery"
PUSH_FAST_PATH = "push fast path"
DEFAULT_QUEUE = "celery"
FAST_WAKE_KEY = "pushes:fast-path-wake"
FAST_HELP_KEY = "pushes:fast-path-help"
FAST_WAKE_SECONDS = 5
TASK_HELP_SECONDS = 30  # longer than a helper's run (pushes.fast.TASK_BUDGET_SECONDS)

MODULE_OF_TYPE: dict[str, str] = {
    ObjectType.LOCATION: "locations",
    ObjectType.EVSE: "locations",
    ObjectType.CONNECTOR: "locations",
    ObjectType.TARIFF: "tariffs",
    ObjectType.SESSION: "sessions",
    ObjectType.CDR: "cdrs",
    ObjectType.TERMINAL: "payments",
    ObjectType.COMMAND: "commands",
}


def object_type_of(obj: Any) -> str:
    for model, object_type in (
        (Location, ObjectType.LOCATION),
        (Evse, ObjectType.EVSE),
        (Connector, ObjectType.CONNECTOR),
        (Tariff, ObjectType.TARIFF),
        (ChargingSession, ObjectType.SESSION),
        (Cdr, ObjectType.CDR),
        (PaymentTerminal, ObjectType.TERMINAL),
    ):
        if isinstance(obj, model):
            return object_type
    raise TypeError(f"{type(obj).__name__} is not pushed to partners")


# Locations and everything below them, and tariffs, go to every partner allowed to see their party.
PARTY_SCOPED = (ObjectType.LOCATION, ObjectType.EVSE, ObjectType.CONNECTOR, ObjectType.TARIFF)


def recipients(object_type: str, obj: Any) -> QuerySet[Partner]:
    """The partners that get this object: see the issue's routing rules in the README."""
    return _recipients(object_type, _routing_key(object_type, obj))


def _routing_key(object_type: str, obj: Any) -> int | None:
    """The id on the object that decides who gets it: its party's, or the partner's whose token
    started it. Read off the object itself, so that finding recipients costs no query of its own."""
    if object_type in (ObjectType.LOCATION, ObjectType.TARIFF):
        return obj.party_id
    if object_type == ObjectType.EVSE:
        return obj.location_id
    if object_type == ObjectType.CONNECTOR:
        return obj.evse_id
    return getattr(obj, "partner_id", None)


def _recipients(object_type: str, key: int | None) -> QuerySet[Partner]:
    module = MODULE_OF_TYPE[object_type]
    if object_type in PARTY_SCOPED:
        return selectors.partners_seeing_party(module, _party_of(object_type, key))
    if object_type in (ObjectType.SESSION, ObjectType.CDR, ObjectType.TERMINAL):
        # Sessions and CDRs go to the partner whose token started them, and to no one else;
        # terminals to the PTP that owns them.
        return selectors.partners_with_endpoint(module).filter(pk=key)
    return Partner.objects.none()


def _party_of(object_type: str, key: int | None) -> Any:
    """The party (its id, or a subquery for it) of the object whose routing key is ``key``."""
    if object_type == ObjectType.EVSE:
        return Subquery(Location.objects.filter(pk=key).values("party_id"))
    if object_type == ObjectType.CONNECTOR:
        return Subquery(Location.objects.filter(evses=key).values("party_id"))
    return key


# -- capture -----------------------------------------------------------------------------------------------


def object_changed(obj: Any, changed_fields: Iterable[str] | None = None) -> list[OutboxMessage]:
    """Queue the latest state of ``obj`` for every partner that receives it (PUT or PATCH later)."""
    object_type = object_type_of(obj)
    fields = sorted(set(changed_fields)) if changed_fields is not None else []
    fast = (
        settings.PUSH_EVSE_STATUS_FAST_PATH
        and object_type == ObjectType.EVSE
        and bool(fields)
        and set(fields) <= {"status", "last_updated"}
    )
    object_id = str(obj.pk)
    key = _routing_key(object_type, obj)
    if key is None:
        return []  # a session no partner's token started
    messages = []
    # Each recipient comes with its copy of the object and the copy's waiting message, if any: a
    # status change costs this query and the message's INSERT (or, during a backlog, its fold).
    for partner in _recipients_holding(object_type)(key=key, object_id=object_id):
        messages.append(
            queue_state(
                partner=partner,
                object_type=object_type,
                object_id=object_id,
                label=payloads.object_label(object_type, obj),
                changed_fields=fields,
                fast=fast,
                holding=Holding(partner.held_copy_pk, partner.waiting_message_pk),
            )
        )
    return messages


def tariff_withdrawn(tariff: Tariff) -> list[OutboxMessage]:
    """Queue a DELETE of a tariff for every partner that may hold it."""
    path = payloads.object_path(ObjectType.TARIFF, tariff)
    messages = []
    for partner in recipients(ObjectType.TARIFF, tariff):
        messages.append(
            queue_state(
                partner=partner,
                object_type=ObjectType.TARIFF,
                object_id=str(tariff.pk),
                label=tariff.tariff_id,
                changed_fields=[],
                action=OutboxMessage.Action.DELETE,
                payload={"path": path},
            )
        )
    return messages


def evse_removed(evse: Evse) -> list[OutboxMessage]:
    """Queue ``status: REMOVED`` of a deleted EVSE for every partner that holds it.

    mod_locations ('EVSE Object'): an EVSE is never deleted on the partner's side; it stays with
    status REMOVED. Called before the row goes, while its location is still there to address it.
    """
    path = payloads.object_path(ObjectType.EVSE, evse)
    holders = PartnerCopy.objects.filter(
        object_type=ObjectType.EVSE, object_id=str(evse.pk), acknowledged_at__isnull=False, deleted=False
    ).select_related("partner")
    messages = []
    for copy in holders:
        # An event, not a state: a change queued after it (the EVSE is gone) cannot fold it away.
        messages.append(
            _new_message(
                copy,
                kind=OutboxMessage.Kind.EVENT,
                action=OutboxMessage.Action.REMOVE_EVSE,
                changed_fields=["status"],
                payload={"path": path, "last_updated": payloads.ocpi_datetime(timezone.now())},
            )
        )
    return messages


def connector_removed(connector: Connector) -> None:
    """A deleted connector leaves its EVSE: partners get the EVSE whole (a PUT), as OCPI has no
    way to delete a connector; a PATCH of the EVSE leaves its connectors out."""
    evse = Evse.objects.filter(pk=connector.evse_id).select_related("location__party").first()
    if evse is None:
        return
    PartnerCopy.objects.filter(
        object_type=ObjectType.EVSE, object_id=str(evse.pk), acknowledged_at__isnull=False
    ).update(force_put=True)
    object_changed(evse, ["connectors"])


def cdr_created(cdr: Cdr) -> list[OutboxMessage]:
    """Queue the POST of a new CDR to the partner whose token started the session (once)."""
    messages = []
    for partner in recipients(ObjectType.CDR, cdr):
        copy = _copy_for(partner, ObjectType.CDR, str(cdr.pk), cdr.cdr_id)
        if copy.messages.filter(action=OutboxMessage.Action.POST_CDR).exists():
            continue  # already queued or delivered: a CDR is posted once
        messages.append(
            _new_message(copy, kind=OutboxMessage.Kind.EVENT, action=OutboxMessage.Action.POST_CDR)
        )
    return messages


def command_result_queued(
    *, partner: Partner, command_id: str, response_url: str, result: dict[str, Any]
) -> OutboxMessage:
    """Queue a CommandResult for the ``response_url`` the partner gave with its command."""
    copy = _copy_for(partner, ObjectType.COMMAND, command_id, command_id)
    return _new_message(
        copy,
        kind=OutboxMessage.Kind.EVENT,
        action=OutboxMessage.Action.COMMAND_RESULT,
        payload=result,
        url=response_url,
    )


def terminal_activation_queued(
    *, partner: Partner, reference: str, location_ids: list[str], evse_uids: list[str] | None = None
) -> OutboxMessage:
    """Queue ``POST terminals/activate`` for a terminal built into a charger (mod_payments)."""
    body: dict[str, Any] = {"reference": reference, "location_ids": location_ids}
    if evse_uids:
        body["evse_uids"] = evse_uids
    copy = _copy_for(partner, ObjectType.TERMINAL, f"activate:{reference}", reference)
    return _new_message(
        copy, kind=OutboxMessage.Kind.EVENT, action=OutboxMessage.Action.TERMINAL_ACTIVATE, payload=body
    )


def terminal_deactivation_queued(terminal: PaymentTerminal) -> OutboxMessage:
    """Queue ``POST terminals/{id}/deactivate``, in order after the terminal's other messages."""
    copy = _copy_for(terminal.partner, ObjectType.TERMINAL, str(terminal.pk), terminal.terminal_id)
    return _new_message(
        copy,
        kind=OutboxMessage.Kind.EVENT,
        action=OutboxMessage.Action.TERMINAL_DEACTIVATE,
        payload={"path": f"terminals/{terminal.terminal_id}/deactivate"},
    )


@dataclass(frozen=True)
class Holding:
    """A partner's copy of an object as the outbox knows it: the copy's id (None: no copy yet) and
    its newest waiting message (None: nothing waits)."""

    copy_pk: int | None
    waiting_message_pk: int | None


def _holding_columns(object_type: str, object_id: str) -> dict[str, Subquery]:
    """Columns for a partner query: the partner's copy of the object and its newest waiting message."""
    copies = PartnerCopy.objects.filter(
        partner=OuterRef("pk"), object_type=object_type, object_id=object_id
    ).order_by()
    waiting = OutboxMessage.objects.filter(
        copy__partner=OuterRef("pk"),
        copy__object_type=object_type,
        copy__object_id=object_id,
        state=OutboxMessage.State.PENDING,
    ).order_by("-id")
    return {
        "held_copy_pk": Subquery(copies.values("pk")[:1]),
        "waiting_message_pk": Subquery(waiting.values("pk")[:1]),
    }


@functools.cache
def _recipients_holding(object_type: str) -> CompiledQuery[Partner]:
    """The recipients of an object of this type, each with ``held_copy_pk`` and ``waiting_message_pk``
    (see ``Holding``), as one query compiled once per process: it runs for every change."""

    def build(key: int, object_id: str) -> QuerySet[Partner]:
        return _recipients(object_type, key).annotate(**_holding_columns(object_type, object_id))

    return CompiledQuery(build, key=-7_000_001, object_id="stand-in object id")


def queue_state(
    *,
    partner: Partner,
    object_type: str,
    object_id: str,
    label: str,
    changed_fields: list[str],
    fast: bool = False,
    action: str = OutboxMessage.Action.UPSERT,
    payload: dict[str, Any] | None = None,
    holding: Holding | None = None,
) -> OutboxMessage:
    """Write or update the one waiting latest-state message of (partner, object).

    ``holding``: the copy and its waiting message, when the caller read them with the partner.
    """
    if holding is None:
        found = (
            Partner.objects.filter(pk=partner.pk)
            .annotate(**_holding_columns(object_type, object_id))
            .values_list("held_copy_pk", "waiting_message_pk")
            .first()
        )
        holding = Holding(*found) if found else Holding(None, None)
    last_open = None
    if holding.waiting_message_pk is not None:
        last_open = OutboxMessage.objects.filter(pk=holding.waiting_message_pk).first()
    if last_open is not None and last_open.kind == OutboxMessage.Kind.STATE:
        # Only the newest open message may absorb a change: folding into an older one would let
        # the change overtake an event queued after it (a terminal deactivation, say). The update
        # is conditional: if a worker claimed the message meanwhile (its UPDATE to IN_FLIGHT waits
        # for our transaction, or ours re-checks after its commit), a new message is written
        # instead. Writers take no lock on the copy, so a change never waits behind a delivery.
        merged = OutboxMessage.objects.filter(pk=last_open.pk, state=OutboxMessage.State.PENDING).update(
            changed_fields=sorted({*last_open.changed_fields, *changed_fields}),
            action=action,
            payload=payload,
            fast=last_open.fast and fast,
            coalesced=F("coalesced") + 1,
            changed_at=timezone.now(),
        )
        if merged:
            _enqueue_after_commit(last_open.copy_id, fast=last_open.fast and fast)
            return last_open
    if holding.copy_pk is None:
        copy = _copy_for(partner, object_type, object_id, label)
    else:
        # The copy as far as a new message needs it (its id, partner and type): no query.
        copy = PartnerCopy(
            pk=holding.copy_pk, partner=partner, object_type=object_type, object_id=object_id, label=label
        )
    return _new_message(
        copy,
        kind=OutboxMessage.Kind.STATE,
        action=action,
        changed_fields=changed_fields,
        fast=fast,
        payload=payload,
    )


def _copy_for(partner: Partner, object_type: str, object_id: str, label: str) -> PartnerCopy:
    copy = PartnerCopy.objects.filter(partner=partner, object_type=object_type, object_id=object_id).first()
    if copy is not None:
        return copy
    try:
        with transaction.atomic():
            return PartnerCopy.objects.create(
                partner=partner, object_type=object_type, object_id=object_id, label=label
            )
    except IntegrityError:
        # Created by a concurrent transaction between our read and our insert.
        return PartnerCopy.objects.get(partner=partner, object_type=object_type, object_id=object_id)


def _new_message(
    copy: PartnerCopy,
    *,
    kind: str,
    action: str,
    changed_fields: list[str] | None = None,
    fast: bool = False,
    payload: dict[str, Any] | None = None,
    url: str = "",
) -> OutboxMessage:
    now = timezone.now()
    message = OutboxMessage.objects.create(
        copy=copy,
        partner_id=copy.partner_id,
        module=MODULE_OF_TYPE[copy.object_type],
        kind=kind,
        action=action,
        changed_fields=changed_fields or [],
        fast=fast,
        payload=payload,
        url=url,
        changed_at=now,
        next_attempt_at=now,
    )
    _enqueue_after_commit(copy.pk, fast=fast)
    return message


def _enqueue_after_commit(copy_id: int, *, fast: bool) -> None:
    if fast:
        # EVSE status changes are delivered in batches, whichever copy they belong to.
        transaction.on_commit(fast_path_wake)
    else:
        copy_enqueue_after_commit(copy_id)


def copy_enqueue_after_commit(copy_id: int, *, queue: str = DEFAULT_QUEUE) -> None:
    """After commit, have a worker deliver the open messages of one copy, in order."""
    from pushes.tasks import deliver_copy

    enqueue_on_commit(PUSH_DELIVERY, lambda: deliver_copy.apply_async((copy_id,), queue=queue))


def fast_path_wake() -> None:
    """After a commit: have a worker deliver the due EVSE status changes (pushes.fast), unless one
    is queued or watching already.

    The wake-up key is set while a fast-path task is queued or running: that task looks at the queue
    again after every commit that found the key set, so a stream of changes costs one task, whose
    batches fill up. A task deletes the key before its last look (``fast_path_unwatched``), so no
    commit falls between two tasks. The key expires, so a wake-up lost with a broker or a killed
    worker costs a few seconds, not a change.
    """
    from pushes.tasks import deliver_fast

    def wake() -> None:
        if tasks_run_in_process() or cache.add(FAST_WAKE_KEY, True, timeout=FAST_WAKE_SECONDS):
            deliver_fast.apply_async(queue=FAST_QUEUE)

    # Redis down (the key and the broker): the beat task finds the due status changes later.
    enqueue_safely(PUSH_FAST_PATH, wake)


def fast_path_help() -> None:
    """A fast-path task whose batches are full asks another worker process to join (one core each).

    At most ``PUSH_FAST_HELPERS`` help at a time, each holding a slot's key until it leaves
    (``fast_path_helped``): more processes than cores only contend for the same rows. A slot's key
    expires should its helper die.
    """
    from pushes.tasks import deliver_fast

    if tasks_run_in_process():
        return
    for slot in range(settings.PUSH_FAST_HELPERS):
        if cache.add(f"{FAST_HELP_KEY}:{slot}", True, timeout=TASK_HELP_SECONDS):
            deliver_fast.apply_async(queue=FAST_QUEUE, kwargs={"helper_slot": slot})
            return


def fast_path_helped(slot: int) -> None:
    """A helper left its slot: a busy task may call for another one."""
    cache.delete(f"{FAST_HELP_KEY}:{slot}")


def fast_path_watching() -> None:
    """A fast-path task runs and will look at the queue again: commits need not wake another.

    Called as the task starts and then every few seconds, before the key expires.
    """
    cache.set(FAST_WAKE_KEY, True, timeout=FAST_WAKE_SECONDS)


def fast_path_unwatched() -> None:
    """A fast-path task is about to leave: a commit from now on wakes a new one. The task looks at
    the queue once more after this, for the changes committed before."""
    cache.delete(FAST_WAKE_KEY)


def tasks_run_in_process() -> bool:
    """True in the embedded set-up and the tests: a task runs at once, in the caller's process."""
    from cpo_portal.celery import app

    return bool(app.conf.task_always_eager)


# -- retry schedule ---------------------------------------------------------------------------------------


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


# -- staff actions ----------------------------------------------------------------------------------------


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
            copy_enqueue_after_commit(message.copy_id)
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
        replay = _new_message(
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


def partner_pause(partner: Partner, reason: str) -> None:
    """Stop pushing to a partner that refuses our calls (401/405) and raise an alert."""
    PartnerPushStatus.objects.update_or_create(
        partner=partner, defaults={"paused": True, "paused_reason": reason[:500], "paused_at": timezone.now()}
    )
    logger.error("Pushes to partner %s paused: %s", partner, reason)


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
        if _deliver_now(oldest[1]):
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
        if not _deliver_now(copy_id):
            # The broker is down: the rest would fail too. Not noted as enqueued, so the next beat
            # tries them again instead of waiting out PUSH_FRESH_MESSAGE_GRACE_SECONDS.
            OutboxMessage.objects.filter(pk__in=[pk for pk, _, _, _ in rows], requeued_at=now).update(
                requeued_at=None
            )
            return 0
    return len(rows)


def _deliver_now(copy_id: int) -> bool:
    """Enqueue a copy's delivery (outside any transaction); False when the broker is down."""
    from pushes.tasks import deliver_copy

    return enqueue_safely(PUSH_DELIVERY, lambda: deliver_copy.apply_async((copy_id,), queue=DEFAULT_QUEUE))
