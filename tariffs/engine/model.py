"""Input types of the tariff engine: frozen dataclasses that mirror OCPI's Tariff objects.

They validate themselves on construction and raise `TariffError`, so a tariff that reached the
engine is known to be well formed. Money and quantities are `Decimal`; a float is refused
because it silently loses the exactness that thresholds such as `min_kwh` rely on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal


class TariffError(ValueError):
    """A tariff (or a session given to the engine) that cannot be priced as OCPI defines it."""


class Dimension(enum.StrEnum):
    """OCPI TariffDimensionType (mod_tariffs, TariffDimensionType enum)."""

    ENERGY = "ENERGY"
    FLAT = "FLAT"
    PARKING_TIME = "PARKING_TIME"
    TIME = "TIME"


class TariffType(enum.StrEnum):
    """OCPI TariffType (mod_tariffs, TariffType enum)."""

    AD_HOC_PAYMENT = "AD_HOC_PAYMENT"
    PROFILE_CHEAP = "PROFILE_CHEAP"
    PROFILE_FAST = "PROFILE_FAST"
    PROFILE_GREEN = "PROFILE_GREEN"
    REGULAR = "REGULAR"


class DayOfWeek(enum.StrEnum):
    """OCPI DayOfWeek; `weekday` matches `date.weekday()`."""

    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"

    @property
    def weekday(self) -> int:
        return _WEEKDAYS[self]


_WEEKDAYS = {day: number for number, day in enumerate(DayOfWeek)}


class ReservationRestriction(enum.StrEnum):
    """OCPI ReservationRestrictionType."""

    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES"


class TaxIncluded(enum.StrEnum):
    """OCPI 2.3.0 TaxIncluded; a 2.2.1 tariff is always `NO` (its prices are excl. VAT)."""

    YES = "YES"
    NO = "NO"
    NOT_APPLICABLE = "N/A"


def _require_decimal(value: object, what: str, *, optional: bool = True, negative: bool = False) -> None:
    if value is None and optional:
        return
    if type(value) is not Decimal:
        raise TariffError(f"{what} must be a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise TariffError(f"{what} must be finite, got {value}")
    if not negative and value < 0:
        raise TariffError(f"{what} must not be negative, got {value}")


@dataclass(frozen=True, slots=True)
class PriceComponent:
    """One dimension's price: per kWh (ENERGY), per hour (TIME, PARKING_TIME) or per session (FLAT).

    `price` is excl. taxes unless the tariff says `tax_included=YES`. `vat` is a percentage;
    None means unknown/not given, which is not the same as 0 % (mod_tariffs, PriceComponent).
    `step_size` is in Wh for ENERGY and in seconds for TIME and PARKING_TIME.
    """

    type: Dimension
    price: Decimal
    step_size: int = 1
    vat: Decimal | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.type, Dimension):
            raise TariffError(f"unknown price component type {self.type!r}")
        _require_decimal(self.price, f"{self.type} price", optional=False)
        _require_decimal(self.vat, f"{self.type} vat")
        # 0 occurs in the spec's own free-of-charge example; it bills like 1 (no step).
        if type(self.step_size) is not int or self.step_size < 0:
            raise TariffError(f"{self.type} step_size must be a non-negative integer, got {self.step_size!r}")


@dataclass(frozen=True, slots=True)
class Restrictions:
    """OCPI TariffRestrictions; all given restrictions must hold at once (a logical AND).

    Times and dates are in the location's local time; `end_time` before `start_time` wraps past
    midnight and `end_time` 00:00 means the end of the day. `end_date` and `max_*` are exclusive.
    Durations are in seconds; current in A (sum over phases); power in kW.
    """

    start_time: time | None = None
    end_time: time | None = None
    start_date: date | None = None
    end_date: date | None = None
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: tuple[DayOfWeek, ...] = ()
    reservation: ReservationRestriction | None = None

    def __post_init__(self) -> None:
        for name in ("min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power"):
            _require_decimal(getattr(self, name), name)
        for name in ("min_duration", "max_duration"):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or value < 0):
                raise TariffError(f"{name} must be a non-negative integer of seconds, got {value!r}")
        for low, high in (
            ("min_kwh", "max_kwh"),
            ("min_current", "max_current"),
            ("min_power", "max_power"),
            ("min_duration", "max_duration"),
        ):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and hi < lo:
                raise TariffError(f"{high} ({hi}) is below {low} ({lo})")
        for name in ("start_time", "end_time"):
            value = getattr(self, name)
            if value is not None and (value.second or value.microsecond or value.tzinfo is not None):
                raise TariffError(f"{name} must be a naive HH:MM time, got {value!r}")
        if self.start_date is not None and self.end_date is not None and self.end_date <= self.start_date:
            raise TariffError(f"end_date {self.end_date} is not after start_date {self.start_date}")
        if any(not isinstance(day, DayOfWeek) for day in self.day_of_week):
            raise TariffError(f"unknown day_of_week in {self.day_of_week!r}")
        if self.reservation is not None and not isinstance(self.reservation, ReservationRestriction):
            raise TariffError(f"unknown reservation restriction {self.reservation!r}")


@dataclass(frozen=True, slots=True)
class TariffElement:
    """Price components that share the same restrictions (mod_tariffs, TariffElement class)."""

    price_components: tuple[PriceComponent, ...]
    restrictions: Restrictions | None = None

    def __post_init__(self) -> None:
        if not self.price_components:
            raise TariffError("a tariff element needs at least one price component")
        reservation = self.restrictions is not None and self.restrictions.reservation is not None
        for component in self.price_components:
            if not isinstance(component, PriceComponent):
                raise TariffError(f"not a PriceComponent: {component!r}")
            # mod_tariffs, TariffRestrictions.reservation: only FLAT and TIME describe a reservation.
            if reservation and component.type not in (Dimension.FLAT, Dimension.TIME):
                raise TariffError(f"a reservation element cannot price {component.type}")


@dataclass(frozen=True, slots=True)
class PriceLimit:
    """min_price/max_price: 2.2.1 Price{excl_vat, incl_vat} or 2.3.0 PriceLimit{before, after}."""

    before_taxes: Decimal
    after_taxes: Decimal | None = None

    def __post_init__(self) -> None:
        _require_decimal(self.before_taxes, "price limit before taxes", optional=False)
        _require_decimal(self.after_taxes, "price limit after taxes")


@dataclass(frozen=True, slots=True)
class DisplayText:
    """OCPI DisplayText: a text in one language (ISO 639-1 code)."""

    language: str
    text: str


@dataclass(frozen=True, slots=True)
class Tariff:
    """An OCPI Tariff reduced to what pricing and display need.

    `untaxed_without_vat`: a tax-exclusive (`tax_included` NO) price component without `vat`
    carries no tax at all, so its amount after taxes is its price ("If omitted, no VAT is
    applicable", mod_tariffs PriceComponent). True for 2.2.1 and for the operator's own
    tariffs; False for a 2.3.0 tariff from a partner, whose taxes may be added afterwards (the
    North American examples): the amount after taxes is then unknown unless it is zero.
    """

    id: str
    currency: str
    elements: tuple[TariffElement, ...]
    type: TariffType | None = None
    tax_included: TaxIncluded = TaxIncluded.NO
    min_price: PriceLimit | None = None
    max_price: PriceLimit | None = None
    start_date_time: datetime | None = None
    end_date_time: datetime | None = None
    alt_text: tuple[DisplayText, ...] = ()
    alt_url: str | None = None
    preauthorize_amount: Decimal | None = None
    untaxed_without_vat: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.currency, str) or len(self.currency) != 3 or not self.currency.isalpha():
            raise TariffError(f"currency must be an ISO 4217 code, got {self.currency!r}")
        if not self.elements:
            raise TariffError(f"tariff {self.id!r} has no elements")
        if any(not isinstance(element, TariffElement) for element in self.elements):
            raise TariffError(f"tariff {self.id!r} has an element that is not a TariffElement")
        if self.type is not None and not isinstance(self.type, TariffType):
            raise TariffError(f"unknown tariff type {self.type!r}")
        if not isinstance(self.tax_included, TaxIncluded):
            raise TariffError(f"unknown tax_included {self.tax_included!r}")
        for name in ("start_date_time", "end_date_time"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise TariffError(f"{name} must be timezone-aware")
        if (
            self.start_date_time is not None
            and self.end_date_time is not None
            and self.end_date_time <= self.start_date_time
        ):
            raise TariffError(f"tariff {self.id!r} ends ({self.end_date_time}) before it starts")
        _require_decimal(self.preauthorize_amount, "preauthorize_amount")
        if self.min_price is not None and self.max_price is not None:
            if self.max_price.before_taxes < self.min_price.before_taxes:
                raise TariffError("max_price is below min_price")
            low, high = self.min_price.after_taxes, self.max_price.after_taxes
            if low is not None and high is not None and high < low:
                raise TariffError("max_price after taxes is below min_price after taxes")


@dataclass(frozen=True, slots=True)
class MeterSample:
    """One meter reading; the state it carries holds until the next sample.

    `energy_kwh` is cumulative (any origin: the first sample is the session's zero).
    `charging` False means the EV is connected but not drawing power (PARKING_TIME).
    Without `power_kw` the engine uses the average power up to the next sample.
    """

    timestamp: datetime
    energy_kwh: Decimal
    charging: bool = True
    power_kw: Decimal | None = None
    current_a: Decimal | None = None

    def __post_init__(self) -> None:
        if self.timestamp.utcoffset() is None:
            raise TariffError(f"meter sample timestamp must be timezone-aware: {self.timestamp!r}")
        if self.timestamp.tzinfo is not UTC:
            # Two datetimes of one ZoneInfo compare and subtract by wall clock (fold ignored), so
            # the repeated autumn hour would run backwards: the engine works on UTC instants.
            object.__setattr__(self, "timestamp", self.timestamp.astimezone(UTC))
        _require_decimal(self.energy_kwh, "energy_kwh", optional=False, negative=True)
        _require_decimal(self.power_kw, "power_kw", negative=True)
        _require_decimal(self.current_a, "current_a", negative=True)


@dataclass(frozen=True, slots=True)
class Reservation:
    """A reservation before the session: from `start` until the session started or it expired."""

    start: datetime
    end: datetime
    expired: bool = False

    def __post_init__(self) -> None:
        if self.start.utcoffset() is None or self.end.utcoffset() is None:
            raise TariffError("reservation times must be timezone-aware")
        object.__setattr__(self, "start", self.start.astimezone(UTC))  # as MeterSample: instants
        object.__setattr__(self, "end", self.end.astimezone(UTC))
        if self.end < self.start:
            raise TariffError("reservation ends before it starts")
