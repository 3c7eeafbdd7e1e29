"""Writes for the paid charging flow: commands, the session lifecycle, pricing and the CDR.

The lifecycle (mod_sessions, SessionStatus): PENDING when START_SESSION is accepted, ACTIVE when
the charger reports the start, COMPLETED when it reports the stop, INVALID when the start fails or
the charger never starts (the pending session expires). Every transition locks the session row
(``select_for_update``) so that a charger event, a command and the expiry sweep cannot interleave;
a replayed event finds the transition already made and changes nothing.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from cpo_portal.enqueue import enqueue_on_commit
from locations.models import Capability, Connector, Evse, EvseStatus, Location, PowerType
from partners.models import Partner, Party, Token
from sessions.models import (
    AuthMethod,
    Cdr,
    ChargingSession,
    CommandResponseType,
    CommandResultType,
    CommandType,
    MeterReading,
    ReceivedCommand,
    SessionStatus,
)
from sessions.signals import cdr_created, session_changed
from tariffs import engine
from tariffs.canonical import tariff_snapshot_for_cdr
from tariffs.engine_adapter import (
    amount_columns,
    charging_periods_json,
    price_readings,
    price_readings_now,
    tariff_for_connector,
)
from tariffs.models import Tariff, TariffType

logger = logging.getLogger(__name__)

LIVE_STATUSES = (SessionStatus.PENDING, SessionStatus.ACTIVE)


# -- errors ------------------------------------------------------------------------------------------------


class CommandRefused(Exception):
    """A command that cannot even be answered with a CommandResponse; the view sends an OCPI error."""

    status_code = 2000

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownLocationError(CommandRefused):
    """status_codes, 2003: "Command: START_SESSION with unknown location"."""

    status_code = 2003


class CommandParameterError(CommandRefused):
    """status_codes, 2001: invalid or missing parameters."""

    status_code = 2001


class SessionStateError(Exception):
    """A charger event that does not fit the session's state (such as meter values after the stop)."""


class ImplausibleMeterValue(SessionStateError):
    """A meter register that cannot be true: lower than an earlier one, or risen faster than the
    connector can deliver. Nothing of the report is stored."""


# -- notifications (the push outbox hooks in here) ---------------------------------------------------------


def notify_session_changed(session: ChargingSession, *, created: bool = False) -> None:
    """Tell partners, after commit, that a session was created or changed (Session PUT/PATCH)."""
    session_pk = session.pk
    transaction.on_commit(
        lambda: session_changed.send(sender=ChargingSession, session_pk=session_pk, created=created)
    )


def notify_cdr_created(cdr: Cdr) -> None:
    """Tell partners, after commit, that a CDR exists (CDR POST, mod_cdrs Receiver interface)."""
    cdr_pk = cdr.pk
    transaction.on_commit(lambda: cdr_created.send(sender=Cdr, cdr_pk=cdr_pk))


# -- commands ----------------------------------------------------------------------------------------------


def command_idempotency_key(command: str, response_url: str) -> str:
    """The same request replayed carries the same response_url (unique per request, mod_commands)."""
    return hashlib.sha256(f"{command}\n{response_url}".encode()).hexdigest()


def _command_timeout() -> int:
    return int(settings.CHARGING_PENDING_SESSION_TIMEOUT)


def _parties_of(partner: Partner) -> Iterable[Party] | None:
    """Our parties whose data this partner may use; None means all (Partner.parties help text)."""
    parties = list(partner.parties.all())
    return parties or None


def _location_for(partner: Partner, location_id: str) -> Location:
    locations = Location.objects.filter(location_id=location_id).select_related("party")
    parties = _parties_of(partner)
    if parties is not None:
        locations = locations.filter(party__in=parties)
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
        _dispatch_to_charger(received)
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


def _dispatch_to_charger(received: ReceivedCommand) -> None:
    from chargers.tasks import charger_command_dispatch

    # Redis down: the command stays unsent and chargers.tasks.charger_commands_send_unsent sends it.
    command_pk = received.pk
    enqueue_on_commit("charger command", lambda: charger_command_dispatch.delay(command_pk))


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
    notify_session_changed(session, created=True)
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
    from pushes.services import command_result_queued

    with transaction.atomic():
        claimed = ReceivedCommand.objects.filter(pk=command.pk, result="").update(
            result=result, result_message=message[:512], result_at=timezone.now()
        )
        if claimed:
            command.refresh_from_db(fields=["result", "result_message", "result_at"])
            # Into the push outbox in the same transaction: retried, recorded, never lost.
            command_result_queued(
                partner=command.partner,
                command_id=str(command.pk),
                response_url=command.response_url,
                result=command.command_result,
            )
    return bool(claimed)


