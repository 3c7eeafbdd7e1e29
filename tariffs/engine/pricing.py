"""Pricing a metered session (or reservation) against an OCPI tariff.

The session is cut into segments at every instant where a restriction may change its mind
(samples, local time-of-day/day boundaries, duration thresholds, kWh thresholds crossed by
linear interpolation between samples). In each segment every dimension takes the first tariff
element whose restrictions all hold (mod_tariffs, Tariff object); consecutive segments with the
same components become one charging period. step_size is then applied once per session per
dimension group (mod_cdrs, CDR object, "step_size"), taxes are computed per component and
min/max price applied to the total, and only the reported figures are rounded.

Money is exact: each cost line is kept as price x volume x 3,600,000,000 (price x µs for time),
an exact Decimal; a subtotal or total is the sum of those per VAT rate, divided once. So every
reported figure is the exact amount rounded once, half-up by default, to the minor unit (never
a sum of separately divided lines, whose noise can sit below a half cent: 7.875 read as 7.87).

Readings of the spec where it leaves room, chosen here (with the reason):

- Several FLAT elements: at any instant the active FLAT is the first matching element's (the
  spec's rule for every dimension). A session pays one start fee, the first active FLAT, from
  the first instant one is active: a FLAT is "a fixed amount that has to be paid for any
  Charging Session" (mod_tariffs, Tariff object, min_price), so crossing into another element's
  hours does not charge a second one. A reservation pays its own, like a separate session.
- FLAT beside only PARKING_TIME in its element: a parking fee, a different fee from the start
  fee (mod_cdrs: total_fixed_cost is "except fixed price components of parking", which
  total_parking_cost includes). It is paid once, from the first matching parking-fee element,
  the first time one matches while the car is parked: a fee for parking is not owed by a car
  that never parked. The start fee is then the first matching element's among the others.
- Restrictions are evaluated per instant on the local wall clock: day_of_week and dates are
  those of the instant's local day; a repeated wall time (DST ends) is inside a window each time
  it happens, a skipped one never (the clock never shows it).
- Between samples energy is linear; the state (charging, power, current) is the earlier
  sample's. An unreported power is the interval's average; an unreported current makes a
  current restriction fail.
- min_power/max_power while parked: the power is 0 kW, whatever the meter last reported, as
  the restriction is about the power drawn and a parked car draws none. So a max_power element
  (slow charging) also prices parking, a min_power one never does.
- A component without vat: "no VAT is applicable". In 2.2.1 (and the operator's own tariffs,
  `untaxed_without_vat`) its amount incl. VAT is its price; in a 2.3.0 tax-exclusive tariff
  from a partner, taxes may still be added by local law, so after taxes is unknown unless the
  amount is zero: a zero amount has zero tax, whatever its rate.
- Reservation time (RESERVATION_TIME) is priced only by reservation elements, session time only
  by the others; its duration restrictions count from the booking; its step_size is applied on
  its own. For an expired reservation RESERVATION_EXPIRES elements come first.
- A priced component at 0.00 still counts as the "last relevant" one for step_size.
- min_price/max_price given before taxes only: the bound after taxes is the bound before taxes
  times the session's own after/before ratio (exact), i.e. the taxes scale with the price as VAT
  does; a session with nothing to take a ratio from (zero before taxes) takes the tariff's one
  rate, else its highest. The amount after taxes is thus never below the amount before them.
  The subtotals are not adjusted, only the total and its taxes.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import (
    ROUND_CEILING,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from itertools import pairwise
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from tariffs.engine.localtime import EPOCH as _EPOCH
from tariffs.engine.localtime import (
    EPOCH_ORDINAL,
    MINUTES_PER_DAY,
    day_offsets,
    offset_stretches,
    to_us,
    zone,
)
from tariffs.engine.model import (
    DayOfWeek,
    Dimension,
    MeterSample,
    PriceComponent,
    Reservation,
    ReservationRestriction,
    Tariff,
    TariffElement,
    TariffError,
    TariffType,
    TaxIncluded,
)
from tariffs.engine.money import HUNDRED, MINOR_UNIT_QUANTA, ZERO, Amount, TaxAmount

# Enum members as module constants: `Dimension.ENERGY` looks the member up through the enum's
# class on every use, several times per period in the loops below; a global is far cheaper.
_DIM_ENERGY, _DIM_TIME = Dimension.ENERGY, Dimension.TIME
_DIM_PARKING_TIME, _DIM_FLAT = Dimension.PARKING_TIME, Dimension.FLAT
_TAX_NO, _TAX_NOT_APPLICABLE = TaxIncluded.NO, TaxIncluded.NOT_APPLICABLE

US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND
US_PER_MINUTE = 60 * US_PER_SECOND
_ONE_US = timedelta(microseconds=1)
US_PER_HOUR = Decimal(3_600_000_000)
WH_PER_KWH = Decimal(1000)
ENERGY_QUANTUM = Decimal("1e-12")

# CdrDimensionType values for the volumes of a charging period (mod_cdrs, CdrDimensionType).
# FLAT is not a CdrDimensionType; the engine reports it so that a period shows its start fee.
RESERVATION_TIME = "RESERVATION_TIME"
_ENERGY, _TIME, _PARKING_TIME, _FLAT = "ENERGY", "TIME", "PARKING_TIME", "FLAT"
_ONE = Decimal(1)
_PERCENT = Decimal("0.01")
_DIMENSIONS = tuple(Dimension)
_NOTHING = Amount(Decimal(0), Decimal(0), ())

# Which CDR subtotal a dimension's cost belongs to (mod_cdrs, CDR object: total_*_cost).
FIXED, ENERGY_COST, TIME_COST, PARKING_COST, RESERVATION_COST = (
    "total_fixed_cost",
    "total_energy_cost",
    "total_time_cost",
    "total_parking_cost",
    "total_reservation_cost",
)
SUBTOTALS = (FIXED, ENERGY_COST, TIME_COST, PARKING_COST, RESERVATION_COST)


# --------------------------------------------------------------------------- results


class CdrDimension(NamedTuple):
    """A volume of a charging period: kWh for ENERGY, hours for the times, 1 for FLAT."""

    type: str
    volume: Decimal


class ChargingPeriod(NamedTuple):
    """OCPI ChargingPeriod: it ends where the next one starts (or where the session ends)."""

    start_date_time: datetime
    dimensions: tuple[CdrDimension, ...]
    tariff_id: str | None


class CostLine(NamedTuple):
    """What one price component cost in one period, after step_size, unrounded.

    `tax` is the tax at `vat` % (None when unknown or not applicable); `cost` has it all as an
    `Amount`. `scaled` is the cost before any tax split times 3,600,000,000 (price x µs for a
    time line), an exact Decimal: the totals are summed from it and divided once.
    """

    start_date_time: datetime
    dimension: str
    volume: Decimal
    price: Decimal
    vat: Decimal | None
    step_size: int
    before_taxes: Decimal | None
    after_taxes: Decimal | None
    tax: Decimal | None
    scaled: Decimal = Decimal(0)

    @property
    def cost(self) -> Amount:
        taxes = () if self.tax is None else (TaxAmount(self.vat, self.tax),)
        return Amount(self.before_taxes, self.after_taxes, taxes)


@dataclass(frozen=True, slots=True)
class SessionPrice:
    """Everything a CDR, a live session and finance need from one pricing.

    Money fields are rounded to the currency's minor unit; `total_cost_exact` and each
    `CostLine.cost` are not. Times are in hours, energy in kWh.
    """

    tariff_id: str
    currency: str
    charging_periods: tuple[ChargingPeriod, ...]
    cost_lines: tuple[CostLine, ...]
    total_fixed_cost: Amount
    total_energy_cost: Amount
    total_time_cost: Amount
    total_parking_cost: Amount
    total_reservation_cost: Amount
    total_cost: Amount
    total_cost_exact: Amount
    total_energy: Decimal
    total_time: Decimal
    total_parking_time: Decimal
    total_reservation_time: Decimal
    min_price_applied: bool
    max_price_applied: bool
    tax_included: TaxIncluded = TaxIncluded.NO
    untaxed_without_vat: bool = True

    @property
    def cost_by_dimension(self) -> Mapping[str, Amount]:
        """Unrounded cost per dimension (ENERGY, TIME, PARKING_TIME, FLAT, RESERVATION_TIME)."""
        grouped: dict[str, list[CostLine]] = {}
        for line in self.cost_lines:
            grouped.setdefault(line.dimension, []).append(line)
        return {
            name: _total(amounts, self.tax_included, self.untaxed_without_vat)[0]
            for name, amounts in grouped.items()
        }

    @property
    def taxes(self) -> tuple[TaxAmount, ...]:
        """The taxes of the total cost, rounded (one per rate)."""
        return self.total_cost.taxes


# --------------------------------------------------------------------------- compiled tariff


# The local-time restrictions of an element as they are given: (start_time, end_time,
# start_date, end_date, day_of_week). As a cache key it hashes in well under a microsecond,
# unlike the Restrictions it comes from, and is read (by `windows_of`) only on a miss.
_Clock = tuple[time | None, time | None, date | None, date | None, tuple[DayOfWeek, ...]]


class _Element:
    """A tariff element flattened for fast matching.

    Compiled for every tariff object, so for every session of a tariff freshly loaded: only
    attribute reads and a few comparisons, whatever can wait is worked out where it is used.
    It holds no container of its own (each one the garbage collector would visit again and
    again while the compiled tariff is cached).
    """

    __slots__ = (
        "always",
        "clock",
        "clock_only",
        "element",
        "energy",
        "flat",
        "flat_subtotal",
        "index",
        "max_current",
        "max_duration_us",
        "max_kwh",
        "max_power",
        "min_current",
        "min_duration_us",
        "min_kwh",
        "min_power",
        "parking_time",
        "reservation",
        "time",
    )

    def __init__(self, index: int, element: TariffElement) -> None:
        self.index = index
        self.element = element
        # Its price component per dimension, None when it prices no such thing. "Only one Price
        # Component per dimension can be active" (mod_tariffs, Tariff object): within one element
        # the first one for a dimension is the one that counts.
        energy = time = parking_time = flat = None
        for component in element.price_components:
            kind = component.type
            if kind is _DIM_ENERGY:
                if energy is None:
                    energy = component
            elif kind is _DIM_TIME:
                if time is None:
                    time = component
            elif kind is _DIM_PARKING_TIME:
                if parking_time is None:
                    parking_time = component
            elif flat is None:
                flat = component
        self.energy, self.time, self.parking_time, self.flat = energy, time, parking_time, flat
        # total_parking_cost includes the "fixed price components" of parking (mod_cdrs, CDR
        # object); a FLAT beside only a PARKING_TIME price is taken to be such a parking fee.
        parking_fee = parking_time is not None and energy is None and time is None
        self.flat_subtotal = PARKING_COST if parking_fee else FIXED
        r = element.restrictions
        if r is None:
            self.reservation = self.clock = None
            self.min_kwh = self.max_kwh = self.min_power = self.max_power = None
            self.min_current = self.max_current = self.min_duration_us = self.max_duration_us = None
            self.clock_only = self.always = True
            return
        self.reservation = r.reservation
        start_time, end_time, start_date, end_date, days = (
            r.start_time,
            r.end_time,
            r.start_date,
            r.end_date,
            r.day_of_week,
        )
        windowed = start_time or end_time or start_date or end_date or days
        self.clock = (start_time, end_time, start_date, end_date, days) if windowed else None
        self.min_kwh = min_kwh = r.min_kwh
        self.max_kwh = max_kwh = r.max_kwh
        self.min_power = min_power = r.min_power
        self.max_power = max_power = r.max_power
        self.min_current = min_current = r.min_current
        self.max_current = max_current = r.max_current
        min_duration, max_duration = r.min_duration, r.max_duration
        self.min_duration_us = None if min_duration is None else min_duration * US_PER_SECOND
        self.max_duration_us = None if max_duration is None else max_duration * US_PER_SECOND
        # No restriction but local time: whether it holds depends on the instant only.
        self.clock_only = (
            min_kwh is None
            and max_kwh is None
            and min_power is None
            and max_power is None
            and min_current is None
            and max_current is None
            and min_duration is None
            and max_duration is None
        )
        # No restriction that can change during a session: it holds at every instant.
        self.always = self.clock_only and not windowed

    def component(self, dimension: Dimension) -> PriceComponent | None:
        """Its price component for `dimension`, if it prices that."""
        return getattr(self, _COMPONENT_SLOTS[dimension])  # type: ignore[no-any-return]


_COMPONENT_SLOTS = {
    _DIM_ENERGY: "energy",
    _DIM_TIME: "time",
    _DIM_PARKING_TIME: "parking_time",
    _DIM_FLAT: "flat",
}


# UTC windows (starts, ends) per local-time restrictions, zone and UTC days. Every engine cache
# is bounded and forgets its oldest entry first, and holds tuples of ints where it can: what a
# cache keeps, the garbage collector visits again and again, and it dominated the cold path.
_Windows = tuple[tuple[int, ...], tuple[int, ...]]
_WINDOWS: dict[tuple[_Clock, ZoneInfo, int, int], _Windows] = {}
_WINDOWS_KEPT = 2048


def _remember(cache: dict[Any, Any], size: int, key: object, value: object) -> None:
    """Store `value` in `cache`, forgetting the oldest entry once it holds `size`."""
    if len(cache) >= size:
        del cache[next(iter(cache))]
    cache[key] = value


def windows_of(
    clock: _Clock, tz: ZoneInfo, first_day: int, last_day: int, stretches: list[tuple[int, int, int]]
) -> _Windows:
    """UTC intervals (starts, ends) over the UTC days first_day..last_day where `clock` holds.

    `stretches` are `offset_stretches(tz, first_day, last_day)`. Evaluated per instant on the
    local wall clock: day_of_week and the dates are those of the instant's local day, so a
    22:00-06:00 window on FRIDAY means Friday 00:00-06:00 and Friday 22:00-24:00. Each stretch
    of constant UTC offset shows its own wall-clock times, so a repeated local hour (DST ends) is
    inside a window twice and a skipped one never. Cached per local-time restrictions (not per
    tariff): tariffs with the same hours share their days' windows.
    """
    key = (clock, tz, first_day, last_day)
    found = _WINDOWS.get(key)
    if found is not None:
        return found
    start_time, end_time, start_date, end_date, days = clock
    start_minute = start_time.hour * 60 + start_time.minute if start_time else 0
    end_minute = end_time.hour * 60 + end_time.minute if end_time else MINUTES_PER_DAY
    if end_minute == 0:
        end_minute = MINUTES_PER_DAY  # "To stop at end of the day use: 00:00"
    if start_minute == end_minute:
        spans = [(0, MINUTES_PER_DAY)]
    elif end_minute < start_minute:
        spans = [(0, end_minute), (start_minute, MINUTES_PER_DAY)]  # wraps past midnight
    else:
        spans = [(start_minute, end_minute)]
    weekdays = {day.weekday for day in days}
    start_ordinal = start_date.toordinal() - EPOCH_ORDINAL if start_date else None
    end_ordinal = end_date.toordinal() - EPOCH_ORDINAL if end_date else None
    starts: list[int] = []
    ends: list[int] = []
    for stretch_start, stretch_end, offset in stretches:
        # The same stretch on the wall clock ("local µs since 1970-01-01 00:00 local").
        local_start, local_end = stretch_start + offset, stretch_end + offset
        for day in range(local_start // US_PER_DAY, (local_end - 1) // US_PER_DAY + 1):
            # 1970-01-01 was a Thursday (weekday 3).
            if (
                (weekdays and (day + 3) % 7 not in weekdays)
                or (start_ordinal is not None and day < start_ordinal)
                or (end_ordinal is not None and day >= end_ordinal)
            ):
                continue
            midnight = day * US_PER_DAY
            for low, high in spans:
                begin = max(midnight + low * US_PER_MINUTE, local_start) - offset
                finish = min(midnight + high * US_PER_MINUTE, local_end) - offset
                if finish <= begin:
                    continue
                if ends and ends[-1] >= begin:
                    ends[-1] = max(ends[-1], finish)
                else:
                    starts.append(begin)
                    ends.append(finish)
    found = (tuple(starts), tuple(ends))
    _remember(_WINDOWS, _WINDOWS_KEPT, key, found)
    return found


# The local-time restrictions of a group of elements: each element's _Clock, by element index,
# None for an element without any or outside the group. With a zone and days it keys the
# group's windows, shared by every tariff with the same hours.
_WindowKey = tuple[_Clock | None, ...]


def _window_key(elements: list[_Element], count: int) -> _WindowKey | None:
    """The group's key, None when no element of it has local-time restrictions."""
    clocks: list[_Clock | None] = [None] * count
    for e in elements:
        clocks[e.index] = e.clock
    return tuple(clocks) if any(clocks) else None


