"""Human-readable price lines for a tariff, in English, Dutch, German and French.

The lines are generated from the elements and restrictions, in tariff order, e.g. for English
"start fee €1.00", "€0.39 per kWh", "then €0.10 per minute after 2 hours". The tariff's own
`tariff_alt_text` in the language comes first: per mod_tariffs (Tariff object, NOTE on
tariff_alt_text) it carries extra information beside the elements, not a replacement.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NamedTuple

from tariffs.engine.model import (
    DayOfWeek,
    Dimension,
    PriceComponent,
    PriceLimit,
    ReservationRestriction,
    Restrictions,
    Tariff,
    TaxIncluded,
)
from tariffs.engine.money import HUNDRED, MINOR_UNITS

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}
_MIN_PER_MINUTE = Decimal("0.05")
_DISPLAY_QUANTUM = Decimal("0.0001")


class _Words(NamedTuple):
    decimal: str
    group: str
    symbol_first: bool
    per_kwh: str
    per_hour: str
    per_minute: str
    parking: str
    start_fee: str
    parking_fee: str
    fee: str
    reservation: str
    reservation_fee: str
    expired_reservation: str
    expired_fee: str
    then: str
    after: str
    up_to: str
    between: str
    from_time: str
    until_time: str
    on_days: str
    days: tuple[str, ...]
    from_date: str
    before_date: str
    from_kwh: str
    up_to_kwh: str
    from_power: str
    below_power: str
    from_current: str
    below_current: str
    billed_per: str
    minimum: str
    maximum: str
    free: str
    hour: tuple[str, str]
    minute: tuple[str, str]
    second: tuple[str, str]


_LANGUAGES: dict[str, _Words] = {
    "en": _Words(
        decimal=".",
        group=",",
        symbol_first=True,
        per_kwh="{price} per kWh",
        per_hour="{price} per hour",
        per_minute="{price} per minute",
        parking="parking {text}",
        start_fee="start fee {price}",
        parking_fee="parking fee {price}",
        fee="fee {price}",
        reservation="reservation {text}",
        reservation_fee="reservation fee {price}",
        expired_reservation="expired reservation {text}",
        expired_fee="fee for an expired reservation {price}",
        then="then {text}",
        after="after {value}",
        up_to="up to {value}",
        between="between {start} and {end}",
        from_time="from {start}",
        until_time="until {end}",
        on_days="on {days}",
        days=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
        from_date="from {date}",
        before_date="before {date}",
        from_kwh="from {value} kWh",
        up_to_kwh="up to {value} kWh",
        from_power="at {value} kW or more",
        below_power="below {value} kW",
        from_current="at {value} A or more",
        below_current="below {value} A",
        billed_per="(billed per {value})",
        minimum="minimum price {price}",
        maximum="maximum price {price}",
        free="free of charge",
        hour=("hour", "hours"),
        minute=("minute", "minutes"),
        second=("second", "seconds"),
    ),
    "nl": _Words(
        decimal=",",
        group=".",
        symbol_first=True,
        per_kwh="{price} per kWh",
        per_hour="{price} per uur",
        per_minute="{price} per minuut",
        parking="parkeren {text}",
        start_fee="starttarief {price}",
        parking_fee="parkeertarief {price}",
        fee="tarief {price}",
        reservation="reservering {text}",
        reservation_fee="reserveringskosten {price}",
        expired_reservation="verlopen reservering {text}",
        expired_fee="kosten bij een verlopen reservering {price}",
        then="daarna {text}",
        after="na {value}",
        up_to="tot {value}",
        between="tussen {start} en {end}",
        from_time="vanaf {start}",
        until_time="tot {end}",
        on_days="op {days}",
        days=("ma", "di", "wo", "do", "vr", "za", "zo"),
        from_date="vanaf {date}",
        before_date="vóór {date}",
        from_kwh="vanaf {value} kWh",
        up_to_kwh="tot {value} kWh",
        from_power="vanaf {value} kW",
        below_power="onder {value} kW",
        from_current="vanaf {value} A",
        below_current="onder {value} A",
        billed_per="(afgerekend per {value})",
        minimum="minimumprijs {price}",
        maximum="maximumprijs {price}",
        free="gratis",
        hour=("uur", "uur"),
        minute=("minuut", "minuten"),
        second=("seconde", "seconden"),
    ),
    "de": _Words(
        decimal=",",
        group=".",
        symbol_first=False,
        per_kwh="{price} pro kWh",
        per_hour="{price} pro Stunde",
        per_minute="{price} pro Minute",
        parking="Parken {text}",
        start_fee="Startgebühr {price}",
        parking_fee="Parkgebühr {price}",
        fee="Gebühr {price}",
        reservation="Reservierung {text}",
        reservation_fee="Reservierungsgebühr {price}",
        expired_reservation="abgelaufene Reservierung {text}",
        expired_fee="Gebühr für eine abgelaufene Reservierung {price}",
        then="danach {text}",
        after="nach {value}",
        up_to="bis {value}",
        between="zwischen {start} und {end}",
        from_time="ab {start}",
        until_time="bis {end}",
        on_days="{days}",
        days=("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"),
        from_date="ab {date}",
        before_date="vor {date}",
        from_kwh="ab {value} kWh",
        up_to_kwh="bis {value} kWh",
        from_power="ab {value} kW",
        below_power="unter {value} kW",
        from_current="ab {value} A",
        below_current="unter {value} A",
        billed_per="(abgerechnet pro {value})",
        minimum="Mindestpreis {price}",
        maximum="Höchstpreis {price}",
        free="kostenlos",
        hour=("Stunde", "Stunden"),
        minute=("Minute", "Minuten"),
        second=("Sekunde", "Sekunden"),
    ),
    "fr": _Words(
        decimal=",",
        group="\u202f",
        symbol_first=False,
        per_kwh="{price} par kWh",
        per_hour="{price} par heure",
        per_minute="{price} par minute",
        parking="stationnement {text}",
        start_fee="frais de démarrage {price}",
        parking_fee="frais de stationnement {price}",
        fee="frais {price}",
        reservation="réservation {text}",
        reservation_fee="frais de réservation {price}",
        expired_reservation="réservation expirée {text}",
        expired_fee="frais de réservation expirée {price}",
        then="puis {text}",
        after="après {value}",
        up_to="jusqu'à {value}",
        between="entre {start} et {end}",
        from_time="à partir de {start}",
        until_time="jusqu'à {end}",
        on_days="{days}",
        days=("lun", "mar", "mer", "jeu", "ven", "sam", "dim"),
        from_date="à partir du {date}",
        before_date="avant le {date}",
        from_kwh="à partir de {value} kWh",
        up_to_kwh="jusqu'à {value} kWh",
        from_power="à partir de {value} kW",
        below_power="sous {value} kW",
        from_current="à partir de {value} A",
        below_current="sous {value} A",
        billed_per="(facturé par {value})",
        minimum="prix minimum {price}",
        maximum="prix maximum {price}",
        free="gratuit",
        hour=("heure", "heures"),
        minute=("minute", "minutes"),
        second=("seconde", "secondes"),
    ),
}

SUPPORTED_LANGUAGES = tuple(_LANGUAGES)


def format_number(value: Decimal, language: str, *, min_decimals: int = 0) -> str:
    """`value` with the language's decimal and group separators, no trailing zeros past `min_decimals`."""
    words = _LANGUAGES.get(language, _LANGUAGES["en"])
    exponent = value.normalize().as_tuple().exponent
    decimals = max(min_decimals, -exponent if isinstance(exponent, int) and exponent < 0 else 0)
    text = f"{abs(value):,.{decimals}f}"
    whole, _, fraction = text.partition(".")
    whole = whole.replace(",", words.group)
    sign = "-" if value < 0 else ""
    return f"{sign}{whole}{words.decimal}{fraction}" if fraction else f"{sign}{whole}"


