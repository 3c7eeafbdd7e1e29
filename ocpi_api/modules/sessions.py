"""Sessions module, Sender interface (mod_sessions): GET list, ``date_from`` required.

A partner sees only the sessions started with its own token. ``serialize_session`` writes the
Session object for either version (total_cost in the version's Price shape).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.urls import path

from ocpi_api.selectors import sessions_for_partner
from ocpi_api.transport.views import OcpiListView
from ocpi_api.versions import VersionProfile, profile_for
from sessions.models import ChargingSession


def _timestamp(value: Any) -> Any:
    """A stored timestamp string rewritten as RFC 3339 UTC with Z (left alone if unparsable)."""
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _number(value: Any) -> Any:
    """A stored volume (a string keeps Decimal digits in JSON fields) as a JSON number."""
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return value


def charging_periods_out(periods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ChargingPeriods as stored, with numbers as numbers and times in UTC with Z (mod_cdrs)."""
    return [
        {
            **period,
            "start_date_time": _timestamp(period.get("start_date_time")),
            "dimensions": [
                {**dimension, "volume": _number(dimension.get("volume"))}
                for dimension in period.get("dimensions") or []
            ],
        }
        for period in periods
    ]


def serialize_session(session: ChargingSession, version: str | VersionProfile) -> dict[str, Any]:
    """A Session object (mod_sessions, "Session Object")."""
    profile = version if isinstance(version, VersionProfile) else profile_for(version)
    data: dict[str, Any] = {
        "country_code": session.party.country_code,
        "party_id": session.party.party_id,
        "id": session.session_id,
        "start_date_time": session.start_date_time,
    }
    if session.end_date_time is not None:
        data["end_date_time"] = session.end_date_time
    data["kwh"] = session.kwh
    data["cdr_token"] = session.cdr_token
    data["auth_method"] = session.auth_method
    if session.authorization_reference:
        data["authorization_reference"] = session.authorization_reference
    data["location_id"] = session.location.location_id
    data["evse_uid"] = session.evse.uid
    data["connector_id"] = session.connector.connector_id
    if session.meter_id:
        data["meter_id"] = session.meter_id
    data["currency"] = session.currency
    if session.charging_periods:
        data["charging_periods"] = charging_periods_out(session.charging_periods)
    total_cost = profile.price(
        session.total_cost_excl_vat, session.total_cost_incl_vat, session.total_cost_taxes
    )
    if total_cost is not None:
        data["total_cost"] = total_cost
    data["status"] = session.status
    data["last_updated"] = session.last_updated
    return data


class SessionListView(OcpiListView):
    """Sessions started with the partner's tokens (paginated; date_from required)."""

    # mod_sessions, "GET Method": date_from is required on the Sessions list.
    date_from_required = True

    def get_queryset(self) -> Any:
        return sessions_for_partner(self.partner)

    def serialize(self, obj: ChargingSession) -> dict[str, Any]:
        return serialize_session(obj, self.profile)


urlpatterns = [path("sessions", SessionListView.as_view(), name="sessions")]
