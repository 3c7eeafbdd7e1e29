"""Reads of charging sessions for the apps above sessions (the chargers' API)."""

from __future__ import annotations

from django.db.models import QuerySet

from locations.models import Evse
from sessions.models import ChargingSession


def session_on_evses(*, session_id: str, evses: QuerySet[Evse]) -> ChargingSession | None:
    """The session ``session_id`` if it runs on one of ``evses``, else None (one query).

    A caller limited to some EVSEs (a charging backend) learns nothing about sessions elsewhere.
    """
    return ChargingSession.objects.filter(session_id=session_id, evse__in=evses).first()