def format_money(value: Decimal, currency: str, language: str) -> str:
    """An amount of `currency`, e.g. "€0.39" (en), "€ 0,39" (nl), "0,39 €" (de, fr)."""
    words = _LANGUAGES.get(language, _LANGUAGES["en"])
    number = format_number(value, language, min_decimals=MINOR_UNITS.get(currency.upper(), 2))
    symbol = _SYMBOLS.get(currency.upper(), currency.upper())
    if not words.symbol_first:
        return f"{number}\u00a0{symbol}"
    if language == "en" and symbol in _SYMBOLS.values():
        return f"{symbol}{number}"
    return f"{symbol}\u00a0{number}"


def _duration(seconds: int, words: _Words, language: str) -> str:
    parts = []
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    for count, (one, many) in ((hours, words.hour), (minutes, words.minute), (secs, words.second)):
        if count:
            parts.append(f"{format_number(Decimal(count), language)} {one if count == 1 else many}")
    return " ".join(parts) or f"0 {words.second[1]}"


def _days(days: tuple[DayOfWeek, ...], words: _Words) -> str:
    numbers = sorted({day.weekday for day in days})
    runs: list[list[int]] = []
    for number in numbers:
        if runs and runs[-1][-1] == number - 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    parts = [
        f"{words.days[run[0]]}\u2013{words.days[run[-1]]}"
        if len(run) > 2
        else ", ".join(words.days[n] for n in run)
        for run in runs
    ]
    return words.on_days.format(days=", ".join(parts))