class _Compiled:
    """Per-tariff lookups prepared once and reused for every session priced with it.

    Like _Element, as little as a session needs: the general path's lookups are worked out on
    first use (`positions`), as few containers as possible are kept.
    """

    __slots__ = (
        "clock_only",
        "duration_thresholds_us",
        "elements",
        "energy_thresholds",
        "general",
        "session_elements",
        "session_windows",
        "tariff",
    )

    def __init__(self, tariff: Tariff) -> None:
        self.tariff = tariff
        elements = self.elements = [_Element(index, element) for index, element in enumerate(tariff.elements)]
        session = elements
        energy_thresholds: set[Decimal] | tuple[()] = ()
        durations: set[int] | tuple[()] = ()
        for e in elements:
            if e.reservation is not None:
                session = [e for e in elements if e.reservation is None]
            if e.always:
                continue
            if not e.clock_only:
                for value in (e.min_kwh, e.max_kwh):
                    if value is not None and e.reservation is None:
                        energy_thresholds = {*energy_thresholds, value}
                for value in (e.min_duration_us, e.max_duration_us):
                    if value is not None:
                        durations = {*durations, value}
        self.session_elements = session
        # Every session element restricted by local time at most (the usual tariff): which
        # elements price a segment then depends only on the window boundaries around it.
        # (A reservation element's duration restrictions still cut the session's segments.)
        self.clock_only = all(e.clock_only for e in session)
        self.energy_thresholds = sorted(energy_thresholds) if energy_thresholds else ()
        self.duration_thresholds_us = sorted(durations) if durations else ()
        self.session_windows = _window_key(session, len(elements))
        self.general: tuple[list[int], ...] | None = None

    def positions(self) -> tuple[list[int], ...]:
        """For the general path, the positions in session_elements of the elements that price
        ENERGY, TIME, PARKING_TIME, the start fee and the parking fee, each in element order."""
        if self.general is None:
            session = self.session_elements
            self.general = (
                [k for k, e in enumerate(session) if e.energy is not None],
                [k for k, e in enumerate(session) if e.time is not None],
                [k for k, e in enumerate(session) if e.parking_time is not None],
                [k for k, e in enumerate(session) if e.flat is not None and e.flat_subtotal is FIXED],
                [k for k, e in enumerate(session) if e.flat is not None and e.flat_subtotal is PARKING_COST],
            )
        return self.general

    def reservation_elements(self, expired: bool) -> list[_Element]:
        """The elements that price a reservation, in the order they are tried."""
        booked = [e for e in self.elements if e.reservation is ReservationRestriction.RESERVATION]
        if not expired:
            return booked
        # mod_tariffs, ReservationRestrictionType NOTE: for an expired reservation the
        # RESERVATION_EXPIRES element wins over the RESERVATION one, whatever their order.
        expires = [e for e in self.elements if e.reservation is ReservationRestriction.RESERVATION_EXPIRES]
        return expires + booked

    def vat_rates(self) -> tuple[Decimal | None, Decimal | None]:
        """(the tariff's one VAT rate or None, its highest rate with no vat as 0 %, or None).

        For a limit given before taxes only, on a session with no amount of its own to take a
        rate from; worked out only then.
        """
        vats = {c.vat for element in self.tariff.elements for c in element.price_components}
        uniform = next(iter(vats)) if len(vats) == 1 else None
        return uniform, max((v or ZERO for v in vats), default=None) if vats else None


