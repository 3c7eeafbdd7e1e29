"""OCPI value formatting and the JSON writer (no Django imports: pure and fast to test).

- DateTime and number: written by ``cpo_portal.exact_json`` (RFC 3339 with ``Z``; JSON numbers
  from the Decimal digits, types.asciidoc "number type"), which the domain's snapshots share.
- GeoLocation coordinates: strings with 6 decimals (below).
"""

from __future__ import annotations

from decimal import Decimal

from cpo_portal.exact_json import dumps, format_datetime, format_decimal

__all__ = ["dumps", "format_coordinate", "format_datetime", "format_decimal"]


def format_coordinate(value: Decimal) -> str:
    """Latitude/longitude as OCPI strings with 6 decimals (mod_locations, GeoLocation pattern)."""
    return f"{value.quantize(Decimal('0.000001')):f}"
