"""Writes to the outbox: record a change in the transaction that makes it.

Call sites say what changed (``object_changed(obj, changed_fields)``, ``cdr_created(cdr)``, ...);
the routing (``pushes.routing``) decides which partners get it and this module writes one outbox
message per partner. A change to an object whose latest-state message is still waiting is folded
into that message (coalescing), so after an outage a partner gets one PUT or one PATCH with the net
change. The delivery is enqueued only after commit (``pushes.wakeups``), so a worker never sees a
message whose change was rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from locations.models import Connector, Evse
from partners.models import Partner
from payments.models import PaymentTerminal
from pushes import payloads
from pushes.models import ObjectType, OutboxMessage, PartnerCopy
from pushes.routing import (
    MODULE_OF_TYPE,
    Holding,
    holding_columns,
    object_type_of,
    recipients,
    recipients_holding,
    routing_key,
)
from pushes.wakeups import fast_path_wake, partner_copy_enqueue_after_commit
from sessions.models import Cdr
from tariffs.models import Tariff


def object_changed(
    obj: Any, changed_fields: Iterable[str] | None = None, *, sender_id: int | None = None
) -> list[OutboxMessage]:
    """Queue the latest state of ``obj`` for every partner that receives it (PUT or PATCH later).

    ``sender_id``: the partner whose own data this change is (``partners.outbox.received_from``);
    it is not pushed back to it.
    """
    object_type = object_type_of(obj)
    fields = sorted(set(changed_fields)) if changed_fields is not None else []
    fast = (
        settings.PUSH_EVSE_STATUS_FAST_PATH
        and object_type == ObjectType.EVSE
        and bool(fields)
        and set(fields) <= {"status", "last_updated"}
    )
    object_id = str(obj.pk)
    key = routing_key(object_type, obj)
    if key is None:
        return []  # a session no partner's token started
    messages = []
    # Each recipient comes with its copy of the object and the copy's waiting message, if any: a
    # status change costs this query and the message's INSERT (or, during a backlog, its fold).
    for partner in recipients_holding(object_type)(key=key, object_id=object_id):
        if partner.pk == sender_id:
            continue
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
            message_create(
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
        copy = partner_copy_get_or_create(partner, ObjectType.CDR, str(cdr.pk), cdr.cdr_id)
        if copy.messages.filter(action=OutboxMessage.Action.POST_CDR).exists():
            continue  # already queued or delivered: a CDR is posted once
        messages.append(
            message_create(copy, kind=OutboxMessage.Kind.EVENT, action=OutboxMessage.Action.POST_CDR)
        )
    return messages


def command_result_queued(
    *, partner: Partner, command_id: str, response_url: str, result: dict[str, Any]
) -> OutboxMessage:
    """Queue a CommandResult for the ``response_url`` the partner gave with its command."""
    copy = partner_copy_get_or_create(partner, ObjectType.COMMAND, command_id, command_id)
    return message_create(
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
    copy = partner_copy_get_or_create(partner, ObjectType.TERMINAL, f"activate:{reference}", reference)
    return message_create(
        copy, kind=OutboxMessage.Kind.EVENT, action=OutboxMessage.Action.TERMINAL_ACTIVATE, payload=body
    )


def terminal_deactivation_queued(terminal: PaymentTerminal) -> OutboxMessage:
    """Queue ``POST terminals/{id}/deactivate``, in order after the terminal's other messages."""
    copy = partner_copy_get_or_create(
        terminal.partner, ObjectType.TERMINAL, str(terminal.pk), terminal.terminal_id
    )
    return message_create(
        copy,
        kind=OutboxMessage.Kind.EVENT,
        action=OutboxMessage.Action.TERMINAL_DEACTIVATE,
        payload={"path": f"terminals/{terminal.terminal_id}/deactivate"},
    )


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
            .annotate(**holding_columns(object_type, object_id))
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
        copy = partner_copy_get_or_create(partner, object_type, object_id, label)
    else:
        # The copy as far as a new message needs it (its id, partner and type): no query.
        copy = PartnerCopy(
            pk=holding.copy_pk, partner=partner, object_type=object_type, object_id=object_id, label=label
        )
    return message_create(
        copy,
        kind=OutboxMessage.Kind.STATE,
        action=action,
        changed_fields=changed_fields,
        fast=fast,
        payload=payload,
    )


def partner_copy_get_or_create(partner: Partner, object_type: str, object_id: str, label: str) -> PartnerCopy:
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


def message_create(
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
        partner_copy_enqueue_after_commit(copy_id)
