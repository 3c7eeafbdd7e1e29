"""Deliver the outbox: claim the oldest open message of a partner copy, send it, record the outcome.

The copy row is locked (``select_for_update``) when a message is claimed and when a delivery is
acknowledged, in short transactions, never during the HTTP call. That lock serialises deliveries of
one (partner, object): a task that runs twice (``acks_late``, a redelivery after a killed worker)
finds the message in flight under a lease and leaves it alone, so messages of one object go out one
at a time and in order. An outcome is recorded only by the claim that is still current (a
conditional UPDATE on state and attempt number).

CDRs and exactly-once: a CDR POST whose outcome is unknown (timeout, dropped connection, a worker
killed between the call and the commit) is never simply repeated. The next attempt first GETs the
CDR from the partner at ``{cdrs endpoint}/{country_code}/{party_id}/{cdr_id}`` (where receivers,
the PTP simulator among them, keep posted CDRs); found means delivered. Only a 404 leads to a new
POST. A receiver that offers no such GET gets a second POST, which mod_cdrs receivers must reject
or ignore for a known id: then the guarantee is at-least-once, and the duplicate is the partner's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from cpo_portal import metrics
from pushes import payloads, retries, selectors, services, wakeups
from pushes.models import DeliveryAttempt, ObjectType, OutboxMessage, PartnerCopy, PartnerPushStatus
from pushes.transport import Reply, send
from sessions.models import ReceivedCommand

logger = logging.getLogger(__name__)

Outcome = DeliveryAttempt.Outcome

# Keys of nested objects, which have copies of their own and are left out of a PATCH diff.
NESTED_KEYS = {"location": "evses", "evse": "connectors"}
# At most this many messages of one copy per task run, so one busy object cannot starve the others.
MAX_MESSAGES_PER_RUN = 20
NOTHING_CHANGED = "nothing changed for the partner"
OBJECT_GONE = "the object no longer exists"
OPEN_STATES = (OutboxMessage.State.PENDING, OutboxMessage.State.IN_FLIGHT)
# Cleared by a claim: the message no longer waits for another copy, and no queued task is owed it.
RELEASED_FIELDS = ("waiting_for", "requeued_at")
PARTNER_FAILURE_THRESHOLD = 3


@dataclass
class Plan:
    """What one delivery will do: the request, and what the partner holds once it succeeds."""

    method: str
    url: str
    body: Any
    acknowledge: dict[str, Any] | None = None  # copy_id -> body acknowledged on success
    copy_bodies: list[tuple[PartnerCopy, dict[str, Any], Any]] | None = None
    last_updated: Any = None
    skip: str = ""  # a reason to complete without a call
    wait_for: PartnerCopy | None = None  # a copy to deliver first, without using up an attempt


def lease_seconds() -> float:
    # A delivery makes at most two calls (a CDR probe, then the POST); the lease outlives both.
    return settings.PUSH_LEASE_SECONDS or 2 * settings.PUSH_HTTP_TIMEOUT + 10


def partner_copy_deliver(copy_id: int) -> int:
    """Deliver the open messages of one copy in order; returns how many were delivered."""
    delivered = 0
    for _ in range(MAX_MESSAGES_PER_RUN):
        message = _claim(copy_id)
        if message is None:
            break
        if not _deliver(message):
            break
        delivered += 1
        if not message.more_waiting:
            break
    return delivered


def _claim(copy_id: int) -> OutboxMessage | None:
    now = timezone.now()
    with transaction.atomic():
        # of=("self",) and no ordering: the default ordering joins the partner, whose row would be
        # locked too and serialise (or deadlock) every writer that references the partner.
        copy = (
            PartnerCopy.objects.select_for_update(of=("self",), no_key=True)
            .select_related("partner__push_status")
            .filter(pk=copy_id)
            .order_by()
            .first()
        )
        if copy is None:
            return None
        head = (
            OutboxMessage.objects.filter(
                copy_id=copy_id, state__in=(OutboxMessage.State.PENDING, OutboxMessage.State.IN_FLIGHT)
            )
            .order_by("id")
            .first()
        )
        if head is None:
            return None
        if head.state == OutboxMessage.State.IN_FLIGHT:
            if head.lease_until and head.lease_until > now:
                return None  # another worker is delivering it
            # Its worker died mid-delivery: what the partner got is unknown.
            head.outcome_unknown = True
        if head.next_attempt_at > now:
            return None
        status = getattr(copy.partner, "push_status", None)
        head.partner_was_failing = bool(status and status.consecutive_failures)
        if status is not None and status.paused:
            return None
        if status is not None and status.retry_after is not None:
            # The partner is down: one message at a time finds out whether it is back (a probe, at
            # most one per PUSH_PROBE_INTERVAL_SECONDS); the others wait without spending attempts
            # until an answer releases them all (_update_partner_status).
            if status.retry_after <= now and retries.partner_probe_claim(status=status, now=now):
                head.probe = True
            else:
                head.state = OutboxMessage.State.PENDING
                head.next_attempt_at = max(status.retry_after, now)
                head.save(update_fields=["state", "next_attempt_at", "outcome_unknown"])
                return None
        head.state = OutboxMessage.State.IN_FLIGHT
        head.attempts += 1
        head.lease_until = now + timedelta(seconds=lease_seconds())
        head.waiting_for = None
        head.requeued_at = None
        head.save(update_fields=["state", "attempts", "lease_until", "outcome_unknown", *RELEASED_FIELDS])
        head.copy = copy
        head.partner = copy.partner
        head.claimed_attempts = head.attempts
        return head


def _deliver(message: OutboxMessage) -> bool:
    """Send a claimed message and record the outcome; True when it was delivered."""
    copy = message.copy
    partner = copy.partner
    started = timezone.now()
    try:
        plan = _plan(message)
    except Exception as exc:
        logger.exception("Cannot build push %s", message.pk)
        message_finish(message, started, None, Outcome.REJECTED, f"cannot build the request: {exc}")
        return False
    if plan.wait_for is not None:
        _wait_for(message, plan.wait_for)
        return False
    if plan.skip:
        message_finish(message, started, None, Outcome.DELIVERED, plan.skip, plan=plan)
        return True
    if message.action == OutboxMessage.Action.POST_CDR and message.outcome_unknown:
        probe_url = _cdr_probe_url(message)
        probe = send(partner, "GET", probe_url, None)
        if not probe.answered or (probe.http_status or 0) >= 500:
            message_finish(message, started, probe, Outcome.UNKNOWN, f"cannot check the CDR: {probe.error}")
            return False
        _record_attempt(message, started, probe, Outcome.PROBE)
        if probe.ok and isinstance(probe.data, dict) and probe.data.get("id") == plan.body.get("id"):
            plan.url = probe_url
            message_finish(message, started, None, Outcome.DELIVERED, "the partner already had it", plan=plan)
            return True
        started = timezone.now()
    reply = send(partner, plan.method, plan.url, plan.body)
    if reply.ok and message.action == OutboxMessage.Action.POST_CDR:
        plan.url = reply.headers.get("location") or _cdr_probe_url(message)
    return finish_reply(message, started, reply, plan)


def finish_reply(message: OutboxMessage, started: Any, reply: Reply, plan: Plan) -> bool:
    """Record what the partner answered to a claimed message; True when it was delivered."""
    outcome = _classify(reply)
    if outcome == Outcome.REJECTED and reply.http_status == 404 and plan.method == "PATCH":
        # The partner lost the object: send it whole next time, straight away.
        PartnerCopy.objects.filter(pk=message.copy_id).update(force_put=True)
        outcome = Outcome.RESEND
    message_finish(message, started, reply, outcome, reply.error, plan=plan)
    return outcome == Outcome.DELIVERED


def _wait_for(message: OutboxMessage, first: PartnerCopy) -> None:
    """Put a claimed message back until ``first`` is delivered, without counting the attempt.

    The delivery of ``first`` enqueues this copy (``_acknowledge``). Its row is locked while we
    decide, as it is while that delivery is recorded: either the delivery sees this message
    waiting, or it has committed, which the check below sees, and we go ahead at once.
    """
    with transaction.atomic():
        list(
            PartnerCopy.objects.select_for_update(of=("self",), no_key=True)
            .filter(pk=first.pk)
            .values_list("pk")
        )
        still_open = OutboxMessage.objects.filter(copy_id=first.pk, state__in=OPEN_STATES).exists()
        OutboxMessage.objects.filter(
            pk=message.pk, state=OutboxMessage.State.IN_FLIGHT, attempts=message.claimed_attempts
        ).update(
            state=OutboxMessage.State.PENDING,
            attempts=message.claimed_attempts - 1,
            lease_until=None,
            waiting_for=first if still_open else None,
            last_error=f"waiting for the delivery of {first}" if still_open else "",
            next_attempt_at=timezone.now(),
        )
        if not still_open:
            wakeups.partner_copy_enqueue_after_commit(message.copy_id)


def _classify(reply: Reply) -> str:
    if reply.ok:
        return Outcome.DELIVERED
    if not reply.answered:
        return Outcome.RETRY if not reply.sent else Outcome.UNKNOWN
    status = reply.http_status or 0
    if status in (401, 405):
        return Outcome.PAUSED
    if status >= 500 or status == 429 or (reply.ocpi_status or 0) >= 3000:
        return Outcome.RETRY
    return Outcome.REJECTED


def _cdr_probe_url(message: OutboxMessage) -> str:
    cdr = payloads.load_object(ObjectType.CDR, message.copy.object_id)
    base = selectors.endpoint_url(message.copy.partner, "cdrs") or ""
    return f"{base}/{payloads.object_path(ObjectType.CDR, cdr)}"


def _plan(message: OutboxMessage) -> Plan:
    """Decide the request from our current state and what the partner acknowledged."""
    copy = message.copy
    partner = copy.partner
    version = partner.version
    action = message.action
    if action == OutboxMessage.Action.COMMAND_RESULT:
        return Plan("POST", message.url, message.payload)
    module_url = selectors.endpoint_url(partner, message.module)
    if module_url is None:
        return _no_endpoint_plan(message)
    if action == OutboxMessage.Action.TERMINAL_ACTIVATE:
        return Plan("POST", f"{module_url}/terminals/activate", message.payload)
    if action == OutboxMessage.Action.TERMINAL_DEACTIVATE:
        return Plan("POST", f"{module_url}/{message.payload['path']}", None)
    if action == OutboxMessage.Action.REMOVE_EVSE:
        if copy.acknowledged_at is None or copy.deleted:
            return Plan("", "", None, skip="the partner never had it")
        body = {"status": "REMOVED", "last_updated": message.payload["last_updated"]}
        return Plan("PATCH", f"{module_url}/{message.payload['path']}", body)
    if action == OutboxMessage.Action.DELETE:
        if copy.acknowledged_at is None or copy.deleted:
            return Plan("", "", None, skip="the partner never had it")
        return Plan("DELETE", f"{module_url}/{message.payload['path']}", None)
    obj = payloads.load_object(copy.object_type, copy.object_id)
    if action == OutboxMessage.Action.POST_CDR:
        if obj is None:
            return Plan("", "", None, skip=OBJECT_GONE)
        if copy.remote_url:
            return Plan("", "", None, skip="the partner acknowledged it before")
        return Plan("POST", module_url, payloads.body_for(ObjectType.CDR, obj, version))
    return plan_state(message, obj)


def plan_state(message: OutboxMessage, obj: Any) -> Plan:
    """The PUT or PATCH that brings the partner's copy to ``obj`` as it is now (None: deleted)."""
    copy = message.copy
    module_url = selectors.endpoint_url(copy.partner, message.module)
    if module_url is None:
        return _no_endpoint_plan(message)
    if obj is None:
        return Plan("", "", None, skip=OBJECT_GONE)
    return _plan_upsert(message, copy, obj, module_url, copy.partner.version)


