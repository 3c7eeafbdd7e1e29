"""A simulated charger per EVSE, for the demo (``make run``) and the tests.

It implements the gateway (``chargers.gateway.ChargerGateway``) and reports what a real charging
backend would report, through the same session services that the internal REST API calls:
started right after it accepts a start, meter values at its configured power on every tick, and
stopped when asked to stop. Its behaviour per EVSE comes from ``SimulatedCharger``; an EVSE
without one accepts and charges at 11 kW.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from chargers.gateway import GatewayAnswer, GatewayResult
from chargers.models import SimulatedCharger
from locations.models import Connector
from sessions.lifecycle import (
    MeterValue,
    session_charger_started,
    session_charger_stopped,
    session_meter_values,
)
from sessions.models import ChargingSession, MeterReading, SessionStatus

SECONDS_PER_HOUR = Decimal(3600)
KWH_PLACES = Decimal("0.0001")


def charger_for(evse_pk: int) -> SimulatedCharger:
    """The EVSE's simulated charger, or the default one (accepts, 11 kW) when none is configured."""
    return SimulatedCharger.objects.filter(evse_id=evse_pk).first() or SimulatedCharger(evse_id=evse_pk)


def meter_value_at(session: ChargingSession, charger: SimulatedCharger, at: datetime) -> MeterValue | None:
    """The meter value the charger shows at ``at``: the last register plus power x elapsed time."""
    last = MeterReading.objects.filter(session=session).order_by("-timestamp").first()
    if last is None or at <= last.timestamp:
        return None
    elapsed = Decimal((at - last.timestamp).total_seconds())
    energy = (last.energy_kwh + charger.power_kw * elapsed / SECONDS_PER_HOUR).quantize(KWH_PLACES)
    current = (
        (charger.power_kw * 1000 / charger.voltage_v).quantize(Decimal("0.01")) if charger.voltage_v else None
    )
    return MeterValue(timestamp=at, energy_kwh=energy, power_kw=charger.power_kw, current_a=current)


class SimulatedChargerGateway:
    """The gateway used when CHARGER_GATEWAY points here (the default)."""

    def start(self, session: ChargingSession) -> GatewayResult:
        charger = charger_for(session.evse_id)
        behaviour = charger.behaviour
        if behaviour == SimulatedCharger.Behaviour.REJECT:
            return GatewayResult(GatewayAnswer.REJECTED, "The charger rejected the remote start.")
        if behaviour == SimulatedCharger.Behaviour.TIMEOUT:
            return GatewayResult(GatewayAnswer.NO_ANSWER)
        if behaviour == SimulatedCharger.Behaviour.NO_VEHICLE:
            # Accepted, but no vehicle ever connects: the pending session expires (mod_commands,
            # "START_SESSION failed": accepted, no session because the EV was not plugged in).
            return GatewayResult(GatewayAnswer.ACCEPTED)
        session_charger_started(session=session, timestamp=timezone.now(), meter_start_kwh=Decimal(0))
        return GatewayResult(GatewayAnswer.ACCEPTED)

    def stop(self, session: ChargingSession) -> GatewayResult:
        charger = charger_for(session.evse_id)
        if charger.behaviour == SimulatedCharger.Behaviour.TIMEOUT:
            return GatewayResult(GatewayAnswer.NO_ANSWER)
        session.refresh_from_db()
        if session.status != SessionStatus.ACTIVE:
            return GatewayResult(GatewayAnswer.REJECTED, f"The session is {session.status}.")
        now = timezone.now()
        value = meter_value_at(session, charger, now)
        session_charger_stopped(
            session=session,
            timestamp=now,
            meter_stop_kwh=value.energy_kwh if value is not None else None,
            reason=session.stop_reason or "Stopped on request.",
        )
        return GatewayResult(GatewayAnswer.ACCEPTED)

    def unlock(self, connector: Connector) -> GatewayResult:
        charger = charger_for(connector.evse_id)
        if charger.behaviour == SimulatedCharger.Behaviour.TIMEOUT:
            return GatewayResult(GatewayAnswer.NO_ANSWER)
        if charger.behaviour == SimulatedCharger.Behaviour.REJECT:
            return GatewayResult(GatewayAnswer.REJECTED, "The charger refused to unlock.")
        return GatewayResult(GatewayAnswer.ACCEPTED)


def simulated_chargers_tick(*, now: datetime | None = None) -> int:
    """Report a meter value for every ACTIVE session on a simulated charger; returns how many."""
    now = now or timezone.now()
    reported = 0
    for session in ChargingSession.objects.filter(
        status=SessionStatus.ACTIVE, stop_requested_at__isnull=True
    ):
        charger = charger_for(session.evse_id)
        value = meter_value_at(session, charger, now)
        if value is None:
            continue
        session_meter_values(session=session, values=[value])
        reported += 1
    return reported