def _conditions(r: Restrictions | None, words: _Words, language: str) -> list[str]:
    if r is None:
        return []
    out: list[str] = []
    if r.min_duration:
        out.append(words.after.format(value=_duration(r.min_duration, words, language)))
    if r.max_duration is not None:
        out.append(words.up_to.format(value=_duration(r.max_duration, words, language)))
    if r.start_time is not None and r.end_time is not None:
        out.append(words.between.format(start=f"{r.start_time:%H:%M}", end=f"{r.end_time:%H:%M}"))
    elif r.start_time is not None:
        out.append(words.from_time.format(start=f"{r.start_time:%H:%M}"))
    elif r.end_time is not None:
        out.append(words.until_time.format(end=f"{r.end_time:%H:%M}"))
    if r.day_of_week and len(set(r.day_of_week)) < 7:
        out.append(_days(r.day_of_week, words))
    if r.start_date is not None:
        out.append(words.from_date.format(date=r.start_date.isoformat()))
    if r.end_date is not None:
        out.append(words.before_date.format(date=r.end_date.isoformat()))
    for value, template in (
        (r.min_kwh, words.from_kwh),
        (r.max_kwh, words.up_to_kwh),
        (r.min_power, words.from_power),
        (r.max_power, words.below_power),
        (r.min_current, words.from_current),
        (r.max_current, words.below_current),
    ):
        if value is not None:
            out.append(template.format(value=format_number(value, language)))
    return out


def _price(component: PriceComponent, tariff: Tariff, with_taxes: bool) -> Decimal:
    if with_taxes and tariff.tax_included is TaxIncluded.NO and component.vat is not None:
        # A unit price with VAT added can run to many digits (1.90 at 5.2 % is 1.9988); four
        # decimals is as precise as a price display needs to be.
        return _display_price(component.price * (HUNDRED + component.vat) / HUNDRED)
    return component.price


_CENT = Decimal("0.01")


def _display_price(value: Decimal) -> Decimal:
    """A computed unit price for display: four decimals, or the cent it was meant to be.

    Prices stored without VAT are chosen to make a round price with VAT (0.5702 + 21 % is
    0.689942, meant as 0.69); within a hundredth of a cent the cent is what the driver reads.
    """
    precise = value.quantize(_DISPLAY_QUANTUM, ROUND_HALF_UP)
    cent = value.quantize(_CENT, ROUND_HALF_UP)
    return cent if abs(precise - cent) <= _DISPLAY_QUANTUM else precise


