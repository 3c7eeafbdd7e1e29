"""Amounts after taxes without a VAT rate, DST's repeated and skipped hours, and exact half-up rounding."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tariffs.engine import (
    DayOfWeek,
    Dimension,
    MeterSample,
    PriceComponent,
    Restrictions,
    Tariff,
    TariffElement,
    TaxIncluded,
    price_session,
    tariff_from_ocpi,
)

D = Decimal
AMS, NYC = "Europe/Amsterdam", "America/New_York"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def constant(start: datetime, hours: float, kwh: str = "0") -> list[MeterSample]:
    end = start + timedelta(hours=hours)
    return [MeterSample(start, D(0), True), MeterSample(end, D(kwh), True)]


# -- 1. 2.2.1: a component without vat has no VAT, so its amount after taxes is its price ---------------


def ocpi(version: str, components: list[dict[str, object]], **fields: object) -> Tariff:
    data = {"id": "t", "currency": "EUR", "elements": [{"price_components": components}], **fields}
    return tariff_from_ocpi(data, version)  # type: ignore[arg-type]


def test_a_221_component_without_vat_costs_the_same_incl_vat_as_excl_vat() -> None:
    t = ocpi("2.2.1", [{"type": "ENERGY", "price": "0.25", "step_size": 1}])
    result = price_session(t, constant(utc("2024-06-03T10:00"), 1, "10"), time_zone=AMS)
    assert result.total_cost.as_ocpi_221() == {"excl_vat": D("2.50"), "incl_vat": D("2.50")}
    assert result.total_cost.taxes == ()
    assert result.total_energy_cost.as_ocpi_221() == {"excl_vat": D("2.50"), "incl_vat": D("2.50")}


def test_a_221_component_without_vat_adds_no_tax_beside_one_with_vat() -> None:
    t = ocpi(
        "2.2.1",
        [
            {"type": "FLAT", "price": "1", "vat": "21", "step_size": 1},
            {"type": "ENERGY", "price": "0.3", "step_size": 1},
        ],
    )
    result = price_session(t, constant(utc("2024-06-03T10:00"), 1, "10"), time_zone=AMS)
    assert result.total_cost.as_ocpi_221() == {"excl_vat": D("4.00"), "incl_vat": D("4.21")}
    assert [(tax.percentage, tax.amount) for tax in result.total_cost.taxes] == [(D(21), D("0.21"))]


def test_the_operators_own_tariff_reads_a_missing_vat_as_no_vat() -> None:
    t = Tariff(
        id="t", currency="EUR", elements=(TariffElement((PriceComponent(Dimension.ENERGY, D("0.25")),)),)
    )
    result = price_session(t, constant(utc("2024-06-03T10:00"), 1, "10"), time_zone=AMS)
    assert (result.total_cost.before_taxes, result.total_cost.after_taxes) == (D("2.50"), D("2.50"))


# -- 2. 2.3.0: a zero amount has zero tax, whatever its rate --------------------------------------------


def test_a_free_230_component_without_tax_leaves_the_total_after_taxes_known() -> None:
    t = ocpi(
        "2.3.0",
        [
            {"type": "FLAT", "price": "0.00", "step_size": 1},
            {"type": "ENERGY", "price": "0.25", "vat": "21", "step_size": 1},
        ],
        tax_included="NO",
    )
    result = price_session(t, constant(utc("2024-06-03T10:00"), 1, "10"), time_zone=AMS)
    assert result.total_cost_exact.after_taxes == D("3.025")
    assert result.total_cost.before_taxes == D("2.50")
    assert result.total_cost.after_taxes == D("3.03")
    assert result.total_fixed_cost.after_taxes == D(0)
    assert result.total_cost.as_ocpi_230()["taxes"] == [
        {"name": "VAT", "percentage": D(21), "amount": D("0.53")}
    ]


def test_a_free_tax_inclusive_component_without_a_rate_is_zero_before_taxes_too() -> None:
    t = ocpi(
        "2.3.0",
        [
            {"type": "FLAT", "price": "0.00", "step_size": 1},
            {"type": "ENERGY", "price": "0.3025", "vat": "21", "step_size": 1},
        ],
        tax_included="YES",
    )
    result = price_session(t, constant(utc("2024-06-03T10:00"), 1, "10"), time_zone=AMS)
    assert result.total_cost.before_taxes == D("2.50")
    assert result.total_cost.after_taxes == D("3.03")
    assert result.total_fixed_cost.before_taxes == D(0)


def test_a_priced_230_component_without_vat_still_leaves_the_taxes_to_local_law() -> None:
    t = ocpi("2.3.0", [{"type": "ENERGY", "price": "0.25", "step_size": 1}], tax_included="NO")
    result = price_session(t, constant(utc("2024-06-03T10:00"), 1, "10"), time_zone=AMS)
    assert (result.total_cost.before_taxes, result.total_cost.after_taxes) == (D("2.50"), None)


# -- 3. local wall-clock windows: the repeated hour counts twice, the skipped one not at all -------------


def two_rates(**restrictions: object) -> Tariff:
    """6.00/h while the restrictions hold, 1.00/h otherwise."""
    return Tariff(
        id="t",
        currency="EUR",
        tax_included=TaxIncluded.NOT_APPLICABLE,
        elements=(
            TariffElement((PriceComponent(Dimension.TIME, D("6.00")),), Restrictions(**restrictions)),  # type: ignore[arg-type]
            TariffElement((PriceComponent(Dimension.TIME, D("1.00")),)),
        ),
    )


def priced(t: Tariff, start: str, hours: float, zone: str) -> Decimal:
    return price_session(t, constant(utc(start), hours), time_zone=zone).total_cost_exact.before_taxes


def test_both_occurrences_of_the_repeated_hour_are_inside_a_time_window() -> None:
    # 2026-10-25, Amsterdam: 00:00Z-01:00Z is 02:00-03:00 CEST, 01:00Z-02:00Z is 02:00-03:00 CET.
    t = two_rates(start_time=time(1), end_time=time(2, 30))
    assert priced(t, "2026-10-25T00:00", 2, AMS) == D("7.00")


def test_the_repeated_hour_counts_twice_in_new_york_too() -> None:
    # 2026-11-01, New York: 05:00Z-06:00Z is 01:00-02:00 EDT, 06:00Z-07:00Z is 01:00-02:00 EST.
    t = two_rates(start_time=time(1), end_time=time(1, 30))
    assert priced(t, "2026-11-01T05:00", 2, NYC) == D("7.00")


def test_a_window_that_starts_in_the_repeated_hour_opens_twice() -> None:
    # 02:30-04:00 local on 2026-10-25 in Amsterdam: 00:30Z-01:00Z (CEST) and 01:30Z-03:00Z (CET).
    t = two_rates(start_time=time(2, 30), end_time=time(4))
    assert priced(t, "2026-10-25T00:00", 3, AMS) == D("6.00") * D("2") + D("1.00") * D("1")


def test_the_skipped_hour_is_never_inside_a_window() -> None:
    # 2026-03-29, Amsterdam: 01:00Z is 02:00 CET = 03:00 CEST; 02:00-03:00 local never happens.
    t = two_rates(start_time=time(2), end_time=time(3))
    assert priced(t, "2026-03-29T00:00", 2, AMS) == D("2.00")
    # 01:30-02:30 local: only 01:30-02:00 CET (00:30Z-01:00Z) exists.
    t = two_rates(start_time=time(1, 30), end_time=time(2, 30))
    assert priced(t, "2026-03-29T00:00", 2, AMS) == D("3.00") + D("1.50")


def test_the_skipped_hour_in_new_york() -> None:
    # 2026-03-08, New York: 07:00Z is 02:00 EST = 03:00 EDT; 01:00-04:00 local is 06:00Z-08:00Z.
    t = two_rates(start_time=time(1), end_time=time(4))
    assert priced(t, "2026-03-08T05:00", 4, NYC) == D("6.00") * 2 + D("1.00") * 2


@pytest.mark.parametrize(
    ("zone", "start", "restriction"),
    [
        (AMS, "2026-10-24T22:00", {"day_of_week": (DayOfWeek.SUNDAY,)}),
        (AMS, "2026-10-24T22:00", {"start_date": date(2026, 10, 25), "end_date": date(2026, 10, 26)}),
        (NYC, "2026-11-01T04:00", {"day_of_week": (DayOfWeek.SUNDAY,)}),
        (NYC, "2026-11-01T04:00", {"start_date": date(2026, 11, 1), "end_date": date(2026, 11, 2)}),
    ],
)
def test_a_day_restriction_holds_for_the_whole_25_hour_local_day(
    zone: str, start: str, restriction: dict[str, object]
) -> None:
    # The local Sunday of the autumn change lasts 25 h; priced from its first instant to its last.
    t = two_rates(**restriction)
    assert priced(t, start, 25, zone) == D("6.00") * 25
    # And ends where the local Monday begins.
    assert priced(t, start, 26, zone) == D("6.00") * 25 + D("1.00")


@pytest.mark.parametrize(
    ("zone", "start", "restriction"),
    [
        (AMS, "2026-03-28T23:00", {"day_of_week": (DayOfWeek.SUNDAY,)}),
        (AMS, "2026-03-28T23:00", {"end_date": date(2026, 3, 30), "start_date": date(2026, 3, 29)}),
        (NYC, "2026-03-08T05:00", {"day_of_week": (DayOfWeek.SUNDAY,)}),
        (NYC, "2026-03-08T05:00", {"end_date": date(2026, 3, 9)}),
    ],
)
def test_a_day_restriction_holds_for_the_23_hour_local_day_of_the_spring_change(
    zone: str, start: str, restriction: dict[str, object]
) -> None:
    t = two_rates(**restriction)
    if "end_date" in restriction and "start_date" not in restriction:
        # Only end_date: everything before the Monday is inside, the Monday is not.
        assert priced(t, start, 24, zone) == D("6.00") * 23 + D("1.00")
        return
    assert priced(t, start, 23, zone) == D("6.00") * 23
    assert priced(t, start, 24, zone) == D("6.00") * 23 + D("1.00")


# -- 4. exact to the cent: the reported figure is the exact amount rounded half-up ----------------------


def chunked(chunks: list[tuple[int, Decimal]], vat: Decimal | None, included: TaxIncluded) -> Tariff:
    """One TIME element per chunk of the session (by duration), so that each chunk is its own line."""
    elements, elapsed = [], 0
    for index, (seconds, price) in enumerate(chunks):
        last = index == len(chunks) - 1
        restrictions = Restrictions(
            min_duration=elapsed if elapsed else None, max_duration=None if last else elapsed + seconds
        )
        elements.append(TariffElement((PriceComponent(Dimension.TIME, price, 1, vat),), restrictions))
        elapsed += seconds
    return Tariff(id="t", currency="EUR", tax_included=included, elements=tuple(elements))


def chunked_session(chunks: list[tuple[int, Decimal]], offset: int = 0) -> list[MeterSample]:
    start = utc("2024-06-03T00:00") + timedelta(seconds=offset)
    return constant(start, sum(seconds for seconds, _ in chunks) / 3600)


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        # 6 x 4,000 s + 4,350 s at 1.00/h is exactly 7.875; each line's 40-digit division rounds
        # the same way, and the sum of that noise once fell below the half cent (7.87).
        ([(4000, D("1.00"))] * 6 + [(4350, D("1.00"))], D("7.88")),
        ([(4000, D("2.00"))] * 7 + [(17, D("2.00"))], D("15.57")),
    ],
)
def test_an_amount_of_exactly_half_a_cent_is_rounded_up(
    chunks: list[tuple[int, Decimal]], expected: Decimal
) -> None:
    t = chunked(chunks, None, TaxIncluded.NOT_APPLICABLE)
    result = price_session(t, chunked_session(chunks), time_zone="UTC")
    assert result.total_cost.before_taxes == expected
    assert result.total_time_cost.before_taxes == expected


def _half_up(value: Fraction) -> Decimal:
    cents = value * 100
    whole = cents.numerator // cents.denominator
    if (cents - whole) * 2 >= 1:
        whole += 1
    return D(whole).scaleb(-2)


chunks_strategy = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=4 * 3600),
        st.decimals(min_value=D("0.0001"), max_value=D("99.9999"), places=4),
    ),
    min_size=1,
    max_size=10,
)


@settings(max_examples=400, deadline=None)
@given(
    chunks=chunks_strategy,
    vat=st.sampled_from([None, D(0), D(21), D("5.5"), D(9)]),
    included=st.sampled_from([TaxIncluded.NO, TaxIncluded.YES, TaxIncluded.NOT_APPLICABLE]),
)
def test_every_reported_figure_is_the_exact_amount_rounded_half_up(
    chunks: list[tuple[int, Decimal]], vat: Decimal | None, included: TaxIncluded
) -> None:
    if included is TaxIncluded.YES and vat is None:
        vat = D(21)
    exact = sum((Fraction(price) * seconds / 3600 for seconds, price in chunks), Fraction(0))
    rate = Fraction(vat or 0) if included is not TaxIncluded.NOT_APPLICABLE else Fraction(0)
    if included is TaxIncluded.YES:
        before, after = exact * 100 / (100 + rate), exact
    else:
        before, after = exact, exact * (100 + rate) / 100
    result = price_session(chunked(chunks, vat, included), chunked_session(chunks), time_zone="UTC")
    for figure in (result.total_cost, result.total_time_cost):
        assert figure.before_taxes == _half_up(before)
        assert figure.after_taxes == _half_up(after)
