"""Every worked example of mod_tariffs and the step_size examples of mod_cdrs, both versions.

Amounts are the spec's, with the corrections listed in tests/data/ocpi/README.md (the rules in
the text win over the arithmetic in the tables).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tariffs.engine import (
    Dimension,
    MeterSample,
    PriceComponent,
    Reservation,
    Restrictions,
    SessionPrice,
    Tariff,
    TariffElement,
    price_session,
)

D = Decimal
# The conftest fixtures' types.
SpecTariff = Callable[[str, str], Tariff]
Metered = Callable[..., tuple[list[MeterSample], datetime]]
AMS = "Europe/Amsterdam"
BOTH = pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
CHARGE, PARK = True, False


def totals(result: SessionPrice) -> tuple[Decimal, Decimal | None]:
    return result.total_cost.before_taxes, result.total_cost.after_taxes


@BOTH
def test_it_prices_the_simple_energy_tariff(version: str, spec_tariff: SpecTariff, metered: Metered) -> None:
    samples, _ = metered("2024-06-03T10:00", [(60, "20", CHARGE, None, None)])
    result = price_session(spec_tariff(version, "tariff_8_simple_025kwh"), samples, time_zone=AMS)
    assert totals(result) == (D("5.00"), D("5.50"))


@BOTH
def test_it_adds_the_start_fee_with_its_own_vat(
    version: str, spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, _ = metered("2024-06-03T10:00", [(60, "20", CHARGE, None, None)])
    result = price_session(spec_tariff(version, "tariff_9_025kwh_start"), samples, time_zone=AMS)
    assert totals(result) == (D("5.50"), D("6.10"))
    assert result.total_fixed_cost.before_taxes == D("0.50")
    assert result.total_energy_cost.after_taxes == D("5.50")


@BOTH
@pytest.mark.parametrize(("kwh", "expected"), [("20", ("5.00", "5.50")), ("1", ("0.50", "0.55"))])
def test_it_raises_a_cheap_session_to_the_minimum_price(
    version: str, kwh: str, expected: tuple[str, str], spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, _ = metered("2024-06-03T10:00", [(30, kwh, CHARGE, None, None)])
    result = price_session(spec_tariff(version, "tariff_12_025kwh_min_price"), samples, time_zone=AMS)
    assert totals(result) == (D(expected[0]), D(expected[1]))
    assert result.min_price_applied is (kwh == "1")


@BOTH
def test_it_bills_parking_per_quarter_hour_after_charging(
    version: str, spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, _ = metered("2024-06-03T10:00", [(60, "20", CHARGE, None, None), (40, "0", PARK, None, None)])
    result = price_session(spec_tariff(version, "tariff_10_025kwh_parking_start"), samples, time_zone=AMS)
    assert totals(result) == (D("7.00"), D("7.90"))
    assert result.total_parking_cost.before_taxes == D("1.50")


@BOTH
@pytest.mark.parametrize(("kwh", "expected"), [("50", ("10.00", "11.00")), ("30", ("8.00", "8.85"))])
def test_it_caps_an_expensive_session_at_the_maximum_price(
    version: str, kwh: str, expected: tuple[str, str], spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, _ = metered("2019-06-03T10:00", [(120, kwh, CHARGE, None, None)])
    result = price_session(spec_tariff(version, "tariff_6_025kwh_start_max_price"), samples, time_zone=AMS)
    assert totals(result) == (D(expected[0]), D(expected[1]))
    assert result.max_price_applied is (kwh == "50")


@BOTH
def test_it_bills_charging_time_but_not_parking_when_only_time_is_priced(
    version: str, spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, _ = metered("2024-06-03T10:00", [(150, "30", CHARGE, None, None), (30, "0", PARK, None, None)])
    result = price_session(spec_tariff(version, "tariff_1_simple_2hour"), samples, time_zone=AMS)
    assert totals(result) == (D("5.00"), D("5.50"))


@BOTH
def test_it_rounds_parking_up_to_five_minutes_with_three_euro_charging(
    version: str, spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, _ = metered("2024-06-03T10:00", [(150, "30", CHARGE, None, None), (42, "0", PARK, None, None)])
    result = price_session(spec_tariff(version, "tariff_13_simple_3hour_5parking"), samples, time_zone=AMS)
    assert totals(result) == (D("11.25"), D("12.75"))


@BOTH
def test_it_prices_the_ad_hoc_tariff_with_alternative_texts(
    version: str, spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, _ = metered("2024-06-03T10:00", [(150, "30", CHARGE, None, None)])
    result = price_session(spec_tariff(version, "tariff_2_alt_text"), samples, time_zone=AMS)
    assert totals(result) == (D("4.75"), D("5.00"))


@BOTH
def test_it_rounds_energy_up_to_the_step_of_a_tenth_kwh(
    version: str, spec_tariff: SpecTariff, metered: Metered
) -> None:
    # The 2.3.0 table says 5.11 / 5.61 but leaves out the step rounding its own text applies.
    samples, _ = metered("2024-06-03T10:00", [(60, "20.45", CHARGE, None, None)])
    result = price_session(spec_tariff(version, "tariff_3_alt_url"), samples, time_zone=AMS)
    assert result.total_energy_cost.before_taxes == D("5.13")
    assert result.total_energy_cost.after_taxes == D("5.64")
    assert totals(result) == (D("5.63"), D("6.24"))


@BOTH
def test_it_prices_the_complex_tariff_on_a_monday_morning(
    version: str, spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, _ = metered(
        "2024-06-03T09:30",
        [(165, "20", CHARGE, D(16), None), (42, "0", PARK, D(0), None)],
        zone="Europe/Berlin",
    )
    result = price_session(spec_tariff(version, "tariff_4_complex"), samples, time_zone="Europe/Berlin")
    assert result.total_cost_exact.before_taxes == D("9.00")
    assert result.total_cost_exact.after_taxes == D("10.300")
    assert result.total_time_cost.before_taxes == D("2.75")
    assert result.total_parking_cost.before_taxes == D("3.75")


@BOTH
def test_it_prices_the_complex_tariff_on_a_saturday_afternoon_with_corrected_arithmetic(
    version: str, spec_tariff: SpecTariff, metered: Metered
) -> None:
    # README: 114 min x EUR 1.25/h is 2.375, so 12.375 / 13.975 rather than the table's 12.28 / 13.861.
    samples, _ = metered(
        "2024-06-08T13:30",
        [(114, "40", CHARGE, D(43), None), (71, "0", PARK, D(0), None)],
        zone="Europe/Berlin",
    )
    result = price_session(spec_tariff(version, "tariff_4_complex"), samples, time_zone="Europe/Berlin")
    assert result.total_cost_exact.before_taxes == D("12.375")
    assert result.total_cost_exact.after_taxes == D("13.975")
    assert result.total_parking_cost.before_taxes == D("7.50")
    assert totals(result) == (D("12.38"), D("13.98"))


@BOTH
def test_it_charges_nothing_on_the_free_of_charge_tariff(
    version: str, spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, _ = metered("2024-06-03T10:00", [(60, "20", CHARGE, None, None), (30, "0", PARK, None, None)])
    result = price_session(spec_tariff(version, "tariff_5_free_of_charge"), samples, time_zone=AMS)
    assert result.total_cost.before_taxes == D("0.00")


def _reserved(metered: Metered, minutes: int) -> tuple[list[MeterSample], Reservation]:
    samples, _ = metered("2024-06-03T10:00", [(60, "20", CHARGE, None, None)])
    start = samples[0].timestamp
    return samples, Reservation(start - timedelta(minutes=minutes), start, expired=False)


@BOTH
def test_it_adds_reservation_time_before_the_session(
    version: str, spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, reservation = _reserved(metered, 15)
    result = price_session(
        spec_tariff(version, "tariff_15_reservation_5_euro_per_hour"),
        samples,
        time_zone=AMS,
        reservation=reservation,
    )
    assert totals(result) == (D("6.75"), D("7.60"))
    assert result.total_reservation_cost.before_taxes == D("1.25")
    assert result.charging_periods[0].dimensions[0].type == "RESERVATION_TIME"


@BOTH
def test_it_adds_a_reservation_fee_and_rounds_reservation_time_to_its_step(
    version: str, spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, reservation = _reserved(metered, 13)
    result = price_session(
        spec_tariff(version, "tariff_16_reservation_2_euro_fee_5_euro_per_hour"),
        samples,
        time_zone=AMS,
        reservation=reservation,
    )
    assert totals(result) == (D("8.75"), D("10.00"))
    assert result.total_reservation_cost.before_taxes == D("3.25")
    assert result.total_fixed_cost.before_taxes == D("0.50")


@BOTH
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tariff_17_reservation_with_expire_fee", ("6.50", "7.30")),
        ("tariff_18_reservation_with_expire_time", ("7.00", "7.90")),
    ],
)
def test_it_bills_a_used_reservation_without_the_expiry_price(
    version: str, name: str, expected: tuple[str, str], spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, reservation = _reserved(metered, 22)
    result = price_session(spec_tariff(version, name), samples, time_zone=AMS, reservation=reservation)
    assert totals(result) == (D(expected[0]), D(expected[1]))


@BOTH
@pytest.mark.parametrize(
    ("name", "minutes", "expected"),
    [
        ("tariff_17_reservation_with_expire_fee", 60, ("6.00", "7.20")),
        ("tariff_18_reservation_with_expire_time", 90, ("9.00", "10.80")),
    ],
)
def test_it_bills_an_expired_reservation_with_the_expiry_elements_first(
    version: str, name: str, minutes: int, expected: tuple[str, str], spec_tariff: SpecTariff
) -> None:
    start = datetime(2024, 6, 3, 10, tzinfo=ZoneInfo(AMS))
    reservation = Reservation(start, start + timedelta(minutes=minutes), expired=True)
    result = price_session(spec_tariff(version, name), [], time_zone=AMS, reservation=reservation)
    assert totals(result) == (D(expected[0]), D(expected[1]))
    assert result.total_reservation_cost.before_taxes == D(expected[0])
    assert result.total_energy == 0


@BOTH
def test_it_prices_energy_by_instantaneous_power(
    version: str, spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, _ = metered(
        "2024-06-03T10:00",
        [(10, "1", CHARGE, None, D(6)), (50, "40", CHARGE, None, D(48)), (8, "0.5", CHARGE, None, D(4))],
    )
    result = price_session(
        spec_tariff(version, "tariffrestriction_example_max_power"), samples, time_zone=AMS
    )
    assert result.total_cost.before_taxes == D("20.30")


@BOTH
def test_it_makes_the_first_half_hour_free_by_max_duration(
    version: str, spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, _ = metered("2024-06-03T10:00", [(30, "5", CHARGE, None, None), (10, "1.2", CHARGE, None, None)])
    result = price_session(
        spec_tariff(version, "tariffrestriction_example_max_duration"), samples, time_zone=AMS
    )
    assert result.total_cost.before_taxes == D("0.30")


# mod_tariffs, PriceComponent "Example Tariff" (tariff_14_step_size.json), Europe/Amsterdam.


@BOTH
def test_it_rounds_only_parking_when_charging_crosses_17_00(
    version: str, spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, _ = metered("2024-06-03T16:55", [(10, "2", CHARGE, None, None), (2, "0", PARK, None, None)])
    result = price_session(spec_tariff(version, "tariff_14_step_size"), samples, time_zone=AMS)
    assert result.total_cost.before_taxes == D("0.55")
    assert [line.cost.before_taxes for line in result.cost_lines] == [D("0.1"), D("0.2"), D("0.25")]


@BOTH
def test_it_rounds_the_session_time_with_the_step_of_the_last_element(
    version: str, spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, _ = metered("2024-06-03T16:35", [(35, "5", CHARGE, None, None)])
    result = price_session(spec_tariff(version, "tariff_14_step_size"), samples, time_zone=AMS)
    assert result.total_cost.before_taxes == D("1.30")
    assert [line.volume * 60 for line in result.cost_lines] == [D(25), D(20)]


@BOTH
def test_it_rounds_the_billable_parking_before_parking_becomes_free(
    version: str, spec_tariff: SpecTariff, metered: Metered
) -> None:
    # 2.2.1 says 0.80 by pricing parking at 2.40/h; 2.3.0 corrects it to 0.73 (README).
    samples, _ = metered("2024-06-03T19:40", [(12, "2", CHARGE, None, None), (20, "0", PARK, None, None)])
    result = price_session(spec_tariff(version, "tariff_14_step_size"), samples, time_zone=AMS)
    assert result.total_cost.before_taxes == D("0.73")
    assert result.total_parking_cost.before_taxes == D("0.25")


# mod_cdrs, CDR object, "step_size" examples.


def _two_rate_tariff(dimension: Dimension, before: str, after: str, step: int) -> Tariff:
    return Tariff(
        id="cdr-step",
        currency="EUR",
        elements=(
            TariffElement(
                (PriceComponent(dimension, D(before), step),),
                Restrictions(start_time=time(0, 0), end_time=time(17, 0)),
            ),
            TariffElement((PriceComponent(dimension, D(after), step),)),
        ),
    )


def test_it_rounds_parking_but_not_the_charging_before_it(metered: Metered) -> None:
    tariff = Tariff(
        id="t",
        currency="EUR",
        elements=(
            TariffElement(
                (
                    PriceComponent(Dimension.TIME, D("1.00"), 300),
                    PriceComponent(Dimension.PARKING_TIME, D("2.00"), 300),
                )
            ),
        ),
    )
    samples, _ = metered("2024-06-03T10:00", [(21, "5", CHARGE, None, None), (7, "0", PARK, None, None)])
    result = price_session(tariff, samples, time_zone=AMS)
    assert [line.volume * 60 for line in result.cost_lines] == [D(21), D(10)]


def test_it_rounds_the_session_energy_not_the_energy_after_17_00(metered: Metered) -> None:
    samples, _ = metered(
        "2024-06-03T16:00", [(60, "4.3", CHARGE, None, None), (20, "1.1", CHARGE, None, None)]
    )
    result = price_session(_two_rate_tariff(Dimension.ENERGY, "0.20", "0.27", 500), samples, time_zone=AMS)
    assert [line.volume for line in result.cost_lines] == [D("4.3"), D("1.2")]
    assert result.total_cost_exact.before_taxes == D("1.184")


def test_it_rounds_the_session_time_not_the_time_after_17_00(metered: Metered) -> None:
    samples, _ = metered("2024-06-03T16:54", [(28, "5", CHARGE, None, None)])
    result = price_session(_two_rate_tariff(Dimension.TIME, "5", "7", 600), samples, time_zone=AMS)
    assert [line.volume * 60 for line in result.cost_lines] == [D(6), D(24)]
    assert result.total_cost.before_taxes == D("3.30")


def test_it_rounds_16_minutes_of_parking_to_20_and_leaves_21_minutes_charging(metered: Metered) -> None:
    tariff = Tariff(
        id="t",
        currency="EUR",
        elements=(
            TariffElement(
                (
                    PriceComponent(Dimension.TIME, D("1.00"), 600),
                    PriceComponent(Dimension.PARKING_TIME, D("2.00"), 600),
                )
            ),
        ),
    )
    samples, _ = metered("2024-06-03T10:00", [(21, "5", CHARGE, None, None), (16, "0", PARK, None, None)])
    result = price_session(tariff, samples, time_zone=AMS)
    assert [line.volume * 60 for line in result.cost_lines] == [D(21), D(20)]


def test_it_leaves_the_tax_unknown_for_a_north_american_tariff_without_vat(
    spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, _ = metered("2024-06-03T10:00", [(150, "30", CHARGE, None, None)], zone="America/Toronto")
    result = price_session(
        spec_tariff("2.3.0", "tariff_19_simple_north_american_exclusive"),
        samples,
        time_zone="America/Toronto",
    )
    assert totals(result) == (D("5.00"), None)
    assert result.total_cost.as_ocpi_230() == {"before_taxes": D("5.00"), "taxes": []}
    assert result.total_cost.as_ocpi_221() == {"excl_vat": D("5.00")}


def test_it_knows_only_the_inclusive_amount_of_a_tax_inclusive_tariff_without_vat(
    spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, _ = metered("2024-06-03T10:00", [(150, "30", CHARGE, None, None)], zone="America/Toronto")
    result = price_session(
        spec_tariff("2.3.0", "tariff_20_simple_north_american_inclusive"),
        samples,
        time_zone="America/Toronto",
    )
    assert totals(result) == (None, D("5.25"))


# mod_tariffs, PriceComponent class and its NOTE on step_size.


@pytest.mark.parametrize(
    ("step", "billed_wh", "cost"), [(1, 116, "0.029"), (25, 125, "0.03125"), (500, 500, "0.125")]
)
def test_it_bills_115_2_wh_in_steps_of_the_energy_component(
    step: int, billed_wh: int, cost: str, metered: Metered
) -> None:
    tariff = Tariff(
        id="wh",
        currency="EUR",
        elements=(TariffElement((PriceComponent(Dimension.ENERGY, D("0.25"), step),)),),
    )
    samples, _ = metered("2024-06-03T10:00", [(1, "0.1152", CHARGE, None, None)])
    result = price_session(tariff, samples, time_zone=AMS)
    assert result.cost_lines[0].volume * 1000 == billed_wh
    assert result.total_cost_exact.before_taxes == D(cost)


@pytest.mark.parametrize(
    ("dimension", "charging"), [(Dimension.TIME, CHARGE), (Dimension.PARKING_TIME, PARK)]
)
def test_it_bills_time_in_blocks_of_five_minutes(
    dimension: Dimension, charging: bool, metered: Metered
) -> None:
    tariff = Tariff(
        id="s", currency="EUR", elements=(TariffElement((PriceComponent(dimension, D(6), 300),)),)
    )
    for minutes, billed in ((6, 10), (8, 10), (10, 10)):
        samples, _ = metered("2024-06-03T10:00", [(minutes, "0", charging, None, None)])
        assert price_session(tariff, samples, time_zone=AMS).cost_lines[0].volume * 60 == billed
