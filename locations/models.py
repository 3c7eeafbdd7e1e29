"""Locations, EVSEs and connectors: what the Payter terminal shows and the driver picks from.

One model serves OCPI 2.2.1 and 2.3.0 (mod_locations): it holds every field of 2.3.0, which is a
superset of 2.2.1 here. Small nested structures (images, directions, energy mix, ...) are JSON,
validated against the structure the spec defines; what staff edit every day is a real column.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.signals import m2m_changed
from django.utils import timezone

from cpo_portal.fields import (
    BUSINESS_DETAILS_SCHEMA,
    DISPLAY_TEXT_LIST_SCHEMA,
    ENERGY_MIX_SCHEMA,
    IMAGE_LIST_SCHEMA,
    EnumListField,
    JSONSchemaValidator,
    LastUpdatedModel,
    country_alpha3_validator,
    printable_ascii,
    time_of_day_validator,
    validate_time_zone,
)
from cpo_portal.history import tracked_history
from partners.models import Party
from tariffs.models import Tariff

# eMI3 EVSE ID: country, operator id, "E" and the outlet id, with optional "*" separators
# (mod_locations, EVSE.evse_id; evroaming.org "contract-evse-ids").
evse_id_validator = RegexValidator(
    r"^[A-Z]{2}\*?[A-Z0-9]{3}\*?E[A-Z0-9*]{1,30}$",
    "Enter an EVSE ID in the eMI3 format, such as NL*CPO*E12345 (capitals, digits and *).",
)

_DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$"
EXCEPTIONAL_PERIODS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["period_begin", "period_end"],
        "additionalProperties": False,
        "properties": {
            "period_begin": {"type": "string", "pattern": _DATETIME_PATTERN},
            "period_end": {"type": "string", "pattern": _DATETIME_PATTERN},
        },
    },
}
_COORDINATE_PAIR: dict[str, Any] = {
    "latitude": {"type": "string", "pattern": r"^-?[0-9]{1,2}\.[0-9]{5,7}$"},
    "longitude": {"type": "string", "pattern": r"^-?[0-9]{1,3}\.[0-9]{5,7}$"},
}
RELATED_LOCATIONS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["latitude", "longitude"],
        "additionalProperties": False,
        "properties": {**_COORDINATE_PAIR, "name": DISPLAY_TEXT_LIST_SCHEMA["items"]},
    },
}
PUBLISH_ALLOWED_TO_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {
            "uid": {"type": "string", "maxLength": 36},
            "type": {"enum": ["AD_HOC_USER", "APP_USER", "EMAID", "OTHER", "RFID"]},
            "visual_number": {"type": "string", "maxLength": 64},
            "issuer": {"type": "string", "maxLength": 64},
            "group_id": {"type": "string", "maxLength": 36},
        },
    },
}
STATUS_SCHEDULE_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["period_begin", "status"],
        "additionalProperties": False,
        "properties": {
            "period_begin": {"type": "string", "pattern": _DATETIME_PATTERN},
            "period_end": {"type": "string", "pattern": _DATETIME_PATTERN},
            "status": {
                "enum": [
                    "AVAILABLE",
                    "BLOCKED",
                    "CHARGING",
                    "INOPERATIVE",
                    "OUTOFORDER",
                    "PLANNED",
                    "REMOVED",
                    "RESERVED",
                    "UNKNOWN",
                ]
            },
        },
    },
}
# 2.3.0 Parking object (mod_locations, "Parking object"); 2.2.1 has no equivalent.
PARKING_PLACES_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["id", "vehicle_types", "restricted_to_type", "reservation_required"],
        "properties": {
            "id": {"type": "string", "minLength": 1, "maxLength": 36},
            "physical_reference": {"type": "string", "maxLength": 12},
            "vehicle_types": {"type": "array", "minItems": 1, "items": {"type": "string"}},
            "max_vehicle_weight": {"type": "number", "minimum": 0},
            "max_vehicle_height": {"type": "number", "minimum": 0},
            "max_vehicle_length": {"type": "number", "minimum": 0},
            "max_vehicle_width": {"type": "number", "minimum": 0},
            "parking_space_length": {"type": "number", "minimum": 0},
            "parking_space_width": {"type": "number", "minimum": 0},
            "dangerous_goods_allowed": {"type": "boolean"},
            "direction": {"enum": ["PARALLEL", "PERPENDICULAR", "ANGLE"]},
            "drive_through": {"type": "boolean"},
            "restricted_to_type": {"type": "boolean"},
            "reservation_required": {"type": "boolean"},
            "time_limit": {"type": "number", "minimum": 0},
            "roofed": {"type": "boolean"},
            "images": IMAGE_LIST_SCHEMA,
            "lighting": {"type": "boolean"},
            "refrigeration_outlet": {"type": "boolean"},
            "standards": {"type": "array", "items": {"type": "string", "maxLength": 36}},
            "apds_reference": {"type": "string"},
        },
    },
}
EVSE_PARKING_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["parking_id"],
        "additionalProperties": False,
        "properties": {
            "parking_id": {"type": "string", "minLength": 1, "maxLength": 36},
            "evse_position": {"enum": ["LEFT", "RIGHT", "CENTER"]},
        },
    },
}

# Coordinates: OCPI sends strings with 5 to 7 decimals; we keep 7.
latitude_field_kwargs: dict[str, Any] = {
    "max_digits": 9,
    "decimal_places": 7,
    "validators": [MinValueValidator(Decimal(-90)), MaxValueValidator(Decimal(90))],
}
longitude_field_kwargs: dict[str, Any] = {
    "max_digits": 10,
    "decimal_places": 7,
    "validators": [MinValueValidator(Decimal(-180)), MaxValueValidator(Decimal(180))],
}


class ParkingType(models.TextChoices):
    ALONG_MOTORWAY = "ALONG_MOTORWAY", "Along a motorway"
    PARKING_GARAGE = "PARKING_GARAGE", "Parking garage"
    PARKING_LOT = "PARKING_LOT", "Parking lot"
    ON_DRIVEWAY = "ON_DRIVEWAY", "On a driveway"
    ON_STREET = "ON_STREET", "On the street"
    UNDERGROUND_GARAGE = "UNDERGROUND_GARAGE", "Underground garage"


class Facility(models.TextChoices):
    HOTEL = "HOTEL"
    RESTAURANT = "RESTAURANT"
    CAFE = "CAFE"
    MALL = "MALL"
    SUPERMARKET = "SUPERMARKET"
    SPORT = "SPORT"
    RECREATION_AREA = "RECREATION_AREA"
    NATURE = "NATURE"
    MUSEUM = "MUSEUM"
    BIKE_SHARING = "BIKE_SHARING"
    BUS_STOP = "BUS_STOP"
    TAXI_STAND = "TAXI_STAND"
    TRAM_STOP = "TRAM_STOP"
    METRO_STATION = "METRO_STATION"
    TRAIN_STATION = "TRAIN_STATION"
    AIRPORT = "AIRPORT"
    PARKING_LOT = "PARKING_LOT"
    CARPOOL_PARKING = "CARPOOL_PARKING"
    FUEL_STATION = "FUEL_STATION"
    WIFI = "WIFI"


class EvseStatus(models.TextChoices):
    AVAILABLE = "AVAILABLE", "Available"
    BLOCKED = "BLOCKED", "Blocked"
    CHARGING = "CHARGING", "Charging"
    INOPERATIVE = "INOPERATIVE", "Inoperative"
    OUTOFORDER = "OUTOFORDER", "Out of order"
    PLANNED = "PLANNED", "Planned"
    REMOVED = "REMOVED", "Removed"
    RESERVED = "RESERVED", "Reserved"
    UNKNOWN = "UNKNOWN", "Unknown"


class Capability(models.TextChoices):
    CHARGING_PROFILE_CAPABLE = "CHARGING_PROFILE_CAPABLE"
    CHARGING_PREFERENCES_CAPABLE = "CHARGING_PREFERENCES_CAPABLE"
    CHIP_CARD_SUPPORT = "CHIP_CARD_SUPPORT"
    CONTACTLESS_CARD_SUPPORT = "CONTACTLESS_CARD_SUPPORT"
    CREDIT_CARD_PAYABLE = "CREDIT_CARD_PAYABLE"
    DEBIT_CARD_PAYABLE = "DEBIT_CARD_PAYABLE"
    PED_TERMINAL = "PED_TERMINAL"
    REMOTE_START_STOP_CAPABLE = "REMOTE_START_STOP_CAPABLE"
    RESERVABLE = "RESERVABLE"
    RFID_READER = "RFID_READER"
    START_SESSION_CONNECTOR_REQUIRED = "START_SESSION_CONNECTOR_REQUIRED"
    TOKEN_GROUP_CAPABLE = "TOKEN_GROUP_CAPABLE"  # noqa: S105 (an OCPI capability, not a secret)
    UNLOCK_CAPABLE = "UNLOCK_CAPABLE"


class ParkingRestriction(models.TextChoices):
    EV_ONLY = "EV_ONLY"
    PLUGGED = "PLUGGED"
    DISABLED = "DISABLED"
    CUSTOMERS = "CUSTOMERS"
    MOTORCYCLES = "MOTORCYCLES"
    EMPLOYEES = "EMPLOYEES"
    TAXIS = "TAXIS"
    TENANTS = "TENANTS"


class ConnectorType(models.TextChoices):
    CHADEMO = "CHADEMO", "CHAdeMO"
    CHAOJI = "CHAOJI", "ChaoJi"
    DOMESTIC_A = "DOMESTIC_A", "Domestic type A (NEMA 1-15)"
    DOMESTIC_B = "DOMESTIC_B", "Domestic type B (NEMA 5-15)"
    DOMESTIC_C = "DOMESTIC_C", "Domestic type C (CEE 7/17)"
    DOMESTIC_D = "DOMESTIC_D", "Domestic type D"
    DOMESTIC_E = "DOMESTIC_E", "Domestic type E (CEE 7/5)"
    DOMESTIC_F = "DOMESTIC_F", "Domestic type F (Schuko, CEE 7/4)"
    DOMESTIC_G = "DOMESTIC_G", "Domestic type G (BS 1363)"
    DOMESTIC_H = "DOMESTIC_H", "Domestic type H"
    DOMESTIC_I = "DOMESTIC_I", "Domestic type I (AS 3112)"
    DOMESTIC_J = "DOMESTIC_J", "Domestic type J"
    DOMESTIC_K = "DOMESTIC_K", "Domestic type K"
    DOMESTIC_L = "DOMESTIC_L", "Domestic type L"
    DOMESTIC_M = "DOMESTIC_M", "Domestic type M"
    DOMESTIC_N = "DOMESTIC_N", "Domestic type N"
    DOMESTIC_O = "DOMESTIC_O", "Domestic type O"
    GBT_AC = "GBT_AC", "GB/T AC"
    GBT_DC = "GBT_DC", "GB/T DC"
    IEC_60309_2_SINGLE_16 = "IEC_60309_2_single_16", "IEC 60309-2 single phase 16 A"
    IEC_60309_2_THREE_16 = "IEC_60309_2_three_16", "IEC 60309-2 three phases 16 A"
    IEC_60309_2_THREE_32 = "IEC_60309_2_three_32", "IEC 60309-2 three phases 32 A"
    IEC_60309_2_THREE_64 = "IEC_60309_2_three_64", "IEC 60309-2 three phases 64 A"
    IEC_62196_T1 = "IEC_62196_T1", "Type 1 (IEC 62196-2)"
    IEC_62196_T1_COMBO = "IEC_62196_T1_COMBO", "CCS1 (Combo Type 1)"
    IEC_62196_T2 = "IEC_62196_T2", "Type 2 (IEC 62196-2)"
    IEC_62196_T2_COMBO = "IEC_62196_T2_COMBO", "CCS2 (Combo Type 2)"
    IEC_62196_T3A = "IEC_62196_T3A", "Type 3A"
    IEC_62196_T3C = "IEC_62196_T3C", "Type 3C (Scame)"
    MCS = "MCS", "Megawatt Charging System"
    NEMA_5_20 = "NEMA_5_20", "NEMA 5-20"
    NEMA_6_30 = "NEMA_6_30", "NEMA 6-30"
    NEMA_6_50 = "NEMA_6_50", "NEMA 6-50"
    NEMA_10_30 = "NEMA_10_30", "NEMA 10-30"
    NEMA_10_50 = "NEMA_10_50", "NEMA 10-50"
    NEMA_14_30 = "NEMA_14_30", "NEMA 14-30"
    NEMA_14_50 = "NEMA_14_50", "NEMA 14-50"
    PANTOGRAPH_BOTTOM_UP = "PANTOGRAPH_BOTTOM_UP", "Pantograph, bottom up"
    PANTOGRAPH_TOP_DOWN = "PANTOGRAPH_TOP_DOWN", "Pantograph, top down"
    SAE_J3400 = "SAE_J3400", "SAE J3400 (NACS)"
    TESLA_R = "TESLA_R", "Tesla Roadster"
    TESLA_S = "TESLA_S", "Tesla Model S"


class ConnectorFormat(models.TextChoices):
    SOCKET = "SOCKET", "Socket (bring your own cable)"
    CABLE = "CABLE", "Tethered cable"


class PowerType(models.TextChoices):
    AC_1_PHASE = "AC_1_PHASE", "AC single phase"
    AC_2_PHASE = "AC_2_PHASE", "AC two phases"
    AC_2_PHASE_SPLIT = "AC_2_PHASE_SPLIT", "AC two phases, split"
    AC_3_PHASE = "AC_3_PHASE", "AC three phases"
    DC = "DC", "DC"


# What a standard can carry: DC-only plugs, and plugs wired for three phases or one (IEC 62196, IEC 60309).
DC_STANDARDS = frozenset(
    {
        ConnectorType.CHADEMO,
        ConnectorType.CHAOJI,
        ConnectorType.GBT_DC,
        ConnectorType.IEC_62196_T1_COMBO,
        ConnectorType.IEC_62196_T2_COMBO,
        ConnectorType.MCS,
    }
)
THREE_PHASE_STANDARDS = frozenset(
    {
        ConnectorType.IEC_60309_2_THREE_16,
        ConnectorType.IEC_60309_2_THREE_32,
        ConnectorType.IEC_60309_2_THREE_64,
    }
)
SINGLE_PHASE_STANDARDS = frozenset({ConnectorType.IEC_60309_2_SINGLE_16, ConnectorType.IEC_62196_T1})

# Phases that carry power, each at max_voltage x max_amperage. mod_locations, Connector object:
# max_voltage is "line to neutral for AC_3_PHASE"; for two phases (and a split phase) we read it the
# same way, each phase at its voltage to neutral, so both count twice.
PHASES: dict[str, int] = {
    PowerType.AC_1_PHASE: 1,
    PowerType.AC_2_PHASE: 2,
    PowerType.AC_2_PHASE_SPLIT: 2,
    PowerType.AC_3_PHASE: 3,
    PowerType.DC: 1,
}
# A rated power is a round figure (22 kW for 230 V x 32 A x 3 = 22,080 W; 7.4 kW for 7,360 W).
POWER_TOLERANCE = Decimal("0.05")
# Above this, an AC voltage "to neutral" is a line-to-line voltage (400 V for a 230 V supply).
MAX_AC_VOLTAGE_TO_NEUTRAL = 277


def connector_power_limit(*, power_type: str, max_voltage: int, max_amperage: int) -> int:
    """The most a connector can deliver, in W: voltage x amperage x the phases carrying power."""
    return max_voltage * max_amperage * PHASES.get(power_type, 1)


class ConnectorCapability(models.TextChoices):
    ISO_15118_2_PLUG_AND_CHARGE = "ISO_15118_2_PLUG_AND_CHARGE"
    ISO_15118_20_PLUG_AND_CHARGE = "ISO_15118_20_PLUG_AND_CHARGE"


class LocationQuerySet(models.QuerySet["Location"]):
    def published(self) -> LocationQuerySet:
        return self.filter(publish=True)


class Location(LastUpdatedModel):
    """A charging location (mod_locations, Location object)."""

    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="locations")
    location_id = models.CharField(
        "OCPI id", max_length=36, validators=[printable_ascii], help_text="Location.id, unique per party."
    )
    publish = models.BooleanField(
        default=True, help_text="Off: only the tokens listed under 'publish allowed to' may see it."
    )
    publish_allowed_to = models.JSONField(
        default=list,
        blank=True,
        validators=[JSONSchemaValidator(PUBLISH_ALLOWED_TO_SCHEMA, "publish_allowed_to")],
    )
    name = models.CharField(max_length=255, blank=True, help_text="Shown on the payment terminal.")
    address = models.CharField(max_length=255)
    city = models.CharField(max_length=45)
    postal_code = models.CharField(max_length=10, blank=True)
    state = models.CharField(max_length=45, blank=True)
    country = models.CharField(max_length=3, validators=[country_alpha3_validator], help_text="Such as NLD.")
    latitude = models.DecimalField(**latitude_field_kwargs)
    longitude = models.DecimalField(**longitude_field_kwargs)
    related_locations = models.JSONField(
        default=list,
        blank=True,
        validators=[JSONSchemaValidator(RELATED_LOCATIONS_SCHEMA, "related_locations")],
    )
    parking_type = models.CharField(max_length=20, choices=ParkingType.choices, blank=True)
    parking_places = models.JSONField(
        default=list,
        blank=True,
        validators=[JSONSchemaValidator(PARKING_PLACES_SCHEMA, "parking_places")],
        help_text="OCPI 2.3.0 only.",
    )
    directions = models.JSONField(
        default=list, blank=True, validators=[JSONSchemaValidator(DISPLAY_TEXT_LIST_SCHEMA, "directions")]
    )
    operator = models.JSONField(
        null=True,
        blank=True,
        validators=[JSONSchemaValidator(BUSINESS_DETAILS_SCHEMA, "operator")],
        help_text="Empty: the party's own business details.",
    )
    suboperator = models.JSONField(
        null=True, blank=True, validators=[JSONSchemaValidator(BUSINESS_DETAILS_SCHEMA, "suboperator")]
    )
    owner = models.JSONField(
        null=True, blank=True, validators=[JSONSchemaValidator(BUSINESS_DETAILS_SCHEMA, "owner")]
    )
    facilities = EnumListField(enum=Facility.choices, open_enum=True)
    time_zone = models.CharField(
        max_length=255, validators=[validate_time_zone], help_text="IANA name, such as Europe/Amsterdam."
    )
    # Hours: null twentyfourseven means the location publishes no opening times at all.
    twentyfourseven = models.BooleanField(
        "open 24/7", null=True, blank=True, help_text="Empty: opening times unknown (not published)."
    )
    exceptional_openings = models.JSONField(
        default=list,
        blank=True,
        validators=[JSONSchemaValidator(EXCEPTIONAL_PERIODS_SCHEMA, "exceptional_openings")],
    )
    exceptional_closings = models.JSONField(
        default=list,
        blank=True,
        validators=[JSONSchemaValidator(EXCEPTIONAL_PERIODS_SCHEMA, "exceptional_closings")],
    )
    charging_when_closed = models.BooleanField(null=True, blank=True)
    images = models.JSONField(
        default=list, blank=True, validators=[JSONSchemaValidator(IMAGE_LIST_SCHEMA, "images")]
    )
    energy_mix = models.JSONField(
        null=True, blank=True, validators=[JSONSchemaValidator(ENERGY_MIX_SCHEMA, "energy_mix")]
    )
    help_phone = models.CharField(max_length=25, blank=True, validators=[printable_ascii])

    objects = LocationQuerySet.as_manager()

    history = tracked_history(excluded_fields=("last_updated",))

    class Meta:
        ordering = ("party", "location_id")
        constraints = (
            models.UniqueConstraint(fields=("party", "location_id"), name="location_unique_ocpi_id"),
            models.CheckConstraint(
                condition=Q(latitude__gte=-90, latitude__lte=90),
                name="location_latitude_in_range",
                violation_error_message="Latitude must lie between -90 and 90.",
            ),
            models.CheckConstraint(
                condition=Q(longitude__gte=-180, longitude__lte=180),
                name="location_longitude_in_range",
                violation_error_message="Longitude must lie between -180 and 180.",
            ),
            models.CheckConstraint(
                condition=~Q(location_id=""),
                name="location_id_not_empty",
                violation_error_message="A location needs an OCPI id.",
            ),
        )
        indexes = (
            # OCPI list endpoints page through locations ordered by (last_updated, id).
            models.Index(fields=("last_updated", "id"), name="location_paging_idx"),
        )

    def __str__(self) -> str:
        return self.name or self.location_id

    def clean(self) -> None:
        super().clean()
        if self.publish and self.publish_allowed_to:
            # mod_locations: publish_allowed_to "may only be used when the publish field is false".
            raise ValidationError({"publish_allowed_to": "Leave this empty for a published location."})
        if self.twentyfourseven and self.pk and self.regular_hours.exists():
            raise ValidationError({"twentyfourseven": "A location open 24/7 has no regular hours."})


class RegularHours(models.Model):
    """A weekly opening period in the location's local time (mod_locations, RegularHours)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 1
        TUESDAY = 2
        WEDNESDAY = 3
        THURSDAY = 4
        FRIDAY = 5
        SATURDAY = 6
        SUNDAY = 7

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="regular_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    period_begin = models.CharField(max_length=5, validators=[time_of_day_validator], help_text="HH:MM")
    period_end = models.CharField(
        max_length=5,
        validators=[time_of_day_validator],
        help_text="HH:MM, after the begin (24:00 not allowed).",
    )

    class Meta:
        verbose_name_plural = "regular hours"
        ordering = ("location", "weekday", "period_begin")
        constraints = (
            models.CheckConstraint(
                condition=Q(period_end__gt=F("period_begin")),
                name="regular_hours_end_after_begin",
                violation_error_message="The period must end after it begins.",
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=1, weekday__lte=7),
                name="regular_hours_weekday_valid",
                violation_error_message="The weekday runs from 1 (Monday) to 7 (Sunday).",
            ),
        )

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.period_begin}-{self.period_end}"


