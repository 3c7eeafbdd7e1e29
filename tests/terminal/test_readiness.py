"""A checklist per location, EVSE, connector and terminal says what stops card payments at the terminal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from locations.models import Connector
from locations.readiness import connector_readiness, evse_readiness, location_readiness
from payments.models import PaymentTerminal
from payments.readiness import terminal_readiness
from tariffs.models import TariffType
from tests.factories import (
    ConnectorFactory,
    EvseFactory,
    LocationFactory,
    PartnerFactory,
    PartyFactory,
    TariffAltTextFactory,
    TariffElementFactory,
    TariffFactory,
)

pytestmark = pytest.mark.django_db


def _connector(languages: list[str]) -> Connector:
    party = PartyFactory(terminal_languages=languages)
    location = LocationFactory(party=party, publish=False)
    return ConnectorFactory(evse=EvseFactory(location=location))


def _own_lines(missing: list[str]) -> list[str]:
    # Partner copies are checked in tests/pushes/test_readiness.py; here no partner is registered.
    return [line for line in missing if "partner" not in line]


def test_a_new_connector_lacks_everything_and_says_so() -> None:
    connector = _connector(["en", "nl"])

    readiness = connector_readiness(connector)

    assert not readiness.ready
    missing = _own_lines(readiness.missing)
    assert missing == [
        "Its location is not published",
        f"Connector {connector}: no ad hoc payment tariff valid now",
        f"No terminal is assigned to EVSE {connector.evse} or its location",
    ]


def test_a_tariff_without_a_text_in_an_operator_language_or_a_preauthorisation_is_named() -> None:
    connector = _connector(["en", "nl"])
    tariff = TariffFactory(
        party=connector.evse.location.party, max_price_excl_vat=None, max_price_incl_vat=None
    )
    TariffElementFactory(tariff=tariff)
    TariffAltTextFactory(tariff=tariff, language="en")
    connector.tariffs.add(tariff)

    missing = _own_lines(evse_readiness(connector.evse).missing)

    assert f"Connector {connector}: tariff {tariff.tariff_id} has no text in nl" in missing
    assert (
        f"Connector {connector}: tariff {tariff.tariff_id} has no pre-authorise or maximum price" in missing
    )


def test_a_regular_tariff_does_not_count_as_a_card_payment_tariff() -> None:
    connector = _connector(["en"])
    connector.tariffs.add(TariffFactory(party=connector.evse.location.party, type=TariffType.REGULAR))

    assert (
        f"Connector {connector}: no ad hoc payment tariff valid now" in connector_readiness(connector).missing
    )


def test_a_location_is_ready_with_everything_in_place_but_the_partner_copies() -> None:
    connector = _connector(["en", "nl"])
    location = connector.evse.location
    location.publish = True
    location.save()
    tariff = TariffFactory(party=location.party, preauthorize_amount=Decimal("50"))
    TariffElementFactory(tariff=tariff)
    TariffAltTextFactory(tariff=tariff, language="en")
    TariffAltTextFactory(tariff=tariff, language="nl", text="EUR 0,39 per kWh")
    connector.tariffs.add(tariff)
    terminal = PaymentTerminal.objects.create(partner=PartnerFactory(name="Payter"), terminal_id="T1")
    terminal.locations.add(location)

    # No partner is registered for locations: the only thing missing is that no partner has it.
    assert _own_lines(location_readiness(location).missing) == []
    assert location_readiness(location).missing == [
        f"No registered partner receives location {location.location_id}"
    ] + [
        f"No registered partner receives {kind}"
        for kind in (f"evse {connector.evse.uid}", f"connector {connector.evse.uid}/1")
    ]
    assert _own_lines(terminal_readiness(terminal).missing) == []


def test_a_terminal_assigned_nowhere_is_not_ready() -> None:
    terminal = PaymentTerminal.objects.create(partner=PartnerFactory(name="Payter"), terminal_id="T1")

    assert "Assign the terminal to a location or to EVSEs" in terminal_readiness(terminal).missing