def _start_commands_of(session: ChargingSession) -> list[ReceivedCommand]:
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


# -- the session lifecycle ---------------------------------------------------------------------------------


def _locked(session: ChargingSession) -> ChargingSession:
    # of=("self",): lock the session row only; the tariff is a nullable (outer) join.
    return (
        ChargingSession.objects.select_for_update(of=("self",))
        .select_related("location", "tariff", "connector")
        .get(pk=session.pk)
    )


def _set_evse_status(evse_pk: int, status: str) -> None:
    evse = Evse.objects.get(pk=evse_pk)
    if evse.status != status:
        evse.status = status
        evse.save(update_fields=["status"])


@transaction.atomic
def session_charger_started(
    *, session: ChargingSession, timestamp: datetime, meter_start_kwh: Decimal, meter_id: str = ""
) -> ChargingSession:
    """The charger started charging: PENDING becomes ACTIVE and the START_SESSION result is ACCEPTED."""
    session = _locked(session)
    if session.status == SessionStatus.ACTIVE:
        return session  # a replayed event
    if session.status != SessionStatus.PENDING:
        raise SessionStateError(f"Session {session.session_id} is {session.status}; it cannot start now.")
    session.status = SessionStatus.ACTIVE
    session.start_date_time = timestamp
    session.meter_id = meter_id[:255]
    session.save(update_fields=["status", "start_date_time", "meter_id"])
    MeterReading.objects.create(session=session, timestamp=timestamp, energy_kwh=meter_start_kwh)
    _reprice(session)
    _set_evse_status(session.evse_id, EvseStatus.CHARGING)
    for command in _start_commands_of(session):
        command_result_set(command=command, result=CommandResultType.ACCEPTED)
    notify_session_changed(session)
    return session


@transaction.atomic
def session_start_failed(
    *, session: ChargingSession, result: str = CommandResultType.FAILED, message: str = ""
) -> ChargingSession:
    """The charger did not start the session: PENDING becomes INVALID and the result says why."""
    session = _locked(session)
    if session.status != SessionStatus.PENDING:
        return session  # started or failed already: a late or replayed answer changes nothing
    session.status = SessionStatus.INVALID
    session.end_date_time = max(timezone.now(), session.start_date_time)
    session.stop_reason = message[:255]
    session.save(update_fields=["status", "end_date_time", "stop_reason"])
    for command in _start_commands_of(session):
        command_result_set(command=command, result=result, message=message)
    notify_session_changed(session)
    return session


