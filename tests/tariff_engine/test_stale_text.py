"""A tariff's text for the terminal that quotes a price the elements no longer compute is found."""

from __future__ import annotations

from decimal import Decimal

from tariffs.engine import (
    Dimension,
    PriceComponent,
    PriceLimit,
    Tariff,
    TariffElement,
    TaxIncluded,
    stale_numbers,
)


def _energy_tariff(
    price: str, *, vat: str | None = "21", tax_included: TaxIncluded = TaxIncluded.NO
) -> Tariff:
    return Tariff(
        id="T1",
        currency="EUR",
        tax_included=tax_included,
        elements=(
            TariffElement(
                price_components=(
                    PriceComponent(
                        type=Dimension.ENERGY,
                        price=Decimal(price),
                        step_size=1,
                        vat=None if vat is None else Decimal(vat),
                    ),
                )
            ),
        ),
        max_price=PriceLimit(before_taxes=Decimal("49.59"), after_taxes=Decimal("60.00")),
    )


def test_a_price_raised_from_059_to_062_makes_the_text_stale() -> None:
    # The case: the text said 0,59 after the price was raised to 0,62 (with VAT).
    tariff = _energy_tariff("0.5124")  # 0.62 with 21 % VAT
    assert stale_numbers("€ 0,59 per kWh, max. € 60,00", tariff, "nl") == ["0,59"]
    assert stale_numbers("€ 0,62 per kWh, max. € 60,00", tariff, "nl") == []


def test_prices_before_taxes_and_per_minute_or_hour_are_not_stale() -> None:
    tariff = _energy_tariff("0.5124")
    assert stale_numbers("EUR 0.5124 per kWh excl. VAT", tariff, "en") == []
    parking = Tariff(
        id="T2",
        currency="EUR",
        tax_included=TaxIncluded.YES,
        elements=(
            TariffElement(
                price_components=(
                    PriceComponent(type=Dimension.PARKING_TIME, price=Decimal("12"), step_size=60),
                )
            ),
        ),
    )
    assert stale_numbers("Idle fee EUR 0.20 a minute (EUR 12.00 an hour)", parking, "en") == []


def test_times_percentages_and_powers_are_not_taken_for_prices() -> None:
    tariff = _energy_tariff("0.5124")
    assert stale_numbers("0,62 €/kWh, 17:00-21:00, 22 kW, 21% MwSt., nach 2 Stunden", tariff, "de") == []


def test_a_whole_amount_beside_a_currency_is_checked_too() -> None:
    tariff = _energy_tariff("0.5124")
    assert stale_numbers("Reserved on your card: € 50", tariff, "en") == ["50"]
