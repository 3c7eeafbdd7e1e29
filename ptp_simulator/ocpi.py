"""Pure OCPI helpers shared by the simulator's server and client: envelope, tokens, times, prices.

Nothing here does I/O, so it is cheap to test and safe to import from anywhere.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urljoin

# OCPI status codes (status_codes.asciidoc).
SUCCESS = 1000
CLIENT_ERROR = 2000
INVALID_PARAMETERS = 2001
NOT_ENOUGH_INFORMATION = 2002
UNKNOWN_LOCATION = 2003
SERVER_ERROR = 3000
UNABLE_TO_USE_CLIENT_API = 3001
UNSUPPORTED_VERSION = 3002
NO_MATCHING_ENDPOINTS = 3003

# The PTP is not in the 2.3.0 Role enum (types.asciidoc, "Role enum") although mod_payments
# names it as data owner; Payter sends "PTP", so we do too and accept any role on input.
PTP_ROLE = "PTP"

JSON_CONTENT_TYPE = "application/json"


def now_utc() -> datetime:
    """The current time, aware and in UTC."""
    return datetime.now(tz=UTC)


def format_datetime(value: datetime) -> str:
    """OCPI DateTime: UTC, second precision, trailing Z (types.asciidoc, "DateTime type")."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: str) -> datetime:
    """Parse an OCPI DateTime; a value without zone is UTC (types.asciidoc allows omitting Z)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def new_token() -> str:
    """A fresh credentials token: printable ASCII without whitespace (credentials.asciidoc)."""
    return secrets.token_urlsafe(32)


def encode_token(token: str) -> str:
    """The Authorization header for a credentials token (transport_and_format, 'Authorization header')."""
    return "Token " + base64.b64encode(token.encode("utf-8")).decode("ascii")


def decode_authorization(header: str | None) -> tuple[str, ...]:
    """Candidate tokens in an Authorization header: the Base64-decoded one and the raw one.

    Many 2.1.1/2.2 peers send the token unencoded (transport_and_format, NOTE under
    'Authorization header'), so both readings are tried by the caller against known tokens.
    """
    if not header:
        return ()
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "token" or not value.strip():
        return ()
    raw = value.strip()
    candidates = [raw]
    try:
        decoded = base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    # The spec's own example decodes with a trailing newline (see ocpi/README.md), so strip it.
    decoded = decoded.strip()
    if decoded:
        candidates.insert(0, decoded)
    return tuple(dict.fromkeys(candidates))


def envelope(
    data: Any = None,
    *,
    status_code: int = SUCCESS,
    status_message: str | None = None,
    include_data: bool = True,
) -> dict[str, Any]:
    """The OCPI response format (transport_and_format.asciidoc, 'Response format')."""
    body: dict[str, Any] = {}
    if include_data:
        body["data"] = data
    body["status_code"] = status_code
    if status_message:
        body["status_message"] = status_message
    body["timestamp"] = format_datetime(now_utc())
    return body


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # JSON has one number type; a Decimal with up to 15 significant digits survives the
        # float round-trip exactly (repr is the shortest round-tripping form), which covers money.
        return float(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> bytes:
    """Serialise to UTF-8 JSON, writing Decimal as a number."""
    return json.dumps(value, default=_json_default, ensure_ascii=False).encode("utf-8")


def loads(raw: bytes | str) -> Any:
    """Parse JSON keeping numbers with a fraction as Decimal so money is never a float."""
    return json.loads(raw, parse_float=Decimal)


def money(value: Decimal | int | str) -> Decimal:
    """Round an amount to cents, half up, as a Decimal."""
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def price_for_version(
    version: str, *, excl_vat: Decimal, incl_vat: Decimal, vat_percentage: Decimal | None = None
) -> dict[str, Any]:
    """A Price in the shape of the version spoken.

    2.2.1 (types.asciidoc, 'Price class'): excl_vat, incl_vat.
    2.3.0 (types.asciidoc, 'Price class' and 'TaxAmount class'): before_taxes, taxes[].
    """
    if version.startswith("2.2"):
        return {"excl_vat": excl_vat, "incl_vat": incl_vat}
    tax: dict[str, Any] = {"name": "VAT", "amount": incl_vat - excl_vat}
    if vat_percentage is not None:
        tax["percentage"] = vat_percentage
    return {"before_taxes": excl_vat, "taxes": [tax]}


def price_in_version(price: dict[str, Any], version: str) -> dict[str, Any]:
    """The same Price in the shape of ``version``, converting between the 2.2.1 and 2.3.0 shapes."""
    is_221 = "excl_vat" in price
    if version.startswith("2.2") == is_221:
        return price
    incl = price_incl_vat(price) or Decimal(0)
    if is_221:
        excl = Decimal(str(price["excl_vat"]))
        return {"before_taxes": excl, "taxes": [{"name": "VAT", "amount": incl - excl}]}
    return {"excl_vat": Decimal(str(price.get("before_taxes", 0))), "incl_vat": incl}


def price_incl_vat(price: dict[str, Any]) -> Decimal | None:
    """The consumer amount of a Price in either shape (lenient: the 2.3.0 FAC examples use 2.2.1's)."""
    if "incl_vat" in price and price["incl_vat"] is not None:
        return Decimal(str(price["incl_vat"]))
    if "before_taxes" in price:
        total = Decimal(str(price["before_taxes"]))
        for tax in price.get("taxes") or []:
            total += Decimal(str(tax.get("amount", 0)))
        return total
    return None


_LINK_NEXT = re.compile(r'<([^>]*)>\s*;\s*rel\s*=\s*"?next"?', re.IGNORECASE)


def next_link(link_header: str | None, current_url: str) -> str | None:
    """The absolute rel="next" URL in a Link header, if any (transport_and_format, 'Pagination')."""
    if not link_header:
        return None
    match = _LINK_NEXT.search(link_header)
    if not match:
        return None
    return urljoin(current_url, match.group(1).strip())


def version_key(version: str) -> tuple[int, ...]:
    """Sort key for a version number like 2.2.1; unknown parts sort lowest."""
    parts: list[int] = []
    for piece in version.split("."):
        parts.append(int(piece) if piece.isdigit() else -1)
    return tuple(parts)
