"""The EVSE page refuses what the terminal cannot use, with the model's message, and offers only what fits."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from locations.models import Connector, Evse
from tests.admin.forms import form_data
from tests.factories import EvseFactory, LocationFactory, PartyFactory, TariffFactory

pytestmark = pytest.mark.django_db


def _connector_post(client: Client, evse: Evse, **overrides: Any) -> Any:
    url = reverse("admin:locations_evse_change", args=[evse.pk])
    data = form_data(client.get(url))
    data.update(
        {
            "connectors-TOTAL_FORMS": "1",
            "connectors-0-connector_id": "1",
            "connectors-0-standard": "IEC_62196_T2_COMBO",
            "connectors-0-format": "CABLE",
            "connectors-0-power_type": "DC",
            "connectors-0-max_voltage": "920",
            "connectors-0-max_amperage": "200",
            "connectors-0-max_electric_power": "150000",
            **overrides,
        }
    )
    return client.post(url, data)


def test_the_evse_page_refuses_a_zero_power_connector_with_a_reason(staff_client: Client) -> None:
    evse = EvseFactory()

    response = _connector_post(staff_client, evse, **{"connectors-0-max_electric_power": "0"})

    assert response.status_code == 200
    assert "Enter the power in watt: more than 0" in response.content.decode()
    assert not Connector.objects.filter(evse=evse).exists()


def test_the_evse_page_refuses_another_partys_tariff_without_a_server_error(staff_client: Client) -> None:
    dutch, german = PartyFactory(country_code="NL"), PartyFactory(country_code="DE")
    evse = EvseFactory(location=LocationFactory(party=dutch))
    foreign = TariffFactory(party=german)

    response = _connector_post(staff_client, evse, **{"connectors-0-tariffs": [str(foreign.pk)]})

    assert response.status_code == 200
    assert (
        "Select a valid choice" in response.content.decode() or "another party" in response.content.decode()
    )
    assert not Connector.objects.filter(evse=evse).exists()


def test_the_tariff_picker_offers_only_the_partys_own_tariffs(staff_client: Client) -> None:
    dutch, german = PartyFactory(country_code="NL"), PartyFactory(country_code="DE")
    evse = EvseFactory(location=LocationFactory(party=dutch))
    own, foreign = TariffFactory(party=dutch), TariffFactory(party=german)

    response = staff_client.get(reverse("admin:locations_evse_change", args=[evse.pk]))

    (connectors,) = response.context["inline_admin_formsets"]
    offered = list(connectors.formset.empty_form.fields["tariffs"].queryset)
    assert offered == [own], f"{foreign} is offered too"
    assert f'value="{own.pk}"' in response.content.decode()


def test_a_tariff_in_another_currency_than_the_country_saves_with_a_warning(staff_client: Client) -> None:
    party = PartyFactory(country_code="NL")
    evse = EvseFactory(location=LocationFactory(party=party, country="NLD"))
    pounds = TariffFactory(party=party, currency="GBP")

    response = _connector_post(staff_client, evse, **{"connectors-0-tariffs": [str(pounds.pk)]})

    assert response.status_code == 302
    assert list(Connector.objects.get(evse=evse).tariffs.all()) == [pounds]
    shown = [str(message) for message in response.wsgi_request._messages]
    assert any("GBP" in message and "EUR" in message for message in shown), shown


def test_the_connector_page_edits_every_field_and_refuses_another_partys_tariff(staff_client: Client) -> None:
    dutch, german = PartyFactory(country_code="NL"), PartyFactory(country_code="DE")
    evse = EvseFactory(location=LocationFactory(party=dutch))
    foreign = TariffFactory(party=german)
    url = reverse("admin:locations_connector_add")
    data = {
        **form_data(staff_client.get(url)),
        "evse": str(evse.pk),
        "connector_id": "1",
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_1_PHASE",
        "max_voltage": "230",
        "max_amperage": "32",
        "tariffs": [str(foreign.pk)],
    }

    response = staff_client.post(url, data)

    assert response.status_code == 200
    assert f"{foreign.tariff_id} belong(s) to another party" in response.content.decode()
    assert not Connector.objects.exists()

    assert staff_client.post(url, {**data, "tariffs": []}).status_code == 302
    assert Connector.objects.get().max_voltage == 230
