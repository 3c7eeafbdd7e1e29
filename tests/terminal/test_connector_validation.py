"""What reaches the terminal is checked: a connector's power, voltage and amperage, and its tariffs."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from locations.models import Connector, PowerType
from tests.factories import ConnectorFactory, EvseFactory, LocationFactory, PartyFactory, TariffFactory

pytestmark = pytest.mark.django_db


def _errors(connector: Connector) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        connector.full_clean()
    return caught.value.message_dict


def test_it_refuses_a_connector_with_zero_power() -> None:
    # The case: 920 V x 200 A entered with 0 W was saved and pushed.
    connector = ConnectorFactory.build(
        evse=EvseFactory(), max_voltage=920, max_amperage=200, max_electric_power=0
    )
    assert "max_electric_power" in _errors(connector)


@pytest.mark.parametrize("field", ["max_voltage", "max_amperage"])
def test_it_refuses_zero_volt_or_zero_ampere(field: str) -> None:
    connector = ConnectorFactory.build(evse=EvseFactory(), **{field: 0})
    assert field in _errors(connector)


def test_the_database_refuses_zero_power_too() -> None:
    connector = ConnectorFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Connector.objects.filter(pk=connector.pk).update(max_electric_power=0)


def test_it_refuses_more_power_than_voltage_times_amperage_gives() -> None:
    connector = ConnectorFactory.build(
        evse=EvseFactory(),
        power_type=PowerType.DC,
        max_voltage=500,
        max_amperage=100,
        max_electric_power=150_000,
    )
    message = " ".join(_errors(connector)["max_electric_power"])
    assert "500 V x 100 A = 50,000 W" in message


def test_it_accepts_a_power_limited_below_what_voltage_and_amperage_allow() -> None:
    # mod_locations, Connector.max_electric_power: 920 V and 400 A limited to 150 kW is the spec's example.
    connector = ConnectorFactory.build(
        evse=EvseFactory(),
        power_type=PowerType.DC,
        max_voltage=920,
        max_amperage=400,
        max_electric_power=150_000,
    )
    connector.full_clean()


def test_three_phases_count_three_times_the_line_to_neutral_voltage() -> None:
    # 230 V line to neutral x 32 A x 3 phases = 22,080 W: a 22 kW charger.
    connector = ConnectorFactory.build(
        evse=EvseFactory(),
        standard="IEC_62196_T2",
        format="SOCKET",
        power_type=PowerType.AC_3_PHASE,
        max_voltage=230,
        max_amperage=32,
        max_electric_power=22_000,
    )
    connector.full_clean()
    connector.max_electric_power = 43_000
    assert "230 V x 32 A x 3 phases = 22,080 W" in " ".join(_errors(connector)["max_electric_power"])


def test_it_explains_that_three_phase_voltage_is_line_to_neutral() -> None:
    # 400 V is the line-to-line voltage of a 230 V three-phase supply.
    connector = ConnectorFactory.build(
        evse=EvseFactory(),
        standard="IEC_62196_T2",
        format="SOCKET",
        power_type=PowerType.AC_3_PHASE,
        max_voltage=400,
        max_amperage=32,
        max_electric_power=22_000,
    )
    assert "line to neutral" in " ".join(_errors(connector)["max_voltage"])


def test_it_refuses_a_power_type_the_standard_cannot_carry() -> None:
    connector = ConnectorFactory.build(
        evse=EvseFactory(),
        standard="IEC_62196_T2_COMBO",
        power_type=PowerType.AC_1_PHASE,
        max_voltage=230,
        max_amperage=32,
        max_electric_power=7_360,
    )
    assert "power_type" in _errors(connector)
    connector = ConnectorFactory.build(
        evse=EvseFactory(), standard="IEC_60309_2_three_32", power_type=PowerType.DC
    )
    assert "power_type" in _errors(connector)


def test_it_refuses_another_partys_tariff_on_a_connector() -> None:
    # The case: a Dutch party's connector saved the German party's tariff, and it was pushed.
    dutch = PartyFactory(country_code="NL")
    german = PartyFactory(country_code="DE")
    connector = ConnectorFactory(evse=EvseFactory(location=LocationFactory(party=dutch)))
    foreign = TariffFactory(party=german)
    own = TariffFactory(party=dutch)

    with pytest.raises(ValidationError) as caught, transaction.atomic():
        connector.tariffs.add(own, foreign)
    assert foreign.tariff_id in str(caught.value)
    assert list(connector.tariffs.all()) == []

    connector.tariffs.add(own)
    assert list(connector.tariffs.all()) == [own]
    with pytest.raises(ValidationError), transaction.atomic():
        connector.tariffs.set([own, foreign])
    with pytest.raises(ValidationError), transaction.atomic():
        foreign.connectors.add(connector)
