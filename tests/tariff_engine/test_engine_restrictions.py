"""Restrictions, local time (midnight, DST in Amsterdam and New York) and edge-case sessions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

import pytest

from tariffs.engine import (
    Amount,
    DayOfWeek,
    Dimension,
    MeterSample,
    PriceComponent,
    Restrictions,
    SessionPrice,
    Tariff,
    TariffElement,
    TariffError,
    TaxAmount,
    TaxIncluded,
    price_session,
)

D = Decimal
# The conftest fixtures' types.
SpecTariff = Callable[[str, str], Tariff]
Metered = Callable[..., tuple[list[MeterSample], datetime]]
AMS, NYC = "Europe/Amsterdam", "America/New_York"


def tariff(*elements: TariffElement, currency: str = "EUR", **fields: object) -> Tariff:
    return Tariff(
        id="t", currency=currency, elements=elements, tax_included=TaxIncluded.NOT_APPLICABLE, **fields
    )  # type: ignore[arg-type]


def element(
    *components: tuple[Dimension, str] | tuple[Dimension, str, int], **restrictions: object
) -> TariffElement:
    return TariffElement(
        tuple(PriceComponent(c[0], D(c[1]), c[2] if len(c) > 2 else 1) for c in components),  # type: ignore[misc]
        Restrictions(**restrictions) if restrictions else None,  # type: ignore[arg-type]
    )


def charging(start: datetime, hours: float, kwh: str = "0", **state: object) -> list[MeterSample]:
    # In UTC: adding a timedelta to a ZoneInfo datetime is wall-clock arithmetic across DST.
    start = start.astimezone(UTC)
    end = start + timedelta(hours=hours)
    return [MeterSample(start, D(0), True, **state), MeterSample(end, D(kwh), False)]  # type: ignore[arg-type]


def cost(result: SessionPrice) -> Decimal:
    return result.total_cost_exact.before_taxes


def local(text: str, zone: str = AMS) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def test_it_charges_parking_only_after_charging_stops() -> None:
    t = tariff(element((Dimension.PARKING_TIME, "6")))
    start = local("2024-06-03T10:00")
    samples = [
        MeterSample(start, D(0), True),
        MeterSample(start + timedelta(hours=1), D(10), False),
        MeterSample(start + timedelta(hours=1, minutes=30), D(10), False),
    ]
    result = price_session(t, samples, time_zone=AMS)
    assert cost(result) == D(3)
    assert result.total_parking_time == D("0.5")
    assert result.total_time == D("1.5")


def test_it_takes_each_dimension_from_the_first_element_that_prices_it() -> None:
    t = tariff(
        element((Dimension.ENERGY, "0.30")),
        element((Dimension.ENERGY, "9"), (Dimension.TIME, "2")),
    )
    result = price_session(t, charging(local("2024-06-03T10:00"), 1, "10"), time_zone=AMS)
    assert cost(result) == D("3.00") + D("2")


def test_it_leaves_a_dimension_free_when_no_element_matches() -> None:
    t = tariff(element((Dimension.TIME, "2"), start_time=time(18), end_time=time(20)))
    result = price_session(t, charging(local("2024-06-03T10:00"), 2, "10"), time_zone=AMS)
    assert cost(result) == 0
    assert result.cost_lines == ()


def test_it_switches_to_the_night_rate_across_midnight() -> None:
    t = tariff(
        element((Dimension.TIME, "1"), start_time=time(22), end_time=time(6)),
        element((Dimension.TIME, "4")),
    )
    result = price_session(t, charging(local("2024-06-03T20:00"), 12), time_zone=AMS)
    # 20-22 day (8), 22-06 night (8), 06-08 day (8)
    assert cost(result) == D(24)
    assert [p.start_date_time.astimezone(ZoneInfo(AMS)).hour for p in result.charging_periods] == [20, 22, 6]


def test_it_reads_an_end_time_of_midnight_as_the_end_of_the_day() -> None:
    t = tariff(element((Dimension.TIME, "3"), start_time=time(21), end_time=time(0)))
    result = price_session(t, charging(local("2024-06-03T20:00"), 6), time_zone=AMS)
    assert cost(result) == D(9)  # 21:00-24:00


def test_it_starts_a_window_in_the_hour_skipped_by_dst_at_the_transition_in_amsterdam() -> None:
    # 2024-03-31 02:00 CET jumps to 03:00 CEST; 02:30 does not exist, so the window opens at 03:00.
    t = tariff(
        element((Dimension.TIME, "10"), start_time=time(2, 30), end_time=time(3, 30)),
        element((Dimension.TIME, "1")),
    )
    start = datetime(2024, 3, 31, 0, tzinfo=UTC)  # 01:00 CET
    result = price_session(t, charging(start, 3), time_zone=AMS)
    assert result.total_time == D(3)
    assert cost(result) == D("5") + D("2.5")


def test_it_covers_both_repeated_hours_when_dst_ends_in_amsterdam() -> None:
    # 2024-10-27 03:00 CEST falls back to 02:00 CET: 02:00-03:00 local lasts two real hours.
    t = tariff(
        element((Dimension.TIME, "10"), start_time=time(2), end_time=time(3)), element((Dimension.TIME, "1"))
    )
    start = datetime(2024, 10, 26, 23, tzinfo=UTC)
    result = price_session(t, charging(start, 4), time_zone=AMS)
    assert cost(result) == D(20) + D(2)


@pytest.mark.parametrize(
    ("local_start", "hours", "night_hours"),
    [("2024-03-09T21:00", 9, 7), ("2024-11-02T21:00", 11, 9)],
    ids=["spring-forward", "fall-back"],
)
def test_it_prices_a_night_rate_across_dst_changes_in_new_york(
    local_start: str, hours: int, night_hours: int
) -> None:
    t = tariff(
        element((Dimension.TIME, "1"), start_time=time(22), end_time=time(6)),
        element((Dimension.TIME, "5")),
    )
    start = local(local_start, NYC)
    result = price_session(t, charging(start, hours), time_zone=NYC)
    assert cost(result) == night_hours * 1 + (hours - night_hours) * 5
    assert (start.astimezone(UTC) + timedelta(hours=hours)).astimezone(ZoneInfo(NYC)).hour == 7


def test_it_applies_day_of_week_to_the_local_day_of_each_instant() -> None:
    t = tariff(
        element((Dimension.TIME, "2"), day_of_week=(DayOfWeek.FRIDAY,)), element((Dimension.TIME, "10"))
    )
    result = price_session(t, charging(local("2024-06-07T23:00"), 2), time_zone=AMS)  # Friday 23:00
    assert cost(result) == D(12)


def test_it_treats_end_date_as_exclusive() -> None:
    t = tariff(
        element((Dimension.TIME, "2"), start_date=date(2024, 6, 1), end_date=date(2024, 6, 8)),
        element((Dimension.TIME, "10")),
    )
    result = price_session(t, charging(local("2024-06-07T23:00"), 2), time_zone=AMS)
    assert cost(result) == D(12)


def test_it_splits_an_interval_exactly_where_the_energy_crosses_max_kwh() -> None:
    t = tariff(element((Dimension.ENERGY, "0.20"), max_kwh=D(10)), element((Dimension.ENERGY, "0.50")))
    result = price_session(t, charging(local("2024-06-03T10:00"), 1, "25"), time_zone=AMS)
    assert [line.volume for line in result.cost_lines] == [D(10), D(15)]
    assert cost(result) == D("9.50")


def test_it_reaches_min_kwh_exactly_when_decimal_samples_sum_to_it() -> None:
    # With floats, 300 x 0.1 kWh is 29.999999999999996 and misses min_kwh 30.
    t = tariff(element((Dimension.TIME, "60"), min_kwh=D(30)))
    start = local("2024-06-03T10:00")
    samples = [MeterSample(start + timedelta(minutes=i), D("0.1") * i, True) for i in range(301)]
    samples.append(MeterSample(start + timedelta(minutes=311), D(30), False))
    result = price_session(t, samples, time_zone=AMS)
    assert cost(result) == D(11)  # the last 11 minutes, from exactly 30 kWh on


def test_it_prices_by_the_instantaneous_current_of_each_sample() -> None:
    t = tariff(
        element((Dimension.TIME, "1"), max_current=D(16)), element((Dimension.TIME, "3"), min_current=D(16))
    )
    start = local("2024-06-03T10:00")
    samples = [
        MeterSample(start, D(0), True, current_a=D(10)),
        MeterSample(start + timedelta(hours=1), D(7), True, current_a=D(16)),
        MeterSample(start + timedelta(hours=2), D(18), False),
    ]
    assert cost(price_session(t, samples, time_zone=AMS)) == D(4)


def test_it_does_not_match_a_current_restriction_when_the_current_is_unknown() -> None:
    t = tariff(element((Dimension.TIME, "1"), max_current=D(16)), element((Dimension.TIME, "3")))
    assert cost(price_session(t, charging(local("2024-06-03T10:00"), 1), time_zone=AMS)) == D(3)


def test_it_derives_power_from_the_energy_when_a_sample_has_none() -> None:
    t = tariff(element((Dimension.ENERGY, "0.20"), min_power=D(20)), element((Dimension.ENERGY, "0.10")))
    start = local("2024-06-03T10:00")
    samples = [
        MeterSample(start, D(0), True),  # 22 kWh in one hour: 22 kW
        MeterSample(start + timedelta(hours=1), D(22), True),  # 11 kWh in one hour: 11 kW
        MeterSample(start + timedelta(hours=2), D(33), False),
    ]
    assert cost(price_session(t, samples, time_zone=AMS)) == D("4.40") + D("1.10")


def test_it_charges_then_ten_cents_a_minute_after_two_hours() -> None:
    t = tariff(element((Dimension.TIME, "6"), min_duration=7200), element((Dimension.ENERGY, "0.30")))
    result = price_session(t, charging(local("2024-06-03T10:00"), 3, "30"), time_zone=AMS)
    assert cost(result) == D(9) + D(6)


def test_it_prices_a_session_longer_than_a_day_by_each_local_day() -> None:
    t = tariff(element((Dimension.PARKING_TIME, "1"), start_time=time(8), end_time=time(20)))
    start = local("2024-06-03T06:00")
    samples = [MeterSample(start, D(0), True), MeterSample(start + timedelta(hours=1), D(10), False)]
    result = price_session(t, samples, time_zone=AMS, end=start + timedelta(hours=50))
    # Parking 07:00 on day 1 to 08:00 on day 3: 12 + 12 billed hours, plus 0 on day 3.
    assert cost(result) == D(24)
    assert result.total_time == D(50)


def test_it_charges_only_the_start_fee_for_a_session_without_energy() -> None:
    t = tariff(element((Dimension.FLAT, "1.50"), (Dimension.ENERGY, "0.30", 100)))
    result = price_session(t, charging(local("2024-06-03T10:00"), 1, "0"), time_zone=AMS)
    assert cost(result) == D("1.50")
    assert result.total_energy == 0


def test_it_prices_a_session_of_a_single_second() -> None:
    t = tariff(element((Dimension.FLAT, "1"), (Dimension.TIME, "3600")))
    start = datetime(2024, 6, 3, 8, tzinfo=UTC)
    samples = [MeterSample(start, D(0), True), MeterSample(start + timedelta(seconds=1), D("0.003"), True)]
    result = price_session(t, samples, time_zone=AMS)
    assert cost(result) == D(2)
    assert abs(result.total_time * 3600 - 1) < D("1e-30")


def test_it_charges_the_start_fee_for_a_session_of_a_single_sample() -> None:
    t = tariff(element((Dimension.FLAT, "1"), (Dimension.TIME, "3600")))
    result = price_session(t, [MeterSample(datetime(2024, 6, 3, 8, tzinfo=UTC), D(5), True)], time_zone=AMS)
    assert cost(result) == D(1)


def test_it_rounds_only_at_the_end_with_the_rounding_mode_asked_for() -> None:
    t = tariff(element((Dimension.ENERGY, "0.125")))
    samples = charging(local("2024-06-03T10:00"), 1, "1")
    assert price_session(t, samples, time_zone=AMS).total_cost.before_taxes == D("0.13")
    even = price_session(t, samples, time_zone=AMS, rounding=ROUND_HALF_EVEN)
    assert even.total_cost.before_taxes == D("0.12")


def test_it_rounds_yen_to_whole_units() -> None:
    t = tariff(element((Dimension.ENERGY, "45.5")), currency="JPY")
    result = price_session(
        t, charging(local("2024-06-03T10:00", "Asia/Tokyo"), 1, "3"), time_zone="Asia/Tokyo"
    )
    assert result.total_cost.before_taxes == D(137)


def test_it_gives_both_ocpi_price_shapes_with_a_tax_per_rate(
    spec_tariff: SpecTariff, metered: Metered
) -> None:
    samples, _ = metered("2024-06-03T10:00", [(60, "20", True, None, None), (40, "0", False, None, None)])
    result = price_session(spec_tariff("2.2.1", "tariff_10_025kwh_parking_start"), samples, time_zone=AMS)
    assert result.total_cost.as_ocpi_221() == {"excl_vat": D("7.00"), "incl_vat": D("7.90")}
    assert result.total_cost.as_ocpi_230(account_number="NL001") == {
        "before_taxes": D("7.00"),
        "taxes": [
            {"name": "VAT", "account_number": "NL001", "percentage": D("10.0"), "amount": D("0.50")},
            {"name": "VAT", "account_number": "NL001", "percentage": D("20.0"), "amount": D("0.40")},
        ],
    }
    assert result.taxes == result.total_cost.taxes


def test_it_splits_a_tax_inclusive_price_into_before_taxes_and_tax() -> None:
    t = Tariff(
        id="t",
        currency="EUR",
        tax_included=TaxIncluded.YES,
        elements=(TariffElement((PriceComponent(Dimension.ENERGY, D("0.363"), 1, D(21)),)),),
    )
    result = price_session(t, charging(local("2024-06-03T10:00"), 1, "10"), time_zone=AMS)
    assert result.total_cost_exact.after_taxes == D("3.63")
    assert result.total_cost_exact.before_taxes == D("3.00")
    assert result.total_cost.taxes[0].amount == D("0.63")


def test_it_ignores_readings_that_arrive_after_the_session_ended() -> None:
    t = tariff(element((Dimension.ENERGY, "1"), (Dimension.TIME, "6")))
    start = local("2024-06-03T10:00").astimezone(UTC)
    samples = [MeterSample(start, D(0), True), MeterSample(start + timedelta(hours=2), D(20), True)]
    result = price_session(t, samples, time_zone=AMS, end=start + timedelta(minutes=30))
    assert result.total_energy == D(5)
    assert cost(result) == D(5) + D(3)
    with pytest.raises(TariffError, match="before its first meter sample"):
        price_session(t, samples, time_zone=AMS, end=start - timedelta(seconds=1))


def test_it_reports_the_cost_of_each_dimension_and_counts_a_parking_fee_as_parking() -> None:
    t = tariff(
        element((Dimension.FLAT, "1"), (Dimension.ENERGY, "0.30")),
        element((Dimension.FLAT, "5"), (Dimension.PARKING_TIME, "2"), min_duration=3600),
    )
    start = local("2024-06-03T10:00").astimezone(UTC)
    samples = [MeterSample(start, D(0), True), MeterSample(start + timedelta(hours=1), D(10), False)]
    result = price_session(t, samples, time_zone=AMS, end=start + timedelta(hours=2))
    assert {name: amount.before_taxes for name, amount in result.cost_by_dimension.items()} == {
        "ENERGY": D("3.00"),
        "FLAT": D(6),
        "PARKING_TIME": D(2),
    }
    # The parking fee is a fee of its own, paid besides the start fee once the car parks there.
    assert result.total_fixed_cost.before_taxes == D(1)
    assert result.total_parking_cost.before_taxes == D(5) + D(2)


def test_it_adds_amounts_keeping_unknown_taxes_unknown() -> None:
    known = Amount(D("1.00"), D("1.21"), (TaxAmount(D(21), D("0.21")),))
    other = Amount(D("2.00"), D("2.18"), (TaxAmount(D(9), D("0.18")),))
    assert known.plus(known) == Amount(D("2.00"), D("2.42"), (TaxAmount(D(21), D("0.42")),))
    assert known.plus(other).taxes == (TaxAmount(D(9), D("0.18")), TaxAmount(D(21), D("0.21")))
    assert known.plus(Amount(D(1), None)).after_taxes is None


def test_it_assumes_a_live_session_goes_on_at_the_power_it_last_had() -> None:
    t = tariff(element((Dimension.TIME, "1"), min_power=D(20)), element((Dimension.TIME, "3")))
    start = local("2024-06-03T10:00").astimezone(UTC)
    samples = [MeterSample(start, D(0), True), MeterSample(start + timedelta(hours=1), D(22), True)]
    result = price_session(t, samples, time_zone=AMS, end=start + timedelta(hours=2))
    assert cost(result) == D(2)  # 22 kW in the metered hour, assumed 22 kW since


def test_samples_in_the_repeated_autumn_hour_keep_their_order_in_real_time() -> None:
    # 02:40 CEST comes before 02:10 CET on 2026-10-25 in Amsterdam. Python compares and subtracts
    # two datetimes of one ZoneInfo by wall clock, so samples stamped in the location's zone
    # must be priced as the same instants in UTC are.
    t = tariff(element((Dimension.ENERGY, "1"), (Dimension.TIME, "6")))
    amsterdam = ZoneInfo(AMS)
    stamps = [
        datetime(2026, 10, 25, 2, 0, tzinfo=amsterdam),
        datetime(2026, 10, 25, 2, 40, tzinfo=amsterdam),
        datetime(2026, 10, 25, 2, 10, fold=1, tzinfo=amsterdam),
        datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=amsterdam),
    ]
    energies = [D(0), D(4), D(7), D(9)]
    in_their_zone = [MeterSample(stamp, kwh) for stamp, kwh in zip(stamps, energies, strict=True)]
    in_utc = [MeterSample(stamp.astimezone(UTC), kwh) for stamp, kwh in zip(stamps, energies, strict=True)]

    priced = price_session(t, in_their_zone, time_zone=AMS)

    assert priced.total_time == D("1.5")
    assert priced.total_energy == D(9)
    assert priced.total_cost_exact == price_session(t, in_utc, time_zone=AMS).total_cost_exact
