"""The readings the spec leaves open, as the engine prices them and the terminal preview shows them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from tariffs.engine import (
    Dimension,
    MeterSample,
    PriceComponent,
    PriceLimit,
    Restrictions,
    Tariff,
    TariffElement,
    TaxIncluded,
    live_price,
    price_lines,
    price_session,
)

D = Decimal
AMS = "Europe/Amsterdam"
START = datetime(2024, 6, 3, 8, tzinfo=UTC)  # 10:00 in Amsterdam


def component(kind: Dimension, price: str, vat: str | None = None) -> PriceComponent:
    return PriceComponent(kind, D(price), 1, None if vat is None else D(vat))


def tariff(*elements: TariffElement, **fields: object) -> Tariff:
    return Tariff(id="t", currency="EUR", elements=elements, **fields)  # type: ignore[arg-type]


def legs(*parts: tuple[int, str, bool], power: Decimal | None = None) -> list[MeterSample]:
    """(minutes, kWh delivered, charging) legs from START."""
    samples, at, energy = [], START, D(0)
    for minutes, kwh, charging in parts:
        samples.append(MeterSample(at, energy, charging, power_kw=power if charging else D(3)))
        at += timedelta(minutes=minutes)
        energy += D(kwh)
    samples.append(MeterSample(at, energy, False))
    return samples


def test_a_session_that_crosses_into_another_elements_hours_pays_one_start_fee() -> None:
    t = tariff(
        TariffElement(
            (component(Dimension.FLAT, "1.00"), component(Dimension.TIME, "2.00")),
            Restrictions(start_time=time(7), end_time=time(11)),
        ),
        TariffElement(
            (component(Dimension.FLAT, "3.00"), component(Dimension.TIME, "4.00")),
            Restrictions(start_time=time(11), end_time=time(7)),
        ),
        tax_included=TaxIncluded.NOT_APPLICABLE,
    )
    result = price_session(t, legs((120, "10", True)), time_zone=AMS)  # 10:00-12:00 local
    assert result.total_fixed_cost.before_taxes == D("1.00")
    assert result.total_cost.before_taxes == D("1.00") + D("2.00") + D("4.00")
    en = price_lines(t, "en")
    assert en[0] == "fee €1.00 between 07:00 and 11:00"
    assert en[2] == "fee €3.00 between 11:00 and 07:00"


def test_a_parking_fee_is_paid_only_by_a_car_that_parks_and_besides_the_start_fee() -> None:
    t = tariff(
        TariffElement((component(Dimension.FLAT, "5.00"), component(Dimension.PARKING_TIME, "2.00"))),
        TariffElement((component(Dimension.FLAT, "1.00"), component(Dimension.ENERGY, "0.30"))),
        tax_included=TaxIncluded.NOT_APPLICABLE,
    )
    charged_only = price_session(t, legs((60, "10", True)), time_zone=AMS)
    assert charged_only.total_parking_cost.before_taxes == D(0)
    assert charged_only.total_fixed_cost.before_taxes == D("1.00")
    assert charged_only.total_cost.before_taxes == D("4.00")

    parked = price_session(t, legs((60, "10", True), (30, "0", False)), time_zone=AMS)
    assert parked.total_parking_cost.before_taxes == D("5.00") + D("1.00")
    assert parked.total_fixed_cost.before_taxes == D("1.00")
    assert parked.total_cost.before_taxes == D("10.00")
    assert price_lines(t, "en")[0] == "parking fee €5.00"
    assert price_lines(t, "nl")[0] == "parkeertarief €\xa05,00"


def test_a_limit_before_taxes_only_is_applied_after_taxes_at_the_sessions_own_rate() -> None:
    t = tariff(
        TariffElement((component(Dimension.FLAT, "1.00", "9"), component(Dimension.ENERGY, "0.20", "21"))),
        min_price=PriceLimit(D("5.00")),
        max_price=PriceLimit(D("10.00")),
    )
    # 1.00 at 9 % + 5 kWh x 0.20 at 21 %: 2.00 / 2.30; the minimum 5.00 keeps the ratio 2.30/2.00.
    low = price_session(t, legs((30, "5", True)), time_zone=AMS)
    assert (low.total_cost.before_taxes, low.total_cost.after_taxes) == (D("5.00"), D("5.75"))
    assert low.min_price_applied
    # 1.00 + 100 kWh x 0.20: 21.00 / 25.29; the maximum 10.00 after taxes is 10 x 25.29 / 21.
    high = price_session(t, legs((600, "100", True)), time_zone=AMS)
    assert high.total_cost.before_taxes == D("10.00")
    assert high.total_cost.after_taxes == D("12.04")  # 12.0428...
    assert high.total_cost.after_taxes >= high.total_cost.before_taxes
    assert sum(tax.amount for tax in high.total_cost.taxes) == D("2.04")


def test_a_limit_before_taxes_only_on_a_free_session_takes_the_tariffs_highest_rate() -> None:
    t = tariff(
        TariffElement((component(Dimension.FLAT, "0.00", "9"), component(Dimension.ENERGY, "0.20", "21"))),
        min_price=PriceLimit(D("2.00")),
    )
    result = price_session(t, legs((30, "0", True)), time_zone=AMS)
    assert (result.total_cost.before_taxes, result.total_cost.after_taxes) == (D("2.00"), D("2.42"))
    # The preview shows the minimum as the same figure after taxes.
    assert price_lines(t, "en", with_taxes=True)[-1] == "minimum price €2.42"


def test_a_parked_car_draws_no_power_whatever_the_meter_last_reported() -> None:
    t = tariff(
        TariffElement((component(Dimension.PARKING_TIME, "6.00"),), Restrictions(min_power=D(1))),
        TariffElement((component(Dimension.PARKING_TIME, "1.20"), component(Dimension.ENERGY, "0.30"))),
        tax_included=TaxIncluded.NOT_APPLICABLE,
    )
    # The parked legs carry a reported 3 kW (a meter that repeats its last power).
    result = price_session(t, legs((60, "11", True), (60, "0", False), power=D(11)), time_zone=AMS)
    assert result.total_parking_cost.before_taxes == D("1.20")


def test_the_live_price_extrapolates_energy_and_equals_the_final_price_at_a_reading() -> None:
    t = tariff(
        TariffElement((component(Dimension.ENERGY, "0.40", "21"), component(Dimension.TIME, "1.00", "21")))
    )
    samples = [
        MeterSample(START, D(0), True, power_kw=D(11)),
        MeterSample(START + timedelta(hours=1), D(11), True),
    ]
    at_reading = live_price(t, samples, time_zone=AMS, now=START + timedelta(hours=1))
    assert at_reading == price_session(t, samples, time_zone=AMS)
    # Half an hour after the last reading, at 11 kW: 5.5 kWh and 0.5 h more.
    later = live_price(t, samples, time_zone=AMS, now=START + timedelta(hours=1, minutes=30))
    assert later.total_energy == D("16.5")
    assert later.total_cost.before_taxes == D("16.5") * D("0.40") + D("1.50")