_COMPILED: dict[int, _Compiled] = {}


def _compiled(tariff: Tariff) -> _Compiled:
    # Keyed by identity: hashing a frozen tariff costs more than compiling a small one. The
    # entry keeps the tariff alive, so an id cannot be reused while it is cached.
    compiled = _COMPILED.get(id(tariff))
    if compiled is not None and compiled.tariff is tariff:
        return compiled
    compiled = _Compiled(tariff)
    # A few: a tariff is priced again within a call (time_to_reach) or a batch, rarely later.
    _remember(_COMPILED, 64, id(tariff), compiled)
    return compiled


def clear_caches() -> None:
    """Forget every compiled tariff, day window and zone offset the engine has cached.

    For benchmarks that measure the engine cold, and for tests; pricing never needs it.
    """
    _COMPILED.clear()
    _WINDOWS.clear()
    _BREAKPOINTS.clear()
    day_offsets.cache_clear()
    zone.cache_clear()


# --------------------------------------------------------------------------- tariff choice


def select_tariff(
    tariffs: Sequence[Tariff], *, at: datetime, tariff_type: TariffType | None = None
) -> Tariff | None:
    """The tariff of a connector that applies to a session starting at `at`, or None.

    Valid means start_date_time <= at < end_date_time (mod_tariffs, Tariff object). The type
    asked for wins, then an untyped tariff ("valid for all sessions"); a PROFILE_* session falls
    back to REGULAR last. Ties go to the latest start_date_time, then to list order.
    """
    if at.utcoffset() is None:
        raise TariffError("`at` must be timezone-aware")
    wanted = tariff_type or TariffType.REGULAR
    preference: list[TariffType | None] = [wanted, None]
    if wanted.startswith("PROFILE_"):
        preference.append(TariffType.REGULAR)
    for kind in preference:
        valid = [
            t
            for t in tariffs
            if t.type == kind
            and (t.start_date_time is None or t.start_date_time <= at)
            and (t.end_date_time is None or at < t.end_date_time)
        ]
        if valid:
            return max(enumerate(valid), key=lambda pair: (_start_key(pair[1]), -pair[0]))[1]
    return None


def _start_key(tariff: Tariff) -> int:
    return to_us(tariff.start_date_time) if tariff.start_date_time else -(2**62)


# --------------------------------------------------------------------------- segments


