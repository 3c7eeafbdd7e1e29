"""Readiness for the terminal reads the partner copies: ready once the PTP acknowledged our latest state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from locations.models import EvseStatus
from locations.readiness import location_readiness
from partners.models import Partner
from ptp_simulator.process import SimulatorProcess
from pushes.models import OutboxMessage
from pushes.readiness import PARTNERS_UP_TO_DATE
from tests.factories import ConnectorFactory
from tests.pushes.conftest import deliver_due_until


def _partner_check(location: Any) -> Any:
    (check,) = [check for check in location_readiness(location).checks if check.label == PARTNERS_UP_TO_DATE]
    return check


def test_the_location_is_current_at_the_partner_only_after_it_acknowledged_the_change(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    with committed():
        connector = ConnectorFactory()
    evse, location = connector.evse, connector.evse.location
    deliver_due_until(
        lambda: not OutboxMessage.objects.filter(state__in=("PENDING", "IN_FLIGHT")).exists(), committed
    )

    assert _partner_check(location).ok, _partner_check(location).missing

    sim.control.fault("/ocpi/2.2.1/locations", "http_500")
    with committed():
        evse.status = EvseStatus.CHARGING
        evse.save(update_fields=["status"])

    check = _partner_check(location)
    assert not check.ok
    assert check.missing == (f"Payter holds an older state of evse {evse.uid}",)
