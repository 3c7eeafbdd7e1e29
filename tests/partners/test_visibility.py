"""Which of our parties' data a partner may see: the one rule (partners/selectors.py)."""

from __future__ import annotations

import pytest

from locations.models import Evse, Location
from partners.models import Partner
from partners.selectors import (
    parties_visible_to,
    partners_seeing_party_q,
    visible_to_partner,
    visible_to_partner_q,
)
from tariffs.models import Tariff
from tests.factories import EvseFactory, LocationFactory, PartnerFactory, PartyFactory, TariffFactory

pytestmark = pytest.mark.django_db


def test_a_partner_with_no_parties_chosen_sees_every_party() -> None:
    nl, de = PartyFactory(country_code="NL", party_id="NLA"), PartyFactory(country_code="DE", party_id="DEB")
    LocationFactory(party=nl, location_id="NL-1")
    LocationFactory(party=de, location_id="DE-1")
    partner = PartnerFactory()

    assert parties_visible_to(partner=partner) is None
    seen = visible_to_partner(Location.objects.all(), partner=partner)
    assert sorted(seen.values_list("location_id", flat=True)) == ["DE-1", "NL-1"]


def test_a_partner_limited_to_some_parties_sees_only_theirs() -> None:
    nl, de = PartyFactory(country_code="NL", party_id="NLA"), PartyFactory(country_code="DE", party_id="DEB")
    LocationFactory(party=nl, location_id="NL-1")
    LocationFactory(party=de, location_id="DE-1")
    TariffFactory(party=nl, tariff_id="T-NL")
    TariffFactory(party=de, tariff_id="T-DE")
    partner = PartnerFactory()
    partner.parties.add(de)

    assert parties_visible_to(partner=partner) == [de.pk]
    assert list(
        visible_to_partner(Location.objects.all(), partner=partner).values_list("location_id", flat=True)
    ) == ["DE-1"]
    assert list(
        Tariff.objects.filter(visible_to_partner_q(partner=partner)).values_list("tariff_id", flat=True)
    ) == ["T-DE"]


def test_the_party_field_can_be_reached_through_a_relation() -> None:
    nl, de = PartyFactory(country_code="NL", party_id="NLA"), PartyFactory(country_code="DE", party_id="DEB")
    EvseFactory(location=LocationFactory(party=nl), uid="EVSE-NL")
    EvseFactory(location=LocationFactory(party=de), uid="EVSE-DE")
    partner = PartnerFactory()
    partner.parties.add(nl)
    seen = visible_to_partner(Evse.objects.all(), partner=partner, party_field="location__party")
    assert list(seen.values_list("uid", flat=True)) == ["EVSE-NL"]


def test_the_partners_seeing_a_party_are_those_without_parties_and_those_that_chose_it() -> None:
    nl, de = PartyFactory(country_code="NL", party_id="NLA"), PartyFactory(country_code="DE", party_id="DEB")
    PartnerFactory(name="All")
    dutch = PartnerFactory(name="Dutch")
    dutch.parties.add(nl)
    both = PartnerFactory(name="Both")
    both.parties.add(nl, de)

    def seeing(party: object) -> list[str]:
        return sorted(
            Partner.objects.filter(partners_seeing_party_q(party=party))
            .distinct()
            .values_list("name", flat=True)
        )

    assert seeing(nl) == ["All", "Both", "Dutch"]
    assert seeing(de.pk) == ["All", "Both"]


def test_the_rule_reads_the_same_both_ways() -> None:
    """For every partner and party: the partner sees the party's rows iff it is among the party's partners."""
    parties = [PartyFactory(country_code="NL", party_id=f"P{n}") for n in range(3)]
    for party in parties:
        LocationFactory(party=party, location_id=f"L-{party.party_id}")
    partners = [PartnerFactory() for _ in range(3)]
    partners[1].parties.add(parties[0])
    partners[2].parties.add(parties[1], parties[2])
    for partner in partners:
        for party in parties:
            sees_rows = visible_to_partner(Location.objects.filter(party=party), partner=partner).exists()
            listed = Partner.objects.filter(partners_seeing_party_q(party=party), pk=partner.pk).exists()
            assert sees_rows == listed, (partner.pk, party.party_id)


def test_prefetched_parties_cost_no_query(django_assert_num_queries) -> None:
    partner = PartnerFactory()
    partner.parties.add(PartyFactory(country_code="NL", party_id="NLA"))
    partner = Partner.objects.prefetch_related("parties").get(pk=partner.pk)
    with django_assert_num_queries(0):
        visible_to_partner_q(partner=partner)