def _no_endpoint_plan(message: OutboxMessage) -> Plan:
    return Plan("", "", None, skip=f"the partner no longer lists a {message.module} endpoint")


def _plan_upsert(message: OutboxMessage, copy: PartnerCopy, obj: Any, module_url: str, version: str) -> Plan:
    object_type = copy.object_type
    if object_type in (ObjectType.EVSE, ObjectType.CONNECTOR) and copy.acknowledged_at is None:
        # An acknowledged EVSE or connector implies the partner has its location.
        location = obj.location if object_type == ObjectType.EVSE else obj.evse.location
        location_copy = PartnerCopy.objects.filter(
            partner=copy.partner, object_type=ObjectType.LOCATION, object_id=str(location.pk)
        ).first()
        if location_copy is None or location_copy.acknowledged_at is None:
            # mod_locations: an EVSE belongs to a location the partner must have. When the
            # location's own PUT is queued, wait for it (it carries this EVSE or connector too);
            # otherwise send the whole location from here.
            if location_copy is not None and location_copy.messages.filter(state__in=OPEN_STATES).exists():
                return Plan("", "", None, wait_for=location_copy)
            location = payloads.load_object(ObjectType.LOCATION, str(location.pk))
            return _full_location_plan(copy, location, module_url, version)
    body = payloads.body_for(object_type, obj, version)
    url = f"{module_url}/{payloads.object_path(object_type, obj)}"
    acked = copy.acknowledged_body
    if object_type == ObjectType.LOCATION and (acked is None or copy.force_put):
        return _full_location_plan(copy, obj, module_url, version)
    if object_type == ObjectType.TERMINAL and not copy.force_put:
        return _terminal_plan(message, copy, body, acked, url)
    if acked is None or copy.force_put or object_type == ObjectType.TARIFF:
        # Tariffs have no PATCH in the Receiver interface (mod_tariffs.asciidoc): always PUT.
        return Plan("PUT", url, body, copy_bodies=[(copy, body, obj.last_updated)])
    diff = _diff(acked, body, NESTED_KEYS.get(object_type))
    if object_type == ObjectType.SESSION and "charging_periods" in diff:
        # mod_sessions 'PATCH Method': charging_periods in a PATCH are appended, so send only
        # the new ones; a changed earlier period needs a PUT of the whole session.
        sent = acked.get("charging_periods") or []
        now = body.get("charging_periods") or []
        if now[: len(sent)] != sent:
            return Plan("PUT", url, body, copy_bodies=[(copy, body, obj.last_updated)])
        diff["charging_periods"] = now[len(sent) :]
    if set(diff) <= {"last_updated"}:
        return Plan("", "", None, skip=NOTHING_CHANGED, copy_bodies=[(copy, body, obj.last_updated)])
    diff["last_updated"] = body["last_updated"]
    return Plan("PATCH", url, diff, copy_bodies=[(copy, body, obj.last_updated)])


