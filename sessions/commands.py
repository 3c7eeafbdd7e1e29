"""Commands from partners (mod_commands, Receiver): answer them, and record and report their results.

``command_receive`` answers at once (the CommandResponse) and creates the PENDING session of a
START_SESSION; the charger gets the command through the ``sessions.events.command_accepted``
event. Results go to the partner's ``response_url`` through the outbox (``partners.outbox``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from locations.models import Capability, Connector, Evse, EvseStatus, Location
from partners import outbox
from partners.models import Partner, Token
from partners.selectors import visible_to_partner
from sessions import events
from sessions.exceptions import CommandParameterError, UnknownLocationError
from sessions.models import (
    AuthMethod,
    ChargingSession,
    CommandResponseType,
    CommandResultType,
    CommandType,
    ReceivedCommand,
    SessionStatus,
)
from tariffs.engine_adapter import tariff_for_connector
from tariffs.models import Tariff, TariffType

LIVE_STATUSES = (SessionStatus.PENDING, SessionStatus.ACTIVE)


def command_idempotency_key(command: str, response_url: str) -> str:
    """The same request replayed carries the same response_url (unique per request, mod_commands)."""
    return hashlib.sha256(f"{command}\n{response_url}".encode()).hexdigest()


def _command_timeout() -> int:
    return int(settings.CHARGING_PENDING_SESSION_TIMEOUT)


def _location_for(partner: Partner, location_id: str) -> Location:
    locations = visible_to_partner(
        Location.objects.filter(location_id=location_id).select_related("party"), partner=partner
    )
    found = list(locations[:2])
    if len(found) != 1:
        # Two of our parties with the same location id cannot be told apart without the party
        # in the request; for the partner neither is "the" location.
        raise UnknownLocationError(f"Unknown location {location_id!r}.")
    return found[0]


@dataclass(frozen=True)
class _Answer:
    result: CommandResponseType
    message: str = ""
    session: ChargingSession | None = None


def command_receive(
    *, partner: Partner, command: str, body: Mapping[str, Any], version: str
) -> ReceivedCommand:
    """Record a command from a partner and answer it (mod_commands, Receiver POST).

    ``body`` is the validated request object. A replay (same command and response_url) returns the
    first answer and changes nothing. Raises ``CommandRefused`` for an OCPI error instead of a
    CommandResponse (unknown location, missing parameters).
    """
    response_url = str(body["response_url"])
    key = command_idempotency_key(command, response_url)
    existing = ReceivedCommand.objects.filter(partner=partner, idempotency_key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            answer = _command_answer(partner=partner, command=command, body=body)
            received = ReceivedCommand.objects.create(
                partner=partner,
                command=command,
                version=version,
                idempotency_key=key,
                request_body=_json_safe(body),
                response_url=response_url,
                response_result=answer.result,
                response_timeout=_command_timeout(),
                response_message=answer.message,
                session=answer.session,
            )
    except IntegrityError:
        # The same request arrived twice at once; the first one's answer stands. (A unique
        # constraint on the key, not a lock, because there is no row to lock before the first.)
        existing = ReceivedCommand.objects.filter(partner=partner, idempotency_key=key).first()
        if existing is None:
            raise
        return existing
    if received.response_result == CommandResponseType.ACCEPTED:
        # The charger gateway sends it after commit (chargers.receivers).
        events.command_accepted.send(sender=ReceivedCommand, command=received)
    return received


def _json_safe(body: Mapping[str, Any]) -> dict[str, Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): convert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [convert(v) for v in value]
        if isinstance(value, Decimal | datetime):
            return str(value)
        return value

    return convert(body)


def _command_answer(*, partner: Partner, command: str, body: Mapping[str, Any]) -> _Answer:
    if command == CommandType.START_SESSION:
        return _start_session(partner=partner, body=body)
    if command == CommandType.STOP_SESSION:
        return _stop_session(partner=partner, body=body)
    if command == CommandType.UNLOCK_CONNECTOR:
        return _unlock_connector(partner=partner, body=body)
    # RESERVE_NOW and CANCEL_RESERVATION: our chargers take no reservations (mod_commands,
    # CommandResponseType NOT_SUPPORTED: "not supported by this CPO, Charge Point, EVSE etc.").
    return _Answer(CommandResponseType.NOT_SUPPORTED, f"{command} is not supported by this CPO.")


def _evse_and_connector(
    location: Location, evse_uid: str | None, connector_id: str | None, *, lock: bool
) -> tuple[Evse | None, Connector | None, str]:
    """The EVSE and connector asked for, or a reason why they are not at this location."""
    evses = Evse.objects.filter(location=location).exclude(status=EvseStatus.REMOVED)
    if lock:
        evses = evses.select_for_update()
    if evse_uid is None:
        candidates = list(evses[:2])
        if len(candidates) != 1:
            return None, None, "Name the EVSE (evse_uid): this location has several."
        evse = candidates[0]
    else:
        evse = evses.filter(uid=evse_uid).first()
        if evse is None:
            return None, None, f"EVSE {evse_uid!r} is not at location {location.location_id!r}."
    connectors = list(evse.connectors.all())
    if connector_id is None:
        if not connectors:
            return evse, None, f"EVSE {evse.uid!r} has no connector."
        return evse, connectors[0], ""
    connector = next((c for c in connectors if c.connector_id == connector_id), None)
    if connector is None:
        return evse, None, f"Connector {connector_id!r} is not on EVSE {evse.uid!r}."
    return evse, connector, ""


def _start_session(*, partner: Partner, body: Mapping[str, Any]) -> _Answer:
    token: Mapping[str, Any] = body["token"]
    evse_uid, connector_id = body.get("evse_uid"), body.get("connector_id")
    authorization_reference = body.get("authorization_reference") or ""
    if connector_id is not None and evse_uid is None:
        # mod_commands, StartSession: evse_uid is "Required when connector_id is set".
        raise CommandParameterError("evse_uid is required when connector_id is given.")
    location = _location_for(partner, str(body["location_id"]))
    roles = {(role.country_code, role.party_id) for role in partner.roles.all()}
    if roles and (token["country_code"], token["party_id"]) not in roles:
        # mod_commands, StartSession: a Sender "SHALL only use Token that are owned by this eMSP".
        return _Answer(
            CommandResponseType.REJECTED,
            f"The token belongs to {token['country_code']}*{token['party_id']}, not to the sender.",
        )

    # Lock the EVSE: two START_SESSIONs for one EVSE must not both find it free.
    evse, connector, problem = _evse_and_connector(location, evse_uid, connector_id, lock=True)
    if (
        evse is not None
        and connector_id is None
        and Capability.START_SESSION_CONNECTOR_REQUIRED in evse.capabilities
    ):
        # mod_commands, StartSession.connector_id: required with START_SESSION_CONNECTOR_REQUIRED.
        raise CommandParameterError(
            f"connector_id is required: EVSE {evse.uid!r} has the capability "
            "START_SESSION_CONNECTOR_REQUIRED."
        )
    if problem or evse is None or connector is None:
        return _Answer(CommandResponseType.REJECTED, problem)
    if authorization_reference:
        # Checked with the EVSE locked, before its availability: a replay that waited for the
        # EVSE behind the start it replays finds that start's session here, not an occupied EVSE.
        earlier = _session_of_authorization(partner, authorization_reference)
        if earlier is not None:
            return _authorization_used(earlier, evse=evse, connector_id=connector_id, token=token)
    if evse.status != EvseStatus.AVAILABLE:
        return _Answer(CommandResponseType.REJECTED, f"EVSE {evse.uid!r} is not available ({evse.status}).")
    if ChargingSession.objects.filter(evse=evse, status__in=LIVE_STATUSES).exists():
        return _Answer(CommandResponseType.REJECTED, f"EVSE {evse.uid!r} is occupied by another session.")

    now = timezone.now()
    tariff_type = (
        TariffType.AD_HOC_PAYMENT
        if token.get("type") in (Token.TokenType.AD_HOC_USER, Token.TokenType.APP_USER)
        else None
    )
    tariffs = list(connector.tariffs.prefetch_related("elements").select_related("party"))
    tariff = tariff_for_connector(tariffs, at=now, tariff_type=tariff_type) if tariffs else None
    if tariff is None:
        return _Answer(
            CommandResponseType.REJECTED, f"No tariff applies to connector {connector.connector_id!r} now."
        )
    # mod_commands, StartSession: AD_HOC_USER and APP_USER tokens are not authorised in real
    # time; the token goes into the Session and the CDR as it came.
    known_token = Token.objects.filter(
        country_code=token["country_code"],
        party_id=token["party_id"],
        uid=token["uid"],
        type=token["type"],
    ).first()
    try:
        # A savepoint: losing the race below must leave the command's transaction usable.
        with transaction.atomic():
            session = _pending_session_create(
                partner=partner,
                location=location,
                evse=evse,
                connector=connector,
                token=token,
                known_token=known_token,
                authorization_reference=authorization_reference,
                tariff=tariff,
                now=now,
            )
    except IntegrityError:
        # The same reference on another EVSE, at the same time: PostgreSQL made this insert wait
        # on session_one_per_authorization until the other start committed. Answer as if this
        # request had come second (sequential and concurrent replays get the same answer).
        earlier = _session_of_authorization(partner, authorization_reference)
        if not authorization_reference or earlier is None:
            raise
        return _authorization_used(earlier, evse=evse, connector_id=connector_id, token=token)
    return _Answer(CommandResponseType.ACCEPTED, "", session)


def _session_of_authorization(partner: Partner, authorization_reference: str) -> ChargingSession | None:
    """The session a pre-authorisation started, if it did (at most one: session_one_per_authorization)."""
    return (
        ChargingSession.objects.filter(partner=partner, authorization_reference=authorization_reference)
        .exclude(status=SessionStatus.INVALID)
        .select_related("evse", "connector")
        .first()
    )


def _authorization_used(
    earlier: ChargingSession, *, evse: Evse, connector_id: str | None, token: Mapping[str, Any]
) -> _Answer:
    """The answer to a START_SESSION whose authorization_reference already started ``earlier``.

    The same start again (same EVSE, the connector if named, the same token) is a replay of an
    accepted command: ACCEPTED with that session, whatever its state, and its CommandResult follows
    the session's. Anything else would charge one pre-authorisation twice: REJECTED, naming where.
    """
    same_start = (
        earlier.evse_id == evse.pk
        and (connector_id is None or earlier.connector.connector_id == connector_id)
        and earlier.token_uid == token["uid"]
    )
    if same_start:
        return _Answer(
            CommandResponseType.ACCEPTED,
            f"This authorization_reference already started session {earlier.session_id}.",
            earlier,
        )
    return _Answer(
        CommandResponseType.REJECTED,
        f"authorization_reference {earlier.authorization_reference!r} already started session "
        f"{earlier.session_id} on EVSE {earlier.evse.uid!r} (connector {earlier.connector.connector_id!r}); "
        "one pre-authorisation starts one session.",
    )


def _pending_session_create(
    *,
    partner: Partner,
    location: Location,
    evse: Evse,
    connector: Connector,
    token: Mapping[str, Any],
    known_token: Token | None,
    authorization_reference: str,
    tariff: Tariff,
    now: datetime,
) -> ChargingSession:
    return ChargingSession.objects.create(
        party=location.party,
        partner=partner,
        token=known_token,
        token_country_code=token["country_code"],
        token_party_id=token["party_id"],
        token_uid=token["uid"],
        token_type=token["type"],
        token_contract_id=token["contract_id"],
        auth_method=AuthMethod.COMMAND,
        authorization_reference=authorization_reference,
        currency=tariff.currency,
        session_id=uuid.uuid4().hex,
        location=location,
        evse=evse,
        connector=connector,
        start_date_time=now,
        created_at=now,
        status=SessionStatus.PENDING,
        tariff=tariff,
        preauthorized_amount=tariff.preauthorization,
    )


def _stop_session(*, partner: Partner, body: Mapping[str, Any]) -> _Answer:
    session = (
        ChargingSession.objects.select_for_update()
        .filter(partner=partner, session_id=str(body["session_id"]))
        .first()
    )
    if session is None:
        # A session of another partner is unknown to this one (mod_commands, UNKNOWN_SESSION).
        return _Answer(CommandResponseType.UNKNOWN_SESSION, f"Unknown session {body['session_id']!r}.")
    if session.status not in LIVE_STATUSES:
        return _Answer(
            CommandResponseType.REJECTED, f"Session {session.session_id!r} has already ended.", session
        )
    if session.stop_requested_at is None:
        session.stop_requested_at = timezone.now()
        session.stop_reason = "STOP_SESSION command"
        session.save(update_fields=["stop_requested_at", "stop_reason"])
    return _Answer(CommandResponseType.ACCEPTED, "", session)


def _unlock_connector(*, partner: Partner, body: Mapping[str, Any]) -> _Answer:
    location = _location_for(partner, str(body["location_id"]))
    _evse, connector, problem = _evse_and_connector(
        location, str(body["evse_uid"]), str(body["connector_id"]), lock=False
    )
    if problem or connector is None:
        return _Answer(CommandResponseType.REJECTED, problem)
    return _Answer(CommandResponseType.ACCEPTED)


def command_result_set(*, command: ReceivedCommand, result: str, message: str = "") -> bool:
    """Record the charger's result of a command once, and queue its delivery to the partner.

    Claimed with a conditional UPDATE (result still empty) so that a late charger answer and the
    expiry sweep cannot both decide; returns whether this call decided.
    """
    with transaction.atomic():
        claimed = ReceivedCommand.objects.filter(pk=command.pk, result="").update(
            result=result, result_message=message[:512], result_at=timezone.now()
        )
        if claimed:
            command.refresh_from_db(fields=["result", "result_message", "result_at"])
            # Into the push outbox in the same transaction: retried, recorded, never lost.
            outbox.command_result(
                partner=command.partner,
                command_id=str(command.pk),
                response_url=command.response_url,
                result=command.command_result,
            )
    return bool(claimed)


def start_commands_awaiting_result(session: ChargingSession) -> list[ReceivedCommand]:
    """The accepted START_SESSIONs of a session still waiting for their result (a replay with a
    new response_url is a second command for the same session, and gets the same result)."""
    return list(
        ReceivedCommand.objects.filter(
            session=session,
            command=CommandType.START_SESSION,
            response_result=CommandResponseType.ACCEPTED,
            result="",
        ).order_by("created_at")
    )


def start_result_for_settled_session(*, command: ReceivedCommand) -> None:
    """A START_SESSION answered with a session that already started or failed gets that outcome."""
    session = command.session
    if session is None or session.status == SessionStatus.PENDING:
        return
    if session.status == SessionStatus.INVALID:
        command_result_set(command=command, result=CommandResultType.FAILED, message=session.stop_reason)
    else:
        command_result_set(command=command, result=CommandResultType.ACCEPTED)
