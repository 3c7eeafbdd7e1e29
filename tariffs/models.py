"""Tariffs: the prices a driver accepts on the terminal before paying by card (mod_tariffs).

A tariff holds ordered elements; each element prices up to four dimensions (its price
components) under one set of restrictions. We keep one price component per dimension and
element as columns of the element: OCPI only ever applies the first component of a dimension in
an element (mod_tariffs, TariffElement), and staff edit an element as one form.

Component prices follow the tariff's ``tax_included`` (2.3.0). 2.2.1 prices are always
excluding VAT; the OCPI layer converts where they differ.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from cpo_portal.fields import (
    ENERGY_MIX_SCHEMA,
    EnumListField,
    JSONSchemaValidator,
    LastUpdatedModel,
    currency_validator,
    language_validator,
    printable_ascii,
    time_of_day_validator,
)
from cpo_portal.history import tracked_history
from partners.models import Party

non_negative = MinValueValidator(Decimal(0), "Enter zero or a positive amount.")


def money_field(verbose_name: str, **kwargs: Any) -> models.DecimalField:
    """A nullable, non-negative amount in the tariff's currency (never a float)."""
    return models.DecimalField(
        verbose_name,
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[non_negative],
        **kwargs,
    )


class TariffType(models.TextChoices):
    AD_HOC_PAYMENT = "AD_HOC_PAYMENT", "Ad hoc payment (card at the terminal)"
    PROFILE_CHEAP = "PROFILE_CHEAP", "Charging profile: cheap"
    PROFILE_FAST = "PROFILE_FAST", "Charging profile: fast"
    PROFILE_GREEN = "PROFILE_GREEN", "Charging profile: green"
    REGULAR = "REGULAR", "Regular (RFID or app, no profile)"


class TaxIncluded(models.TextChoices):
    YES = "YES", "Yes: prices include taxes"
    NO = "NO", "No: taxes come on top"
    NOT_APPLICABLE = "N/A", "Not applicable: no taxes"


class DayOfWeek(models.TextChoices):
    MONDAY = "MONDAY", "Monday"
    TUESDAY = "TUESDAY", "Tuesday"
    WEDNESDAY = "WEDNESDAY", "Wednesday"
    THURSDAY = "THURSDAY", "Thursday"
    FRIDAY = "FRIDAY", "Friday"
    SATURDAY = "SATURDAY", "Saturday"
    SUNDAY = "SUNDAY", "Sunday"


class ReservationRestriction(models.TextChoices):
    RESERVATION = "RESERVATION", "During a reservation"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES", "When a reservation expires"


class Dimension(models.TextChoices):
    """TariffDimensionType: what a price component prices, with its unit."""

    ENERGY = "ENERGY", "Energy (per kWh)"
    FLAT = "FLAT", "Flat (per session)"
    PARKING_TIME = "PARKING_TIME", "Parking time (per hour)"
    TIME = "TIME", "Charging time (per hour)"


# Column prefix of each dimension's price component on TariffElement.
DIMENSION_PREFIXES: dict[str, str] = {
    Dimension.FLAT: "flat",
    Dimension.ENERGY: "energy",
    Dimension.TIME: "time",
    Dimension.PARKING_TIME: "parking",
}