def _full_location_plan(copy: PartnerCopy, location: Any, module_url: str, version: str) -> Plan:
    body = payloads.body_for(ObjectType.LOCATION, location, version)
    url = f"{module_url}/{payloads.object_path(ObjectType.LOCATION, location)}"
    location_copy = services.partner_copy_get_or_create(
        copy.partner, ObjectType.LOCATION, str(location.pk), location.location_id
    )
    bodies: list[tuple[PartnerCopy, dict[str, Any], Any]] = [(location_copy, body, location.last_updated)]
    # The PUT carries every EVSE and connector: the partner now holds those too.
    for evse, evse_body in zip(location.evses.all(), body.get("evses", []), strict=True):
        bodies.append((_copy_key(copy.partner, ObjectType.EVSE, evse), evse_body, evse.last_updated))
        for connector, connector_body in zip(
            evse.connectors.all(), evse_body.get("connectors", []), strict=True
        ):
            bodies.append(
                (
                    _copy_key(copy.partner, ObjectType.CONNECTOR, connector),
                    connector_body,
                    connector.last_updated,
                )
            )
    return Plan("PUT", url, body, copy_bodies=bodies)


def _copy_key(partner: Any, object_type: str, obj: Any) -> PartnerCopy:
    return PartnerCopy(
        partner=partner,
        object_type=object_type,
        object_id=str(obj.pk),
        label=payloads.object_label(object_type, obj),
    )