def sessions_expire_pending(*, now: datetime | None = None) -> int:
    """PENDING sessions older than CHARGING_PENDING_SESSION_TIMEOUT become INVALID (result TIMEOUT)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=int(settings.CHARGING_PENDING_SESSION_TIMEOUT))
    expired = 0
    for session in ChargingSession.objects.filter(status=SessionStatus.PENDING, created_at__lt=cutoff):
        before = session.status
        updated = session_start_failed(
            session=session,
            result=CommandResultType.TIMEOUT,
            message="The charger did not start the session in time (no vehicle plugged in or no answer).",
        )
        if updated.status == SessionStatus.INVALID and before == SessionStatus.PENDING:
            expired += 1
    return expired


@dataclass(frozen=True)
class MeterValue:
    """One meter value as a charger reports it."""

    timestamp: datetime
    energy_kwh: Decimal
    power_kw: Decimal | None = None
    current_a: Decimal | None = None
    charging: bool = True


# A charger may deliver a little over its rated power, and charger clocks and meter resolution
# blur short intervals: 10 % over the connector's power plus 0.1 kWh (a register shown with one
# decimal) is still believed. Anything above is a faulty meter or a forged report.
METER_POWER_TOLERANCE = Decimal("0.10")
METER_ENERGY_SLACK_KWH = Decimal("0.1")
_PHASES: dict[str, int] = {
    PowerType.AC_1_PHASE.value: 1,
    PowerType.AC_2_PHASE.value: 2,
    PowerType.AC_2_PHASE_SPLIT.value: 2,
    PowerType.AC_3_PHASE.value: 3,
    PowerType.DC.value: 1,
}


def _hours(delta: timedelta) -> Decimal:
    seconds = Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 1_000_000
    return seconds / 3600


def connector_max_power_kw(connector: Connector) -> Decimal:
    """The most the connector can deliver, kW: max_electric_power, else volts x amperes x phases.

    mod_locations, Connector: max_voltage is line to neutral for AC_3_PHASE, and max_electric_power
    is set when it is lower than what voltage and amperage give.
    """
    if connector.max_electric_power:
        return Decimal(connector.max_electric_power) / 1000
    phases = _PHASES.get(str(connector.power_type), 3)
    return Decimal(connector.max_voltage) * Decimal(connector.max_amperage) * phases / 1000


def _check_plausible(
    session: ChargingSession, stored: Iterable[tuple[datetime, Decimal]], values: Iterable[MeterValue]
) -> None:
    """Refuse new values that go backwards or rise faster than the connector's power allows.

    Every pair of neighbouring registers in time with a new value on either side is checked, so a
    value in the middle of a batch or between stored readings is judged against both neighbours.
    Stored readings win over a new value at the same instant (that value is a replay, skipped).
    """
    registers: dict[datetime, tuple[Decimal, bool]] = {at: (energy, False) for at, energy in stored}
    for value in values:
        registers.setdefault(value.timestamp, (value.energy_kwh, True))
    max_kw = connector_max_power_kw(session.connector)
    ordered = sorted(registers.items())
    for (before_at, (before, before_new)), (after_at, (after, after_new)) in itertools.pairwise(ordered):
        if not (before_new or after_new):
            continue
        if after < before:
            raise ImplausibleMeterValue(
                f"The meter went backwards ({after} kWh at {after_at.isoformat()} after {before} kWh "
                f"at {before_at.isoformat()})."
            )
        possible = (
            max_kw * _hours(after_at - before_at) * (1 + METER_POWER_TOLERANCE) + METER_ENERGY_SLACK_KWH
        )
        if after - before > possible:
            raise ImplausibleMeterValue(
                f"The meter rose {after - before} kWh between {before_at.isoformat()} and "
                f"{after_at.isoformat()}; connector {session.connector.connector_id!r} delivers at most "
                f"{max_kw.normalize():f} kW, {possible.quantize(Decimal('0.0001'))} kWh in that time."
            )


def _add_readings(session: ChargingSession, values: Iterable[MeterValue]) -> None:
    values = sorted(values, key=lambda value: value.timestamp)
    if not values:
        return
    for value in values:
        if value.timestamp < session.start_date_time:
            raise SessionStateError(
                f"A meter value at {value.timestamp.isoformat()} predates the session start."
            )
    stored = MeterReading.objects.filter(session=session).values_list("timestamp", "energy_kwh")
    _check_plausible(session, stored, values)
    # A replayed meter value hits the (session, timestamp) constraint and is skipped.
    MeterReading.objects.bulk_create(
        [
            MeterReading(
                session=session,
                timestamp=value.timestamp,
                energy_kwh=value.energy_kwh,
                power_kw=value.power_kw,
                current_a=value.current_a,
                charging=value.charging,
            )
            for value in values
        ],
        ignore_conflicts=True,
    )


def _reprice(
    session: ChargingSession, *, end: datetime | None = None, now: datetime | None = None
) -> engine.SessionPrice | None:
    """Recompute energy, charging periods and the live total_cost from all readings.

    The stored figures are as of the last reading (what a CDR ending there says). Given a `now`
    after the last reading, the price returned is the one at `now` instead, its energy
    extrapolated since that reading at the last known power.
    """
    readings = list(session.meter_readings.order_by("timestamp"))
    if session.tariff is None or not readings:
        return None
    time_zone = session.location.time_zone
    price = price_readings(session.tariff, readings, time_zone=time_zone, end=end)
    session.kwh = price.total_energy
    session.charging_periods = charging_periods_json(price, readings)
    columns = amount_columns(price.total_cost, "total_cost")
    session.total_cost_excl_vat = columns["total_cost_excl_vat"]
    session.total_cost_incl_vat = columns["total_cost_incl_vat"]
    session.total_cost_taxes = columns["total_cost_taxes"]
    session.save(
        update_fields=[
            "kwh",
            "charging_periods",
            "total_cost_excl_vat",
            "total_cost_incl_vat",
            "total_cost_taxes",
        ]
    )
    if now is not None and now > readings[-1].timestamp:
        return price_readings_now(session.tariff, readings, time_zone=time_zone, now=now)
    return price


def _live_cost(session: ChargingSession) -> Decimal | None:
    """The card is charged the amount after taxes; without taxes known, the amount before them."""
    if session.total_cost_incl_vat is not None:
        return session.total_cost_incl_vat
    return session.total_cost_excl_vat


def _charged(price: engine.SessionPrice) -> Decimal | None:
    """What the card is charged of a price: after taxes, else before them (as `_live_cost`)."""
    total = price.total_cost
    return total.after_taxes if total.after_taxes is not None else total.before_taxes


def _preauthorisation_reached(
    session: ChargingSession, previous_cost: Decimal | None, now_cost: Decimal | None
) -> bool:
    """Whether to stop now so that the cost never passes what was pre-authorised on the card.

    The limit is preauthorize_amount, else max_price (Tariff.preauthorization), less
    CHARGING_PREAUTH_STOP_MARGIN. The cost compared is the price now, energy extrapolated since
    the last reading (`now_cost`), not the stored one as of that reading, which lags when
    readings come late. Meter values arrive in steps, so we stop once the cost has reached the
    limit, or once one more step like the last one would pass it.
    """
    cost = _live_cost(session)
    if now_cost is not None and (cost is None or now_cost > cost):
        cost = now_cost
    if session.preauthorized_amount is None or cost is None:
        return False
    limit = session.preauthorized_amount - Decimal(str(settings.CHARGING_PREAUTH_STOP_MARGIN))
    step = max((_live_cost(session) or Decimal(0)) - (previous_cost or Decimal(0)), Decimal(0))
    return cost >= limit or cost + step > limit


@transaction.atomic
def session_meter_values(*, session: ChargingSession, values: Iterable[MeterValue]) -> ChargingSession:
    """Meter values from the charger: store, reprice, tell partners, stop before the pre-auth limit."""
    session = _locked(session)
    if session.status != SessionStatus.ACTIVE:
        raise SessionStateError(
            f"Session {session.session_id} is {session.status}; it takes no meter values."
        )
    previous_cost = _live_cost(session)
    _add_readings(session, values)
    now = timezone.now()
    price_now = _reprice(session, now=now)
    now_cost = None if price_now is None else _charged(price_now)
    notify_session_changed(session)
    if session.stop_requested_at is None and _preauthorisation_reached(session, previous_cost, now_cost):
        session.stop_requested_at = now
        shown = max(filter(None, (_live_cost(session), now_cost)), default=None)
        session.stop_reason = (
            f"Cost {shown} {session.currency} is about to reach the pre-authorised "
            f"{session.preauthorized_amount} (less the margin)."
        )
        session.save(update_fields=["stop_requested_at", "stop_reason"])
        from chargers.tasks import charger_session_stop

        # Redis down: chargers.tasks.charger_stops_retry asks again (stop_requested_at is set).
        session_pk = session.pk
        enqueue_on_commit("charger stop", lambda: charger_session_stop.delay(session_pk))
    return session


@transaction.atomic
def session_charger_stopped(
    *,
    session: ChargingSession,
    timestamp: datetime,
    meter_stop_kwh: Decimal | None = None,
    reason: str = "",
) -> ChargingSession:
    """The charger stopped: the session is COMPLETED and its CDR is created at once.

    A stop reported for a session that never started makes it INVALID instead.
    """
    session = _locked(session)
    if session.status == SessionStatus.COMPLETED:
        return session  # a replayed event
    if session.status == SessionStatus.PENDING:
        return session_start_failed(session=session, message=reason or "Stopped before it started.")
    if session.status != SessionStatus.ACTIVE:
        raise SessionStateError(f"Session {session.session_id} is {session.status}; it cannot stop now.")
    if timestamp < session.start_date_time:
        # A session ends after it starts (constraint session_ends_after_start): refuse the event.
        raise SessionStateError(
            f"Session {session.session_id} cannot stop at {timestamp.isoformat()}, "
            f"before it started at {session.start_date_time.isoformat()}."
        )
    if meter_stop_kwh is not None:
        _add_readings(session, [MeterValue(timestamp=timestamp, energy_kwh=meter_stop_kwh)])
    last = session.meter_readings.order_by("-timestamp").first()
    end = max(timestamp, last.timestamp) if last is not None else timestamp
    session.status = SessionStatus.COMPLETED
    session.end_date_time = end
    if reason and not session.stop_reason:
        session.stop_reason = reason[:255]
    session.save(update_fields=["status", "end_date_time", "stop_reason"])
    _reprice(session, end=end)
    _set_evse_status(session.evse_id, EvseStatus.AVAILABLE)
    notify_session_changed(session)
    cdr_create_from_session(session=session)
    return session


# -- CDRs ----------------------------------------------------------------------------------------------------


def cdr_location_snapshot(session: ChargingSession) -> dict[str, Any]:
    """mod_cdrs, CdrLocation: the location, EVSE and connector as they were when charged."""
    location, evse, connector = session.location, session.evse, session.connector
    snapshot: dict[str, Any] = {
        "id": location.location_id,
        "address": location.address,
        "city": location.city,
        "country": location.country,
        "coordinates": {"latitude": str(location.latitude), "longitude": str(location.longitude)},
        "evse_uid": evse.uid,
        "evse_id": evse.evse_id or evse.uid,
        "connector_id": connector.connector_id,
        "connector_standard": connector.standard,
        "connector_format": connector.format,
        "connector_power_type": connector.power_type,
    }
    for field in ("name", "postal_code", "state"):
        if getattr(location, field):
            snapshot[field] = getattr(location, field)
    return snapshot


def _invoice_reference(party: Party, cdr_id: str) -> str:
    # mod_cdrs, CDR.invoice_reference_id: set only when the CPO invoices (Party.invoice_creator).
    return f"INV-{cdr_id}"[:39] if party.invoice_creator == Party.InvoiceCreator.CPO else ""


def cdr_create_from_session(*, session: ChargingSession) -> Cdr:
    """Create the CDR of a COMPLETED session: priced by the engine from the same readings.

    Idempotent: a session has one original CDR (its cdr_id is the session id).
    """
    existing = Cdr.objects.filter(party=session.party, cdr_id=session.session_id).first()
    if existing is not None:
        return existing
    if session.status != SessionStatus.COMPLETED or session.end_date_time is None:
        raise SessionStateError(f"Session {session.session_id} is {session.status}; it has no CDR yet.")
    if session.tariff is None:
        raise SessionStateError(f"Session {session.session_id} has no tariff to price it.")
    readings = list(session.meter_readings.order_by("timestamp"))
    tariff = (
        Tariff.objects.select_related("party")
        .prefetch_related("elements", "alt_texts")
        .get(pk=session.tariff_id)
    )
    price = price_readings(tariff, readings, time_zone=session.location.time_zone, end=session.end_date_time)
    columns: dict[str, Any] = amount_columns(price.total_cost, "total_cost")
    for subtotal in ("fixed", "energy", "time", "parking", "reservation"):
        amount: engine.Amount = getattr(price, f"total_{subtotal}_cost")
        columns |= amount_columns(amount, f"total_{subtotal}_cost")
    cdr = Cdr.objects.create(
        party=session.party,
        partner=session.partner,
        cdr_id=session.session_id,
        session=session,
        token=session.token,
        token_country_code=session.token_country_code,
        token_party_id=session.token_party_id,
        token_uid=session.token_uid,
        token_type=session.token_type,
        token_contract_id=session.token_contract_id,
        auth_method=session.auth_method,
        authorization_reference=session.authorization_reference,
        meter_id=session.meter_id,
        currency=session.currency,
        start_date_time=session.start_date_time,
        end_date_time=session.end_date_time,
        cdr_location=cdr_location_snapshot(session),
        tariffs=[tariff_snapshot_for_cdr(tariff)],
        charging_periods=charging_periods_json(price, readings),
        total_energy=price.total_energy,
        total_time=price.total_time.quantize(Decimal("0.000001")),
        total_parking_time=price.total_parking_time.quantize(Decimal("0.000001")),
        invoice_reference_id=_invoice_reference(session.party, session.session_id),
        **columns,
    )
    _link_financial_advice(cdr)
    notify_cdr_created(cdr)
    return cdr


def _link_financial_advice(cdr: Cdr) -> None:
    """A FAC that arrived before its CDR is linked now (same partner, same authorization_reference)."""
    if not cdr.authorization_reference:
        return
    from payments.models import FinancialAdviceConfirmation

    FinancialAdviceConfirmation.objects.filter(
        partner=cdr.partner, authorization_reference=cdr.authorization_reference, cdr__isnull=True
    ).update(cdr=cdr, session=cdr.session)


_NEGATED_FIELDS = tuple(
    f"total_{part}_{suffix}"
    for part in ("cost", "fixed_cost", "energy_cost", "time_cost", "parking_cost", "reservation_cost")
    for suffix in ("excl_vat", "incl_vat")
)
_TAX_FIELDS = tuple(
    f"total_{part}_taxes"
    for part in ("cost", "fixed_cost", "energy_cost", "time_cost", "parking_cost", "reservation_cost")
)


def _copy_fields(cdr: Cdr) -> dict[str, Any]:
    names = [
        field.name
        for field in Cdr._meta.concrete_fields
        if field.name not in ("id", "cdr_id", "last_updated", "credit", "credit_reference_id", "remark")
    ]
    return {name: getattr(cdr, name) for name in names}


@transaction.atomic
def cdr_credit_and_correct(
    *, cdr: Cdr, corrections: Mapping[str, Any] | None = None, remark: str = ""
) -> tuple[Cdr, Cdr | None]:
    """Correct a CDR the only way OCPI allows: a credit CDR that cancels it, then a corrected CDR.

    mod_cdrs, "Credit CDRs": the credit CDR has negative amounts, ``credit`` true and
    ``credit_reference_id`` the id of the CDR it credits. ``corrections`` are field values of the
    new CDR (such as total_cost_incl_vat); None credits without a replacement.
    """
    cdr = Cdr.objects.select_for_update().get(pk=cdr.pk)
    if cdr.credit:
        raise SessionStateError(f"CDR {cdr.cdr_id} is a credit CDR; it cannot be credited.")
    if Cdr.objects.filter(party=cdr.party, credit=True, credit_reference_id=cdr.cdr_id).exists():
        raise SessionStateError(f"CDR {cdr.cdr_id} has already been credited.")
    base = _copy_fields(cdr)
    credit_values = dict(base)
    for name in _NEGATED_FIELDS:
        if credit_values[name] is not None:
            credit_values[name] = -credit_values[name]
    for name in _TAX_FIELDS:
        credit_values[name] = [
            {**line, "amount": str(-Decimal(str(line["amount"])))} for line in credit_values[name]
        ]
    sequence = Cdr.objects.filter(party=cdr.party, cdr_id__startswith=f"{cdr.cdr_id}-").count() + 1
    credit = Cdr.objects.create(
        **credit_values,
        cdr_id=f"{cdr.cdr_id}-C{sequence}"[:39],
        credit=True,
        credit_reference_id=cdr.cdr_id,
        remark=(remark or f"Credits CDR {cdr.cdr_id}.")[:255],
    )
    notify_cdr_created(credit)
    corrected = None
    if corrections is not None:
        unknown = set(corrections) - set(base)
        if unknown:
            raise ValueError(f"Not CDR fields: {', '.join(sorted(unknown))}.")
        corrected_id = f"{cdr.cdr_id}-R{sequence}"[:39]
        corrected_values = {**base, **corrections}
        if cdr.invoice_reference_id:
            corrected_values["invoice_reference_id"] = _invoice_reference(cdr.party, corrected_id)
        corrected = Cdr.objects.create(
            **corrected_values,
            cdr_id=corrected_id,
            remark=(remark or f"Corrects CDR {cdr.cdr_id}.")[:255],
        )
        notify_cdr_created(corrected)
    return credit, corrected


__all__ = [
    "CommandParameterError",
    "CommandRefused",
    "ImplausibleMeterValue",
    "MeterValue",
    "SessionStateError",
    "UnknownLocationError",
    "cdr_create_from_session",
    "cdr_credit_and_correct",
    "command_receive",
    "command_result_set",
    "notify_cdr_created",
    "notify_session_changed",
    "session_charger_started",
    "session_charger_stopped",
    "session_meter_values",
    "session_start_failed",
    "sessions_expire_pending",
]
