"""Pure-Python OCPI 2.2.1 / 2.3.0 tariff engine: no Django, Decimal money, aware datetimes.

Entry points:

- `tariff_from_ocpi(data, version)` builds a `Tariff` from OCPI JSON ("2.2.1" or "2.3.0");
  `TariffError` for a tariff that cannot be priced.
- `select_tariff(tariffs, *, at, tariff_type=None)` picks a connector's tariff by type and validity.
- `price_session(tariff_or_tariffs, samples, *, time_zone, end=None, reservation=None,
  tariff_type=None, rounding=ROUND_HALF_UP) -> SessionPrice`: charging periods, cost lines,
  CDR subtotals, total cost and taxes; on a partial timeline it is the live price.
- `time_to_reach(tariff, samples, amount, *, time_zone, ...)`: when a session continuing at its
  current power reaches `amount`, or None.
- `price_lines(tariff, language, *, with_taxes=False)`: human-readable price lines (en, nl, de,
  fr), the tariff's own alt text in that language first; `format_money` for single amounts.

Input types are frozen dataclasses (`Tariff`, `TariffElement`, `PriceComponent`,
`Restrictions`, `PriceLimit`, `MeterSample`, `Reservation`); money in results is an `Amount`
that renders as 2.2.1 `Price` (`as_ocpi_221()`) or 2.3.0 `Price` (`as_ocpi_230()`).
"""

from __future__ import annotations

from tariffs.engine.display import SUPPORTED_LANGUAGES, format_money, price_lines
from tariffs.engine.live import time_to_reach
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
    "price_lines",
    "price_session",
    "round_money",
    "select_tariff",
    "tariff_from_ocpi",
    "time_to_reach",
]
