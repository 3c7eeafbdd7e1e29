"""Model fields and validators shared by the OCPI data model.

The rules here serve the admin and the OCPI API alike: a value that one accepts the other accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import jsonschema
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

# OCPI CiString: printable ASCII only (types.asciidoc, "CiString type").
printable_ascii = RegexValidator(
    r"^[\x20-\x7e]*$", "Use printable ASCII characters only (no accents, tabs or line breaks)."
)
country_code_validator = RegexValidator(
    r"^[A-Z]{2}$", "Enter an ISO 3166-1 alpha-2 country code in capitals, such as NL."
)
country_alpha3_validator = RegexValidator(
    r"^[A-Z]{3}$", "Enter an ISO 3166-1 alpha-3 country code in capitals, such as NLD."
)
party_id_validator = RegexValidator(
    r"^[A-Z0-9]{3}$", "Enter a party id of three capital letters or digits, such as CPO."
)
currency_validator = RegexValidator(
    r"^[A-Z]{3}$", "Enter an ISO 4217 currency code in capitals, such as EUR."
)
language_validator = RegexValidator(
    r"^[a-z]{2}$", "Enter an ISO 639-1 language code in lower case, such as nl."
)
# OCPI local times of day, "HH:MM" on a 24 hour clock (mod_locations RegularHours, mod_tariffs restrictions).
time_of_day_validator = RegexValidator(
    r"^([01][0-9]|2[0-3]):[0-5][0-9]$", "Enter a time of day as HH:MM, such as 08:30."
)


def validate_time_zone(value: str) -> None:
    """An IANA tz database name, such as Europe/Amsterdam."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(
            "%(value)s is not an IANA time zone; use a name such as Europe/Amsterdam.",
            params={"value": value},
        ) from error


def validate_against_schema(value: Any, schema: dict[str, Any], what: str) -> None:
    """Raise a ValidationError naming the first place where ``value`` breaks ``schema``."""
    validator = jsonschema.Draft7Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
    raise ValidationError(f"{what}{where}: {error.message}")


class JSONSchemaValidator:
    """A deconstructible validator for a JSONField holding an OCPI structure."""

    def __init__(self, schema: dict[str, Any], what: str) -> None:
        self.schema = schema
        self.what = what

    def __call__(self, value: Any) -> None:
        validate_against_schema(value, self.schema, self.what)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JSONSchemaValidator) and (self.schema, self.what) == (
            other.schema,
            other.what,
        )

    def __hash__(self) -> int:
        return hash(self.what)

    def deconstruct(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        # Migrations do not need the schema itself: validators never touch the database.
        return ("cpo_portal.fields.JSONSchemaValidator", (), {"schema": {}, "what": self.what})


class EnumListValidator:
    """Every item is one of the known values (or, for an OpenEnum, any CiString up to 255)."""

    def __init__(self, choices: Sequence[str], open_enum: bool = False) -> None:
        self.choices = tuple(choices)
        self.open_enum = open_enum

    def __call__(self, value: Any) -> None:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValidationError("Enter a list of values.")
        if len(set(value)) != len(value):
            raise ValidationError("A value is listed twice.")
        for item in value:
            if item in self.choices:
                continue
            if self.open_enum and item.isascii() and item.replace("_", "").isalnum() and len(item) <= 255:
                continue
            raise ValidationError(
                "%(item)s is not one of: %(choices)s.",
                params={"item": item, "choices": ", ".join(self.choices)},
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EnumListValidator) and (self.choices, self.open_enum) == (
            other.choices,
            other.open_enum,
        )

    def __hash__(self) -> int:
        return hash(self.choices)

    def deconstruct(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        return ("cpo_portal.fields.EnumListValidator", (list(self.choices),), {"open_enum": self.open_enum})


class EnumListFormField(forms.TypedMultipleChoiceField):
    """Checkboxes for the known values; values stored earlier but unknown to the enum are kept."""

    widget = forms.CheckboxSelectMultiple

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            known = {choice for choice, _label in self.choices}
            self.choices = list(self.choices) + [(item, item) for item in value if item not in known]
        return value


class EnumListField(models.JSONField):
    """A list of enum values (OCPI ``Enum *``) stored as JSON, edited as checkboxes in the admin."""

    def __init__(
        self, *args: Any, enum: Iterable[tuple[str, str]] = (), open_enum: bool = False, **kwargs: Any
    ) -> None:
        self.enum_choices = list(enum)
        self.open_enum = open_enum
        kwargs.setdefault("default", list)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)
        self.validators.append(EnumListValidator([value for value, _ in self.enum_choices], open_enum))

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, _path, args, kwargs = super().deconstruct()
        kwargs["enum"] = self.enum_choices
        kwargs["open_enum"] = self.open_enum
        # The enum validator is added again by __init__.
        kwargs.pop("validators", None)
        return name, "cpo_portal.fields.EnumListField", args, kwargs

    def formfield(self, **kwargs: Any) -> forms.Field:
        defaults: dict[str, Any] = {
            "form_class": EnumListFormField,
            "choices": self.enum_choices,
            "required": not self.blank,
            "coerce": str,
        }
        defaults.update(kwargs)
        # Skip JSONField.formfield: the value is edited as choices, not as raw JSON.
        return models.Field.formfield(self, **defaults)  # type: ignore[arg-type]


class LastUpdatedModel(models.Model):
    """Maintains OCPI's ``last_updated`` on every save made through the model."""

    last_updated = models.DateTimeField(default=timezone.now, db_index=True, editable=False)

    class Meta:
        abstract = True

    def save(self, *args: Any, touch: bool = True, **kwargs: Any) -> None:
        if touch:
            self.last_updated = timezone.now()
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "last_updated"}
        super().save(*args, **kwargs)