def _terminal_plan(
    message: OutboxMessage, copy: PartnerCopy, body: dict[str, Any], acked: dict[str, Any] | None, url: str
) -> Plan:
    """Assignment changes go as a PATCH (Payter's way, shared/payter/README.md), other data as a PUT."""
    if acked is not None:
        changed = set(_diff(acked, body, None)) - {"last_updated"}
        if not changed:
            return Plan("", "", None, skip=NOTHING_CHANGED, copy_bodies=[(copy, body, None)])
        assignments_only = changed <= {"location_ids", "evse_uids"}
    else:
        # The terminal is the PTP's; without an acknowledged copy the changed fields tell.
        changed = set(message.changed_fields)
        assignments_only = bool(changed) and changed <= {"locations", "evses"}
    if assignments_only:
        patch = {"location_ids": body["location_ids"], "evse_uids": body["evse_uids"]}
        return Plan("PATCH", url, patch, copy_bodies=[(copy, body, None)])
    return Plan("PUT", url, body, copy_bodies=[(copy, body, None)])


def _diff(old: dict[str, Any], new: dict[str, Any], nested_key: str | None) -> dict[str, Any]:
    """Keys of ``new`` whose values differ from ``old``, nested objects aside. Removed keys become null."""
    changed = {key: value for key, value in new.items() if key != nested_key and old.get(key) != value}
    for key in old:
        if key not in new and key != nested_key:
            changed[key] = None
    return changed


