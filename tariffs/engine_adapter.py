"""The Django side of pricing: tariff models and meter readings in, tariff engine results out.

The engine (``tariffs.engine``) knows nothing of Django; this module converts ``Tariff`` and
``TariffElement`` rows, the location's time zone and a session's meter readings into its input
types, and renders what is stored on a session or a CDR (charging periods, amounts, taxes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tariffs import engine
from tariffs.models import Tariff, TariffElement

if TYPE_CHECKING:
    from sessions.models import ChargingSession, MeterReading


_NO_RESTRICTIONS = engine.Restrictions()


def _time_of_day(value: str) -> time | None:
    if not value:
        return None
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def engine_element(element: TariffElement) -> engine.TariffElement:
    """One element row as an engine TariffElement (components in OCPI's dimension order)."""
    components = tuple(
        engine.PriceComponent(type=engine.Dimension(dimension), price=price, step_size=step_size, vat=vat)
        for dimension, price, vat, step_size in element.components()
    )
    restrictions = engine.Restrictions(
        start_time=_time_of_day(element.start_time),
        end_time=_time_of_day(element.end_time),
        start_date=element.start_date,
        end_date=element.end_date,
        min_kwh=element.min_kwh,
        max_kwh=element.max_kwh,
        min_current=element.min_current,
        max_current=element.max_current,
        min_power=element.min_power,
        max_power=element.max_power,
        min_duration=element.min_duration,
        max_duration=element.max_duration,
        day_of_week=tuple(engine.DayOfWeek(day) for day in element.day_of_week),
        reservation=engine.ReservationRestriction(element.reservation) if element.reservation else None,
    )
    return engine.TariffElement(
        price_components=components,
        restrictions=None if restrictions == _NO_RESTRICTIONS else restrictions,
    )


def _limit(before: Decimal | None, after: Decimal | None) -> engine.PriceLimit | None:
    return None if before is None else engine.PriceLimit(before_taxes=before, after_taxes=after)


def engine_tariff(tariff: Tariff, elements: Iterable[TariffElement] | None = None) -> engine.Tariff:
    """A tariff row (with its elements, prefetched or given) as an engine Tariff."""
    rows = list(elements) if elements is not None else list(tariff.elements.all())
    return engine.Tariff(
        id=tariff.tariff_id,
        currency=tariff.currency,
        elements=tuple(engine_element(row) for row in rows),
        type=engine.TariffType(tariff.type) if tariff.type else None,
        tax_included=engine.TaxIncluded(tariff.tax_included),
        min_price=_limit(tariff.min_price_excl_vat, tariff.min_price_incl_vat),
        max_price=_limit(tariff.max_price_excl_vat, tariff.max_price_incl_vat),
        start_date_time=tariff.start_date_time,
        end_date_time=tariff.end_date_time,
        preauthorize_amount=tariff.preauthorize_amount,
    )


def meter_samples(readings: Iterable[MeterReading]) -> list[engine.MeterSample]:
    """Meter readings as engine samples (cumulative energy; power and current when reported)."""
    return [
        engine.MeterSample(
            timestamp=reading.timestamp,
            energy_kwh=Decimal(reading.energy_kwh),
            charging=reading.charging,
            power_kw=None if reading.power_kw is None else Decimal(reading.power_kw),
            current_a=None if reading.current_a is None else Decimal(reading.current_a),
        )
        for reading in readings
    ]


def tariff_for_connector(
    tariffs: Sequence[Tariff], *, at: datetime, tariff_type: str | None
) -> Tariff | None:
    """The connector's tariff that applies at ``at`` for a session of ``tariff_type`` (engine rules)."""
    by_id = {tariff.tariff_id: tariff for tariff in tariffs}
    converted = []
    for tariff in tariffs:
        try:
            converted.append(engine_tariff(tariff))
        except engine.TariffError:
            continue  # a tariff that cannot be priced (no elements yet) cannot apply
    chosen = engine.select_tariff(
        converted, at=at, tariff_type=engine.TariffType(tariff_type) if tariff_type else None
    )
    return None if chosen is None else by_id[chosen.id]


def price_readings(
    tariff: Tariff, readings: Sequence[MeterReading], *, time_zone: str, end: datetime | None = None
) -> engine.SessionPrice:
    """Price meter readings with one tariff in the location's time zone (live or final)."""
    return engine.price_session(engine_tariff(tariff), meter_samples(readings), time_zone=time_zone, end=end)


def price_readings_now(
    tariff: Tariff, readings: Sequence[MeterReading], *, time_zone: str, now: datetime
) -> engine.SessionPrice:
    """The live price at ``now``: energy since the last reading extrapolated at its power."""
    return engine.live_price(engine_tariff(tariff), meter_samples(readings), time_zone=time_zone, now=now)


def session_price(session: ChargingSession, *, end: datetime | None = None) -> engine.SessionPrice | None:
    """The session's price from its meter readings, or None without a tariff or readings."""
    if session.tariff is None:
        return None
    readings = list(session.meter_readings.order_by("timestamp"))
    if not readings:
        return None
    return price_readings(session.tariff, readings, time_zone=session.location.time_zone, end=end)


# -- rendering what sessions and CDRs store ------------------------------------------------------------


def _number(value: Decimal) -> str:
    """A money figure for a JSON field: a string, so that storage never goes through a float."""
    return format(value.normalize(), "f")


def _volume(value: Decimal) -> int | float:
    """A charging period volume (kWh, hours, kW, A) as a JSON number, as OCPI's schemas require.

    Volumes are reported, not billed (the price comes from the readings), so a float's last digit
    cannot change what is charged.
    """
    rounded = value.quantize(Decimal("0.000001"))
    return int(rounded) if rounded == rounded.to_integral_value() else float(rounded)


def taxes_json(amount: engine.Amount) -> list[dict[str, Any]]:
    """2.3.0 TaxAmount lines of an amount, numbers as strings."""
    lines: list[dict[str, Any]] = []
    for tax in amount.taxes:
        line: dict[str, Any] = {"name": tax.name, "amount": _number(tax.amount)}
        if tax.percentage is not None:
            line["percentage"] = _number(tax.percentage)
        if tax.account_number:
            line["account_number"] = tax.account_number
        lines.append(line)
    return lines


def amount_columns(amount: engine.Amount, prefix: str) -> dict[str, Any]:
    """An amount as the three model columns ``<prefix>_excl_vat``, ``_incl_vat`` and ``_taxes``.

    A tax-inclusive price without a tax rate has no amount before taxes (types, Price class); the
    column then holds the amount after taxes, as the best figure known.
    """
    before = amount.before_taxes if amount.before_taxes is not None else amount.after_taxes
    return {
        f"{prefix}_excl_vat": before,
        f"{prefix}_incl_vat": amount.after_taxes,
        f"{prefix}_taxes": taxes_json(amount),
    }


def charging_periods_json(
    price: engine.SessionPrice, readings: Sequence[MeterReading]
) -> list[dict[str, Any]]:
    """The engine's charging periods with power and current dimensions from the readings.

    mod_sessions/mod_cdrs ChargingPeriod: dimensions use CdrDimensionType, which has no FLAT
    (the engine reports it to mark the start fee; it is left out here). MIN/MAX_POWER and
    MIN/MAX_CURRENT come from the readings that fall inside each period.
    """
    periods = list(price.charging_periods)
    rendered: list[dict[str, Any]] = []
    for index, period in enumerate(periods):
        until = periods[index + 1].start_date_time if index + 1 < len(periods) else None
        inside = [
            reading
            for reading in readings
            if reading.timestamp >= period.start_date_time and (until is None or reading.timestamp < until)
        ]
        dimensions = [
            {"type": dimension.type, "volume": _volume(dimension.volume)}
            for dimension in period.dimensions
            if dimension.type != engine.Dimension.FLAT
        ]
        powers = [Decimal(r.power_kw) for r in inside if r.power_kw is not None]
        currents = [Decimal(r.current_a) for r in inside if r.current_a is not None]
        if powers:
            dimensions += [
                {"type": "MIN_POWER", "volume": _volume(min(powers))},
                {"type": "MAX_POWER", "volume": _volume(max(powers))},
            ]
        if currents:
            dimensions += [
                {"type": "MIN_CURRENT", "volume": _volume(min(currents))},
                {"type": "MAX_CURRENT", "volume": _volume(max(currents))},
            ]
        entry: dict[str, Any] = {
            "start_date_time": period.start_date_time.isoformat().replace("+00:00", "Z"),
            "dimensions": dimensions,
        }
        if period.tariff_id:
            entry["tariff_id"] = period.tariff_id
        rendered.append(entry)
    return rendered


__all__ = [
    "amount_columns",
    "charging_periods_json",
    "engine_element",
    "engine_tariff",
    "meter_samples",
    "price_readings",
    "price_readings_now",
    "session_price",
    "tariff_for_connector",
    "taxes_json",
]