# JSON Schemas of the small OCPI structures kept in JSON fields (mod_locations, types).
DISPLAY_TEXT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["language", "text"],
    "additionalProperties": False,
    "properties": {
        "language": {"type": "string", "pattern": "^[a-z]{2}$"},
        "text": {"type": "string", "minLength": 1, "maxLength": 512},
    },
}
DISPLAY_TEXT_LIST_SCHEMA: dict[str, Any] = {"type": "array", "items": DISPLAY_TEXT_SCHEMA}
URL_SCHEMA: dict[str, Any] = {"type": "string", "pattern": "^https?://", "maxLength": 255}
IMAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["url", "category", "type"],
    "additionalProperties": False,
    "properties": {
        "url": URL_SCHEMA,
        "thumbnail": URL_SCHEMA,
        "category": {"type": "string", "pattern": "^[A-Z_]{1,255}$"},
        "type": {"type": "string", "maxLength": 4, "minLength": 1},
        "width": {"type": "integer", "minimum": 0, "maximum": 99999},
        "height": {"type": "integer", "minimum": 0, "maximum": 99999},
    },
}
IMAGE_LIST_SCHEMA: dict[str, Any] = {"type": "array", "items": IMAGE_SCHEMA}
BUSINESS_DETAILS_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "website": URL_SCHEMA,
        "logo": IMAGE_SCHEMA,
    },
}
ENERGY_MIX_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "required": ["is_green_energy"],
    "additionalProperties": False,
    "properties": {
        "is_green_energy": {"type": "boolean"},
        "energy_sources": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["source", "percentage"],
                "additionalProperties": False,
                "properties": {
                    "source": {
                        "enum": [
                            "NUCLEAR",
                            "GENERAL_FOSSIL",
                            "COAL",
                            "GAS",
                            "GENERAL_GREEN",
                            "SOLAR",
                            "WIND",
                            "WATER",
                        ]
                    },
                    "percentage": {"type": "number", "minimum": 0, "maximum": 100},
                },
            },
        },
        "environ_impact": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["category", "amount"],
                "additionalProperties": False,
                "properties": {
                    "category": {"type": "string", "pattern": "^[A-Z_]{1,255}$"},
                    "amount": {"type": "number", "minimum": 0},
                },
            },
        },
        "supplier_name": {"type": "string", "maxLength": 64},
        "energy_product_name": {"type": "string", "maxLength": 64},
    },
}