class Tariff(LastUpdatedModel):
    """A tariff (mod_tariffs, Tariff object)."""

    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="tariffs")
    tariff_id = models.CharField("OCPI id", max_length=36, validators=[printable_ascii])
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_validator])
    type = models.CharField(
        max_length=16,
        choices=TariffType.choices,
        blank=True,
        help_text="Card payments at Payter terminals use Ad hoc payment.",
    )
    tariff_alt_url = models.URLField("tariff explanation URL", max_length=255, blank=True)
    tax_included = models.CharField(
        max_length=3,
        choices=TaxIncluded.choices,
        default=TaxIncluded.NO,
        help_text="Whether the component prices below include taxes (OCPI 2.3.0).",
    )
    min_price_excl_vat = money_field("minimum price excl. taxes")
    min_price_incl_vat = money_field("minimum price incl. taxes")
    max_price_excl_vat = money_field("maximum price excl. taxes")
    max_price_incl_vat = money_field(
        "maximum price incl. taxes",
        help_text="No session costs more. The pre-authorisation without an amount below.",
    )
    preauthorize_amount = money_field(
        "pre-authorise amount", help_text="What the terminal reserves on the card (OCPI 2.3.0)."
    )
    start_date_time = models.DateTimeField(null=True, blank=True, help_text="Valid from (UTC).")
    end_date_time = models.DateTimeField(null=True, blank=True, help_text="Valid until (UTC).")
    energy_mix = models.JSONField(
        null=True, blank=True, validators=[JSONSchemaValidator(ENERGY_MIX_SCHEMA, "energy_mix")]
    )

    history = tracked_history(excluded_fields=("last_updated",))

    class Meta:
        ordering = ("party", "tariff_id")
        constraints = (
            models.UniqueConstraint(fields=("party", "tariff_id"), name="tariff_unique_ocpi_id"),
            models.CheckConstraint(
                condition=~Q(tariff_id=""),
                name="tariff_id_not_empty",
                violation_error_message="A tariff needs an id.",
            ),
            models.CheckConstraint(
                condition=Q(end_date_time__isnull=True)
                | Q(start_date_time__isnull=True)
                | Q(end_date_time__gt=F("start_date_time")),
                name="tariff_ends_after_start",
                violation_error_message="The tariff must end after it starts.",
            ),
            models.CheckConstraint(
                condition=Q(min_price_excl_vat__isnull=True)
                | Q(max_price_excl_vat__isnull=True)
                | Q(min_price_excl_vat__lte=F("max_price_excl_vat")),
                name="tariff_min_price_not_above_max",
                violation_error_message="The minimum price cannot exceed the maximum price.",
            ),
            models.CheckConstraint(
                condition=Q(min_price_excl_vat__isnull=True, min_price_incl_vat__isnull=True)
                | Q(min_price_excl_vat__isnull=False),
                name="tariff_min_price_has_excl_vat",
                violation_error_message="Give the minimum price excluding taxes too.",
            ),
            models.CheckConstraint(
                condition=Q(max_price_excl_vat__isnull=True, max_price_incl_vat__isnull=True)
                | Q(max_price_excl_vat__isnull=False),
                name="tariff_max_price_has_excl_vat",
                violation_error_message="Give the maximum price excluding taxes too.",
            ),
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": 0}),
                    name=f"tariff_{field}_not_negative",
                    violation_error_message="Amounts cannot be negative.",
                )
                for field in (
                    "min_price_excl_vat",
                    "min_price_incl_vat",
                    "max_price_excl_vat",
                    "max_price_incl_vat",
                    "preauthorize_amount",
                )
            ),
        )
        indexes = (
            # OCPI list endpoints page through tariffs ordered by (last_updated, id).
            models.Index(fields=("last_updated", "id"), name="tariff_paging_idx"),
        )

    def __str__(self) -> str:
        return self.tariff_id

    def clean(self) -> None:
        super().clean()
        for low, high in (
            ("min_price_excl_vat", "min_price_incl_vat"),
            ("max_price_excl_vat", "max_price_incl_vat"),
        ):
            excl, incl = getattr(self, low), getattr(self, high)
            if excl is not None and incl is not None and incl < excl:
                raise ValidationError(
                    {high: "The amount including taxes cannot be below the amount excluding them."}
                )
        if self.tax_included == TaxIncluded.NOT_APPLICABLE and (
            self.min_price_incl_vat is not None or self.max_price_incl_vat is not None
        ):
            raise ValidationError({"tax_included": "A tariff without taxes has no amounts including taxes."})

    def is_valid_at(self, moment: Any | None = None) -> bool:
        moment = moment or timezone.now()
        return (self.start_date_time is None or self.start_date_time <= moment) and (
            self.end_date_time is None or moment < self.end_date_time
        )

    @property
    def preauthorization(self) -> Decimal | None:
        """The amount the terminal should reserve: preauthorize_amount, else max_price (incl. taxes)."""
        if self.preauthorize_amount is not None:
            return self.preauthorize_amount
        return self.max_price_incl_vat if self.max_price_incl_vat is not None else self.max_price_excl_vat


class TariffAltText(models.Model):
    """The tariff explained in one language. These languages are the ones the terminal offers."""

    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="alt_texts")
    language = models.CharField(
        max_length=2, validators=[language_validator], help_text="ISO 639-1, such as nl."
    )
    text = models.CharField(max_length=512)

    history = tracked_history()

    class Meta:
        verbose_name = "text for the terminal"
        verbose_name_plural = "texts for the terminal (one per language)"
        ordering = ("tariff", "language")
        constraints = (
            models.UniqueConstraint(fields=("tariff", "language"), name="tariff_alt_text_one_per_language"),
        )

    def __str__(self) -> str:
        return f"{self.language}: {self.text}"


def price_field(label: str) -> models.DecimalField:
    return models.DecimalField(
        f"{label} price", max_digits=12, decimal_places=4, null=True, blank=True, validators=[non_negative]
    )


def vat_field(label: str) -> models.DecimalField:
    return models.DecimalField(
        f"{label} VAT %",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[non_negative],
        help_text="Empty: VAT unknown (2.2.1) or none applicable (2.3.0).",
    )


def step_size_field(label: str, unit: str) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(
        f"{label} step size", default=1, help_text=f"Billed in blocks of this many {unit}."
    )