# A charging period being priced: consecutive segments priced by the same components, as a
# plain tuple (about ten per session, and a NamedTuple costs several times more to build):
# (start µs, end µs, kWh, charging, reservation, ENERGY element, TIME or PARKING_TIME element,
# start fee element, parking fee element, start). The start is the UTC datetime when it is at
# hand (a sample's own timestamp), else None: building one from µs costs about a microsecond.
_Period = tuple[
    int,
    int,
    Decimal,
    bool,
    bool,
    _Element | None,
    _Element | None,
    _Element | None,
    _Element | None,
    datetime | None,
]


def _first(elements: list[_Element], dimension: Dimension, holds: list[bool]) -> _Element | None:
    for element in elements:
        if holds[element.index] and element.component(dimension) is not None:
            return element
    return None


def _matches(
    e: _Element,
    at_us: int,
    energy: Decimal,
    duration_us: int,
    power: Decimal,
    current: Decimal | None,
    windows: Sequence[_Windows | None],
) -> bool:
    if e.clock is not None:
        starts, ends = windows[e.index]
        i = bisect_right(starts, at_us) - 1
        if i < 0 or at_us >= ends[i]:
            return False
    # min_* inclusive, max_* exclusive (mod_tariffs, TariffRestrictions class).
    if e.min_kwh is not None and energy < e.min_kwh:
        return False
    if e.max_kwh is not None and energy >= e.max_kwh:
        return False
    if e.min_duration_us is not None and duration_us < e.min_duration_us:
        return False
    if e.max_duration_us is not None and duration_us >= e.max_duration_us:
        return False
    if e.min_power is not None and power < e.min_power:
        return False
    if e.max_power is not None and power >= e.max_power:
        return False
    if e.min_current is not None and (current is None or current < e.min_current):
        return False
    return not (e.max_current is not None and (current is None or current >= e.max_current))


_BREAKPOINTS: dict[
    tuple[_WindowKey, ZoneInfo, int, int], tuple[tuple[_Windows | None, ...], tuple[int, ...]]
] = {}


def _window_breakpoints(
    window_key: _WindowKey | None, tz: ZoneInfo, first_us: int, last_us: int
) -> tuple[tuple[_Windows | None, ...], list[int]]:
    """The windows of the elements in `window_key` (by element index, None for one without) and
    their boundaries inside ]first_us, last_us[ (a new list).

    Cached per windows, zone and UTC days, whatever the tariff: sessions of the same days on
    tariffs with the same hours share them, so the zone database is consulted once per day
    rather than once per sample, and the windows are merged once.
    """
    if window_key is None:
        return (), []
    first_day, last_day = first_us // US_PER_DAY, last_us // US_PER_DAY
    key = (window_key, tz, first_day, last_day)
    cached = _BREAKPOINTS.get(key)
    if cached is None:
        # Only the session's own UTC days: membership is asked for instants inside them, and a
        # window cut at a day's edge only adds a breakpoint that changes no element.
        stretches = offset_stretches(tz, first_day, last_day)
        windows = tuple(
            None if clock is None else windows_of(clock, tz, first_day, last_day, stretches)
            for clock in window_key
        )
        points = tuple(sorted({p for found in windows if found for p in (*found[0], *found[1])}))
        cached = (windows, points)
        _remember(_BREAKPOINTS, 1024, key, cached)
    windows, points = cached
    return windows, list(points[bisect_right(points, first_us) : bisect_left(points, last_us)])