def _record_attempt(
    message: OutboxMessage, started: Any, reply: Reply | None, outcome: str, error: str = ""
) -> None:
    attempt_row(message, started, reply, outcome, error).save()


def attempt_row(
    message: OutboxMessage, started: Any, reply: Reply | None, outcome: str, error: str = ""
) -> DeliveryAttempt:
    """The record of one exchange (unsaved)."""
    metrics.PUSH_DELIVERIES.labels(outcome=outcome).inc()
    return DeliveryAttempt(
        message=message,
        partner_id=message.partner_id,
        started_at=started,
        duration_ms=reply.duration_ms if reply else 0,
        method=reply.method if reply else "",
        url=(reply.url if reply else "")[:500],
        http_status=reply.http_status if reply else None,
        ocpi_status=reply.ocpi_status if reply else None,
        outcome=outcome,
        error=(error or (reply.error if reply else ""))[:500],
    )


def message_finish(
    message: OutboxMessage,
    started: Any,
    reply: Reply | None,
    outcome: str,
    error: str,
    *,
    plan: Plan | None = None,
) -> None:
    """Record the outcome of a delivery attempt; a deadlock victim (PostgreSQL picks one) tries again."""
    for attempt in range(3):
        try:
            _finish_once(message, started, reply, outcome, error, plan=plan)
            return
        except OperationalError as exc:
            if "deadlock" not in str(exc) or attempt == 2:
                raise
            logger.warning("Deadlock while recording push %s; trying again", message.pk)


