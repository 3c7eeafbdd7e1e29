"""What a partner may read through our OCPI Sender endpoints.

Visibility rules (documented in ocpi_api/__init__.py):
- Our parties: ``partners.selectors`` (``Partner.parties``; none selected means all), the same rule
  the pushes follow.
- Locations: every location of those parties, published or not. ``publish = false`` is carried in
  the object for the receiver to honour, not a filter here: the pushes send such locations too (see
  ``locations_for_partner``).
- Sessions and CDRs: only those started with the partner's token (``partner`` on the record).
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from locations.models import Connector, Evse, Location, RegularHours
from partners.models import Partner
from partners.selectors import visible_to_partner, visible_to_partner_q
from sessions.models import Cdr, ChargingSession
from tariffs.models import Tariff, TariffElement


def locations_for_partner(partner: Partner) -> QuerySet[Location]:
    """Locations the partner may see, in paging order. Call ``locations_attach_children`` on a page.

    Unpublished locations are included, with ``publish: false`` and their ``publish_allowed_to``:
    the flag tells the receiver whom it may show the location to, not whether it may hold it
    (/work/shared/ocpi/2.2.1/mod_locations.asciidoc, "Location Object": a location with ``publish``
    false "SHALL not be shown in an app or on a website etc. unless it is to the owner of a Token
    in the ``publish_allowed_to`` list", and example UC3, "not published, but paid guest usage
    possible", where the eMSP helpdesk still uses the location). The pushes send the same
    locations (pushes.services.recipients), so a withdrawal reaches the partner as
    ``publish: false`` (OCPI has no DELETE for locations) and a GET reads what was pushed.
    """
    return (
        visible_to_partner(Location.objects.all(), partner=partner)
        .select_related("party")
        .order_by("last_updated", "pk")
    )


def locations_attach_children(locations: list[Location]) -> list[Location]:
    """Load the EVSEs, connectors, tariff ids and regular hours of a page of locations.

    Four queries whatever the page size. They are attached as plain lists (``ocpi_evses``,
    ``ocpi_connectors``, ``ocpi_tariff_ids``, ``ocpi_regular_hours``) rather than through
    prefetch_related, whose per-object querysets cost more than the queries themselves on a page
    of 100 locations with 600 connectors (benchmarks/ocpi_locations.py).
    """
    by_location: dict[int, list[Evse]] = {location.pk: [] for location in locations}
    hours: dict[int, list[RegularHours]] = {location.pk: [] for location in locations}
    evses = list(Evse.objects.filter(location_id__in=by_location).order_by("location_id", "uid"))
    for evse in evses:
        by_location[evse.location_id].append(evse)
    evses_attach_connectors(evses)
    for entry in RegularHours.objects.filter(location_id__in=hours).order_by("weekday", "period_begin"):
        hours[entry.location_id].append(entry)
    for location in locations:
        location.ocpi_evses = by_location[location.pk]  # type: ignore[attr-defined]
        location.ocpi_regular_hours = hours[location.pk]  # type: ignore[attr-defined]
    return locations


def evses_attach_connectors(evses: list[Evse]) -> list[Evse]:
    """Load the connectors and their tariff ids of EVSEs (``ocpi_connectors``), in two queries."""
    by_evse: dict[int, list[Connector]] = {evse.pk: [] for evse in evses}
    connectors = list(Connector.objects.filter(evse_id__in=by_evse).order_by("evse_id", "connector_id"))
    for connector in connectors:
        by_evse[connector.evse_id].append(connector)
    tariff_ids: dict[int, list[str]] = {connector.pk: [] for connector in connectors}
    links = (
        Connector.tariffs.through.objects.filter(connector_id__in=tariff_ids)
        .order_by("tariff__tariff_id")
        .values_list("connector_id", "tariff__tariff_id")
    )
    for connector_pk, tariff_id in links:
        tariff_ids[connector_pk].append(tariff_id)
    for connector in connectors:
        connector.ocpi_tariff_ids = tariff_ids[connector.pk]  # type: ignore[attr-defined]
    for evse in evses:
        evse.ocpi_connectors = by_evse[evse.pk]  # type: ignore[attr-defined]
    return evses


def tariffs_for_partner(partner: Partner) -> QuerySet[Tariff]:
    elements = TariffElement.objects.order_by("position", "pk")
    return (
        Tariff.objects.filter(visible_to_partner_q(partner=partner))
        .select_related("party")
        .prefetch_related("alt_texts", Prefetch("elements", queryset=elements))
        .order_by("last_updated", "pk")
    )


def sessions_for_partner(partner: Partner) -> QuerySet[ChargingSession]:
    return (
        ChargingSession.objects.filter(visible_to_partner_q(partner=partner), partner=partner)
        .select_related("party", "location", "evse", "connector")
        .order_by("last_updated", "pk")
    )


def cdrs_for_partner(partner: Partner) -> QuerySet[Cdr]:
    return (
        Cdr.objects.filter(visible_to_partner_q(partner=partner), partner=partner)
        .select_related("party", "session")
        .order_by("last_updated", "pk")
    )
