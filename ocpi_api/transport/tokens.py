"""Credentials tokens in the Authorization header (transport_and_format, "Authorization header").

OCPI 2.2 and later send ``Authorization: Token <base64 of the token>``; some platforms still send
the token as is (the 2.1 habit). We send what the partner is marked for and accept both, where the
raw form is only matched for partners marked ``send_raw_token``.
"""

from __future__ import annotations

import base64
import binascii


def authorization_header(token: str, *, raw: bool = False) -> str:
    """The Authorization header value presenting ``token``."""
    if raw:
        return f"Token {token}"
    return "Token " + base64.b64encode(token.encode("utf-8")).decode("ascii")


def token_candidates(header: str) -> tuple[str | None, str | None]:
    """Parse an Authorization header into (base64-decoded token, raw token).

    Either part is None when the header does not allow it. The decoded form must be printable
    ASCII, as a CiString token is; this also rejects raw tokens that merely look like base64.
    """
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "token" or not value:
        return None, None
    decoded: str | None
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        decoded = None
    if decoded is not None:
        # The spec's own example decodes to a token with a trailing newline (shared/ocpi/README.md).
        decoded = decoded.rstrip("\r\n")
        if not decoded or not decoded.isprintable():
            decoded = None
    return decoded, value
