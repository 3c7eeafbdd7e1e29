"""Locations module, Sender interface (mod_locations): GET list, one location, one EVSE, one connector.

``serialize_location``, ``serialize_evse`` and ``serialize_connector`` build the objects for either
version (the differences come from ``VersionProfile``); pushes use them for PUT/PATCH bodies.
They read the children loaded by ``ocpi_api.selectors.locations_attach_children`` when present
and query them otherwise, so one object costs a few queries and a page a constant number.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from locations.models import Connector, Evse, Location, RegularHours
from ocpi_api.formatting import format_coordinate
from ocpi_api.selectors import locations_attach_children, locations_for_partner
from ocpi_api.transport.envelope import UNKNOWN_LOCATION, ocpi_response
from ocpi_api.transport.exceptions import UnknownObject
from ocpi_api.transport.views import OcpiListView, OcpiView
from ocpi_api.versions import VersionProfile, profile_for


def _put(data: dict[str, Any], key: str, value: Any) -> None:
    """Set an optional field only when it has a value (OCPI leaves absent optional fields out)."""
    # Truthy values take the first test: this runs ~7,000 times for a page of 100 locations.
    if value or (value is not None and not isinstance(value, str | list | dict)):
        data[key] = value


def serialize_connector(connector: Connector, version: str | VersionProfile) -> dict[str, Any]:
    """A Connector object (mod_locations, "Connector Object")."""
    profile = version if isinstance(version, VersionProfile) else profile_for(version)
    data: dict[str, Any] = {
        "id": connector.connector_id,
        "standard": connector.standard,
        "format": connector.format,
        "power_type": connector.power_type,
        "max_voltage": connector.max_voltage,
        "max_amperage": connector.max_amperage,
    }
    _put(data, "max_electric_power", connector.max_electric_power)
    tariff_ids = getattr(connector, "ocpi_tariff_ids", None)
    if tariff_ids is None:
        tariff_ids = list(connector.tariffs.order_by("tariff_id").values_list("tariff_id", flat=True))
    _put(data, "tariff_ids", tariff_ids)
    _put(data, "terms_and_conditions", connector.terms_and_conditions)
    _put(data, "capabilities", list(connector.capabilities))
    data["last_updated"] = connector.last_updated
    return profile.strip("connector", data)


def serialize_evse(evse: Evse, version: str | VersionProfile) -> dict[str, Any]:
    """An EVSE object (mod_locations, "EVSE Object")."""
    profile = version if isinstance(version, VersionProfile) else profile_for(version)
    data: dict[str, Any] = {"uid": evse.uid}
    _put(data, "evse_id", evse.evse_id)
    data["status"] = evse.status
    _put(data, "status_schedule", evse.status_schedule)
    _put(data, "capabilities", list(evse.capabilities))
    connectors = getattr(evse, "ocpi_connectors", None)
    if connectors is None:
        connectors = list(evse.connectors.order_by("connector_id"))
    data["connectors"] = [serialize_connector(connector, profile) for connector in connectors]
    _put(data, "floor_level", evse.floor_level)
    if evse.latitude is not None and evse.longitude is not None:
        data["coordinates"] = {
            "latitude": format_coordinate(evse.latitude),
            "longitude": format_coordinate(evse.longitude),
        }
    _put(data, "physical_reference", evse.physical_reference)
    _put(data, "directions", evse.directions)
    _put(data, "parking_restrictions", list(evse.parking_restrictions))
    _put(data, "parking", evse.parking)
    _put(data, "images", evse.images)
    _put(data, "accepted_service_providers", evse.accepted_service_providers)
    data["last_updated"] = evse.last_updated
    return profile.strip("evse", data)


def _regular_hours(location: Location) -> list[RegularHours]:
    loaded = getattr(location, "ocpi_regular_hours", None)
    return loaded if loaded is not None else list(location.regular_hours.order_by("weekday", "period_begin"))


def _evses(location: Location) -> list[Evse]:
    loaded = getattr(location, "ocpi_evses", None)
    return loaded if loaded is not None else list(location.evses.order_by("uid"))


def _opening_times(location: Location) -> dict[str, Any] | None:
    """Hours (mod_locations, "Hours class"); None when the location publishes no hours."""
    if location.twentyfourseven is None:
        return None
    hours: dict[str, Any] = {"twentyfourseven": location.twentyfourseven}
    if not location.twentyfourseven:
        hours["regular_hours"] = [
            {"weekday": entry.weekday, "period_begin": entry.period_begin, "period_end": entry.period_end}
            for entry in _regular_hours(location)
        ]
    _put(hours, "exceptional_openings", location.exceptional_openings)
    _put(hours, "exceptional_closings", location.exceptional_closings)
    return hours


def serialize_location(location: Location, version: str | VersionProfile) -> dict[str, Any]:
    """A Location object with its EVSEs (mod_locations, "Location Object")."""
    profile = version if isinstance(version, VersionProfile) else profile_for(version)
    data: dict[str, Any] = {
        "country_code": location.party.country_code,
        "party_id": location.party.party_id,
        "id": location.location_id,
        "publish": location.publish,
    }
    _put(data, "publish_allowed_to", location.publish_allowed_to)
    _put(data, "name", location.name)
    data["address"] = location.address
    data["city"] = location.city
    _put(data, "postal_code", location.postal_code)
    _put(data, "state", location.state)
    data["country"] = location.country
    data["coordinates"] = {
        "latitude": format_coordinate(location.latitude),
        "longitude": format_coordinate(location.longitude),
    }
    _put(data, "related_locations", location.related_locations)
    _put(data, "parking_type", location.parking_type)
    _put(data, "evses", [serialize_evse(evse, profile) for evse in _evses(location)])
    _put(data, "parking_places", location.parking_places)
    _put(data, "directions", location.directions)
    # mod_locations: without an operator the CPO's business details from the handshake apply;
    # we send them explicitly because one handshake may cover several of our parties.
    _put(data, "operator", location.operator or location.party.business_details)
    _put(data, "suboperator", location.suboperator)
    _put(data, "owner", location.owner)
    _put(data, "facilities", list(location.facilities))
    data["time_zone"] = location.time_zone
    _put(data, "opening_times", _opening_times(location))
    if location.charging_when_closed is not None:
        data["charging_when_closed"] = location.charging_when_closed
    _put(data, "images", location.images)
    _put(data, "energy_mix", location.energy_mix)
    _put(data, "help_phone", location.help_phone)
    data["last_updated"] = location.last_updated
    return profile.strip("location", data)


class LocationListView(OcpiListView):
    """Locations the partner may see, with their EVSEs and connectors (paginated)."""

    def get_queryset(self) -> Any:
        return locations_for_partner(self.partner)

    def prepare(self, objects: list[Location]) -> list[Location]:
        return locations_attach_children(objects)

    def serialize(self, obj: Location) -> dict[str, Any]:
        return serialize_location(obj, self.profile)


class LocationObjectView(OcpiView):
    """GET one location, EVSE or connector by ids (mod_locations, "GET Object")."""

    def _location(self, location_id: str) -> Location:
        # Location.id is unique per party; the OCPI-to headers pick the party when several match.
        candidates = list(locations_for_partner(self.partner).filter(location_id=location_id)[:10])
        if not candidates:
            raise UnknownObject(f"Unknown location {location_id}", ocpi_status=UNKNOWN_LOCATION)
        wanted = (
            self.request.headers.get("OCPI-to-country-code"),
            self.request.headers.get("OCPI-to-party-id"),
        )
        for location in candidates:
            if (location.party.country_code, location.party.party_id) == wanted:
                return locations_attach_children([location])[0]
        return locations_attach_children([candidates[0]])[0]

    def get(
        self,
        request: Request,
        version: str,
        location_id: str,
        evse_uid: str | None = None,
        connector_id: str | None = None,
    ) -> Response:
        location = self._location(location_id)
        if evse_uid is None:
            return ocpi_response(serialize_location(location, self.profile))
        evse = next((evse for evse in _evses(location) if evse.uid == evse_uid), None)
        if evse is None:
            message = f"Unknown EVSE {evse_uid} at location {location_id}"
            raise UnknownObject(message, ocpi_status=UNKNOWN_LOCATION)
        if connector_id is None:
            return ocpi_response(serialize_evse(evse, self.profile))
        connector = next((c for c in evse.ocpi_connectors if c.connector_id == connector_id), None)
        if connector is None:
            raise UnknownObject(
                f"Unknown connector {connector_id} on EVSE {evse_uid}", ocpi_status=UNKNOWN_LOCATION
            )
        return ocpi_response(serialize_connector(connector, self.profile))


urlpatterns = [
    path("locations", LocationListView.as_view(), name="locations"),
    path("locations/<str:location_id>", LocationObjectView.as_view(), name="locations-location"),
    path("locations/<str:location_id>/<str:evse_uid>", LocationObjectView.as_view(), name="locations-evse"),
    path(
        "locations/<str:location_id>/<str:evse_uid>/<str:connector_id>",
        LocationObjectView.as_view(),
        name="locations-connector",
    ),
]
