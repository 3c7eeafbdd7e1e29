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

from locations.models import Connector, Evse, Location
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
    """Locations the partner may see, in paging order, with everything the serializer reads."""
    parties = _party_filter(partner)
    visible = Q(publish=True)
    allowed = _unpublished_location_ids_for(partner, parties)
    if allowed:
        visible |= Q(pk__in=allowed)
    connectors = Connector.objects.order_by("connector_id").prefetch_related(
        Prefetch("tariffs", queryset=Tariff.objects.only("pk", "tariff_id").order_by("tariff_id"))
    )
    evses = Evse.objects.order_by("uid").prefetch_related(Prefetch("connectors", queryset=connectors))
    return (
        Location.objects.filter(parties, visible)
        .select_related("party")
        .prefetch_related("regular_hours", Prefetch("evses", queryset=evses))
        .order_by("last_updated", "pk")
    )


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
