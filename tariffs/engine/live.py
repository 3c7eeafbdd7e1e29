"""Live questions about a running session: what does it cost now, when will it cost an amount?

Between meter readings nothing is metered, so a live price "as of the last reading" lags the
final one by the energy since. `live_price` extends the session from its last reading at its
last known power and state (energy included), which is what the stop before the pre-authorised
amount must look at; `time_to_reach` bisects on the same extension. A session that ends at a
reading is priced from readings only, so its live price at that reading equals its CDR.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tariffs.engine.model import MeterSample, Reservation, Tariff, TariffError, TariffType
from tariffs.engine.pricing import US_PER_HOUR, SessionPrice, price_session

_ZERO = Decimal(0)


def extrapolated(
    samples: Sequence[MeterSample], moment: datetime, power_kw: Decimal | None = None
) -> list[MeterSample]:
    """The samples in time order, plus one at `moment` if it is later than the last one.

    The added sample continues the last one's state; a charging EV goes on at `power_kw`
    (default: the last reported power, else the average over the last interval), so energy
    grows linearly up to `moment`; a parked one draws nothing.
    """
    ordered = sorted(samples, key=lambda s: s.timestamp)
    if not ordered:
        raise TariffError("a live session needs at least one meter sample")
    last = ordered[-1]
    if moment <= last.timestamp:
        return ordered
    rate = power_kw if power_kw is not None else _current_power(ordered)
    if not last.charging:
        rate = _ZERO
    elapsed_us = (moment - last.timestamp) // timedelta(microseconds=1)
    energy = last.energy_kwh + rate * elapsed_us / US_PER_HOUR
    return [
        *ordered,
        MeterSample(moment, energy, last.charging, power_kw=last.power_kw, current_a=last.current_a),
    ]


def live_price(
    tariff: Tariff | Sequence[Tariff],
    samples: Sequence[MeterSample],
    *,
    time_zone: str | ZoneInfo,
    now: datetime,
    power_kw: Decimal | None = None,
    reservation: Reservation | None = None,
    tariff_type: TariffType | None = None,
) -> SessionPrice:
    """The price of a running session at `now`, energy extrapolated since the last reading.

    At or before the last reading it is the price of the readings (what a CDR ending there says).
    """
    ordered = extrapolated(samples, now, power_kw)
    end = max(now, ordered[-1].timestamp)
    return price_session(
        tariff, ordered, time_zone=time_zone, end=end, reservation=reservation, tariff_type=tariff_type
    )


def time_to_reach(
    tariff: Tariff | Sequence[Tariff],
    samples: Sequence[MeterSample],
    amount: Decimal,
    *,
    time_zone: str | ZoneInfo,
    now: datetime | None = None,
    power_kw: Decimal | None = None,
    after_taxes: bool = True,
    reservation: Reservation | None = None,
    tariff_type: TariffType | None = None,
    horizon: timedelta = timedelta(days=7),
) -> datetime | None:
    """The first whole second at which the session's exact total reaches `amount`, or None.

    The session continues from its last sample in the same state (charging or not) at
    `power_kw` (default: the last sample's power, else the average over the last interval).
    The total compared is after taxes when known (`after_taxes`), else before taxes. None when
    `amount` is not reached within `horizon` (e.g. because of `max_price`). Found by bisection,
    which is exact while the cost only grows with time, as it does for a session continuing
    in one state (step_size can make it dip at an element switch; the answer is then a second
    at which the amount is reached, not necessarily the first).
    """
    if type(amount) is not Decimal:
        raise TariffError(f"amount must be a Decimal, got {type(amount).__name__}")
    ordered = sorted(samples, key=lambda s: s.timestamp)
    if not ordered:
        raise TariffError("a live session needs at least one meter sample")
    last = ordered[-1]
    start = max(now or last.timestamp, last.timestamp)
    rate = power_kw if power_kw is not None else _current_power(ordered)

    def cost_at(moment: datetime) -> Decimal:
        result = live_price(
            tariff,
            ordered,
            time_zone=time_zone,
            now=moment,
            power_kw=rate,
            reservation=reservation,
            tariff_type=tariff_type,
        )
        total = result.total_cost_exact
        if after_taxes and total.after_taxes is not None:
            return total.after_taxes
        if total.before_taxes is None:
            return total.after_taxes or _ZERO
        return total.before_taxes

    def reached(seconds: int) -> bool:
        return cost_at(start + timedelta(seconds=seconds)) >= amount

    if reached(0):
        return start
    limit = int(horizon.total_seconds())
    low, high = 0, min(60, limit)
    while not reached(high):
        if high >= limit:
            return None
        low, high = high, min(limit, high * 2)
    # Bisect on whole seconds: `low` never reaches the amount, `high` does.
    while high - low > 1:
        middle = (low + high) // 2
        if reached(middle):
            high = middle
        else:
            low = middle
    return start + timedelta(seconds=high)


def _current_power(samples: list[MeterSample]) -> Decimal:
    last = samples[-1]
    if last.power_kw is not None:
        return last.power_kw
    if len(samples) < 2:
        return _ZERO
    before = samples[-2]
    elapsed_us = (last.timestamp - before.timestamp) // timedelta(microseconds=1)
    if elapsed_us <= 0:
        return _ZERO
    return max(_ZERO, (last.energy_kwh - before.energy_kwh) * US_PER_HOUR / elapsed_us)
