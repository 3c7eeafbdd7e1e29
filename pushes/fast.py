"""EVSE status changes, delivered in batches: the fast path of the outbox.

Status flips are most of what we push (the terminal shows which connectors are free) and each is a
small PATCH. Delivered one by one, as ``delivery`` does, each costs about twenty database round
trips. Here a worker round claims up to ``PUSH_FAST_BATCH_SIZE`` due status messages at once, loads
their EVSEs in three queries, sends the PATCHes concurrently over the pooled connections and
records outcomes, attempts and request logs in a handful of statements.

The batch keeps the outbox's guarantees. Copies are claimed under the same row lock as one-by-one
delivery (with SKIP LOCKED, so workers share the queue instead of waiting for each other), a message
is taken only while it is the oldest open one of its copy, and an outcome is recorded only for a
claim that is still current. What is off the happy path goes through ``delivery``: an EVSE the
partner has not acknowledged yet or must get whole is handed to ``delivery.partner_copy_deliver``,
and every answer but a success is recorded one by one, with retries, pauses and the partner's
back-off as usual.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from cpo_portal.bulk import rows_insert, rows_update
from locations.models import Evse
from ocpi_api.models import OutboundRequestLog
from ocpi_api.selectors import evses_attach_connectors
from pushes import delivery, retries, wakeups
from pushes.models import DeliveryAttempt, OutboxMessage, PartnerCopy, PartnerPushStatus
from pushes.transport import Reply, send

logger = logging.getLogger(__name__)

Outcome = DeliveryAttempt.Outcome
# A task takes no new round after this long and hands on to a fresh task, well inside Celery's
# soft time limit (a round itself lasts at most one HTTP timeout).
TASK_BUDGET_SECONDS = 20.0
# How long a worker's run leaves a copy it passed over alone (see PassedOver).
PASS_OVER_SECONDS = 1.0


@dataclass
class Item:
    """One claimed message on its way: its request, and the partner's answer once sent."""

    message: OutboxMessage
    plan: delivery.Plan
    reply: Reply | None = None


def deliver_fast(*, helper_slot: int | None = None) -> int:
    """Deliver due EVSE status changes, a batch per round; returns how many were delivered.

    In a worker one task watches the queue while changes keep coming. It holds the wake-up key, so
    commits do not start more tasks (wakeups.fast_path_wake); after a batch that was not full it
    waits ``PUSH_FAST_LINGER_SECONDS`` so that the next one fills; it leaves after
    ``PUSH_FAST_IDLE_SECONDS`` without a delivery. When its batches are full it calls a helper (up
    to ``PUSH_FAST_HELPERS``), a task in another worker process that takes batches beside it while
    they are full and leaves at the first that is not. Run in process (the embedded set-up, the
    tests) it returns as soon as nothing is due.
    """
    if wakeups.tasks_run_in_process():
        return _deliver_until_none_due()
    if helper_slot is not None:
        return _help(helper_slot)
    wakeups.fast_path_watching()
    watched_at = time.monotonic()
    deadline = watched_at + TASK_BUDGET_SECONDS
    idle_since: float | None = None
    passed_over = PassedOver(PASS_OVER_SECONDS)
    delivered = 0
    while True:
        claimed, delivered_now = _round(passed_over)
        delivered += delivered_now
        now = time.monotonic()
        idle_since = None if claimed else (idle_since or now)
        if now > deadline:
            # A fresh task takes over (within Celery's time limits); the key goes first, so the
            # wake-up below is not swallowed by our own watch.
            wakeups.fast_path_unwatched()
            wakeups.fast_path_wake()
            return delivered
        if idle_since is not None and now - idle_since >= settings.PUSH_FAST_IDLE_SECONDS:
            # Stop watching, then look once more, at every copy: a change committed before the key
            # went is found by this look, one committed after it wakes a new task.
            wakeups.fast_path_unwatched()
            claimed, delivered_now = _round(PassedOver(PASS_OVER_SECONDS))
            delivered += delivered_now
            if not claimed:
                return delivered
            wakeups.fast_path_watching()
            watched_at, idle_since = now, None
        elif now - watched_at > wakeups.FAST_WAKE_SECONDS / 2:
            wakeups.fast_path_watching()
            watched_at = now
        if (claimed or 0) < settings.PUSH_FAST_BATCH_SIZE:
            time.sleep(settings.PUSH_FAST_LINGER_SECONDS)