def _finish_once(
    message: OutboxMessage,
    started: Any,
    reply: Reply | None,
    outcome: str,
    error: str,
    *,
    plan: Plan | None = None,
) -> None:
    now = timezone.now()
    involved = {message.copy_id}
    if outcome == Outcome.DELIVERED and plan is not None and plan.copy_bodies:
        for index, (target, body, last_updated) in enumerate(plan.copy_bodies):
            if target.pk is None:
                target = services.partner_copy_get_or_create(
                    target.partner, target.object_type, target.object_id, target.label
                )
                plan.copy_bodies[index] = (target, body, last_updated)
            involved.add(target.pk)
    with transaction.atomic():
        if len(involved) > 1 or message.copy.object_type == ObjectType.LOCATION:
            # All copies this outcome touches, locked in primary key order so that two workers
            # acknowledging overlapping copies (a location PUT carries its EVSEs) cannot deadlock.
            # A location's own row is locked also because EVSEs wait for it under that lock.
            list(
                PartnerCopy.objects.select_for_update(of=("self",), no_key=True)
                .filter(pk__in=involved)
                .order_by("pk")
                .values_list("pk")
            )
        fields = _outcome_fields(message, outcome, reply, error, now)
        # Ours only while still in flight under our claim: staff may have discarded it, or its
        # lease ran out and another worker took it over.
        still_ours = OutboxMessage.objects.filter(
            pk=message.pk, state=OutboxMessage.State.IN_FLIGHT, attempts=message.claimed_attempts
        ).update(**fields)
        if not still_ours:
            return
        for name, value in fields.items():
            setattr(message, name, value)
        if message.action == OutboxMessage.Action.COMMAND_RESULT:
            _command_delivery_recorded(message, now)
        if reply is not None or outcome != Outcome.DELIVERED:
            _record_attempt(message, started, reply, outcome, error)
        if outcome == Outcome.DELIVERED:
            _acknowledge(message, plan, now)
            # Checked while the copy row is locked by the acknowledgement: a message written
            # meanwhile either shows here or its own task claims it once we commit.
            message.more_waiting = OutboxMessage.objects.filter(
                copy_id=message.copy_id, state=OutboxMessage.State.PENDING
            ).exists()
        elif outcome == Outcome.PAUSED:
            where = f"HTTP {reply.http_status} on {reply.method} {reply.url}" if reply else "refused"
            retries.partner_pause(message.partner, f"{where}: {error}")
        elif outcome == Outcome.RESEND:
            wakeups.partner_copy_enqueue_after_commit(message.copy_id)
        if fields["state"] in (OutboxMessage.State.DELIVERED, OutboxMessage.State.DEAD):
            # Messages that waited for this one go now: after a PUT most find that the partner
            # has their state already; after a dead letter they send the location themselves.
            waiting = OutboxMessage.objects.filter(
                waiting_for_id=message.copy_id, state=OutboxMessage.State.PENDING
            ).values_list("copy_id", flat=True)
            for copy_id in set(waiting):
                wakeups.partner_copy_enqueue_after_commit(copy_id)
        if reply is not None:
            # Only an exchange with the partner tells whether it is there (not a skipped message).
            _update_partner_status(message, outcome, started, now)
        elif message.probe:
            # The probe needed no call (nothing changed for the partner): whether the partner is back
            # is still unknown, so the next message probes at once instead of an interval later.
            retries.partner_probe_again(message.partner_id, now=now)


def _outcome_fields(
    message: OutboxMessage, outcome: str, reply: Reply | None, error: str, now: Any
) -> dict[str, Any]:
    """The message's new state after an outcome."""
    fields: dict[str, Any] = {
        "lease_until": None,
        "last_http_status": reply.http_status if reply else None,
        "last_error": error[:2000],
    }
    if outcome == Outcome.DELIVERED:
        fields.update(state=OutboxMessage.State.DELIVERED, delivered_at=now, outcome_unknown=False)
    elif outcome in (Outcome.PAUSED, Outcome.RESEND):
        # Neither a pause nor a partner that lost the object uses up a retry.
        fields.update(state=OutboxMessage.State.PENDING, attempts=max(message.attempts - 1, 0))
        if outcome == Outcome.RESEND:
            fields["next_attempt_at"] = now
    elif outcome == Outcome.REJECTED or retries.is_too_old(message, now) or _out_of_tries(message):
        fields["state"] = OutboxMessage.State.DEAD
    elif message.probe:
        # A probe found the partner still down: that says nothing about the message, which keeps
        # its tries (CommandResults have few) and waits with the others for the next probe.
        fields.update(
            state=OutboxMessage.State.PENDING,
            attempts=max(message.attempts - 1, 0),
            next_attempt_at=now + timedelta(seconds=settings.PUSH_PROBE_INTERVAL_SECONDS),
            outcome_unknown=message.outcome_unknown or outcome == Outcome.UNKNOWN,
        )
    else:
        delay = retries.retry_delay(max(message.attempts, 1))
        if outcome == Outcome.UNKNOWN and message.action == OutboxMessage.Action.POST_CDR:
            # The partner may still be handling our request; ask it only once that is over.
            delay = max(delay, timedelta(seconds=settings.PUSH_UNKNOWN_OUTCOME_SETTLE_SECONDS))
        fields.update(
            state=OutboxMessage.State.PENDING,
            next_attempt_at=now + delay,
            outcome_unknown=message.outcome_unknown or outcome == Outcome.UNKNOWN,
        )
    return fields


