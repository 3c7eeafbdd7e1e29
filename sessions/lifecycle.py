"""The session lifecycle as the charger reports it: started, meter values, stopped, failed to start.

mod_sessions, SessionStatus: PENDING when START_SESSION is accepted (``sessions.commands``), ACTIVE
when the charger reports the start, COMPLETED when it reports the stop (the CDR is created at
once, ``sessions.cdrs``), INVALID when the start fails or the charger never starts (the pending
session expires). Every transition locks the session row (``select_for_update``) so that a
charger event, a command and the expiry sweep cannot interleave; a replayed event finds the
transition already made and changes nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from locations.models import Connector, Evse, EvseStatus, PowerType
from sessions import events
from sessions.cdrs import cdr_create_from_session
from sessions.commands import command_result_set, start_commands_awaiting_result
from sessions.exceptions import ImplausibleMeterValue, SessionStateError
from sessions.models import ChargingSession, CommandResultType, MeterReading, SessionStatus
from tariffs import engine
from tariffs.engine_adapter import amount_columns, charging_periods_json, price_readings, price_readings_now


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
    for command in start_commands_awaiting_result(session):
        command_result_set(command=command, result=CommandResultType.ACCEPTED)
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
    for command in start_commands_awaiting_result(session):
        command_result_set(command=command, result=result, message=message)
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
    session: ChargingSession,
    *,
    end: datetime | None = None,
    now: datetime | None = None,
    readings: list[MeterReading] | None = None,
) -> engine.SessionPrice | None:
    """Recompute energy, charging periods and the live total_cost from all readings.

    The stored figures are as of the last reading (what a CDR ending there says). Given a `now`
    after the last reading, the price returned is the one at `now` instead, its energy
    extrapolated since that reading at the last known power.
    """
    if readings is None:
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
    if session.stop_requested_at is None and _preauthorisation_reached(session, previous_cost, now_cost):
        session.stop_requested_at = now
        shown = max(filter(None, (_live_cost(session), now_cost)), default=None)
        session.stop_reason = (
            f"Cost {shown} {session.currency} is about to reach the pre-authorised "
            f"{session.preauthorized_amount} (less the margin)."
        )
        session.save(update_fields=["stop_requested_at", "stop_reason"])
        # The charger gateway asks the charger after commit (chargers.receivers).
        events.session_stop_requested.send(sender=ChargingSession, session=session)
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
    readings = list(session.meter_readings.order_by("timestamp"))
    price = _reprice(session, end=end, readings=readings)
    _set_evse_status(session.evse_id, EvseStatus.AVAILABLE)
    # Priced once: the CDR takes the price just stored on the session (same readings, same end).
    cdr_create_from_session(session=session, price=price, readings=readings)
    return session
