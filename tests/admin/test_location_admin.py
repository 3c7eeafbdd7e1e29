"""Staff create locations, EVSEs and connectors in the admin; bad values are refused, nothing half-saved."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from locations.models import Connector, Evse, Location
from partners.models import Party
from tariffs.models import Tariff
from tests.admin.forms import form_data
from tests.factories import EvseFactory, LocationFactory, TariffFactory

pytestmark = pytest.mark.django_db

ADD_LOCATION = reverse("admin:locations_location_add")


def new_location_data(client: Client, party: Party, **overrides: Any) -> dict[str, Any]:
    """The add form as staff fill it in: one location with one EVSE."""
    data = form_data(client.get(ADD_LOCATION))
    data.update(
        {
            "party": str(party.pk),
            "location_id": "TEST01",
            "name": "Station square",
            "address": "Stationsplein 1",
            "postal_code": "3511 ED",
            "city": "Utrecht",
            "country": "NLD",
            "latitude": "52.0893190",
            "longitude": "5.1101700",
            "time_zone": "Europe/Amsterdam",
            "twentyfourseven": "true",
            "directions": "en: Left of the entrance\nnl: Links van de ingang",
            "facilities": ["TRAIN_STATION", "CAFE"],
            "evses-TOTAL_FORMS": "1",
            "evses-0-uid": "TEST01-01",
            "evses-0-evse_id": "NL*TST*ETEST0101",
            "evses-0-physical_reference": "01",
            "evses-0-status": "AVAILABLE",
        }
    )
    data.update(overrides)
    return data


def test_staff_create_a_location_with_an_evse_and_then_give_the_evse_a_connector(
    staff_client: Client,
) -> None:
    party = Party.objects.create(country_code="NL", party_id="TST", name="Test Charging")
    tariff = TariffFactory(party=party)

    response = staff_client.post(ADD_LOCATION, new_location_data(staff_client, party))

    assert response.status_code == 302, response.context["errors"] if response.context else response
    location = Location.objects.get(party=party, location_id="TEST01")
    assert location.directions == [
        {"language": "en", "text": "Left of the entrance"},
        {"language": "nl", "text": "Links van de ingang"},
    ]
    assert location.facilities == ["TRAIN_STATION", "CAFE"]
    evse = location.evses.get()
    assert (evse.uid, evse.evse_id) == ("TEST01-01", "NL*TST*ETEST0101")

    change_evse = reverse("admin:locations_evse_change", args=[evse.pk])
    data = form_data(staff_client.get(change_evse))
    data.update(
        {
            "capabilities": ["CREDIT_CARD_PAYABLE", "REMOTE_START_STOP_CAPABLE"],
            "connectors-TOTAL_FORMS": "1",
            "connectors-0-connector_id": "1",
            "connectors-0-standard": "IEC_62196_T2_COMBO",
            "connectors-0-format": "CABLE",
            "connectors-0-power_type": "DC",
            "connectors-0-max_voltage": "1000",
            "connectors-0-max_amperage": "200",
            "connectors-0-max_electric_power": "150000",
            "connectors-0-tariffs": [str(tariff.pk)],
        }
    )
    response = staff_client.post(change_evse, data)

    assert response.status_code == 302
    connector = Connector.objects.get(evse=evse)
    assert list(connector.tariffs.all()) == [tariff]
    evse.refresh_from_db()
    assert evse.capabilities == ["CREDIT_CARD_PAYABLE", "REMOTE_START_STOP_CAPABLE"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"latitude": "95.0000000"}, "Ensure this value is less than or equal to 90."),
        ({"evses-0-evse_id": "not an id"}, "Enter an EVSE ID in the eMI3 format"),
        ({"time_zone": "Europe/Atlantis"}, "Europe/Atlantis is not an IANA time zone"),
        ({"directions": "Left of the entrance"}, "Line 1: write a two-letter language"),
        (
            {"regular_hours-TOTAL_FORMS": "1", "regular_hours-0-weekday": "1",
             "regular_hours-0-period_begin": "08:00", "regular_hours-0-period_end": "18:00"},
            "A location open 24/7 has no regular hours",
        ),
        (
            {"twentyfourseven": "false", "regular_hours-TOTAL_FORMS": "1", "regular_hours-0-weekday": "1",
             "regular_hours-0-period_begin": "18:00", "regular_hours-0-period_end": "08:00"},
            "The period must end after it begins.",
        ),
    ],
    ids=["latitude 95", "bad EVSE id", "unknown time zone", "directions without language", "24/7 with hours",
         "hours ending before they begin"],
)  # fmt: skip
def test_it_refuses_a_bad_value_with_the_models_message_and_saves_nothing(
    staff_client: Client, overrides: dict[str, str], message: str
) -> None:
    party = Party.objects.create(country_code="NL", party_id="TST", name="Test Charging")

    response = staff_client.post(ADD_LOCATION, new_location_data(staff_client, party, **overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Location.objects.filter(party=party).exists()
    assert not Evse.objects.filter(uid="TEST01-01").exists()


def test_it_refuses_an_evse_uid_that_another_location_of_the_party_uses(staff_client: Client) -> None:
    existing = EvseFactory(uid="TEST01-01")

    response = staff_client.post(ADD_LOCATION, new_location_data(staff_client, existing.location.party))

    assert response.status_code == 200
    assert "Another EVSE of this party already has this uid." in response.content.decode()
    assert Location.objects.count() == 1


def test_the_operator_is_edited_as_a_name_and_a_website(staff_client: Client) -> None:
    party = Party.objects.create(country_code="NL", party_id="TST", name="Test Charging")
    data = new_location_data(
        staff_client, party, operator_0="Station Parking B.V.", operator_1="https://parking.example.com"
    )

    assert staff_client.post(ADD_LOCATION, data).status_code == 302

    location = Location.objects.get(party=party)
    assert location.operator == {"name": "Station Parking B.V.", "website": "https://parking.example.com"}
    assert location.suboperator is None


def test_the_location_page_shows_the_operator_partners_receive(staff_client: Client) -> None:
    location = LocationFactory(party__name="Test Charging", party__website="https://charging.example.com")

    response = staff_client.get(reverse("admin:locations_location_change", args=[location.pk]))

    assert "Test Charging, https://charging.example.com (the party&#x27;s business details)" in (
        response.content.decode()
    )


def test_withdrawing_locations_turns_publish_off_and_bumps_last_updated(staff_client: Client) -> None:
    location = LocationFactory(publish=True)
    before = location.last_updated

    response = staff_client.post(
        reverse("admin:locations_location_changelist"),
        {"action": "withdraw_locations", "_selected_action": [str(location.pk)]},
        follow=True,
    )

    location.refresh_from_db()
    assert location.publish is False
    assert location.last_updated > before
    assert "1 location(s) withdrawn." in response.content.decode()


def test_publishing_a_location_restricted_to_some_tokens_is_refused_with_the_models_reason(
    staff_client: Client,
) -> None:
    location = LocationFactory(publish=False, publish_allowed_to=[{"uid": "012345678"}])

    response = staff_client.post(
        reverse("admin:locations_location_changelist"),
        {"action": "publish_locations", "_selected_action": [str(location.pk)]},
        follow=True,
    )

    location.refresh_from_db()
    assert location.publish is False
    assert "Leave this empty for a published location." in response.content.decode()


def test_tariffs_are_found_by_autocomplete_when_linking_a_connector(staff_client: Client) -> None:
    TariffFactory(tariff_id="DC-FAST")
    TariffFactory(tariff_id="AC-SLOW")

    response = staff_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "locations", "model_name": "connector", "field_name": "tariffs", "term": "DC"},
    )

    assert [item["text"] for item in response.json()["results"]] == ["DC-FAST"]
    assert Tariff.objects.count() == 2


def test_the_add_page_shows_no_last_updated_time(staff_client: Client) -> None:
    add_page = staff_client.get(ADD_LOCATION).content.decode()
    location = LocationFactory()
    change_page = staff_client.get(
        reverse("admin:locations_location_change", args=[location.pk])
    ).content.decode()

    assert "Last updated" not in add_page
    assert "Last updated" in change_page


def test_the_time_zone_field_suggests_iana_names(staff_client: Client) -> None:
    page = staff_client.get(ADD_LOCATION).content.decode()

    assert 'list="iana-time-zones"' in page
    assert '<option value="Europe/Amsterdam">' in page


def test_a_new_location_starts_unpublished_and_publishing_it_at_once_asks_first(staff_client: Client) -> None:
    # A location without connectors, tariffs and a terminal is not ready for the terminal: it is
    # published once its checklist is complete, or on purpose.
    party = Party.objects.create(country_code="NL", party_id="TST", name="Test Charging")
    data = new_location_data(staff_client, party)
    assert "publish" not in data

    response = staff_client.post(ADD_LOCATION, {**data, "publish": "on"})

    assert response.status_code == 200
    assert "Not ready for the terminal" in response.content.decode()
    assert not Location.objects.filter(location_id="TEST01").exists()

    response = staff_client.post(ADD_LOCATION, {**data, "publish": "on", "publish_although_not_ready": "on"})
    assert response.status_code == 302
    assert Location.objects.get(location_id="TEST01").publish is True


def test_a_new_location_saved_as_offered_is_unpublished(staff_client: Client) -> None:
    party = Party.objects.create(country_code="NL", party_id="TST", name="Test Charging")

    assert staff_client.post(ADD_LOCATION, new_location_data(staff_client, party)).status_code == 302

    assert Location.objects.get(location_id="TEST01").publish is False
