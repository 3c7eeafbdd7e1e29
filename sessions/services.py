"""Writes for the paid charging flow: commands, the session lifecycle, pricing and the CDR.

The lifecycle (mod_sessions, SessionStatus): PENDING when START_SESSION is accepted, ACTIVE when
the charger reports the start, COMPLETED when it reports the stop, INVALID when the start fails or
the charger never starts (the pending session expires). Every transition locks the session row
(``select_for_update``) so that a charger event, a command and the expiry sweep cannot interleave;
a replayed event finds the transition already made and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
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

from locations.models import Capability, Connector, Evse, EvseStatus, Location
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
from tariffs.models import Tariff, TariffType
from tariffs.pricing import (
    amount_columns,
    charging_periods_json,
    price_readings,
    price_readings_now,
    tariff_for_connector,
)

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

    charger_command_dispatch.delay_on_commit(received.pk)


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

    if authorization_reference:
        # The same pre-authorisation started again (a replay with a new response_url): the
        # session it started is the answer; a second one would charge the card twice.
        earlier = (
            ChargingSession.objects.filter(partner=partner, authorization_reference=authorization_reference)
            .exclude(status=SessionStatus.INVALID)
            .first()
        )
        if earlier is not None:
            return _Answer(
                CommandResponseType.ACCEPTED,
                "This authorization_reference already started a session.",
                earlier,
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
    session = ChargingSession.objects.create(
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
    notify_session_changed(session, created=True)
    return _Answer(CommandResponseType.ACCEPTED, "", session)


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
        .select_related("location", "tariff")
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


def _add_readings(session: ChargingSession, values: Iterable[MeterValue]) -> None:
    values = sorted(values, key=lambda value: value.timestamp)
    if not values:
        return
    last = session.meter_readings.order_by("-timestamp").first()
    for value in values:
        if value.timestamp < session.start_date_time:
            raise SessionStateError(
                f"A meter value at {value.timestamp.isoformat()} predates the session start."
            )
        if last is not None and value.timestamp > last.timestamp and value.energy_kwh < last.energy_kwh:
            raise SessionStateError(
                f"The meter went backwards ({value.energy_kwh} kWh after {last.energy_kwh} kWh)."
            )
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

        charger_session_stop.delay_on_commit(session.pk)
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


def tariff_snapshot(tariff: Tariff) -> dict[str, Any]:
    """The tariff as it is now, for the CDR: the same canonical (2.3.0-shaped) form as the Tariffs
    module serves, written to JSON (numbers exact in the text, read back as JSON numbers)."""
    from ocpi_api.formatting import dumps
    from ocpi_api.modules.tariffs import tariff_canonical

    return json.loads(dumps(tariff_canonical(tariff)))


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
        tariffs=[tariff_snapshot(tariff)],
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
