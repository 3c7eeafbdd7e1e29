"""Building engine tariffs from OCPI 2.2.1 and 2.3.0 Tariff JSON.

The two versions differ only in money: 2.2.1 prices are excl. VAT and limits are
`Price{excl_vat, incl_vat}`; 2.3.0 says per tariff whether prices include taxes
(`tax_included`), has limits as `PriceLimit{before_taxes, after_taxes}` and adds
`preauthorize_amount`. Those differences live in `_VERSIONS`, not in scattered ifs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from tariffs.engine.model import (
    DayOfWeek,
    Dimension,
    DisplayText,
    PriceComponent,
    PriceLimit,
    ReservationRestriction,
    Restrictions,
    Tariff,
    TariffElement,
    TariffError,
    TariffType,
    TaxIncluded,
)

OcpiVersion = Literal["2.2.1", "2.3.0"]

_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_DATE = re.compile(r"([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")


def decimal_from_json(value: object, what: str) -> Decimal:
    """A JSON number as an exact Decimal; a float goes through its shortest repr ("0.1", not 0.1000…)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise TariffError(f"{what} must be a number, got {value!r}")
    try:
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise TariffError(f"{what} must be a number, got {value!r}") from None
    if not result.is_finite():
        raise TariffError(f"{what} must be finite, got {value!r}")
    return result


def _optional_decimal(data: Mapping[str, Any], key: str) -> Decimal | None:
    value = data.get(key)
    return None if value is None else decimal_from_json(value, key)


def _integer(value: object, what: str) -> int:
    number = decimal_from_json(value, what)
    if number != number.to_integral_value():
        raise TariffError(f"{what} must be a whole number, got {value!r}")
    return int(number)


