"""Live pricing (a session so far, the moment it reaches an amount) and price lines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tariffs.engine import (
    DayOfWeek,
    Dimension,
    DisplayText,
    MeterSample,
    PriceComponent,
    PriceLimit,
    Restrictions,
    Tariff,
    TariffElement,
    format_money,
    price_lines,
    price_session,
    tariff_from_ocpi,
    time_to_reach,
)

D = Decimal
# The conftest fixtures' types.
SpecTariff = Callable[[str, str], Tariff]
START = datetime(2024, 6, 3, 8, tzinfo=UTC)


def running(minutes: int, power: str = "11") -> list[MeterSample]:
    kw = D(power)
    return [
        MeterSample(START + timedelta(minutes=m), kw * m / 60, True, power_kw=kw)
        for m in range(0, minutes + 1, 10)
    ]


def test_it_prices_a_running_session_so_far(spec_tariff: SpecTariff) -> None:
    tariff = spec_tariff("2.2.1", "tariff_9_025kwh_start")
    live = price_session(tariff, running(60), time_zone="Europe/Amsterdam", end=START + timedelta(minutes=65))
    assert live.total_cost.before_taxes == D("0.50") + D("2.75")
    assert abs(live.total_time - D(65) / 60) < D("1e-20")


def test_it_tells_when_a_session_will_reach_the_preauthorised_amount(spec_tariff: SpecTariff) -> None:
    # EUR 0.275/kWh incl. VAT at 11 kW: 20 kWh (EUR 5.50) after 6545.45 s; billed per Wh, so 6546 s.
    tariff = spec_tariff("2.2.1", "tariff_8_simple_025kwh")
    samples = running(30)
    when = time_to_reach(tariff, samples, D("5.50"), time_zone="Europe/Amsterdam")
    assert when == START + timedelta(seconds=6546)
    before = price_session(
        tariff, [*samples, MeterSample(when - timedelta(seconds=1), D("19.9983"), True)], time_zone="UTC"
    )
    assert before.total_cost_exact.after_taxes < D("5.50")


def test_it_answers_now_when_the_amount_is_already_reached(spec_tariff: SpecTariff) -> None:
    tariff = spec_tariff("2.2.1", "tariff_8_simple_025kwh")
    assert time_to_reach(tariff, running(60), D("1"), time_zone="UTC") == START + timedelta(minutes=60)


def test_it_answers_never_when_max_price_stops_the_cost_below_the_amount(spec_tariff: SpecTariff) -> None:
    tariff = spec_tariff("2.3.0", "tariff_6_025kwh_start_max_price")
    assert time_to_reach(tariff, running(30), D("20"), time_zone="UTC", horizon=timedelta(days=2)) is None


def test_it_counts_parking_time_when_the_session_has_stopped_charging(spec_tariff: SpecTariff) -> None:
    tariff = spec_tariff(
        "2.2.1", "tariff_13_simple_3hour_5parking"
    )  # parking EUR 5/h excl., billed per 5 min
    samples = [MeterSample(START, D(0), True), MeterSample(START + timedelta(hours=1), D(11), False)]
    when = time_to_reach(tariff, samples, D("5.50"), time_zone="UTC", after_taxes=False)
    # EUR 3.00 charging + EUR 2.50 parking: 30 min; the 5 min step reaches it right after 25 min.
    assert when == START + timedelta(hours=1, minutes=25, seconds=1)


def test_it_writes_price_lines_in_english_with_then_and_durations() -> None:
    tariff = Tariff(
        id="t",
        currency="EUR",
        elements=(
            TariffElement((PriceComponent(Dimension.FLAT, D(1)),)),
            TariffElement((PriceComponent(Dimension.ENERGY, D("0.39")),)),
            TariffElement((PriceComponent(Dimension.TIME, D(6)),), Restrictions(min_duration=7200)),
        ),
        max_price=PriceLimit(D(50)),
        alt_text=(DisplayText("en", "Card payments accepted."), DisplayText("nl", "Betalen met pas.")),
    )
    assert price_lines(tariff, "en") == [
        "Card payments accepted.",
        "start fee €1.00",
        "€0.39 per kWh",
        "then €0.10 per minute after 2 hours",
        "maximum price €50.00",
    ]
    assert price_lines(tariff, "nl")[:3] == [
        "Betalen met pas.",
        "starttarief €\u00a01,00",
        "€\u00a00,39 per kWh",
    ]
    assert price_lines(tariff, "de")[1:3] == [
        "0,39\u00a0€ pro kWh",
        "danach 0,10\u00a0€ pro Minute nach 2 Stunden",
    ]
    assert price_lines(tariff, "fr")[0] == "frais de démarrage 1,00\u00a0€"


def test_it_says_then_for_a_later_element_of_the_same_dimension(spec_tariff: SpecTariff) -> None:
    lines = price_lines(spec_tariff("2.2.1", "tariffrestriction_example_max_duration"), "en")
    assert lines == [
        "€0.00 per kWh up to 30 minutes",
        "then €0.25 per kWh up to 1 hour",
        "then €0.40 per kWh",
    ]


def test_it_describes_days_hours_currents_and_steps(spec_tariff: SpecTariff) -> None:
    lines = price_lines(spec_tariff("2.2.1", "tariff_4_complex"), "en")
    assert "then €2.00 per hour (billed per 10 minutes) on Mon\u2013Fri at 32 A or more" in lines
    assert "parking €5.00 per hour (billed per 5 minutes) between 09:00 and 18:00 on Mon\u2013Fri" in lines


def test_it_can_show_prices_with_their_vat(spec_tariff: SpecTariff) -> None:
    assert price_lines(spec_tariff("2.2.1", "tariff_8_simple_025kwh"), "nl", with_taxes=True) == [
        "€\u00a00,275 per kWh"
    ]


def test_a_price_with_vat_meant_as_a_round_price_is_shown_at_the_cent() -> None:
    # 0.5702 excl. 21 % VAT is 0.689942: the CPO meant 0.69, and that is what the driver reads.
    meant = Tariff(
        id="T",
        currency="EUR",
        elements=(TariffElement((PriceComponent(Dimension.ENERGY, Decimal("0.5702"), vat=Decimal(21)),)),),
    )
    odd = Tariff(
        id="T",
        currency="EUR",
        elements=(TariffElement((PriceComponent(Dimension.ENERGY, Decimal("0.3333"), vat=Decimal(21)),)),),
    )
    assert price_lines(meant, "en", with_taxes=True) == ["€0.69 per kWh"]
    assert price_lines(odd, "en", with_taxes=True) == ["€0.4033 per kWh"]


def test_it_calls_a_free_tariff_free_in_each_language(spec_tariff: SpecTariff) -> None:
    tariff = spec_tariff("2.3.0", "tariff_5_free_of_charge")
    assert [price_lines(tariff, lang)[-1] for lang in ("en", "nl", "de", "fr")] == [
        "free of charge",
        "gratis",
        "kostenlos",
        "gratuit",
    ]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "€1,234.50"),
        ("nl", "€\u00a01.234,50"),
        ("de", "1.234,50\u00a0€"),
        ("fr", "1\u202f234,50\u00a0€"),
    ],
)
def test_it_formats_money_the_way_each_language_writes_it(language: str, expected: tuple[str, str]) -> None:
    assert format_money(D("1234.5"), "EUR", language) == expected


def test_it_tells_when_to_stop_before_the_tariffs_preauthorised_amount() -> None:
    tariff = tariff_from_ocpi(
        {
            "id": "card",
            "currency": "EUR",
            "type": "AD_HOC_PAYMENT",
            "tax_included": "YES",
            "preauthorize_amount": 30,
            "elements": [
                {"price_components": [{"type": "ENERGY", "price": 0.60, "vat": 21, "step_size": 1}]}
            ],
        },
        "2.3.0",
    )
    # EUR 0.60/kWh incl. VAT at 22 kW: EUR 30 is 50 kWh, after 8181.8 s.
    when = time_to_reach(tariff, running(10, "22"), tariff.preauthorize_amount, time_zone="Europe/Amsterdam")
    assert when == START + timedelta(seconds=8182)


@pytest.mark.parametrize(
    ("language", "fragments"),
    [
        (
            "en",
            [
                "from 20 kWh",
                "below 7.4 kW",
                "at 16 A or more",
                "from 2025-01-01",
                "before 2025-07-01",
                "on Sat",
            ],
        ),
        (
            "nl",
            ["vanaf 20 kWh", "onder 7,4 kW", "vanaf 16 A", "vanaf 2025-01-01", "vóór 2025-07-01", "op za"],
        ),
        ("de", ["ab 20 kWh", "unter 7,4 kW", "ab 16 A", "ab 2025-01-01", "vor 2025-07-01", "Sa"]),
        ("fr", ["à partir de 20 kWh", "sous 7,4 kW", "à partir de 16 A", "avant le 2025-07-01", "sam"]),
    ],
)
def test_it_describes_every_restriction_in_each_language(language: str, fragments: list[str]) -> None:
    tariff = Tariff(
        id="t",
        currency="EUR",
        elements=(
            TariffElement(
                (PriceComponent(Dimension.ENERGY, D("0.25")),),
                Restrictions(
                    min_kwh=D(20),
                    max_power=D("7.4"),
                    min_current=D(16),
                    start_date=date(2025, 1, 1),
                    end_date=date(2025, 7, 1),
                    day_of_week=(DayOfWeek.SATURDAY,),
                ),
            ),
        ),
    )
    (line,) = price_lines(tariff, language)
    for fragment in fragments:
        assert fragment in line