def _out_of_tries(message: OutboxMessage) -> bool:
    # A CommandResult is awaited for minutes, not days (mod_commands: the partner times out).
    return (
        message.action == OutboxMessage.Action.COMMAND_RESULT
        and message.attempts >= settings.COMMAND_RESULT_MAX_ATTEMPTS
    )


def _command_delivery_recorded(message: OutboxMessage, now: Any) -> None:
    """Keep the command's own record (its admin page, its selectors) in step with the outbox."""
    delivered = message.state == OutboxMessage.State.DELIVERED
    error = message.last_error
    if not delivered and message.last_http_status:
        error = f"HTTP {message.last_http_status}: {error}"
    ReceivedCommand.objects.filter(pk=message.copy.object_id).update(
        delivery_attempts=message.attempts,
        delivered_at=now if delivered else None,
        last_delivery_error="" if delivered else error[:500],
    )


def _acknowledge(message: OutboxMessage, plan: Plan | None, now: Any) -> None:
    copy = message.copy
    if message.action in (OutboxMessage.Action.DELETE, OutboxMessage.Action.REMOVE_EVSE):
        PartnerCopy.objects.filter(pk=copy.pk).update(deleted=True, acknowledged_at=now, force_put=False)
        return
    if message.action == OutboxMessage.Action.POST_CDR and plan is not None:
        PartnerCopy.objects.filter(pk=copy.pk).update(
            remote_url=plan.url[:500], acknowledged_at=now, acknowledged_body=plan.body
        )
        return
    if plan is None or not plan.copy_bodies:
        PartnerCopy.objects.filter(pk=copy.pk).update(acknowledged_at=now)
        return
    for target, body, last_updated in plan.copy_bodies:
        PartnerCopy.objects.filter(pk=target.pk).update(
            acknowledged_body=body,
            acknowledged_at=now,
            acknowledged_last_updated=last_updated,
            deleted=False,
            force_put=False,
        )


def _update_partner_status(message: OutboxMessage, outcome: str, started: Any, now: Any) -> None:
    """Count a partner-level failure once per attempt window; any answer ends a failing spell.

    Partner-level failures are those that say nothing about the message: no answer, HTTP 5xx or 429,
    OCPI 3xxx (RETRY, UNKNOWN). An answer about the message itself (delivered, an OCPI 2xxx, a 404
    for a PATCH) shows the partner is there. Failures of attempts that started within
    PUSH_FAILURE_WINDOW_SECONDS of the last counted failure are the same observation: a batch sent
    together, or a burst of messages, fails together and counts once.
    """
    if outcome in (Outcome.DELIVERED, Outcome.REJECTED, Outcome.RESEND):
        if not message.partner_was_failing:
            # The common case, without a write. A failure recorded by another worker since our
            # claim is reset by the next answer that sees it.
            return
        recovered = PartnerPushStatus.objects.filter(
            partner_id=message.partner_id, consecutive_failures__gt=0
        ).update(consecutive_failures=0, retry_after=None, failure_counted_at=None, last_success_at=now)
        if recovered:
            # The partner is back: everything held for it is due now, not at its own retry time.
            retries.partner_release_waiting(message.partner)
        return
    if outcome not in (Outcome.RETRY, Outcome.UNKNOWN):
        return
    retries.push_status_for(message.partner)  # the row exists: the updates below are conditional
    statuses = PartnerPushStatus.objects.filter(partner_id=message.partner_id)
    window_start = started - timedelta(seconds=settings.PUSH_FAILURE_WINDOW_SECONDS)
    # A conditional UPDATE, not read-modify-write: concurrent failures of one batch must not both count.
    statuses.filter(Q(failure_counted_at__isnull=True) | Q(failure_counted_at__lt=window_start)).update(
        consecutive_failures=F("consecutive_failures") + 1, failure_counted_at=now
    )
    statuses.update(last_failure_at=now)
    # Down: hold its messages and probe it every PUSH_PROBE_INTERVAL_SECONDS from this failure on.
    # The interval does not grow: a partner back after an outage of any length is found within it.
    statuses.filter(consecutive_failures__gte=PARTNER_FAILURE_THRESHOLD).update(
        retry_after=now + timedelta(seconds=settings.PUSH_PROBE_INTERVAL_SECONDS)
    )
