"""Serializer fields for the OCPI types (types.asciidoc): CiString, string and DateTime."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from rest_framework import serializers

# types, "DateTime type": RFC 3339 with a date, a time and optional fractions; no zone means UTC.
# An offset is accepted (platforms send +00:00) and converted; anything else is not a DateTime.
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?", re.IGNORECASE)


class OcpiStringField(serializers.CharField):
    """An OCPI string: "only printable UTF-8" (types, "string type"); a number is not a string."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError(f"must be a string, not {type(data).__name__}.")
        value = super().to_internal_value(data)
        if not value.isprintable():
            raise serializers.ValidationError("must be printable text (no control characters).")
        return value


class CiStringField(serializers.CharField):
    """An OCPI CiString: "only printable ASCII allowed" (types, "CiString type").

    Our models keep ids as printable ASCII too; checking here answers 2001 naming the field.
    """

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError(f"must be a string, not {type(data).__name__}.")
        value = super().to_internal_value(data)
        if not (value.isascii() and value.isprintable()):
            raise serializers.ValidationError("must be printable ASCII (a CiString).")
        return value


class OcpiDateTimeField(serializers.DateTimeField):
    """An OCPI DateTime: only the RFC 3339 forms, in UTC when no zone is given.

    Python's ISO parser also reads "11111111T111111" or forty ones as year 1111; OCPI does not.
    """

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def to_internal_value(self, value: object) -> datetime:
        if not isinstance(value, str) or not _DATETIME.fullmatch(value.strip()):
            raise serializers.ValidationError(
                "must be an RFC 3339 timestamp such as 2024-01-31T12:00:00Z (types, DateTime)."
            )
        return super().to_internal_value(value.strip())