def _help(slot: int) -> int:
    """A helper's run: full batches beside the watching task, until one is not full."""
    passed_over = PassedOver(PASS_OVER_SECONDS)
    deadline = time.monotonic() + TASK_BUDGET_SECONDS
    delivered = 0
    try:
        while time.monotonic() < deadline:
            claimed, delivered_now = _round(passed_over)
            delivered += delivered_now
            if (claimed or 0) < settings.PUSH_FAST_BATCH_SIZE:
                break
    finally:
        wakeups.fast_path_helped(slot)
    return delivered


def _deliver_until_none_due() -> int:
    """In process: rounds until no status change is due (a copy passed over stays passed over)."""
    passed_over = PassedOver(None)
    delivered = 0
    while True:
        claimed, delivered_now = _round(passed_over)
        delivered += delivered_now
        if claimed is None:
            return delivered


def _round(passed_over: PassedOver) -> tuple[int | None, int]:
    """Claim and deliver one batch: (how many were claimed, None if nothing was due; delivered)."""
    size = settings.PUSH_FAST_BATCH_SIZE
    batch, found = _claim_batch(size, passed_over)
    if len(batch) == size:
        # More are likely waiting: have another worker process join in (one core per process).
        wakeups.fast_path_help()
    delivered = _deliver_batch(batch, passed_over) if batch else 0
    return (len(batch) if found else None), delivered