def _enum(kind: type[Any], value: object, what: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise TariffError(f"unknown {what} {value!r}") from None


def _time(value: object, what: str) -> time:
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise TariffError(f"{what} must be HH:MM in 24h format, got {value!r}")
    return time(int(match[1]), int(match[2]))


def _date(value: object, what: str) -> date:
    match = _DATE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise TariffError(f"{what} must be YYYY-MM-DD, got {value!r}")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise TariffError(f"{what} is not a calendar date: {value!r}") from None


def _datetime(value: object, what: str) -> datetime:
    if not isinstance(value, str):
        raise TariffError(f"{what} must be an RFC 3339 date-time, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TariffError(f"{what} must be an RFC 3339 date-time, got {value!r}") from None
    if parsed.utcoffset() is None:
        # OCPI DateTimes without an offset are UTC (types, DateTime type).
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _restrictions(data: object) -> Restrictions | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise TariffError(f"restrictions must be an object, got {data!r}")
    days = data.get("day_of_week") or []
    if not isinstance(days, list):
        raise TariffError(f"day_of_week must be a list, got {days!r}")
    return Restrictions(
        start_time=_time(data["start_time"], "start_time") if data.get("start_time") is not None else None,
        end_time=_time(data["end_time"], "end_time") if data.get("end_time") is not None else None,
        start_date=_date(data["start_date"], "start_date") if data.get("start_date") is not None else None,
        end_date=_date(data["end_date"], "end_date") if data.get("end_date") is not None else None,
        min_kwh=_optional_decimal(data, "min_kwh"),
        max_kwh=_optional_decimal(data, "max_kwh"),
        min_current=_optional_decimal(data, "min_current"),
        max_current=_optional_decimal(data, "max_current"),
        min_power=_optional_decimal(data, "min_power"),
        max_power=_optional_decimal(data, "max_power"),
        min_duration=_integer(data["min_duration"], "min_duration")
        if data.get("min_duration") is not None
        else None,
        max_duration=_integer(data["max_duration"], "max_duration")
        if data.get("max_duration") is not None
        else None,
        day_of_week=tuple(_enum(DayOfWeek, day, "day_of_week") for day in days),
        reservation=(
            _enum(ReservationRestriction, data["reservation"], "reservation restriction")
            if data.get("reservation") is not None
            else None
        ),
    )


def _component(data: object) -> PriceComponent:
    if not isinstance(data, Mapping):
        raise TariffError(f"price component must be an object, got {data!r}")
    for key in ("type", "price", "step_size"):
        if key not in data:
            raise TariffError(f"price component lacks {key!r}")
    return PriceComponent(
        type=_enum(Dimension, data["type"], "dimension"),
        price=decimal_from_json(data["price"], "price"),
        step_size=_integer(data["step_size"], "step_size"),
        # An absent vat is "unknown", not 0 % (mod_tariffs, PriceComponent class).
        vat=_optional_decimal(data, "vat"),
    )


def _element(data: object) -> TariffElement:
    if not isinstance(data, Mapping):
        raise TariffError(f"tariff element must be an object, got {data!r}")
    components = data.get("price_components")
    if not isinstance(components, list) or not components:
        raise TariffError("a tariff element needs a non-empty price_components list")
    return TariffElement(
        price_components=tuple(_component(c) for c in components),
        restrictions=_restrictions(data.get("restrictions")),
    )


def _limit_221(data: Mapping[str, Any]) -> PriceLimit:
    if "excl_vat" not in data:
        raise TariffError("a 2.2.1 Price needs excl_vat")
    return PriceLimit(decimal_from_json(data["excl_vat"], "excl_vat"), _optional_decimal(data, "incl_vat"))


def _limit_230(data: Mapping[str, Any]) -> PriceLimit:
    if "before_taxes" not in data:
        raise TariffError("a 2.3.0 PriceLimit needs before_taxes")
    return PriceLimit(
        decimal_from_json(data["before_taxes"], "before_taxes"), _optional_decimal(data, "after_taxes")
    )


def _tax_included_221(data: Mapping[str, Any]) -> TaxIncluded:
    return TaxIncluded.NO  # 2.2.1 prices are "excl. VAT" (mod_tariffs 2.2.1, PriceComponent.price)


def _tax_included_230(data: Mapping[str, Any]) -> TaxIncluded:
    if data.get("tax_included") is None:
        raise TariffError("tax_included is required in an OCPI 2.3.0 tariff")
    return _enum(TaxIncluded, data["tax_included"], "tax_included")


def _preauthorize_230(data: Mapping[str, Any]) -> Decimal | None:
    return _optional_decimal(data, "preauthorize_amount")


def _no_preauthorize(data: Mapping[str, Any]) -> Decimal | None:
    return None


_VERSIONS: dict[
    str,
    tuple[
        Callable[[Mapping[str, Any]], PriceLimit],
        Callable[[Mapping[str, Any]], TaxIncluded],
        Callable[[Mapping[str, Any]], Decimal | None],
    ],
] = {
    "2.2.1": (_limit_221, _tax_included_221, _no_preauthorize),
    "2.3.0": (_limit_230, _tax_included_230, _preauthorize_230),
}


def tariff_from_ocpi(data: Mapping[str, Any], version: OcpiVersion) -> Tariff:
    """Build a `Tariff` from an OCPI Tariff object; raise `TariffError` if it cannot be priced."""
    if version not in _VERSIONS:
        raise TariffError(f"unsupported OCPI version {version!r}")
    if not isinstance(data, Mapping):
        raise TariffError(f"a tariff must be an object, got {type(data).__name__}")
    limit, tax_included, preauthorize = _VERSIONS[version]
    for key in ("id", "currency"):
        if not isinstance(data.get(key), str):
            raise TariffError(f"tariff lacks a string {key!r}")
    elements = data.get("elements")
    if not isinstance(elements, list) or not elements:
        raise TariffError(f"tariff {data['id']!r} needs a non-empty elements list")
    texts = data.get("tariff_alt_text") or []
    if not isinstance(texts, list) or any(not isinstance(t, Mapping) for t in texts):
        raise TariffError("tariff_alt_text must be a list of DisplayText objects")
    return Tariff(
        id=data["id"],
        currency=data["currency"],
        elements=tuple(_element(e) for e in elements),
        type=_enum(TariffType, data["type"], "tariff type") if data.get("type") is not None else None,
        tax_included=tax_included(data),
        min_price=limit(data["min_price"]) if data.get("min_price") is not None else None,
        max_price=limit(data["max_price"]) if data.get("max_price") is not None else None,
        start_date_time=(
            _datetime(data["start_date_time"], "start_date_time") if data.get("start_date_time") else None
        ),
        end_date_time=_datetime(data["end_date_time"], "end_date_time")
        if data.get("end_date_time")
        else None,
        alt_text=tuple(DisplayText(str(t.get("language", "")), str(t.get("text", ""))) for t in texts),
        alt_url=data.get("tariff_alt_url"),
        preauthorize_amount=preauthorize(data),
        # 2.2.1's Price is incl. VAT, and "If omitted, no VAT is applicable"; 2.3.0's is after
        # all taxes, which a tax-exclusive tariff without vat leaves to "locally applicable
        # legislation" (mod_tariffs, the North American examples).
        untaxed_without_vat=version == "2.2.1",
    )