def _component_text(
    component: PriceComponent, tariff: Tariff, words: _Words, language: str, with_taxes: bool
) -> str:
    price = _price(component, tariff, with_taxes)
    money = format_money
    if component.type is Dimension.ENERGY:
        text = words.per_kwh.format(price=money(price, tariff.currency, language))
        if component.step_size > 1:
            text += " " + words.billed_per.format(
                value=f"{format_number(Decimal(component.step_size), language)} Wh"
            )
        return text
    if component.type is Dimension.FLAT:
        return money(price, tariff.currency, language)
    per_minute = price / 60
    digits = MINOR_UNITS.get(tariff.currency.upper(), 2)
    # Per minute reads better when that is a whole number of cents, and not a tiny one
    # (EUR 6.00/h reads as EUR 0.10/min; EUR 1.20/h stays per hour rather than EUR 0.02/min).
    if per_minute >= _MIN_PER_MINUTE and per_minute == per_minute.quantize(Decimal(1).scaleb(-digits)):
        text = words.per_minute.format(price=money(per_minute, tariff.currency, language))
    else:
        text = words.per_hour.format(price=money(price, tariff.currency, language))
    if component.step_size > 1:
        text += " " + words.billed_per.format(value=_duration(component.step_size, words, language))
    return text


def price_lines(tariff: Tariff, language: str, *, with_taxes: bool = False) -> list[str]:
    """Lines describing `tariff` in `language` (en, nl, de, fr; others get English).

    Prices are shown as the tariff states them (2.2.1: excl. VAT) unless `with_taxes`, which
    adds each component's known VAT to prices that exclude it.
    """
    words = _LANGUAGES.get(language, _LANGUAGES["en"])
    lines = [text.text for text in tariff.alt_text if text.language.lower() == language.lower()]
    if all(c.price == 0 for element in tariff.elements for c in element.price_components):
        return [*lines, words.free]
    seen: set[tuple[str, Dimension]] = set()
    for element in tariff.elements:
        r = element.restrictions
        conditions = _conditions(r, words, language)
        kind = r.reservation if r is not None else None
        dimensions = {component.type for component in element.price_components}
        # As the engine prices it: a FLAT beside only PARKING_TIME is a parking fee; any other
        # FLAT is the session's one start fee (the first that applies), never "then" another.
        parking_fee = Dimension.PARKING_TIME in dimensions and not dimensions & {
            Dimension.ENERGY,
            Dimension.TIME,
        }
        for component in element.price_components:
            text = _component_text(component, tariff, words, language, with_taxes)
            if kind is None:
                if component.type is Dimension.FLAT:
                    fee = words.start_fee if not conditions else words.fee
                    text = (words.parking_fee if parking_fee else fee).format(price=text)
                elif component.type is Dimension.PARKING_TIME:
                    text = words.parking.format(text=text)
            elif kind is ReservationRestriction.RESERVATION:
                text = (
                    words.reservation_fee.format(price=text)
                    if component.type is Dimension.FLAT
                    else words.reservation.format(text=text)
                )
            else:
                text = (
                    words.expired_fee.format(price=text)
                    if component.type is Dimension.FLAT
                    else words.expired_reservation.format(text=text)
                )
            key = (kind or "", component.type)
            # "then": a later element for a dimension already described, or one that only
            # starts to apply later in the session (after a duration or an amount of energy).
            # Not for a fee: it is paid once, not on top of the ones before.
            later = key in seen or (r is not None and (r.min_duration or r.min_kwh))
            if later and component.type is not Dimension.FLAT:
                text = words.then.format(text=text)
            seen.add(key)
            lines.append(" ".join([text, *conditions]))
    for limit, template in ((tariff.min_price, words.minimum), (tariff.max_price, words.maximum)):
        if limit is not None:
            value = _limit_value(limit, tariff, with_taxes)
            lines.append(template.format(price=format_money(value, tariff.currency, language)))
    return lines


