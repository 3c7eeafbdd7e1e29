"""Sessions module, Sender interface (mod_sessions): GET list, ``date_from`` required.

A partner sees only the sessions started with its own token. ``serialize_session`` writes the
Session object for either version (total_cost in the version's Price shape).
"""

from __future__ import annotations

from typing import Any

from django.urls import path

from ocpi_api.selectors import sessions_for_partner
from ocpi_api.transport.views import OcpiListView
from ocpi_api.versions import VersionProfile, profile_for
from sessions.models import ChargingSession


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
        data["charging_periods"] = session.charging_periods
    total_cost = profile.price(
        session.total_cost_excl_vat, session.total_cost_incl_vat, session.total_cost_taxes
    )
    if total_cost is not None:
        data["total_cost"] = total_cost
    data["status"] = session.status
    data["last_updated"] = session.last_updated
    return data


class SessionListView(OcpiListView):
    # mod_sessions, "GET Method": date_from is required on the Sessions list.
    date_from_required = True

    def get_queryset(self) -> Any:
        return sessions_for_partner(self.partner)

    def serialize(self, obj: ChargingSession) -> dict[str, Any]:
        return serialize_session(obj, self.profile)


urlpatterns = [path("sessions", SessionListView.as_view(), name="sessions")]
