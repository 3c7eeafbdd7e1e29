"""The one narrow interface through which the portal asks a charger to start, stop or unlock.

An implementation answers synchronously with what the charger said to the request (OCPI's
CommandResult vocabulary, plus NO_ANSWER when the charger stayed silent). What happens next
(started, meter values, stopped) is reported separately, as a real charging backend does through
the internal REST API (``chargers.api``), by calling the session services.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from locations.models import Connector
    from sessions.models import ChargingSession


class GatewayAnswer(enum.StrEnum):
    """The charger's answer to a request; all but NO_ANSWER are OCPI CommandResultType values."""

    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    EVSE_OCCUPIED = "EVSE_OCCUPIED"
    EVSE_INOPERATIVE = "EVSE_INOPERATIVE"
    FAILED = "FAILED"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    NO_ANSWER = "NO_ANSWER"


@dataclass(frozen=True)
class GatewayResult:
    answer: GatewayAnswer
    message: str = ""


class ChargerGateway(Protocol):
    """Start, stop and unlock: everything the OCPI commands need from a charger."""

    def start(self, session: ChargingSession) -> GatewayResult:
        """Ask the EVSE of a PENDING session to start it; the charger reports 'started' later."""
        ...

    def stop(self, session: ChargingSession) -> GatewayResult:
        """Ask the charger to stop an ACTIVE session; the charger reports 'stopped' later."""
        ...

    def unlock(self, connector: Connector) -> GatewayResult:
        """Ask the charger to release the cable from a connector."""
        ...


def charger_gateway() -> ChargerGateway:
    """The gateway configured by CHARGER_GATEWAY (a dotted path to a class)."""
    gateway_class = import_string(settings.CHARGER_GATEWAY)
    return gateway_class()
