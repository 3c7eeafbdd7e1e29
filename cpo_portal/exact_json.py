"""JSON text with exact numbers (no Django imports: pure and fast to test).

- DateTime: RFC 3339 in UTC with ``Z``, whole seconds (OCPI types.asciidoc, "DateTime type").
- number: a JSON number written from the Decimal digits themselves, never through a float
  (OCPI types.asciidoc, "number type": "Numbers in OCPI are formatted as JSON numbers").

Shared by the OCPI transport (``ocpi_api.formatting``) and the domain's stored snapshots (the CDR's
tariff, ``tariffs.canonical``), so both write a number the same way.
"""

from __future__ import annotations

import json
import re
import secrets
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


# Decimals go through the C JSON encoder as marked strings that are then unquoted into numbers.
# The mark starts with NUL (which PostgreSQL text and jsonb cannot hold) and a per-process random
# nonce, so no string from our data or from a request can be mistaken for it.
_NONCE = secrets.token_hex(8)
_MARKED_NUMBER = re.compile(r'"\\u0000' + _NONCE + r'(-?[0-9]+(?:\.[0-9]+)?)\\u0000"')


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"\x00{_NONCE}{format_decimal(value)}\x00"
    if isinstance(value, datetime):
        return format_datetime(value)
    raise TypeError(f"{type(value).__name__} cannot be written as OCPI JSON")


def dumps(value: Any) -> str:
    """Compact JSON with Decimals as exact numbers and datetimes in OCPI form."""
    text = json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))
    return _MARKED_NUMBER.sub(r"\1", text)
