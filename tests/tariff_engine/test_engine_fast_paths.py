"""The engine's fast paths price exactly as its general path, to the last digit of every figure.

A tariff restricted by local time at most (the usual one) takes a shortcut when cutting a
session into periods, and the windows of a day are shared by every tariff with the same hours;
both must leave every figure (value and representation) as the general path computes it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tariffs.engine import (
    DayOfWeek,
    Dimension,
    MeterSample,
    PriceComponent,
    Reservation,
    ReservationRestriction,
    Restrictions,
    SessionPrice,
    Tariff,
    TariffElement,
    TaxIncluded,
    price_session,
    pricing,
)

D = Decimal
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Amsterdam and New York change by an hour, Lord Howe Island by half an hour, Kolkata never.
ZONES = ["Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
# Instants around each zone's DST changes in 2026, and plain days.
AROUND = [
    datetime(2026, 3, 29, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 0, tzinfo=UTC),
    datetime(2026, 3, 8, 6, tzinfo=UTC),
    datetime(2026, 11, 1, 5, tzinfo=UTC),
    datetime(2026, 4, 4, 14, tzinfo=UTC),
    datetime(2026, 10, 3, 15, tzinfo=UTC),
    datetime(2026, 6, 17, 21, tzinfo=UTC),
    datetime(2026, 12, 31, 22, tzinfo=UTC),
]

prices = st.decimals(min_value=0, max_value=5, places=4)
vats = st.sampled_from([None, D(0), D(9), D(21)])
steps = st.sampled_from([1, 60, 300, 900, 500])
clock_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 0, 15, 30, 45]))


@st.composite
def local_time_restrictions(draw: st.DrawFn) -> Restrictions | None:
    kind = draw(st.sampled_from(["none", "time", "time", "days", "dates", "all"]))
    if kind == "none":
        return None
    fields: dict[str, object] = {}
    if kind in ("time", "all"):
        fields["start_time"] = draw(st.none() | clock_times)
        fields["end_time"] = draw(st.none() | clock_times)
    if kind in ("days", "all"):
        fields["day_of_week"] = tuple(draw(st.sets(st.sampled_from(list(DayOfWeek)), min_size=1)))
    if kind in ("dates", "all"):
        first = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 364)))
        fields["start_date"] = first
        fields["end_date"] = first + timedelta(days=draw(st.integers(1, 3)))
    return Restrictions(**fields)  # type: ignore[arg-type]


@st.composite
def local_time_tariffs(draw: st.DrawFn) -> Tariff:
    elements = []
    for _ in range(draw(st.integers(1, 4))):
        kinds = draw(st.lists(st.sampled_from(list(Dimension)), min_size=1, max_size=4, unique=True))
        components = tuple(PriceComponent(kind, draw(prices), draw(steps), draw(vats)) for kind in kinds)
        elements.append(TariffElement(components, draw(local_time_restrictions())))
    return Tariff(
        id="fast",
        currency="EUR",
        elements=tuple(elements),
        tax_included=draw(st.sampled_from(list(TaxIncluded))),
    )


# Often on the quarter hour, where windows open and close: a sample exactly at a boundary.
quarters = st.integers(-24, 24).map(lambda n: timedelta(minutes=15 * n))
offsets = st.one_of(quarters, quarters, st.integers(-6 * 3600, 6 * 3600).map(lambda s: timedelta(seconds=s)))
quarter_legs = st.integers(1, 12).map(lambda n: timedelta(minutes=15 * n))
legs = st.one_of(
    quarter_legs,
    quarter_legs,
    st.tuples(st.integers(1, 3 * 3600), st.sampled_from([0, 1, 7])).map(
        lambda pair: timedelta(seconds=pair[0], microseconds=pair[1])
    ),
)


@st.composite
def sessions(draw: st.DrawFn) -> list[MeterSample]:
    at = draw(st.sampled_from(AROUND)) + draw(offsets)
    samples, energy = [], D(0)
    for _ in range(draw(st.integers(1, 12))):
        charging = draw(st.booleans())
        samples.append(
            MeterSample(at, energy, charging, power_kw=draw(st.none() | st.integers(0, 50).map(D)))
        )
        at += draw(legs)
        if charging:
            energy += D(draw(st.integers(0, 30_000))) / 1000
    samples.append(MeterSample(at, energy, False))
    return samples


def general_path(tariff: Tariff, samples: list[MeterSample], zone: str, **options: object) -> SessionPrice:
    """The price by the general path, choosing elements segment by segment."""
    compiled = pricing._compiled(tariff)
    compiled.clock_only = False
    try:
        return price_session(tariff, samples, time_zone=zone, **options)  # type: ignore[arg-type]
    finally:
        compiled.clock_only = True


@FAST
@given(local_time_tariffs(), sessions(), st.sampled_from(ZONES))
def test_a_tariff_restricted_by_local_time_prices_as_the_general_path_does(
    tariff: Tariff, samples: list[MeterSample], zone: str
) -> None:
    fast = price_session(tariff, samples, time_zone=zone)
    assert pricing._compiled(tariff).clock_only
    # repr: the same figures down to each Decimal's exponent, as a CDR would print them.
    assert repr(general_path(tariff, samples, zone)) == repr(fast)


@FAST
@given(local_time_tariffs(), sessions(), st.sampled_from(ZONES), st.integers(-3 * 3600, 3 * 3600))
def test_a_live_price_up_to_now_takes_the_same_fast_path(
    tariff: Tariff, samples: list[MeterSample], zone: str, seconds: int
) -> None:
    end = samples[-1].timestamp + timedelta(seconds=abs(seconds))
    fast = price_session(tariff, samples, time_zone=zone, end=end)
    assert repr(general_path(tariff, samples, zone, end=end)) == repr(fast)


def test_a_sample_exactly_at_a_window_boundary_is_no_cut() -> None:
    tariff = Tariff(
        id="fast",
        currency="EUR",
        elements=(
            TariffElement(
                (PriceComponent(Dimension.ENERGY, D("0.3"), 1, D(21)),),
                Restrictions(start_time=time(10), end_time=time(12)),
            ),
            TariffElement((PriceComponent(Dimension.ENERGY, D("0.2"), 1, D(21)),)),
        ),
    )
    start = datetime(2026, 6, 1, 7, tzinfo=UTC)  # 09:00 in Amsterdam; the window opens at 10:00
    samples = [
        MeterSample(start, D(0), True),
        MeterSample(start + timedelta(hours=1), D("1.5"), True),
        MeterSample(start + timedelta(hours=2), D("3"), False),
    ]
    fast = price_session(tariff, samples, time_zone="Europe/Amsterdam")
    assert [period.dimensions[0].volume.as_tuple() for period in fast.charging_periods] == [
        D("1.5").as_tuple(),
        D("1.5").as_tuple(),
    ]
    assert fast.total_energy_cost.before_taxes == D("0.75")
    assert repr(general_path(tariff, samples, "Europe/Amsterdam")) == repr(fast)


def test_a_reservation_before_the_session_is_priced_alike_on_both_paths() -> None:
    tariff = Tariff(
        id="fast",
        currency="EUR",
        elements=(
            TariffElement(
                (
                    PriceComponent(Dimension.FLAT, D("1.50"), 1, D(21)),
                    PriceComponent(Dimension.TIME, D(3), 60, D(21)),
                ),
                Restrictions(reservation=ReservationRestriction.RESERVATION),
            ),
            TariffElement(
                (PriceComponent(Dimension.ENERGY, D("0.31"), 1, D(21)),),
                Restrictions(start_time=time(1, 30), end_time=time(2, 30)),
            ),
            TariffElement((PriceComponent(Dimension.ENERGY, D("0.27"), 1, D(21)),)),
        ),
    )
    start = datetime(2026, 10, 25, 0, 10, tzinfo=UTC)  # 02:10 CEST, the repeated hour follows
    samples = [
        MeterSample(start, D(0), True),
        MeterSample(start + timedelta(minutes=50), D("9.125"), True),
        MeterSample(start + timedelta(hours=2), D("20.5"), False),
    ]
    reservation = Reservation(start - timedelta(minutes=25), start)
    fast = price_session(tariff, samples, time_zone="Europe/Amsterdam", reservation=reservation)
    assert fast.total_reservation_cost.before_taxes == D("1.50") + D("1.25")
    general = general_path(tariff, samples, "Europe/Amsterdam", reservation=reservation)
    assert repr(general) == repr(fast)


@FAST
@given(local_time_tariffs(), local_time_tariffs(), sessions(), st.sampled_from(ZONES))
def test_windows_shared_with_another_tariff_change_no_figure(
    first: Tariff, second: Tariff, samples: list[MeterSample], zone: str
) -> None:
    # `second` with `first`'s hours: its days' windows are then those cached for `first`.
    same_hours = Tariff(
        id="same hours",
        currency="EUR",
        elements=tuple(
            TariffElement(theirs.price_components, mine.restrictions)
            for theirs, mine in zip(second.elements * 4, first.elements, strict=False)
        ),
    )
    pricing.clear_caches()
    cold = price_session(same_hours, samples, time_zone=zone)
    pricing.clear_caches()
    price_session(first, samples, time_zone=zone)
    warm = price_session(same_hours, samples, time_zone=zone)
    assert repr(warm) == repr(cold)
