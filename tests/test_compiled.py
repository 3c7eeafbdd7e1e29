"""A queryset compiled once per process answers as the ORM would, with one query and no rebuilding."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Count, QuerySet
from django.test.utils import CaptureQueriesContext

from cpo_portal.compiled import CompiledQuery
from locations.models import Location
from tests.factories import EvseFactory, LocationFactory, PartyFactory

pytestmark = pytest.mark.django_db


def locations_of(party_id: int, city: str) -> QuerySet[Location]:
    return (
        Location.objects.filter(party_id=party_id, city=city)
        .annotate(evse_count=Count("evses"))
        .order_by("location_id")
    )


def test_it_returns_what_the_queryset_returns_for_each_set_of_values() -> None:
    amsterdam, utrecht = PartyFactory(party_id="AMS"), PartyFactory(party_id="UTR")
    for party, city, location_id, evses in (
        (amsterdam, "Amsterdam", "A1", 2),
        (amsterdam, "Amsterdam", "A2", 0),
        (amsterdam, "Utrecht", "A3", 1),
        (utrecht, "Utrecht", "U1", 3),
    ):
        location = LocationFactory(party=party, city=city, location_id=location_id)
        for _ in range(evses):
            EvseFactory(location=location)
    builds: list[tuple[int, str]] = []

    def build(party_id: int, city: str) -> QuerySet[Location]:
        builds.append((party_id, city))
        return locations_of(party_id, city)

    compiled = CompiledQuery(build, party_id=-424_242, city="stand-in city")
    for party, city in (
        (amsterdam, "Amsterdam"),
        (amsterdam, "Utrecht"),
        (utrecht, "Utrecht"),
        (utrecht, "Oslo"),
    ):
        with CaptureQueriesContext(connection) as queries:
            found = compiled(party_id=party.pk, city=city)
        assert len(queries) == 1
        expected = list(locations_of(party.pk, city))
        assert [(row.location_id, row.evse_count) for row in found] == [
            (row.location_id, row.evse_count) for row in expected
        ]
    assert builds == [(-424_242, "stand-in city")]  # built once, with the stand-ins


def test_a_stand_in_that_is_not_a_parameter_is_refused() -> None:
    # A slice's bound is written into the SQL, not passed as a parameter: it cannot vary.
    compiled = CompiledQuery(lambda limit: Location.objects.all()[:limit], limit=987_654)
    with pytest.raises(ImproperlyConfigured, match="limit"):
        compiled(limit=3)


def test_values_must_be_the_ones_it_was_built_with() -> None:
    compiled = CompiledQuery(locations_of, party_id=-424_242, city="stand-in city")
    with pytest.raises(TypeError, match="city"):
        compiled(party_id=1)