class PassedOver:
    """Copies a run leaves to others for a while: one whose older message is in flight or waits for
    its retry, one handed to one-by-one delivery, one whose delivery just failed.

    In a worker an entry lapses after ``seconds``: the task may run long, and a later change to the
    copy, whose wake-up the task's watch swallowed, is the task's to deliver.
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._until: dict[int, float] = {}

    def add(self, copy_id: int) -> None:
        self._until[copy_id] = time.monotonic() + self.seconds if self.seconds is not None else float("inf")

    def current(self) -> list[int]:
        now = time.monotonic()
        self._until = {copy_id: until for copy_id, until in self._until.items() if until > now}
        return list(self._until)


def _claim_batch(size: int, passed_over: PassedOver) -> tuple[list[OutboxMessage], bool]:
    """Claim the heads of up to ``size`` copies with a due status change; (claimed, any found)."""
    now = timezone.now()
    # Paused partners wait for staff; partners that are down for their probe, which goes through
    # one-by-one delivery (retries.messages_requeue_due), and for the release that follows an answer.
    held = PartnerPushStatus.objects.filter(Q(paused=True) | Q(retry_after__isnull=False)).values(
        "partner_id"
    )
    due_copies = (
        OutboxMessage.objects.filter(fast=True, state=OutboxMessage.State.PENDING, next_attempt_at__lte=now)
        .exclude(copy_id__in=passed_over.current())
        .exclude(partner_id__in=held)
        .order_by("id")
        .values("copy_id")[: size * 4]
    )
    with transaction.atomic():
        # SKIP LOCKED: a copy locked by another worker is being claimed there, so the candidates
        # are several batches deep and the batch is cut after skipping; workers that start
        # together take consecutive batches instead of all but one finding nothing.
        # of=("self",): the partner rows joined in must stay unlocked (as the one-by-one delivery claims).
        # no_key: a producer's new message references the copy (a KEY SHARE lock) and need not wait.
        copies = list(
            PartnerCopy.objects.select_for_update(of=("self",), skip_locked=True, no_key=True)
            .select_related("partner__push_status")
            .filter(pk__in=due_copies)
            .order_by()[:size]
        )
        if not copies:
            return [], False
        heads: dict[int, OutboxMessage] = {}
        for message in OutboxMessage.objects.filter(
            copy_id__in=[copy.pk for copy in copies], state__in=delivery.OPEN_STATES
        ).order_by("copy_id", "id"):
            heads.setdefault(message.copy_id, message)
        claimed: list[OutboxMessage] = []
        parked: dict[datetime, list[int]] = {}
        for copy in copies:
            head = heads.get(copy.pk)
            status = getattr(copy.partner, "push_status", None)
            if head is None or head.state != OutboxMessage.State.PENDING or head.next_attempt_at > now:
                # An older message of this copy is in flight or waits for its retry: the status
                # change goes after it, by the copy's own delivery.
                passed_over.add(copy.pk)
            elif status is not None and status.paused:
                passed_over.add(copy.pk)
            elif status is not None and status.retry_after is not None:
                # The partner went down since the query above: wait for its probe without
                # spending an attempt.
                parked.setdefault(max(status.retry_after, now), []).append(head.pk)
            elif not head.fast or copy.acknowledged_at is None or copy.force_put or copy.deleted:
                # Behind another kind of message, or the partner needs the EVSE (or its
                # location) whole: one-by-one delivery knows how.
                passed_over.add(copy.pk)
                wakeups.partner_copy_enqueue_after_commit(copy.pk, queue=wakeups.FAST_QUEUE)
            else:
                head.copy = copy
                head.partner = copy.partner
                head.partner_was_failing = bool(status and status.consecutive_failures)
                claimed.append(head)
        for retry_after, message_ids in parked.items():
            OutboxMessage.objects.filter(pk__in=message_ids).update(next_attempt_at=retry_after)
        if claimed:
            lease_until = now + timedelta(seconds=delivery.lease_seconds())
            OutboxMessage.objects.filter(pk__in=[message.pk for message in claimed]).update(
                state=OutboxMessage.State.IN_FLIGHT,
                attempts=F("attempts") + 1,
                lease_until=lease_until,
                requeued_at=None,
            )
            for message in claimed:
                message.state = OutboxMessage.State.IN_FLIGHT
                message.attempts += 1
                message.claimed_attempts = message.attempts
                message.lease_until = lease_until
    return claimed, True


def _deliver_batch(messages: list[OutboxMessage], passed_over: PassedOver) -> int:
    """Send a claimed batch and record its outcomes; returns how many were delivered.

    A copy whose delivery failed is passed over for the rest of the run: its retry is not this
    run's business, even when the retry delay is short.
    """
    started = timezone.now()
    items = _plans(messages, started, passed_over)
    logs: list[OutboundRequestLog] = []
    sending = [item for item in items if not item.plan.skip]
    replies = _executor().map(lambda item: _send(item, logs.append), sending)
    for item, reply in zip(sending, replies, strict=True):
        item.reply = reply
    succeeded = [item for item in items if item.reply is None or item.reply.ok]
    delivered = _record_successes(succeeded, started, logs)
    for item in items:
        if item.reply is not None and not item.reply.ok:
            passed_over.add(item.message.copy_id)
            delivery.finish_reply(item.message, started, item.reply, item.plan)
    return delivered


def _plans(messages: list[OutboxMessage], started: datetime, passed_over: PassedOver) -> list[Item]:
    """The PATCH (or nothing to send) for each message, from our EVSEs as they are now."""
    evses = Evse.objects.select_related("location__party").in_bulk(
        [int(message.copy.object_id) for message in messages]
    )
    evses_attach_connectors(list(evses.values()))
    items = []
    for message in messages:
        try:
            plan = delivery.plan_state(message, evses.get(int(message.copy.object_id)))
        except Exception as exc:
            logger.exception("Cannot build push %s", message.pk)
            passed_over.add(message.copy_id)
            delivery.message_finish(
                message, started, None, Outcome.REJECTED, f"cannot build the request: {exc}"
            )
            continue
        items.append(Item(message, plan))
    return items


def _send(item: Item, keep_log: Callable[[OutboundRequestLog], None]) -> Reply:
    # In a pool thread: no database here, the request log is kept for the bulk insert.
    plan = item.plan
    return send(item.message.partner, plan.method, plan.url, plan.body, log_sink=keep_log)


def _record_successes(items: list[Item], started: datetime, logs: list[OutboundRequestLog]) -> int:
    """Record delivered messages, their attempts, acknowledged bodies and request logs together."""
    now = timezone.now()
    with transaction.atomic():
        for log in logs:
            log.escape_nul()
        rows_insert(logs)
        if not items:
            return 0
        # Copies locked in primary key order, as delivery.message_finish does: a location PUT's
        # acknowledgement takes its EVSEs' copies too, and the two must not deadlock.
        list(
            PartnerCopy.objects.select_for_update(of=("self",), no_key=True)
            .filter(pk__in=[item.message.copy_id for item in items])
            .order_by("pk")
            .values_list("pk")
        )
        # Ours only while still in flight under our claim (staff may have discarded one).
        current = dict(
            OutboxMessage.objects.select_for_update()
            .filter(pk__in=[item.message.pk for item in items], state=OutboxMessage.State.IN_FLIGHT)
            .order_by()
            .values_list("pk", "attempts")
        )
        ours = [item for item in items if current.get(item.message.pk) == item.message.claimed_attempts]
        _mark_delivered(ours, now)
        rows_insert(
            [
                delivery.attempt_row(item.message, started, item.reply, Outcome.DELIVERED)
                for item in ours
                if item.reply is not None
            ]
        )
        copies = []
        for item in ours:
            for copy, body, last_updated in item.plan.copy_bodies or ():
                copy.acknowledged_body = body
                copy.acknowledged_at = now
                copy.acknowledged_last_updated = last_updated
                copies.append(copy)
        rows_update(
            copies,
            ["acknowledged_body", "acknowledged_at", "acknowledged_last_updated"],
            casts={
                "acknowledged_body": "jsonb",
                "acknowledged_at": "timestamptz",
                "acknowledged_last_updated": "timestamptz",
            },
        )
        _after_successes(ours, now)
    return len(ours)


def _mark_delivered(items: list[Item], now: datetime) -> None:
    def answer(item: Item) -> tuple[int, str]:
        return ((item.reply.http_status or 0) if item.reply else 0, item.plan.skip)

    for (http_status, note), group in groupby(sorted(items, key=answer), key=answer):
        OutboxMessage.objects.filter(pk__in=[item.message.pk for item in group]).update(
            state=OutboxMessage.State.DELIVERED,
            delivered_at=now,
            outcome_unknown=False,
            lease_until=None,
            last_http_status=http_status or None,
            last_error=note,
        )


def _after_successes(items: list[Item], now: datetime) -> None:
    """A partner that was failing is back; other kinds of message that waited can go now."""
    # Only an answer tells that the partner is back, not a message that needed no call.
    recovered = {
        item.message.partner_id: item.message.partner
        for item in items
        if item.message.partner_was_failing and item.reply is not None
    }
    for partner_id, partner in recovered.items():
        if PartnerPushStatus.objects.filter(partner_id=partner_id, consecutive_failures__gt=0).update(
            consecutive_failures=0, retry_after=None, failure_counted_at=None, last_success_at=now
        ):
            retries.partner_release_waiting(partner)
    # A waiting status change is this task's next round; any other message, written while ours was
    # in flight, found the copy busy and needs its copy delivered.
    waiting = OutboxMessage.objects.filter(
        copy_id__in=[item.message.copy_id for item in items], state=OutboxMessage.State.PENDING, fast=False
    ).values_list("copy_id", flat=True)
    for copy_id in set(waiting):
        wakeups.partner_copy_enqueue_after_commit(copy_id)


_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    # One pool per process, made after the fork (threads do not survive one).
    if _pool is None or _pool_pid != os.getpid():
        _pool = ThreadPoolExecutor(max_workers=settings.PUSH_FAST_BATCH_SIZE, thread_name_prefix="push")
        _pool_pid = os.getpid()
    return _pool
