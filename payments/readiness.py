"""Readiness for the terminal, seen from the terminals: which locations and EVSEs have one, and
whether a terminal is ready (assigned, everything it serves ready, the PTP holding our latest
state of it). The checklists of locations, EVSEs and connectors are locations.readiness's; this
module adds the terminal check to them (registered in PaymentsConfig.ready())."""

from __future__ import annotations

from typing import Any

from locations import readiness
from locations.models import Connector, Evse, EvseStatus, Location
from payments.models import PaymentTerminal

ASSIGNED = "Assigned to a payment terminal"


class TerminalAssignment:
    """A location is served when a terminal is assigned to it or to each of its EVSEs; an EVSE (and
    its connectors) when one is assigned to it or to its location."""

    def checks(self, obj: Any) -> list[readiness.Check]:
        if isinstance(obj, Connector):
            obj = obj.evse
        if isinstance(obj, Evse):
            served = obj.terminals.exists() or obj.location.terminals.exists()
            missing = () if served else (f"No terminal is assigned to EVSE {obj} or its location",)
            return [readiness.Check(ASSIGNED, served, missing)]
        if isinstance(obj, Location):
            if obj.terminals.exists():
                return [readiness.Check(ASSIGNED, True)]
            unserved = [
                str(evse)
                for evse in obj.evses.exclude(status=EvseStatus.REMOVED)
                .filter(terminals__isnull=True)
                .distinct()
            ]
            has_evses = obj.evses.exists()
            served = has_evses and not unserved
            missing = (
                ()
                if served
                else (f"No terminal is assigned to the location or to EVSE(s) {', '.join(unserved)}",)
            )
            return [readiness.Check(ASSIGNED, served, missing)]
        return []


def terminal_readiness(terminal: PaymentTerminal) -> readiness.Readiness:
    """Assigned somewhere; every location and EVSE it serves is ready; what the layers above add."""
    locations = list(terminal.locations.select_related("party"))
    evses = list(terminal.evses.select_related("location__party"))
    checks = [
        readiness.Check(
            "Assigned to a location or EVSE",
            bool(locations or evses),
            () if locations or evses else ("Assign the terminal to a location or to EVSEs",),
        )
    ]
    served: list[str] = []
    for location in locations:
        served += [f"Location {location}: {line}" for line in readiness.location_readiness(location).missing]
    for evse in evses:
        served += [f"EVSE {evse}: {line}" for line in readiness.evse_readiness(evse).missing]
    checks.append(readiness.Check("Everything it serves is ready", not served, tuple(served)))
    return readiness.Readiness((*checks, *readiness.provided_checks(terminal)))


def ready_terminal_pks(terminals: Any) -> set[int]:
    """The ids of the ready terminals among ``terminals`` (the admin's list filter)."""
    return {
        terminal.pk for terminal in terminals.prefetch_related(None) if terminal_readiness(terminal).ready
    }