def _session_periods(
    compiled: _Compiled, samples: list[MeterSample], end_us: int, tz: ZoneInfo
) -> list[_Period]:
    elements = compiled.session_elements
    times = [(s.timestamp - _EPOCH) // _ONE_US for s in samples]  # to_us, inlined
    start_us = times[0]
    base = samples[0].energy_kwh
    energies = [s.energy_kwh - base for s in samples]
    windows, breakpoints = _window_breakpoints(compiled.session_windows, tz, start_us, end_us)
    for threshold in compiled.duration_thresholds_us:
        if start_us < start_us + threshold < end_us:
            breakpoints.append(start_us + threshold)
    breakpoints.sort()
    if compiled.clock_only:
        return _clock_only_periods(compiled, samples, times, energies, end_us, windows, breakpoints)
    thresholds = compiled.energy_thresholds
    energy_positions, charging_positions, parking_positions, flat_positions, parking_fee_positions = (
        compiled.positions()
    )
    periods: list[_Period] = []
    # The period being built, kept in locals and closed into a _Period when the next one starts
    # (p_charging None: none yet).
    p_start = p_end = 0
    p_energy = ZERO
    p_charging: bool | None = None
    p_energy_el = p_time_el = p_flat_el = p_fee_el = None
    p_stamp: datetime | None = None
    flat_done = parking_fee_done = False
    previous_power = ZERO
    n = len(samples)
    for i in range(n):
        t0 = times[i]
        t1 = times[i + 1] if i + 1 < n else end_us
        if t1 <= t0 and (p_charging is not None or i + 1 < n):
            continue  # a zero-length interval; kept only when it is all the session has
        e0 = energies[i]
        e1 = energies[i + 1] if i + 1 < n else e0
        span, delta = t1 - t0, e1 - e0
        sample = samples[i]
        charging = sample.charging
        if not charging:
            power = ZERO  # parked: min_power/max_power see the power drawn, none
        elif sample.power_kw is not None:
            power = sample.power_kw
        elif i + 1 < n:
            power = delta * US_PER_HOUR / span if span else ZERO
        else:
            # After the last sample (a live session priced up to now) nothing is metered yet: a
            # charging EV is taken to go on at the power of the interval before.
            power = previous_power
        previous_power = power
        inner = (
            breakpoints[bisect_right(breakpoints, t0) : bisect_left(breakpoints, t1)] if breakpoints else ()
        )
        if inner or (delta and thresholds):
            points = [(t0, e0)]
            for bp in inner:
                # Interpolated energy is kept to 1e-12 kWh so that it does not depend on which two
                # samples it was interpolated between (more samples on the same line, same result).
                points.append((bp, (e0 + delta * (bp - t0) / span).quantize(ENERGY_QUANTUM) if delta else e0))
            if delta:
                low, high = (e0, e1) if delta > 0 else (e1, e0)
                for threshold in thresholds:
                    if low < threshold < high:
                        # The crossing instant, rounded up to the µs: at it, exactly `threshold` kWh
                        # has been used, so a min_kwh equal to the sum of the samples does hold.
                        offset = ((threshold - e0) * span / delta).to_integral_value(rounding=ROUND_CEILING)
                        points.append((min(t1, t0 + int(offset)), threshold))
                points.sort()
            points.append((t1, e1))
            segments: Iterable[tuple[tuple[int, Decimal], tuple[int, Decimal]]] = pairwise(points)
        else:
            segments = (((t0, e0), (t1, e1)),)  # the usual interval: one segment, nothing to cut
        time_positions = charging_positions if charging else parking_positions
        current = sample.current_a
        for (a, ea), (b, eb) in segments:
            duration = a - start_us
            holds = [e.always or _matches(e, a, ea, duration, power, current, windows) for e in elements]
            energy_el = next((elements[k] for k in energy_positions if holds[k]), None)
            time_el = next((elements[k] for k in time_positions if holds[k]), None)
            flat_el = None if flat_done else next((elements[k] for k in flat_positions if holds[k]), None)
            fee_el = (
                None
                if parking_fee_done
                else next((elements[k] for k in parking_fee_positions if holds[k]), None)
            )
            if p_charging is not charging or p_energy_el is not energy_el or p_time_el is not time_el:
                if p_charging is not None:
                    periods.append(
                        (
                            p_start,
                            p_end,
                            p_energy,
                            p_charging,
                            False,
                            p_energy_el,
                            p_time_el,
                            p_flat_el,
                            p_fee_el,
                            p_stamp,
                        )
                    )
                p_start, p_energy, p_charging = a, ZERO, charging
                p_energy_el, p_time_el, p_flat_el, p_fee_el, p_stamp = energy_el, time_el, None, None, None
                if a == t0:
                    stamp = sample.timestamp
                    if type(stamp) is datetime and stamp.tzinfo is UTC and not stamp.fold:
                        p_stamp = stamp  # the very datetime from_us(a) would build
            p_end = b
            p_energy += eb - ea
            # A start fee is paid once: the first matching element's, the first time one
            # matches. A parking fee (FLAT beside PARKING_TIME only) likewise, but only while
            # parked. Each is "the first element that matches" (mod_tariffs, Tariff object)
            # among its own kind: they are different fees, booked to different subtotals.
            if not flat_done and flat_el is not None:
                p_flat_el, flat_done = flat_el, True
            if not parking_fee_done and not charging and fee_el is not None:
                p_fee_el, parking_fee_done = fee_el, True
    if p_charging is not None:
        periods.append(
            (
                p_start,
                p_end,
                p_energy,
                p_charging,
                False,
                p_energy_el,
                p_time_el,
                p_flat_el,
                p_fee_el,
                p_stamp,
            )
        )
    return periods


def _clock_only_periods(
    compiled: _Compiled,
    samples: list[MeterSample],
    times: list[int],
    energies: list[Decimal],
    end_us: int,
    windows: Sequence[_Windows | None],
    breakpoints: list[int],
) -> list[_Period]:
    """`_session_periods` for a tariff restricted by local time at most (the usual tariff).

    Which elements price an instant then changes only at a breakpoint (every window boundary
    inside the session is one), so the elements are chosen once per stretch between
    breakpoints, found by walking the sorted breakpoints alongside the samples. The same
    periods as the general path (a test compares them), in a fraction of the time.
    """
    elements = compiled.session_elements
    periods: list[_Period] = []
    # The period being built, kept in locals and closed into a _Period when the next one starts
    # (p_charging None: none yet).
    p_start = p_end = 0
    p_energy = ZERO
    p_charging: bool | None = None
    p_energy_el = p_time_el = p_flat_el = p_fee_el = None
    p_stamp: datetime | None = None
    flat_done = parking_fee_done = False
    # k: how many breakpoints are at or before the segment's start; `choice` holds the elements
    # chosen for the stretch k (None: not chosen yet).
    k, count = 0, len(breakpoints)
    choice_k, choice = -1, (None, None, None, None, None)
    n = len(samples)
    for i in range(n):
        t0 = times[i]
        t1 = times[i + 1] if i + 1 < n else end_us
        if t1 <= t0 and (p_charging is not None or i + 1 < n):
            continue  # a zero-length interval; kept only when it is all the session has
        e0 = energies[i]
        e1 = energies[i + 1] if i + 1 < n else e0
        sample = samples[i]
        charging = sample.charging
        while k < count and breakpoints[k] <= t0:
            k += 1
        a, ea = t0, e0
        while True:
            if k < count and breakpoints[k] < t1:
                # Cut at the breakpoint. Interpolated energy is kept to 1e-12 kWh so that it does
                # not depend on which two samples it was interpolated between.
                b = breakpoints[k]
                delta = e1 - e0
                eb = (e0 + delta * (b - t0) / (t1 - t0)).quantize(ENERGY_QUANTUM) if delta else e0
            else:
                b, eb = t1, e1
            if choice_k != k:
                choice_k, choice = k, _clock_choice(elements, a, windows)
            energy_el, charging_el, parking_el, flat_el, fee_el = choice
            time_el = charging_el if charging else parking_el
            if p_charging is not charging or p_energy_el is not energy_el or p_time_el is not time_el:
                if p_charging is not None:
                    periods.append(
                        (
                            p_start,
                            p_end,
                            p_energy,
                            p_charging,
                            False,
                            p_energy_el,
                            p_time_el,
                            p_flat_el,
                            p_fee_el,
                            p_stamp,
                        )
                    )
                p_start, p_energy, p_charging = a, ZERO, charging
                p_energy_el, p_time_el, p_flat_el, p_fee_el, p_stamp = energy_el, time_el, None, None, None
                if a == t0:
                    stamp = sample.timestamp
                    if type(stamp) is datetime and stamp.tzinfo is UTC and not stamp.fold:
                        p_stamp = stamp  # the very datetime from_us(a) would build
            p_end = b
            p_energy += eb - ea
            # The start fee and the parking fee, each paid once (see _session_periods).
            if not flat_done and flat_el is not None:
                p_flat_el, flat_done = flat_el, True
            if not parking_fee_done and not charging and fee_el is not None:
                p_fee_el, parking_fee_done = fee_el, True
            if b == t1:
                break
            a, ea = b, eb
            k += 1
    if p_charging is not None:
        periods.append(
            (
                p_start,
                p_end,
                p_energy,
                p_charging,
                False,
                p_energy_el,
                p_time_el,
                p_flat_el,
                p_fee_el,
                p_stamp,
            )
        )
    return periods


def _clock_choice(
    elements: list[_Element], at_us: int, windows: Sequence[_Windows | None]
) -> tuple[_Element | None, _Element | None, _Element | None, _Element | None, _Element | None]:
    """The elements that price ENERGY, TIME, PARKING_TIME, the start fee and the parking fee at
    `at_us`, for elements restricted by local time at most: each the first that holds."""
    energy_el = time_el = parking_el = flat_el = fee_el = None
    for e in elements:
        if e.clock is not None:
            starts, ends = windows[e.index]
            i = bisect_right(starts, at_us) - 1
            if i < 0 or at_us >= ends[i]:
                continue
        if energy_el is None and e.energy is not None:
            energy_el = e
        if time_el is None and e.time is not None:
            time_el = e
        if parking_el is None and e.parking_time is not None:
            parking_el = e
        if e.flat is not None:
            if e.flat_subtotal is FIXED:
                if flat_el is None:
                    flat_el = e
            elif fee_el is None:
                fee_el = e
    return energy_el, time_el, parking_el, flat_el, fee_el


def _reservation_periods(
    compiled: _Compiled, reservation: Reservation, end: datetime, tz: ZoneInfo
) -> list[_Period]:
    elements = compiled.reservation_elements(reservation.expired)
    start_us = to_us(reservation.start)
    # A session that started before its reservation did (bad data) leaves a zero-length one.
    end_us = max(start_us, to_us(min(reservation.end, end)))
    key = _window_key(elements, len(compiled.elements))
    windows, breakpoints = _window_breakpoints(key, tz, start_us, end_us)
    for threshold in compiled.duration_thresholds_us:
        if start_us < start_us + threshold < end_us:
            breakpoints.append(start_us + threshold)
    points = [start_us, *sorted(breakpoints), end_us]
    spans: list[list[Any]] = []  # [start µs, end µs, TIME element, FLAT element] per period
    flat_done = False
    for a, b in pairwise(points):
        holds = [False] * len(compiled.tariff.elements)
        for e in elements:
            # Energy, power and current are nil while reserved; duration counts from the booking.
            holds[e.index] = _matches(e, a, ZERO, a - start_us, ZERO, None, windows)
        time_el = _first(elements, _DIM_TIME, holds)
        if spans and spans[-1][2] is time_el:
            spans[-1][1] = b
        else:
            spans.append([a, b, time_el, None])
        if not flat_done:
            flat_el = _first(elements, _DIM_FLAT, holds)
            if flat_el is not None:
                spans[-1][3], flat_done = flat_el, True
    return [(a, b, ZERO, False, True, None, time_el, flat_el, None, None) for a, b, time_el, flat_el in spans]


# --------------------------------------------------------------------------- step_size


def _step_extras(periods: list[_Period]) -> tuple[int, Decimal, dict[int, int]]:
    """What step_size adds: (index of the period that gets the extra kWh, the extra kWh) and the
    extra µs keyed by the index of the period that gets them (-1, 0: no energy billed).

    mod_cdrs, CDR object, "step_size": applied once per session for ENERGY and once for TIME and
    PARKING_TIME combined, to the session total of that dimension, with the step of the last
    component that priced it; the rounding is added to that last period. When parking is billed
    only the parking total is rounded (the charging time "is followed by another time based
    period"). Reservation time is rounded on its own, like a separate session.
    """
    extra_time: dict[int, int] = {}
    # One pass over the periods: the energy billed, and per time group (parked, charging,
    # reserved) the µs billed and the last period billing it, with its element.
    energy_total, last_energy, extra_energy, energy_step = ZERO, -1, ZERO, 1
    group_us = [0, 0, 0]
    group_last = [-1, -1, -1]
    group_step = [1, 1, 1]
    for i, (start_us, end_us, energy, charging, reservation, energy_el, time_el, _, _, _) in enumerate(
        periods
    ):
        if energy_el is not None and not reservation and energy > 0:
            energy_total += energy
            last_energy, energy_step = i, energy_el.energy.step_size  # type: ignore[union-attr]
        if time_el is not None and end_us > start_us:
            if reservation:
                group, component = 2, time_el.time
            elif charging:
                group, component = 1, time_el.time
            else:
                group, component = 0, time_el.parking_time
            group_us[group] += end_us - start_us
            group_last[group], group_step[group] = i, component.step_size  # type: ignore[union-attr]
    if last_energy >= 0:
        step = Decimal(max(energy_step, 1)) / WH_PER_KWH
        rounded = (energy_total / step).to_integral_value(rounding=ROUND_CEILING) * step
        extra_energy = rounded - energy_total
    # Parking when there is any, else charging; reservation time on its own.
    for group in (0 if group_last[0] >= 0 else 1, 2):
        if group_last[group] >= 0:
            extra_time[group_last[group]] = -group_us[group] % (max(group_step[group], 1) * US_PER_SECOND)
    return last_energy, extra_energy, extra_time


# --------------------------------------------------------------------------- money


def _line_figures(
    raw: Decimal, component: PriceComponent, tax_included: TaxIncluded, untaxed: bool
) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """(before taxes, after taxes, tax) of a component's cost `raw`, in the tariff's tax mode.

    Prices are excl. taxes unless `tax_included` is YES (2.3.0 PriceComponent.price). Without a
    `vat` "no VAT is applicable" (mod_tariffs, PriceComponent): with `untaxed` (2.2.1, our own
    tariffs) a price before taxes is then also the price after them. A zero amount has zero
    of everything, whatever is known of its rate.
    """
    vat = component.vat
    if tax_included is _TAX_NOT_APPLICABLE:
        return raw, raw, None
    if tax_included is _TAX_NO:
        if vat is None:
            return raw, (raw if untaxed or not raw else None), None
        tax = raw * vat * _PERCENT
        return raw, raw + tax, tax
    if vat is None:
        return (raw if not raw else None), raw, None
    before = raw * HUNDRED / (HUNDRED + vat)
    return before, raw, raw - before


# Exact arithmetic for the totals: a result that does not fit raises instead of rounding, so
# every figure below is an exact numerator divided once (by _DIVIDE) by an exact denominator.
_EXACT = Context(
    prec=200, rounding=ROUND_HALF_EVEN, traps=[Inexact, InvalidOperation, Overflow, DivisionByZero]
)
# 60 digits: the exact amounts have few decimals and small denominators, so a quotient rounded
# to 60 digits lies on the same side of every half cent as the exact one (and on it when it is).
_DIVIDE = Context(prec=60, rounding=ROUND_HALF_EVEN)


class _Exact(NamedTuple):
    """An exact rational amount: numerator / denominator, both exact Decimals."""

    numerator: Decimal
    denominator: Decimal

    @property
    def value(self) -> Decimal:
        return _DIVIDE.divide(self.numerator, self.denominator)


def _total(
    lines: Sequence[CostLine], tax_included: TaxIncluded, untaxed: bool = True
) -> tuple[Amount, _Exact | None, _Exact | None]:
    """The cost of `lines` together and its exact before/after taxes (None: unknown).

    Summed from each line's exact `scaled` cost per VAT rate, then divided once per figure:
    the sum of separately divided lines can carry noise below a half cent (7.875 read as
    7.87499...), which would round it the wrong way.
    """
    add = _EXACT.add
    sums: dict[Decimal | None, Decimal] = {}
    for line in lines:
        key = line.vat
        sums[key] = add(sums[key], line.scaled) if key in sums else line.scaled
    return _total_of(sums, tax_included, untaxed)


def _total_of(
    sums: Mapping[Decimal | None, Decimal], tax_included: TaxIncluded, untaxed: bool
) -> tuple[Amount, _Exact | None, _Exact | None]:
    """`_total` from the exact scaled cost per VAT rate (None: no rate)."""
    if not sums:
        return _NOTHING, _ZERO_EXACT, _ZERO_EXACT
    add, mul = _EXACT.add, _EXACT.multiply
    if len(sums) == 1:  # the usual case: one rate
        ((rate, total),) = sums.items()
        rates = [] if rate is None else [rate]
    else:
        total = ZERO
        for value in sums.values():
            total = add(total, value)
        rates = sorted((rate for rate in sums if rate is not None), key=_rate_order)
    if tax_included is _TAX_NOT_APPLICABLE:
        exact = _Exact(total, US_PER_HOUR)
        value = exact.value
        return Amount(value, value, ()), exact, exact
    if tax_included is _TAX_NO:
        # NamedTuples built without their Python-level __new__: this runs for every session.
        new, divide, denominator = tuple.__new__, _DIVIDE.divide, _US_PER_HOUR_PERCENT
        taxes = tuple(
            [
                new(TaxAmount, (rate, divide(mul(sums[rate], rate), denominator), "VAT", None))
                for rate in rates
            ]
        )
        after_numerator = mul(total, HUNDRED)
        for rate in rates:
            after_numerator = add(after_numerator, mul(sums[rate], rate))
        before_exact = new(_Exact, (total, US_PER_HOUR))
        before = divide(total, US_PER_HOUR)
        if sums.get(None) and not untaxed:
            return new(Amount, (before, None, taxes)), before_exact, None
        after_exact = new(_Exact, (after_numerator, denominator))
        return new(Amount, (before, divide(after_numerator, denominator), taxes)), before_exact, after_exact
    # Tax-inclusive: each rate's part before taxes is its amount x 100 / (100 + rate).
    after_exact = _Exact(total, US_PER_HOUR)
    taxes = tuple(
        TaxAmount(rate, _DIVIDE.divide(mul(sums[rate], rate), mul(add(HUNDRED, rate), US_PER_HOUR)))
        for rate in rates
    )
    before_exact: _Exact | None = None
    if not sums.get(None):
        common = _ONE
        for rate in rates:
            common = mul(common, add(HUNDRED, rate))
        numerator = ZERO
        for rate in rates:
            others = _EXACT.divide(common, add(HUNDRED, rate))  # exact: `common` is a multiple
            numerator = add(numerator, mul(mul(sums[rate], HUNDRED), others))
        before_exact = _Exact(numerator, mul(common, US_PER_HOUR))
    before = None if before_exact is None else before_exact.value
    return Amount(before, after_exact.value, taxes), before_exact, after_exact


def _rounded_total_of(
    sums: Mapping[Decimal | None, Decimal],
    tax_included: TaxIncluded,
    untaxed: bool,
    currency: str,
    rounding: str,
) -> Amount:
    """`_total_of(...)[0].rounded(...)`, the same figures by the same operations, faster.

    A subtotal is reported rounded only. In the usual case (one known rate, prices before
    taxes) its rounded tax is the rounded difference (`Amount.rounded`), so the unrounded
    tax, the exact fractions and the unrounded Amount need not be built.
    """
    if len(sums) == 1 and tax_included is _TAX_NO:
        ((rate, total),) = sums.items()
        quantum = MINOR_UNIT_QUANTA.get(currency)
        if rate is not None and quantum is not None:
            mul = _EXACT.multiply
            before = _DIVIDE.divide(total, US_PER_HOUR).quantize(quantum, rounding)
            after_numerator = _EXACT.add(mul(total, HUNDRED), mul(total, rate))
            after = _DIVIDE.divide(after_numerator, _US_PER_HOUR_PERCENT).quantize(quantum, rounding)
            new = tuple.__new__  # NamedTuples without their Python-level __new__, as in _total_of
            return new(Amount, (before, after, (new(TaxAmount, (rate, after - before, "VAT", None)),)))
    return _total_of(sums, tax_included, untaxed)[0].rounded(currency, rounding)


_ZERO_EXACT = _Exact(ZERO, _ONE)
_US_PER_HOUR_PERCENT = US_PER_HOUR * HUNDRED
_ROUNDED_NOTHING: dict[tuple[str, str], Amount] = {}


def _apply_limits(
    total: Amount, before_exact: _Exact | None, after_exact: _Exact | None, compiled: _Compiled
) -> tuple[Amount, bool, bool]:
    """min_price and max_price, before and after taxes each on its own (mod_tariffs, NOTEs).

    A limit given before taxes only bounds the amount after taxes at the same rate of tax as
    the session's own (after / before, exact); a session with nothing to take a rate from
    (zero before taxes) takes the tariff's one rate, else its highest: the amount after taxes
    is thus never below the amount before them.
    """
    tariff = compiled.tariff
    if tariff.min_price is None and tariff.max_price is None:
        return total, False, False
    before, after = total.before_taxes, total.after_taxes
    mul = _EXACT.multiply
    uniform_vat, top_vat = compiled.vat_rates()
    # The ratio after / before taxes as an exact fraction (numerator, denominator).
    ratio: tuple[Decimal, Decimal] | None = None
    if before_exact is not None and after_exact is not None and before_exact.numerator:
        ratio = (
            mul(after_exact.numerator, before_exact.denominator),
            mul(after_exact.denominator, before_exact.numerator),
        )
    elif tariff.tax_included is _TAX_NOT_APPLICABLE:
        ratio = (_ONE, _ONE)
    elif top_vat is not None:
        ratio = (HUNDRED + top_vat, HUNDRED)

    def after_bound(limit_before: Decimal, limit_after: Decimal | None) -> Decimal | None:
        if limit_after is None and ratio is not None:
            return _DIVIDE.divide(mul(limit_before, ratio[0]), ratio[1])
        return limit_after

    min_applied = max_applied = False
    if tariff.min_price is not None:
        low_before = tariff.min_price.before_taxes
        low_after = after_bound(low_before, tariff.min_price.after_taxes)
        if before is not None and before < low_before:
            before, min_applied = low_before, True
        if after is not None and low_after is not None and after < low_after:
            after, min_applied = low_after, True
    if tariff.max_price is not None:
        high_before = tariff.max_price.before_taxes
        high_after = after_bound(high_before, tariff.max_price.after_taxes)
        if before is not None and before > high_before:
            before, max_applied = high_before, True
        if after is not None and high_after is not None and after > high_after:
            after, max_applied = high_after, True
    if not (min_applied or max_applied):
        return total, False, False
    taxes = total.taxes
    if before is not None and after is not None:
        old = sum((t.amount for t in taxes), ZERO)
        new = after - before
        if old:
            taxes = tuple(
                TaxAmount(t.percentage, t.amount * new / old, t.name, t.account_number) for t in taxes
            )
        elif new:
            taxes = (TaxAmount(uniform_vat or top_vat, new),)
    return Amount(before, after, taxes), min_applied, max_applied


# --------------------------------------------------------------------------- entry point


def price_session(
    tariff: Tariff | Sequence[Tariff],
    samples: Sequence[MeterSample],
    *,
    time_zone: str | ZoneInfo,
    end: datetime | None = None,
    reservation: Reservation | None = None,
    tariff_type: TariffType | None = None,
    rounding: str = ROUND_HALF_UP,
) -> SessionPrice:
    """Price a session (finished, or so far when live) and return its CDR figures.

    `tariff` is one tariff or a connector's list, from which `select_tariff` picks the one valid
    at the start with `tariff_type`. The session runs from the first sample to `end` (default:
    the last sample); after the last sample its state holds, and samples after `end` are left
    out (energy interpolated up to `end`). A `reservation` adds its reservation costs; an
    expired reservation may come without samples.
    """
    tz = zone(time_zone) if isinstance(time_zone, str) else time_zone
    ordered = _ordered(samples)
    if not ordered and reservation is None:
        raise TariffError("a session needs at least one meter sample")
    first = ordered[0].timestamp if ordered else reservation.start  # type: ignore[union-attr]
    if isinstance(tariff, Tariff):
        chosen = tariff
    else:
        at = reservation.start if reservation is not None else first
        found = select_tariff(tariff, at=at, tariff_type=tariff_type)
        if found is None:
            raise TariffError(f"no tariff of type {tariff_type or 'REGULAR'} is valid at {at.isoformat()}")
        chosen = found
    compiled = _compiled(chosen)
    if end is not None:
        if end.utcoffset() is None:
            raise TariffError("`end` must be timezone-aware")
        end = end.astimezone(UTC)  # an instant, as the samples' timestamps (MeterSample)

    with localcontext() as ctx:
        # Our own context: enough digits that 1 s at a price per hour stays exact, whatever
        # context the caller runs in, and no trap on inexact division.
        ctx.prec = 40
        ctx.rounding = ROUND_HALF_EVEN
        if end is not None and ordered and end < ordered[-1].timestamp:
            ordered = _cut(ordered, end)
        periods: list[_Period] = []
        if reservation is not None:
            reservation_end = reservation.end if reservation.expired or not ordered else first
            periods += _reservation_periods(compiled, reservation, reservation_end, tz)
        session_end_us = 0
        if ordered:
            session_end_us = to_us(end) if end else to_us(ordered[-1].timestamp)
            periods += _session_periods(compiled, ordered, session_end_us, tz)
        return _result(compiled, periods, ordered, session_end_us, rounding)


def _cut(samples: list[MeterSample], end: datetime) -> list[MeterSample]:
    """The samples up to `end`, closed by one on the meter's straight line at `end`.

    A reading that arrives after the session ended (a late MeterValues) does not extend it.
    """
    kept = [sample for sample in samples if sample.timestamp <= end]
    if not kept:
        raise TariffError(f"the session ends ({end.isoformat()}) before its first meter sample")
    last = kept[-1]
    if last.timestamp < end:
        following = samples[len(kept)]
        elapsed = to_us(end) - to_us(last.timestamp)
        span = to_us(following.timestamp) - to_us(last.timestamp)
        energy = last.energy_kwh + ((following.energy_kwh - last.energy_kwh) * elapsed / span).quantize(
            ENERGY_QUANTUM
        )
        kept.append(MeterSample(end, energy, last.charging, last.power_kw, last.current_a))
    return kept


def _ordered(samples: Sequence[MeterSample]) -> list[MeterSample]:
    """Samples in time order; of samples sharing a timestamp the one with most energy is kept."""
    # A meter reports in order: samples already strictly in time order are what sorting and
    # dropping duplicates would give, found with one comparison per sample instead.
    for earlier, later in pairwise(samples):
        if not earlier.timestamp < later.timestamp:
            break
    else:
        return list(samples)
    ordered = sorted(samples, key=lambda s: (s.timestamp, s.energy_kwh, s.charging))
    unique: list[MeterSample] = []
    for sample in ordered:
        if unique and unique[-1].timestamp == sample.timestamp:
            unique[-1] = sample
        else:
            unique.append(sample)
    return unique


def _rate_order(rate: Decimal | None) -> Decimal:
    return Decimal(-1) if rate is None else rate


def _result(
    compiled: _Compiled,
    periods: list[_Period],
    samples: list[MeterSample],
    end_us: int,
    rounding: str,
) -> SessionPrice:
    tariff = compiled.tariff
    tax_included, untaxed = tariff.tax_included, tariff.untaxed_without_vat
    energy_index, extra_energy, extra_time = _step_extras(periods)
    lines: list[CostLine] = []
    # Per subtotal, the exact scaled cost per VAT rate (summed as lines are billed).
    by_subtotal: dict[str, dict[Decimal | None, Decimal]] = {name: {} for name in SUBTOTALS}
    energy_sums = by_subtotal[ENERGY_COST]
    charging_periods: list[ChargingPeriod] = []
    total_parking_us = total_reservation_us = 0

    mul, add = _EXACT.multiply, _EXACT.add
    # Prices before taxes (the usual tax mode): a line with a known rate is billed inline below,
    # every other line by `bill`.
    tax_no = tax_included is _TAX_NO
    new = tuple.__new__  # NamedTuples built without their Python-level __new__: the hot loop
    tariff_id = tariff.id

    def bill(
        start: datetime,
        name: str,
        subtotal: str,
        volume: Decimal,
        component: PriceComponent,
        raw: Decimal,
        scaled: Decimal,
    ) -> None:
        before, after, tax = _line_figures(raw, component, tax_included, untaxed)
        vat = component.vat
        lines.append(
            new(
                CostLine,
                (start, name, volume, component.price, vat, component.step_size, before, after, tax, scaled),
            )
        )
        sums = by_subtotal[subtotal]
        sums[vat] = add(sums[vat], scaled) if vat in sums else scaled

    for index, period in enumerate(periods):
        start_us, period_end_us, energy, charging, reservation, energy_el, time_el, flat_el, fee_el, start = (
            period
        )
        if start is None:
            start = _EPOCH + timedelta(0, 0, start_us)  # from_us, inlined
        duration_us = period_end_us - start_us
        hours = duration_us / US_PER_HOUR
        if reservation:
            total_reservation_us += duration_us
            dimensions: tuple[CdrDimension, ...] = (new(CdrDimension, (RESERVATION_TIME, hours)),)
            time_name, time_subtotal, time_kind = RESERVATION_TIME, RESERVATION_COST, _DIM_TIME
        elif charging:
            dimensions = (new(CdrDimension, (_ENERGY, energy)), new(CdrDimension, (_TIME, hours)))
            time_name, time_subtotal, time_kind = _TIME, TIME_COST, _DIM_TIME
        else:
            total_parking_us += duration_us
            dimensions = (new(CdrDimension, (_ENERGY, energy)), new(CdrDimension, (_PARKING_TIME, hours)))
            time_name, time_subtotal, time_kind = _PARKING_TIME, PARKING_COST, _DIM_PARKING_TIME
        if energy_el is not None:
            volume = energy + extra_energy if index == energy_index else energy
            if volume:
                component = energy_el.energy
                price, vat = component.price, component.vat
                raw = mul(price, volume)
                scaled = mul(raw, US_PER_HOUR)
                if tax_no and vat is not None:
                    tax = raw * vat * _PERCENT
                    lines.append(
                        new(
                            CostLine,
                            (
                                start,
                                _ENERGY,
                                volume,
                                price,
                                vat,
                                component.step_size,
                                raw,
                                raw + tax,
                                tax,
                                scaled,
                            ),
                        )
                    )
                    energy_sums[vat] = add(energy_sums[vat], scaled) if vat in energy_sums else scaled
                else:
                    bill(start, _ENERGY, ENERGY_COST, volume, component, raw, scaled)
        if time_el is not None:
            billed_us = duration_us + extra_time[index] if index in extra_time else duration_us
            if billed_us:
                component = time_el.parking_time if time_kind is _DIM_PARKING_TIME else time_el.time
                price, vat = component.price, component.vat
                # Price x µs first (exact), one division for the line's own figure; the
                # totals divide the sum of the exact products once more, never the sum of these.
                scaled = mul(price, billed_us)
                raw = scaled / US_PER_HOUR
                volume = hours if billed_us == duration_us else billed_us / US_PER_HOUR
                if tax_no and vat is not None:
                    tax = raw * vat * _PERCENT
                    lines.append(
                        new(
                            CostLine,
                            (
                                start,
                                time_name,
                                volume,
                                price,
                                vat,
                                component.step_size,
                                raw,
                                raw + tax,
                                tax,
                                scaled,
                            ),
                        )
                    )
                    sums = by_subtotal[time_subtotal]
                    sums[vat] = add(sums[vat], scaled) if vat in sums else scaled
                else:
                    bill(start, time_name, time_subtotal, volume, component, raw, scaled)
        if flat_el is not None or fee_el is not None:
            for fee in (flat_el, fee_el):
                if fee is None:
                    continue
                component = fee.flat
                dimensions += (new(CdrDimension, (_FLAT, _ONE)),)
                subtotal = RESERVATION_COST if reservation else fee.flat_subtotal
                bill(
                    start,
                    _FLAT,
                    subtotal,
                    _ONE,
                    component,
                    component.price,
                    mul(component.price, US_PER_HOUR),
                )
        charging_periods.append(new(ChargingPeriod, (start, dimensions, tariff_id)))
    all_sums: dict[Decimal | None, Decimal] = {}
    for sums in by_subtotal.values():
        for vat, value in sums.items():
            all_sums[vat] = add(all_sums[vat], value) if vat in all_sums else value
    total, min_applied, max_applied = _apply_limits(*_total_of(all_sums, tax_included, untaxed), compiled)
    currency = tariff.currency
    start_us = to_us(samples[0].timestamp) if samples else end_us
    energy = samples[-1].energy_kwh - samples[0].energy_kwh if samples else ZERO
    nothing = _ROUNDED_NOTHING.get((currency, rounding))
    if nothing is None:
        nothing = _ROUNDED_NOTHING[currency, rounding] = _NOTHING.rounded(currency, rounding)
    subtotals = {
        name: _rounded_total_of(sums, tax_included, untaxed, currency, rounding) if sums else nothing
        for name, sums in by_subtotal.items()
    }
    return SessionPrice(
        tariff_id=tariff_id,
        currency=currency,
        charging_periods=tuple(charging_periods),
        cost_lines=tuple(lines),
        total_fixed_cost=subtotals[FIXED],
        total_energy_cost=subtotals[ENERGY_COST],
        total_time_cost=subtotals[TIME_COST],
        total_parking_cost=subtotals[PARKING_COST],
        total_reservation_cost=subtotals[RESERVATION_COST],
        total_cost=total.rounded(currency, rounding),
        total_cost_exact=total,
        total_energy=energy,
        total_time=(end_us - start_us) / US_PER_HOUR,
        total_parking_time=total_parking_us / US_PER_HOUR,
        total_reservation_time=total_reservation_us / US_PER_HOUR,
        min_price_applied=min_applied,
        max_price_applied=max_applied,
        tax_included=tax_included,
        untaxed_without_vat=untaxed,
    )
