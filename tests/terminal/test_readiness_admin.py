"""Staff see the checklist on each page, filter lists by it, are asked before publishing what is not
ready, and see what the terminal will show for an EVSE in each language."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from locations.models import Connector, Location
from tests.admin.forms import form_data
from tests.factories import (
    ConnectorFactory,
    EvseFactory,
    LocationFactory,
    PartyFactory,
    TariffAltTextFactory,
    TariffElementFactory,
    TariffFactory,
)

pytestmark = pytest.mark.django_db


def _connector_with_tariff() -> Connector:
    party = PartyFactory(terminal_languages=["en", "nl"])
    connector = ConnectorFactory(
        evse=EvseFactory(location=LocationFactory(party=party, publish=False, name="Station square"))
    )
    tariff = TariffFactory(party=party, tax_included="NO", preauthorize_amount=Decimal("50.00"))
    TariffElementFactory(tariff=tariff, energy_price=Decimal("0.5124"), energy_vat=Decimal("21"))
    TariffAltTextFactory(tariff=tariff, language="en", text="EUR 0.62 per kWh")
    connector.tariffs.add(tariff)
    return connector


def test_the_location_page_shows_its_checklist(staff_client: Client) -> None:
    connector = _connector_with_tariff()
    location = connector.evse.location

    page = staff_client.get(reverse("admin:locations_location_change", args=[location.pk])).content.decode()

    assert "Not ready for the terminal" in page
    assert "The location is not published" in page
    assert f"tariff {connector.tariffs.get().tariff_id} has no text in nl" in page


def test_lists_filter_by_ready_and_not_ready(staff_client: Client) -> None:
    connector = _connector_with_tariff()

    for name in ("location", "evse", "connector"):
        url = reverse(f"admin:locations_{name}_changelist")
        not_ready = staff_client.get(url + "?ready=no")
        ready = staff_client.get(url + "?ready=yes")
        assert not_ready.status_code == ready.status_code == 200
        assert not_ready.context["cl"].result_count == 1, name
        assert ready.context["cl"].result_count == 0, name
    assert connector  # the one object of each list is not ready


def test_publishing_a_location_that_is_not_ready_asks_first_and_says_what_is_missing(
    staff_client: Client,
) -> None:
    location = _connector_with_tariff().evse.location
    changelist = reverse("admin:locations_location_changelist")
    selection = {"action": "publish_locations", "_selected_action": [str(location.pk)]}

    asked = staff_client.post(changelist, selection)

    assert asked.status_code == 200
    assert "has no text in nl" in asked.content.decode()
    location.refresh_from_db()
    assert location.publish is False

    confirmed = staff_client.post(changelist, {**selection, "confirm": "yes"})

    assert confirmed.status_code == 302
    location.refresh_from_db()
    assert location.publish is True


def test_ticking_publish_on_the_page_asks_for_confirmation_too(staff_client: Client) -> None:
    location = _connector_with_tariff().evse.location
    url = reverse("admin:locations_location_change", args=[location.pk])
    data = form_data(staff_client.get(url))
    data["publish"] = "on"

    refused = staff_client.post(url, data)

    assert refused.status_code == 200
    assert "Not ready for the terminal" in refused.content.decode()
    assert Location.objects.get(pk=location.pk).publish is False

    accepted = staff_client.post(url, {**data, "publish_although_not_ready": "on"})

    assert accepted.status_code == 302
    assert Location.objects.get(pk=location.pk).publish is True


def test_the_evse_terminal_page_shows_each_language(staff_client: Client) -> None:
    connector = _connector_with_tariff()

    response = staff_client.get(reverse("admin:locations_evse_terminal", args=[connector.evse.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Station square" in page
    assert "Stationsplein 1, 3511 ED Utrecht" in page
    assert "CCS2 (Combo Type 2)" in page
    assert "150 kW DC" in page
    assert "€0.62 per kWh" in page  # English price line
    assert "€\xa00,62 per kWh" in page  # Dutch price line
    assert "€50.00" in page  # reserved, English
    assert "No text in nl" in page


def test_the_terminal_page_shows_its_checklist_and_the_list_filters_by_it(staff_client: Client) -> None:
    from payments.models import PaymentTerminal
    from tests.factories import PartnerFactory

    connector = _connector_with_tariff()
    terminal = PaymentTerminal.objects.create(partner=PartnerFactory(name="Payter"), terminal_id="T1")
    terminal.evses.add(connector.evse)

    page = staff_client.get(
        reverse("admin:payments_paymentterminal_change", args=[terminal.pk])
    ).content.decode()
    listed = staff_client.get(reverse("admin:payments_paymentterminal_changelist") + "?ready=no")

    assert f"EVSE {connector.evse}: Its location is not published" in page
    assert listed.context["cl"].result_count == 1