def touch_location(location_pk: int) -> None:
    """Bump a location's last_updated (the OCPI rule: a change below a location changes it too)."""
    Location.objects.filter(pk=location_pk).update(last_updated=timezone.now())


class Evse(LastUpdatedModel):
    """An EVSE: one place to charge one vehicle at a time (mod_locations, EVSE object)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="evses")
    uid = models.CharField(
        max_length=36,
        validators=[printable_ascii],
        help_text="EVSE.uid, unique within the party's locations.",
    )
    evse_id = models.CharField(
        "EVSE ID",
        max_length=48,
        blank=True,
        validators=[evse_id_validator],
        help_text="eMI3, such as NL*CPO*E1.",
    )
    status = models.CharField(max_length=11, choices=EvseStatus.choices, default=EvseStatus.UNKNOWN)
    status_schedule = models.JSONField(
        default=list, blank=True, validators=[JSONSchemaValidator(STATUS_SCHEDULE_SCHEMA, "status_schedule")]
    )
    capabilities = EnumListField(enum=Capability.choices, open_enum=True)
    floor_level = models.CharField(max_length=4, blank=True)
    latitude = models.DecimalField(**latitude_field_kwargs, null=True, blank=True)
    longitude = models.DecimalField(**longitude_field_kwargs, null=True, blank=True)
    physical_reference = models.CharField(
        max_length=16,
        blank=True,
        help_text="The label printed on the charger; the driver picks it on the terminal.",
    )
    directions = models.JSONField(
        default=list, blank=True, validators=[JSONSchemaValidator(DISPLAY_TEXT_LIST_SCHEMA, "directions")]
    )
    parking_restrictions = EnumListField(enum=ParkingRestriction.choices, open_enum=True)
    parking = models.JSONField(
        default=list,
        blank=True,
        validators=[JSONSchemaValidator(EVSE_PARKING_SCHEMA, "parking")],
        help_text="OCPI 2.3.0 only: references to the location's parking places.",
    )
    images = models.JSONField(
        default=list, blank=True, validators=[JSONSchemaValidator(IMAGE_LIST_SCHEMA, "images")]
    )
    accepted_service_providers = models.JSONField(default=list, blank=True, help_text="OCPI 2.3.0 only.")

    history = tracked_history(excluded_fields=("last_updated",))

    class Meta:
        verbose_name = "EVSE"
        ordering = ("location", "uid")
        constraints = (
            models.UniqueConstraint(fields=("location", "uid"), name="evse_unique_uid_per_location"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="evse_latitude_in_range",
                violation_error_message="Latitude must lie between -90 and 90.",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="evse_longitude_in_range",
                violation_error_message="Longitude must lie between -180 and 180.",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__isnull=False, longitude__isnull=False),
                name="evse_coordinates_complete",
                violation_error_message="Give both latitude and longitude, or neither.",
            ),
            models.CheckConstraint(
                condition=~Q(uid=""),
                name="evse_uid_not_empty",
                violation_error_message="An EVSE needs a uid.",
            ),
        )

    def __str__(self) -> str:
        return self.evse_id or self.uid

    def clean(self) -> None:
        super().clean()
        if (self.latitude is None) != (self.longitude is None):
            raise ValidationError("Give both latitude and longitude, or neither.")
        if self.location_id and self.uid:
            # mod_locations: EVSE.uid is unique within the CPO's platform, not only its location.
            clash = Evse.objects.filter(location__party_id=self.location.party_id, uid=self.uid).exclude(
                pk=self.pk
            )
            if clash.exists():
                raise ValidationError({"uid": "Another EVSE of this party already has this uid."})
        accepted = self.accepted_service_providers
        if not isinstance(accepted, list) or not all(isinstance(name, str) and name for name in accepted):
            raise ValidationError({"accepted_service_providers": "Enter a list of eMSP names."})

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A status saved alone is the charger reporting (every session start and stop): telemetry,
        # not a staff edit, so it writes no history row on that hot path. Staff edits save the form.
        status_only = set(kwargs.get("update_fields") or ()) == {"status"}
        if status_only:
            self.skip_history_when_saving = True
        try:
            super().save(*args, **kwargs)
        finally:
            if status_only:
                del self.skip_history_when_saving
        if kwargs.get("touch", True):
            touch_location(self.location_id)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        location_pk = self.location_id
        result = super().delete(*args, **kwargs)
        touch_location(location_pk)
        return result


class Connector(LastUpdatedModel):
    """A connector of an EVSE (mod_locations, Connector object)."""

    evse = models.ForeignKey(Evse, on_delete=models.CASCADE, related_name="connectors")
    connector_id = models.CharField("id", max_length=36, validators=[printable_ascii], help_text="Such as 1.")
    standard = models.CharField(max_length=30, choices=ConnectorType.choices)
    format = models.CharField(max_length=6, choices=ConnectorFormat.choices)
    power_type = models.CharField(max_length=16, choices=PowerType.choices)
    max_voltage = models.PositiveIntegerField(
        validators=[MinValueValidator(1, "Enter the voltage in volt: more than 0.")],
        help_text="Volt, line to neutral for AC (230, not 400, for three phases).",
    )
    max_amperage = models.PositiveIntegerField(
        validators=[MinValueValidator(1, "Enter the amperage in ampere: more than 0.")], help_text="Ampere."
    )
    max_electric_power = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1, "Enter the power in watt: more than 0, or leave it empty.")],
        help_text="Watt; at most volt x ampere x phases. Lower when the charger limits it.",
    )
    tariffs = models.ManyToManyField(
        Tariff,
        blank=True,
        related_name="connectors",
        help_text="The tariffs that apply here (tariff_ids); the terminal shows them before a card payment.",
    )
    terms_and_conditions = models.URLField(max_length=255, blank=True)
    capabilities = EnumListField(
        enum=ConnectorCapability.choices, open_enum=True, help_text="OCPI 2.3.0 only."
    )

    history = tracked_history(excluded_fields=("last_updated",), m2m_fields=("tariffs",))

    class Meta:
        ordering = ("evse", "connector_id")
        constraints = (
            models.UniqueConstraint(fields=("evse", "connector_id"), name="connector_unique_id_per_evse"),
            models.CheckConstraint(
                condition=~Q(connector_id=""),
                name="connector_id_not_empty",
                violation_error_message="A connector needs an id.",
            ),
            models.CheckConstraint(
                condition=Q(max_voltage__gt=0, max_amperage__gt=0)
                & (Q(max_electric_power__isnull=True) | Q(max_electric_power__gt=0)),
                name="connector_power_positive",
                violation_error_message="Voltage, amperage and power must be more than 0.",
            ),
        )

    def __str__(self) -> str:
        return f"{self.evse} / {self.connector_id}"

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        standard, power_type = self.standard, self.power_type
        if standard in DC_STANDARDS and power_type != PowerType.DC:
            errors["power_type"] = f"A {self.get_standard_display()} connector is DC."
        elif standard in THREE_PHASE_STANDARDS and power_type != PowerType.AC_3_PHASE:
            errors["power_type"] = f"A {self.get_standard_display()} connector is AC three phases."
        elif standard in SINGLE_PHASE_STANDARDS and power_type == PowerType.DC:
            errors["power_type"] = f"A {self.get_standard_display()} connector is AC."
        elif standard.startswith(("DOMESTIC_", "NEMA_")) and power_type == PowerType.DC:
            errors["power_type"] = "A household or NEMA socket is AC."
        voltage, amperage, power = self.max_voltage, self.max_amperage, self.max_electric_power
        if (
            power_type in PHASES
            and power_type != PowerType.DC
            and voltage
            and voltage > MAX_AC_VOLTAGE_TO_NEUTRAL
        ):
            # mod_locations, Connector.max_voltage: "line to neutral for AC_3_PHASE".
            errors["max_voltage"] = (
                f"{voltage} V is a line-to-line voltage: enter the voltage line to neutral "
                f"(230 V on a 400 V three-phase supply)."
            )
        elif voltage and amperage and power and power > 0 and power_type in PHASES:
            limit = connector_power_limit(power_type=power_type, max_voltage=voltage, max_amperage=amperage)
            if power > limit * (1 + POWER_TOLERANCE):
                phases = PHASES[power_type]
                formula = f"{voltage} V x {amperage} A" + (f" x {phases} phases" if phases > 1 else "")
                # mod_locations: max_electric_power is set when it is lower than voltage x amperage;
                # it can never be higher.
                errors["max_electric_power"] = (
                    f"{power:,} W is more than the connector can deliver: {formula} = {limit:,} W. "
                    "Enter at most that (less when the charger limits the power), or correct the "
                    "voltage, amperage or power type."
                )
        if errors:
            raise ValidationError(errors)

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        if kwargs.get("touch", True):
            self._touch_parents()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        result = super().delete(*args, **kwargs)
        self._touch_parents()
        return result

    def _touch_parents(self) -> None:
        # mod_locations: EVSE.last_updated and Location.last_updated cover their connectors too.
        now = timezone.now()
        Evse.objects.filter(pk=self.evse_id).update(last_updated=now)
        Location.objects.filter(evses__pk=self.evse_id).update(last_updated=now)


def connector_tariffs_check_party(
    sender: type, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """Refuse a tariff of another party on a connector, however it is added (admin, import, code).

    mod_locations, Connector.tariff_ids: the ids are of the CPO's own tariffs (the partner looks
    them up under the location's country_code and party_id), so another party's id points nowhere.
    """
    if action != "pre_add" or not pk_set:
        return
    if reverse:  # tariff.connectors.add(connector, ...)
        party_id = instance.party_id
        foreign = Connector.objects.filter(pk__in=pk_set).exclude(evse__location__party_id=party_id)
        if foreign.exists():
            names = ", ".join(str(connector) for connector in foreign)
            raise ValidationError(
                {"tariffs": f"Tariff {instance.tariff_id} is another party's than connector {names}."}
            )
        return
    party_id = Location.objects.filter(evses__connectors=instance).values_list("party_id", flat=True).first()
    foreign_ids = list(
        Tariff.objects.filter(pk__in=pk_set).exclude(party_id=party_id).values_list("tariff_id", flat=True)
    )
    if foreign_ids:
        raise ValidationError(
            {
                "tariffs": "Only tariffs of the location's own party can apply here; "
                f"{', '.join(sorted(foreign_ids))} belong(s) to another party."
            }
        )


m2m_changed.connect(
    connector_tariffs_check_party, sender=Connector.tariffs.through, dispatch_uid="connector_tariffs_party"
)
