"""OCPI value formatting and the JSON writer (no Django imports: pure and fast to test).

- DateTime: RFC 3339 in UTC with ``Z``, whole seconds (types.asciidoc, "DateTime type").
- number: a JSON number written from the Decimal digits themselves, never through a float
  (types.asciidoc, "number type": "Numbers in OCPI are formatted as JSON numbers").
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def format_datetime(value: datetime) -> str:
    """An aware datetime as ``2015-06-29T20:39:09Z``."""
    if value.tzinfo is None:
        raise ValueError("OCPI timestamps are written from aware datetimes only")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_decimal(value: Decimal) -> str:
    """A Decimal as JSON number text without exponent or trailing zeros: 0.3900 -> 0.39, 4.00 -> 4."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite number")
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def format_coordinate(value: Decimal) -> str:
    """Latitude/longitude as OCPI strings with 6 decimals (mod_locations, GeoLocation pattern)."""
    return f"{value.quantize(Decimal('0.000001')):f}"


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, Decimal):
        out.append(format_decimal(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        # Only values read back from JSON fields get here (never money computed by us).
        out.append(json.dumps(value))
    elif isinstance(value, datetime):
        out.append(json.dumps(format_datetime(value)))
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} cannot be written as OCPI JSON")


def dumps(value: Any) -> str:
    """Compact JSON with Decimals as exact numbers and datetimes in OCPI form."""
    out: list[str] = []
    _write(value, out)
    return "".join(out)
