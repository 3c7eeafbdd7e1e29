"""Sending commands to chargers through the gateway, and what their answers mean for sessions."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chargers.gateway import GatewayAnswer, GatewayResult, charger_gateway
from chargers.models import ChargingBackend, ServedEvse
from locations.models import Connector, Evse
from sessions.commands import command_result_set, start_result_for_settled_session
from sessions.lifecycle import session_start_failed
from sessions.models import (
    ChargingSession,
    CommandResponseType,
    CommandResultType,
    CommandType,
    ReceivedCommand,
    SessionStatus,
)

NO_ANSWER_MESSAGE = "The charger did not answer in time."


def _result_of(answer: GatewayResult) -> tuple[str, str]:
    if answer.answer == GatewayAnswer.NO_ANSWER:
        return CommandResultType.TIMEOUT, answer.message or NO_ANSWER_MESSAGE
    return str(answer.answer), answer.message


def charger_command_send(*, command: ReceivedCommand) -> GatewayResult | None:
    """Send an accepted command to the charger and record its answer.

    START_SESSION: a refusal makes the session INVALID at once; acceptance waits for the charger's
    'started' (the CommandResult ACCEPTED goes out then) or for the pending session to expire.
    STOP_SESSION and UNLOCK_CONNECTOR: the charger's answer is the CommandResult.
    """
    if command.command == CommandType.START_SESSION:
        return _start_send(command=command)
    if not _claim(command):
        return None
    gateway = charger_gateway()
    if command.command == CommandType.STOP_SESSION:
        session = command.session
        if session is None:
            return None
        session.refresh_from_db()
        if session.status == SessionStatus.PENDING:
            # Stopped before the charger started it: the session is cancelled, nothing to charge.
            session_start_failed(session=session, message="Stopped by the driver before it started.")
            answer = GatewayResult(GatewayAnswer.ACCEPTED)
        else:
            answer = gateway.stop(session)
    elif command.command == CommandType.UNLOCK_CONNECTOR:
        body = command.request_body
        connector = Connector.objects.filter(
            evse__location__location_id=body["location_id"],
            evse__uid=body["evse_uid"],
            connector_id=body["connector_id"],
        ).first()
        if connector is None:
            return None
        answer = gateway.unlock(connector)
    else:
        return None
    result, message = _result_of(answer)
    command_result_set(command=command, result=result, message=message)
    return answer


def _claim(command: ReceivedCommand) -> bool:
    # A conditional UPDATE: the task and the sweep for unsent commands (or a task delivered twice)
    # send a command once.
    claimed = ReceivedCommand.objects.filter(pk=command.pk, sent_to_charger_at__isnull=True).update(
        sent_to_charger_at=timezone.now()
    )
    return bool(claimed)


def _start_send(*, command: ReceivedCommand) -> GatewayResult | None:
    """Ask the charger to start the session of an accepted START_SESSION, once per session.

    A replay of an accepted start (the same authorization_reference, a new response_url) is a second
    command for the same session: its result follows the session's (``session_charger_started``
    answers every start of the session), so only the first command claimed asks the charger. A
    second remote start while the first waits for a vehicle would open a second transaction on a
    real charger, or be refused by it and fail the session.
    """
    if command.session_id is None:
        return None
    with transaction.atomic():
        # The session row is the lock: two starts of one session claimed at once take turns here.
        session = ChargingSession.objects.select_for_update(of=("self",)).get(pk=command.session_id)
        if not _claim(command):
            return None
        asked_before = (
            ReceivedCommand.objects.filter(
                session=session, command=CommandType.START_SESSION, sent_to_charger_at__isnull=False
            )
            .exclude(pk=command.pk)
            .exists()
        )
    if session.status != SessionStatus.PENDING:
        # The session has moved on (started, or failed): say how it went.
        start_result_for_settled_session(command=command)
        return None
    if asked_before:
        return None
    answer = charger_gateway().start(session)
    if answer.answer not in (GatewayAnswer.ACCEPTED, GatewayAnswer.NO_ANSWER):
        result, message = _result_of(answer)
        session_start_failed(session=session, result=result, message=message)
    return answer


def charger_session_stop(*, session: ChargingSession) -> GatewayResult | None:
    """Ask the charger to stop a session we decided to stop (the pre-authorised amount is near)."""
    if session.status != SessionStatus.ACTIVE:
        return None
    return charger_gateway().stop(session)


@transaction.atomic
def charging_backend_create(*, name: str, evses: Iterable[Evse] = ()) -> tuple[ChargingBackend, str]:
    """A new charging backend serving ``evses``, and its API token, shown once (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    backend = ChargingBackend(name=name)
    backend.set_token(token)
    backend.full_clean()
    backend.save()
    charging_backend_serve(backend=backend, evses=evses)
    return backend, token


def charging_backend_serve(*, backend: ChargingBackend, evses: Iterable[Evse]) -> None:
    """Let ``backend`` report on these EVSEs' sessions; an EVSE moves from the backend that served
    it before (a charger talks to one central system at a time)."""
    for evse in evses:
        ServedEvse.objects.update_or_create(evse=evse, defaults={"backend": backend})


def charging_backend_rotate_token(*, backend: ChargingBackend) -> str:
    """Replace a backend's token; the old one stops working at once."""
    token = secrets.token_urlsafe(32)
    backend.set_token(token)
    backend.save(update_fields=["token_hash"])
    return token


# An accepted command's own task gets this long before the sweep sends it instead.
UNSENT_COMMAND_GRACE_SECONDS = 10


def charger_commands_send_unsent(*, now: datetime | None = None) -> int:
    """Send accepted commands whose task never ran (Redis was down when they were accepted).

    Only while the command can still matter: a START_SESSION older than
    CHARGING_PENDING_SESSION_TIMEOUT has expired (its session is INVALID, the result TIMEOUT).
    """
    now = now or timezone.now()
    unsent = ReceivedCommand.objects.filter(
        response_result=CommandResponseType.ACCEPTED,
        sent_to_charger_at__isnull=True,
        result="",
        created_at__lt=now - timedelta(seconds=UNSENT_COMMAND_GRACE_SECONDS),
        created_at__gte=now - timedelta(seconds=int(settings.CHARGING_PENDING_SESSION_TIMEOUT)),
    ).select_related("session")
    return sum(1 for command in unsent if charger_command_send(command=command) is not None)


def charger_stops_resend(*, now: datetime | None = None) -> int:
    """Ask again to stop ACTIVE sessions whose stop we requested CHARGING_STOP_RETRY_SECONDS ago.

    A charger that missed the stop (offline, timed out) would otherwise charge past the
    pre-authorised amount or past the driver's STOP_SESSION.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=int(settings.CHARGING_STOP_RETRY_SECONDS))
    resent = 0
    for session in ChargingSession.objects.filter(status=SessionStatus.ACTIVE, stop_requested_at__lt=cutoff):
        charger_session_stop(session=session)
        # Claimed with a conditional UPDATE so that two sweeps do not both count the same retry.
        resent += ChargingSession.objects.filter(
            pk=session.pk, stop_requested_at=session.stop_requested_at
        ).update(stop_requested_at=now)
    return resent
