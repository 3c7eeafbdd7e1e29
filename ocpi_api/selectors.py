"""What a partner may read through our OCPI Sender endpoints.

Visibility rules (documented in ocpi_api/__init__.py):
- ``Partner.parties`` limits a partner to some of our parties; none selected means all.
- Locations: published ones, plus unpublished ones whose ``publish_allowed_to`` names a token of
  this partner (mod_locations, "publish_allowed_to": a PublishTokenType matches a Token when every
  field it gives equals the Token's).
- Sessions and CDRs: only those started with the partner's token (``partner`` on the record).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from locations.models import Connector, Evse, Location, RegularHours
from partners.models import Partner, Token
from sessions.models import Cdr, ChargingSession
from tariffs.models import Tariff, TariffElement

_PUBLISH_TOKEN_FIELDS = ("uid", "type", "visual_number", "issuer", "group_id")


def _party_filter(partner: Partner, prefix: str = "") -> Q:
    party_ids = [party.pk for party in partner.parties.all()]
    return Q(**{f"{prefix}party_id__in": party_ids}) if party_ids else Q()


def _publish_entry_matches(entry: dict[str, Any], token: dict[str, Any]) -> bool:
    given = {key: value for key, value in entry.items() if key in _PUBLISH_TOKEN_FIELDS and value}
    return bool(given) and all(token.get(key) == value for key, value in given.items())


def _unpublished_location_ids_for(partner: Partner, parties: Q) -> list[int]:
    """Unpublished locations whose publish_allowed_to names one of the partner's tokens.

    Two queries whatever the page size: the (few) restricted locations, then the partner's
    tokens that any of their entries could match.
    """
    restricted = list(
        Location.objects.filter(parties, publish=False)
        .exclude(publish_allowed_to=[])
        .values_list("pk", "publish_allowed_to")
    )
    if not restricted:
        return []
    token_query = Q()
    for _pk, entries in restricted:
        for entry in entries:
            given = {key: value for key, value in entry.items() if key in _PUBLISH_TOKEN_FIELDS and value}
            if given:
                token_query |= Q(**given)
    if not token_query:
        return []
    tokens = list(Token.objects.filter(token_query, partner=partner).values(*_PUBLISH_TOKEN_FIELDS))
    return [
        pk
        for pk, entries in restricted
        if any(_publish_entry_matches(entry, token) for entry in entries for token in tokens)
    ]


def locations_for_partner(partner: Partner) -> QuerySet[Location]:
    """Locations the partner may see, in paging order. Call ``locations_attach_children`` on a page."""
    parties = _party_filter(partner)
    visible = Q(publish=True)
    allowed = _unpublished_location_ids_for(partner, parties)
    if allowed:
        visible |= Q(pk__in=allowed)
    return Location.objects.filter(parties, visible).select_related("party").order_by("last_updated", "pk")


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
        Tariff.objects.filter(_party_filter(partner))
        .select_related("party")
        .prefetch_related("alt_texts", Prefetch("elements", queryset=elements))
        .order_by("last_updated", "pk")
    )


def sessions_for_partner(partner: Partner) -> QuerySet[ChargingSession]:
    return (
        ChargingSession.objects.filter(_party_filter(partner), partner=partner)
        .select_related("party", "location", "evse", "connector")
        .order_by("last_updated", "pk")
    )


def cdrs_for_partner(partner: Partner) -> QuerySet[Cdr]:
    return (
        Cdr.objects.filter(_party_filter(partner), partner=partner)
        .select_related("party", "session")
        .order_by("last_updated", "pk")
    )