def _limit_value(limit: PriceLimit, tariff: Tariff, with_taxes: bool) -> Decimal:
    """A price limit as the driver pays it: given before taxes only, with the tariff's VAT added.

    The engine scales such a limit by the session's own ratio of after to before taxes; before
    a session that is the tariff's one rate (or its highest, when it mixes rates).
    """
    if with_taxes and limit.after_taxes is not None:
        return limit.after_taxes
    if not with_taxes or tariff.tax_included is not TaxIncluded.NO:
        return limit.before_taxes
    rates = [c.vat or Decimal(0) for element in tariff.elements for c in element.price_components]
    return _display_price(limit.before_taxes * (HUNDRED + max(rates)) / HUNDRED)


# A number in a text staff wrote: "0,59", "0.59", "12", not part of a longer number or a time.
_NUMBER = re.compile(r"(?<![\d.,:])(\d+(?:[.,]\d{1,4})?)(?![\d:]|[.,]\d)")
_CURRENCY = r"(?:€|\$|£|¥|EUR|USD|GBP|CHF|SEK|NOK|DKK|PLN)"
_CURRENCY_BEFORE = re.compile(_CURRENCY + r"\s?$")
_CURRENCY_AFTER = re.compile(r"^\s?" + _CURRENCY)


def _as_decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None


def _known_prices(tariff: Tariff, language: str) -> set[Decimal]:
    """Every figure a text may rightly quote: each component's price as stored and as the driver pays
    it, per hour and per minute, VAT rates, price limits, the pre-authorisation, and whatever the
    computed price lines show."""
    known: set[Decimal] = set()
    for element in tariff.elements:
        for component in element.price_components:
            for price in {component.price, _price(component, tariff, True)}:
                known.update({price, (price / 60).quantize(_DISPLAY_QUANTUM, ROUND_HALF_UP)})
                known.add(_display_price(price / 60))
            if component.vat is not None:
                known.add(component.vat)
    for limit in (tariff.min_price, tariff.max_price):
        if limit is not None:
            known.update({limit.before_taxes, _limit_value(limit, tariff, True)})
            if limit.after_taxes is not None:
                known.add(limit.after_taxes)
    if tariff.preauthorize_amount is not None:
        known.add(tariff.preauthorize_amount)
    for with_taxes in (True, False):
        for line in price_lines(tariff, language, with_taxes=with_taxes):
            for match in _NUMBER.finditer(line.replace("\u202f", "").replace("\u00a0", " ")):
                value = _as_decimal(match[1])
                if value is not None:
                    known.add(value)
    return known


def stale_numbers(text: str, tariff: Tariff, language: str) -> list[str]:
    """Prices quoted in ``text`` that the tariff no longer computes, as written (such as "0,59").

    A price is a number with decimals, or a whole number beside a currency ("€ 50"); times, powers
    and durations ("17:00", "22 kW", "2 hours") are not prices. ``tariff`` carries no alt text here:
    the price lines compared with are the engine's own.
    """
    known = _known_prices(tariff, language)
    stale: list[str] = []
    for match in _NUMBER.finditer(text):
        written = match[1]
        is_decimal = "." in written or "," in written
        near_currency = bool(
            _CURRENCY_BEFORE.search(text[: match.start()]) or _CURRENCY_AFTER.search(text[match.end() :])
        )
        if not (is_decimal or near_currency):
            continue
        if text[match.end() : match.end() + 2].lstrip().startswith("%"):
            continue  # a VAT rate, not a price
        value = _as_decimal(written)
        if value is not None and value not in known and written not in stale:
            stale.append(written)
    return stale
