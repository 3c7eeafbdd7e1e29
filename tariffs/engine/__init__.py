"""Pure-Python OCPI 2.2.1 / 2.3.0 tariff engine: no Django, Decimal money, aware datetimes.

Entry points (everything else is an input or result type):

- `tariff_from_ocpi(data: Mapping, version: "2.2.1" | "2.3.0") -> Tariff`
  builds a tariff from OCPI JSON; raises `TariffError` for one that cannot be priced.
- `select_tariff(tariffs, *, at: datetime, tariff_type: TariffType | None = None) -> Tariff | None`
  picks a connector's tariff by type (asked type, then untyped, then REGULAR for profiles)
  and validity (start_date_time <= at < end_date_time).
- `price_session(tariff | tariffs, samples, *, time_zone, end=None, reservation=None,
  tariff_type=None, rounding=ROUND_HALF_UP) -> SessionPrice`
  prices a session from its meter samples: charging periods, cost lines, cost per dimension,
  the CDR subtotals, total cost, totals of energy/time/parking and taxes. On a partial
  timeline (end=now) it is the live price.
- `live_price(tariff | tariffs, samples, *, time_zone, now, power_kw=None, ...) -> SessionPrice`
  the price of a running session at `now`, its energy extrapolated since the last reading at
  the last known power (as `time_to_reach` does); at the last reading it is the CDR's price.
- `time_to_reach(tariff | tariffs, samples, amount, *, time_zone, now=None, power_kw=None,
  after_taxes=True, reservation=None, tariff_type=None, horizon=7 days) -> datetime | None`
  when a session continuing at its current power reaches `amount` (None: never, in horizon).
- `price_lines(tariff, language, *, with_taxes=False) -> list[str]`
  human-readable price lines in en, nl, de or fr, the tariff's own alt text first;
  `format_money(value, currency, language)` for one amount; `stale_numbers(text, tariff, language)`
  the prices a text quotes that the tariff no longer computes.

Inputs are frozen dataclasses that validate themselves (`Tariff`, `TariffElement`,
`PriceComponent`, `Restrictions`, `PriceLimit`, `DisplayText`, `MeterSample`, `Reservation`).
Money in results is an `Amount` (before/after taxes plus one `TaxAmount` per rate) that
renders as a 2.2.1 `Price` with `as_ocpi_221()` or a 2.3.0 `Price` with `as_ocpi_230()`.
Only the reported figures are rounded, to the currency's minor unit (`MINOR_UNITS`).
"""

from __future__ import annotations

from tariffs.engine.display import SUPPORTED_LANGUAGES, format_money, price_lines, stale_numbers
from tariffs.engine.live import live_price, time_to_reach
from tariffs.engine.loader import tariff_from_ocpi
from tariffs.engine.model import (
    DayOfWeek,
    Dimension,
    DisplayText,
    MeterSample,
    PriceComponent,
    PriceLimit,
    Reservation,
    ReservationRestriction,
    Restrictions,
    Tariff,
    TariffElement,
    TariffError,
    TariffType,
    TaxIncluded,
)
from tariffs.engine.money import MINOR_UNITS, Amount, TaxAmount, round_money
from tariffs.engine.pricing import (
    CdrDimension,
    ChargingPeriod,
    CostLine,
    SessionPrice,
    price_session,
    select_tariff,
)

__all__ = [
    "MINOR_UNITS",
    "SUPPORTED_LANGUAGES",
    "Amount",
    "CdrDimension",
    "ChargingPeriod",
    "CostLine",
    "DayOfWeek",
    "Dimension",
    "DisplayText",
    "MeterSample",
    "PriceComponent",
    "PriceLimit",
    "Reservation",
    "ReservationRestriction",
    "Restrictions",
    "SessionPrice",
    "Tariff",
    "TariffElement",
    "TariffError",
    "TariffType",
    "TaxAmount",
    "TaxIncluded",
    "format_money",
    "live_price",
    "price_lines",
    "price_session",
    "round_money",
    "select_tariff",
    "stale_numbers",
    "tariff_from_ocpi",
    "time_to_reach",
]