class TariffElement(models.Model):
    """One tariff element: price components that apply while all its restrictions hold."""

    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="elements")
    position = models.PositiveSmallIntegerField(default=0, help_text="Elements are tried in this order.")

    # Price components, one per dimension (TariffDimensionType). Units: FLAT per session, ENERGY per kWh,
    # TIME and PARKING_TIME per hour (mod_tariffs, PriceComponent).
    flat_price = price_field("flat fee")
    flat_vat = vat_field("flat fee")
    flat_step_size = step_size_field("flat fee", "sessions")
    energy_price = price_field("energy (per kWh)")
    energy_vat = vat_field("energy")
    energy_step_size = step_size_field("energy", "Wh")
    time_price = price_field("charging time (per hour)")
    time_vat = vat_field("charging time")
    time_step_size = step_size_field("charging time", "seconds")
    parking_price = price_field("parking time (per hour)")
    parking_vat = vat_field("parking time")
    parking_step_size = step_size_field("parking time", "seconds")

    # Restrictions (mod_tariffs, TariffRestrictions). Times and dates are the location's local time.
    start_time = models.CharField(
        max_length=5, blank=True, validators=[time_of_day_validator], help_text="HH:MM"
    )
    end_time = models.CharField(
        max_length=5, blank=True, validators=[time_of_day_validator], help_text="HH:MM, may be past midnight."
    )
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True, help_text="Exclusive.")
    min_kwh = models.DecimalField(
        max_digits=12, decimal_places=4, null=True, blank=True, validators=[non_negative]
    )
    max_kwh = models.DecimalField(
        max_digits=12, decimal_places=4, null=True, blank=True, validators=[non_negative]
    )
    min_current = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=[non_negative]
    )
    max_current = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=[non_negative]
    )
    min_power = models.DecimalField(
        "min power (kW)", max_digits=10, decimal_places=3, null=True, blank=True, validators=[non_negative]
    )
    max_power = models.DecimalField(
        "max power (kW)", max_digits=10, decimal_places=3, null=True, blank=True, validators=[non_negative]
    )
    min_duration = models.PositiveIntegerField("min duration (s)", null=True, blank=True)
    max_duration = models.PositiveIntegerField("max duration (s)", null=True, blank=True)
    day_of_week = EnumListField(enum=DayOfWeek.choices)
    reservation = models.CharField(max_length=19, choices=ReservationRestriction.choices, blank=True)

    history = tracked_history()

    class Meta:
        ordering = ("tariff", "position", "id")
        constraints = (
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{prefix}_price__isnull": True}) | Q(**{f"{prefix}_price__gte": 0}),
                    name=f"tariff_element_{prefix}_price_not_negative",
                    violation_error_message="Prices cannot be negative.",
                )
                for prefix in DIMENSION_PREFIXES.values()
            ),
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{prefix}_vat__isnull": True})
                    | Q(**{f"{prefix}_vat__gte": 0, f"{prefix}_vat__lte": 100}),
                    name=f"tariff_element_{prefix}_vat_percentage",
                    violation_error_message="VAT is a percentage from 0 to 100.",
                )
                for prefix in DIMENSION_PREFIXES.values()
            ),
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{low}__isnull": True})
                    | Q(**{f"{high}__isnull": True})
                    | Q(**{f"{low}__lte": F(high)}),
                    name=f"tariff_element_{low}_not_above_{high}",
                    violation_error_message=f"{low} cannot exceed {high}.",
                )
                for low, high in (
                    ("min_kwh", "max_kwh"),
                    ("min_current", "max_current"),
                    ("min_power", "max_power"),
                    ("min_duration", "max_duration"),
                    ("start_date", "end_date"),
                )
            ),
        )

    def __str__(self) -> str:
        return f"{self.tariff} element {self.position}"

    def components(self) -> list[tuple[str, Decimal, Decimal | None, int]]:
        """The price components present: (dimension, price, vat, step_size), in OCPI's dimension order."""
        found = []
        for dimension, prefix in DIMENSION_PREFIXES.items():
            price = getattr(self, f"{prefix}_price")
            if price is not None:
                found.append(
                    (
                        str(dimension),
                        price,
                        getattr(self, f"{prefix}_vat"),
                        getattr(self, f"{prefix}_step_size"),
                    )
                )
        return found

    def clean(self) -> None:
        super().clean()
        if not self.components():
            raise ValidationError(
                "Give at least one price: a flat fee, energy, charging time or parking time."
            )
        if self.start_time and self.end_time and self.start_time == self.end_time:
            raise ValidationError({"end_time": "Start and end time are equal: the window would be empty."})
        for low, high in (
            ("min_kwh", "max_kwh"),
            ("min_current", "max_current"),
            ("min_power", "max_power"),
            ("min_duration", "max_duration"),
            ("start_date", "end_date"),
        ):
            low_value, high_value = getattr(self, low), getattr(self, high)
            if low_value is not None and high_value is not None and low_value > high_value:
                raise ValidationError({high: f"This must not be below {low.replace('_', ' ')}."})
