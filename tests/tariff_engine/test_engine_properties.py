"""Hypothesis properties of the engine over random tariffs and sessions.

A longer session may cost less under step_size (README of the spec material: rounding happens
once per session with the last component's step, and once parking is billed only parking is
rounded), so growth is checked with steps of 1 on whole seconds and whole Wh, where rounding is
a no-op, or against the unrounded shorter session.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tariffs.engine import (
    DayOfWeek,
    Dimension,
    MeterSample,
    PriceComponent,
    PriceLimit,
    Restrictions,
    Tariff,
    TariffElement,
    TaxIncluded,
    price_session,
)

D = Decimal
LegTuple = tuple[int, int, bool, Decimal | None, Decimal | None]
ZONES = ["Europe/Amsterdam", "America/New_York", "UTC"]
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

prices = st.decimals(min_value=0, max_value=5, places=2)
vats = st.sampled_from([None, D(0), D(9), D(21)])
steps = st.sampled_from([1, 1, 60, 300, 900, 500])


@st.composite
def restrictions(draw: st.DrawFn) -> Restrictions | None:
    kind = draw(st.sampled_from(["none", "time", "days", "kwh", "power", "current", "duration"]))
    if kind == "none":
        return None
    if kind == "time":
        return Restrictions(
            start_time=time(draw(st.integers(0, 23))), end_time=time(draw(st.integers(0, 23)))
        )
    if kind == "days":
        return Restrictions(day_of_week=tuple(draw(st.sets(st.sampled_from(list(DayOfWeek)), min_size=1))))
    low = draw(st.integers(0, 40))
    high = low + draw(st.integers(1, 40))
    if kind == "kwh":
        return Restrictions(min_kwh=D(low) if draw(st.booleans()) else None, max_kwh=D(high))
    if kind == "power":
        return Restrictions(min_power=D(low), max_power=D(high) if draw(st.booleans()) else None)
    if kind == "current":
        return Restrictions(min_current=D(low) if draw(st.booleans()) else None, max_current=D(high))
    return Restrictions(min_duration=low * 300, max_duration=high * 300 if draw(st.booleans()) else None)


@st.composite
def tariffs(draw: st.DrawFn, *, stepped: bool = True, limits: bool = False) -> Tariff:
    elements = []
    for _ in range(draw(st.integers(1, 4))):
        kinds = draw(st.lists(st.sampled_from(list(Dimension)), min_size=1, max_size=3, unique=True))
        components = tuple(
            PriceComponent(kind, draw(prices), draw(steps) if stepped else 1, draw(vats)) for kind in kinds
        )
        elements.append(TariffElement(components, draw(restrictions())))
    min_price = max_price = None
    if limits:
        low = draw(st.decimals(min_value=0, max_value=5, places=2))
        high = low + draw(st.decimals(min_value=0, max_value=20, places=2))
        min_price = PriceLimit(low, low * D("1.1")) if draw(st.booleans()) else None
        max_price = PriceLimit(high, high * D("1.2")) if draw(st.booleans()) else None
    return Tariff(
        id="p",
        currency="EUR",
        elements=tuple(elements),
        min_price=min_price,
        max_price=max_price,
        tax_included=draw(st.sampled_from(list(TaxIncluded))),
    )


# A leg: whole seconds, whole Wh, charging?, power kW or None, current A or None.
def legs_with(power: st.SearchStrategy[Decimal | None]) -> st.SearchStrategy[list[tuple[object, ...]]]:
    return st.lists(
        st.tuples(
            st.integers(1, 4 * 3600),
            st.integers(0, 20_000),
            st.booleans(),
            power,
            st.one_of(st.none(), st.integers(0, 64).map(D)),
        ),
        min_size=1,
        max_size=8,
    )


legs = legs_with(st.one_of(st.none(), st.integers(0, 60).map(D)))
# With the power reported by each sample: without it, the power of an interval is only known
# once the next sample arrives, which can rightly change what a live price assumed.
reported_legs = legs_with(st.integers(0, 60).map(D))
starts = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2025, 12, 31)).map(
    lambda moment: moment.replace(microsecond=0, tzinfo=UTC)
)


def samples_of(
    start: datetime, session: list[tuple[int, int, bool, Decimal | None, Decimal | None]]
) -> list[MeterSample]:
    samples, at, wh = [], start, 0
    for seconds, energy, charging, power, current in session:
        samples.append(MeterSample(at, D(wh) / 1000, charging, power_kw=power, current_a=current))
        at += timedelta(seconds=seconds)
        wh += energy
    samples.append(MeterSample(at, D(wh) / 1000, False))
    return samples


def unstepped(tariff: Tariff) -> Tariff:
    return dataclasses.replace(
        tariff,
        elements=tuple(
            dataclasses.replace(
                element,
                price_components=tuple(dataclasses.replace(c, step_size=1) for c in element.price_components),
            )
            for element in tariff.elements
        ),
    )


def before(tariff: Tariff, samples: list[MeterSample], zone: str) -> Decimal:
    """The exact total before taxes; after taxes for a tax-inclusive price of unknown rate."""
    total = price_session(tariff, samples, time_zone=zone).total_cost_exact
    return total.after_taxes if total.before_taxes is None else total.before_taxes


def pairs(low: Decimal | None, high: Decimal | None) -> bool:
    """low <= high where both are known."""
    return low is None or high is None or low <= high


@PROPERTY
@given(tariffs(stepped=False), starts, legs, legs, st.sampled_from(ZONES))
def test_a_session_that_goes_on_never_costs_less_without_step_rounding(
    tariff: Tariff, start: datetime, first: list[LegTuple], more: list[LegTuple], zone: str
) -> None:
    longer = samples_of(start, first + more)
    # The prefix ends at a sample, so the state that sample carries does not count yet.
    shorter = longer[: len(first) + 1]
    assert before(tariff, longer, zone) >= before(tariff, shorter, zone)


@PROPERTY
@given(tariffs(stepped=False), starts, reported_legs, st.sampled_from(ZONES))
def test_each_further_sample_never_lowers_the_live_price_without_step_rounding(
    tariff: Tariff, start: datetime, session: list[LegTuple], zone: str
) -> None:
    samples = samples_of(start, session)
    live = [before(tariff, samples[: k + 1], zone) for k in range(len(samples))]
    assert live == sorted(live)
    assert live[-1] == before(tariff, samples, zone)


@PROPERTY
@given(tariffs(), starts, legs, legs, st.sampled_from(ZONES))
def test_a_longer_session_never_costs_less_than_the_unrounded_shorter_one(
    tariff: Tariff, start: datetime, first: list[LegTuple], more: list[LegTuple], zone: str
) -> None:
    samples = samples_of(start, first + more)
    shorter = samples[: len(first) + 1]
    assert before(tariff, samples, zone) >= before(unstepped(tariff), shorter, zone)


@PROPERTY
@given(tariffs(), starts, legs, st.sampled_from(ZONES))
def test_step_size_never_lowers_a_cost(
    tariff: Tariff, start: datetime, session: list[LegTuple], zone: str
) -> None:
    samples = samples_of(start, session)
    stepped = price_session(tariff, samples, time_zone=zone).total_cost_exact
    plain = price_session(unstepped(tariff), samples, time_zone=zone).total_cost_exact
    assert pairs(plain.before_taxes, stepped.before_taxes)
    assert pairs(plain.after_taxes, stepped.after_taxes)


@PROPERTY
@given(tariffs(limits=True), starts, legs, st.sampled_from(ZONES))
def test_the_total_stays_within_min_and_max_price_before_and_after_taxes(
    tariff: Tariff, start: datetime, session: list[LegTuple], zone: str
) -> None:
    total = price_session(tariff, samples_of(start, session), time_zone=zone).total_cost_exact
    if tariff.min_price is not None:
        assert pairs(tariff.min_price.before_taxes, total.before_taxes)
        assert pairs(tariff.min_price.after_taxes, total.after_taxes)
    if tariff.max_price is not None:
        assert pairs(total.before_taxes, tariff.max_price.before_taxes)
        assert pairs(total.after_taxes, tariff.max_price.after_taxes)


@PROPERTY
@given(tariffs(), starts, legs, st.sampled_from(ZONES), st.randoms(use_true_random=False))
def test_the_price_does_not_depend_on_the_order_samples_arrive_in(
    tariff: Tariff, start: datetime, session: list[LegTuple], zone: str, rng: random.Random
) -> None:
    samples = samples_of(start, session)
    shuffled = samples[:]
    rng.shuffle(shuffled)
    assert price_session(tariff, shuffled, time_zone=zone) == price_session(tariff, samples, time_zone=zone)


@PROPERTY
@given(tariffs(), starts, legs, st.sampled_from(ZONES), st.integers(0, 7))
def test_an_extra_sample_on_the_meters_line_changes_nothing(
    tariff: Tariff, start: datetime, session: list[LegTuple], zone: str, which: int
) -> None:
    # Splitting one interval in two (same state, energy on the straight line) is just more often
    # metering: the session is the same, so is its price.
    seconds, energy, charging, power, current = session[which % len(session)]
    split = [
        (2 * seconds, 2 * energy, charging, power, current) if i == which % len(session) else leg
        for i, leg in enumerate(session)
    ]
    halves: list[tuple[int, int, bool, Decimal | None, Decimal | None]] = []
    for i, leg in enumerate(split):
        if i == which % len(session):
            halves += [(seconds, energy, charging, power, current)] * 2
        else:
            halves.append(leg)
    whole = price_session(tariff, samples_of(start, split), time_zone=zone)
    metered = price_session(tariff, samples_of(start, halves), time_zone=zone)
    assert metered.total_cost_exact == whole.total_cost_exact
    assert metered.charging_periods == whole.charging_periods


def _floats(value: object) -> list[object]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, tuple | list):
        return [f for item in value for f in _floats(item)]
    if isinstance(value, dict):
        return [f for item in value.values() for f in _floats(item)]
    if dataclasses.is_dataclass(value):
        return [f for field in dataclasses.fields(value) for f in _floats(getattr(value, field.name))]
    return []


@PROPERTY
@given(tariffs(limits=True), starts, legs, st.sampled_from(ZONES))
def test_no_float_ever_leaks_into_a_result(
    tariff: Tariff, start: datetime, session: list[LegTuple], zone: str
) -> None:
    result = price_session(tariff, samples_of(start, session), time_zone=zone)
    assert _floats(result) == []
    assert _floats(dict(result.cost_by_dimension)) == []
    assert _floats([line.cost for line in result.cost_lines]) == []
