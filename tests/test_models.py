"""The data model keeps its invariants: constraints, validators and the last_updated rule."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from locations.models import Evse, Location
from sessions.models import CdrImmutableError
from tariffs.models import Tariff, TariffElement
from tests.factories import (
    CdrFactory,
    ConnectorFactory,
    EvseFactory,
    LocationFactory,
    TariffElementFactory,
    TariffFactory,
)

pytestmark = pytest.mark.django_db


def test_it_rejects_a_second_location_with_the_same_ocpi_id_for_a_party() -> None:
    location = LocationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        LocationFactory(party=location.party, location_id=location.location_id)
    assert Location.objects.count() == 1


def test_it_rejects_two_connectors_with_one_id_on_an_evse() -> None:
    connector = ConnectorFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ConnectorFactory(evse=connector.evse, connector_id=connector.connector_id)


def test_it_rejects_coordinates_out_of_range_in_the_database() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        LocationFactory(latitude=Decimal("91.0000000"))


def test_it_explains_an_unknown_time_zone() -> None:
    location = LocationFactory.build(time_zone="Europe/Atlantis")
    with pytest.raises(ValidationError) as caught:
        location.full_clean(exclude=["party"])
    assert "Europe/Atlantis is not an IANA time zone" in str(caught.value)


def test_it_explains_a_malformed_evse_id() -> None:
    evse = EvseFactory.build(location=LocationFactory(), evse_id="not an id")
    with pytest.raises(ValidationError) as caught:
        evse.full_clean()
    assert "eMI3" in str(caught.value.message_dict["evse_id"])


def test_it_rejects_an_evse_uid_used_elsewhere_by_the_same_party() -> None:
    evse = EvseFactory()
    other_location = LocationFactory(party=evse.location.party)
    duplicate = Evse(location=other_location, uid=evse.uid, status="AVAILABLE")
    with pytest.raises(ValidationError) as caught:
        duplicate.full_clean()
    assert "already has this uid" in str(caught.value)


def test_it_names_the_place_of_a_bad_image_in_its_message() -> None:
    location = LocationFactory.build(images=[{"url": "https://example.com/a.jpg", "category": "CHARGER"}])
    with pytest.raises(ValidationError) as caught:
        location.full_clean(exclude=["party"])
    assert "images[0]" in str(caught.value)
    assert "'type' is a required property" in str(caught.value)


def test_it_rejects_an_unknown_capability_that_is_not_a_valid_open_enum_value() -> None:
    evse = EvseFactory.build(location=LocationFactory(), capabilities=["CREDIT_CARD_PAYABLE", "no spaces!"])
    with pytest.raises(ValidationError) as caught:
        evse.full_clean()
    assert "no spaces!" in str(caught.value)


def test_it_keeps_an_unknown_but_well_formed_open_enum_value() -> None:
    evse = EvseFactory.build(location=LocationFactory(), capabilities=["FUTURE_CAPABILITY"])
    evse.full_clean()


def test_it_rejects_negative_prices_in_validation_and_in_the_database() -> None:
    element = TariffElementFactory.build(tariff=TariffFactory(), energy_price=Decimal("-0.10"))
    with pytest.raises(ValidationError):
        element.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        element.save()
    assert TariffElement.objects.count() == 0


def test_it_rejects_a_tariff_that_ends_before_it_starts() -> None:
    start = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        TariffFactory(start_date_time=start, end_date_time=start - timedelta(days=1))
    assert Tariff.objects.count() == 0


def test_it_rejects_an_element_without_any_price() -> None:
    element = TariffElement(tariff=TariffFactory())
    with pytest.raises(ValidationError) as caught:
        element.full_clean()
    assert "at least one price" in str(caught.value)


def test_connector_changes_bump_the_evse_and_the_location() -> None:
    connector = ConnectorFactory()
    long_ago = timezone.now() - timedelta(days=3)
    Evse.objects.filter(pk=connector.evse_id).update(last_updated=long_ago)
    Location.objects.filter(pk=connector.evse.location_id).update(last_updated=long_ago)

    connector.max_amperage = 125
    connector.save()

    connector.evse.refresh_from_db()
    connector.evse.location.refresh_from_db()
    assert connector.evse.last_updated > long_ago
    assert connector.evse.location.last_updated > long_ago


def test_an_evse_status_change_bumps_its_location() -> None:
    evse = EvseFactory()
    long_ago = timezone.now() - timedelta(days=3)
    Location.objects.filter(pk=evse.location_id).update(last_updated=long_ago)

    evse.status = "CHARGING"
    evse.save(update_fields=["status"])

    evse.location.refresh_from_db()
    assert evse.location.last_updated > long_ago


def test_a_cdr_cannot_be_changed_or_deleted() -> None:
    cdr = CdrFactory()
    cdr.remark = "edited"
    with pytest.raises(CdrImmutableError):
        cdr.save()
    with pytest.raises(CdrImmutableError):
        cdr.delete()
