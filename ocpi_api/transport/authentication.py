"""Who is calling: the Partner behind the ``Authorization: Token ...`` header.

Tokens we issued are stored as SHA-256 hashes (partners.models.hash_token) and compared with
``hmac.compare_digest``. Token A (registration) is accepted only by versions and credentials
(transport_and_format, "Authorization header"); every other endpoint needs token C.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ocpi_api.transport.tokens import token_candidates
from partners.models import Partner, hash_token

# Which of our tokens was presented (kinds, not secrets).
TOKEN_A = "A"  # noqa: S105
TOKEN_C = "C"  # noqa: S105


@dataclass(frozen=True)
class OcpiAuth:
    """``request.auth`` of an OCPI request: which of our tokens the partner presented."""

    partner: Partner
    kind: str  # TOKEN_A or TOKEN_C
    token: str


def partner_for_token(header: str) -> OcpiAuth | None:
    """Resolve an Authorization header to a partner and token kind, or None."""
    decoded, raw = token_candidates(header)
    candidates: list[tuple[str, bool]] = []  # (token, presented raw)
    if decoded:
        candidates.append((decoded, False))
    if raw and raw != decoded:
        candidates.append((raw, True))
    if not candidates:
        return None
    hashes = {hash_token(token): (token, is_raw) for token, is_raw in candidates}
    query = Q(token_c_hash__in=hashes) | Q(token_a_hash__in=hashes)
    for partner in Partner.objects.filter(query).exclude(status=Partner.Status.UNREGISTERED):
        for kind, stored in ((TOKEN_C, partner.token_c_hash), (TOKEN_A, partner.token_a_hash)):
            if not stored:
                continue
            for presented_hash, (token, is_raw) in hashes.items():
                # A raw (not base64) token only counts for partners marked to send raw tokens.
                if is_raw and not partner.send_raw_token:
                    continue
                if hmac.compare_digest(stored, presented_hash):
                    return OcpiAuth(partner=partner, kind=kind, token=token)
    return None


class OcpiTokenAuthentication(BaseAuthentication):
    """DRF authentication: ``request.user`` is the Partner, ``request.auth`` an ``OcpiAuth``."""

    def authenticate(self, request: Request) -> tuple[Partner, OcpiAuth] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        auth = partner_for_token(header)
        if auth is None:
            raise exceptions.AuthenticationFailed("Unknown credentials token")
        # The request log middleware records the partner from the Django request.
        request._request.ocpi_partner = auth.partner  # type: ignore[attr-defined]
        return auth.partner, auth

    def authenticate_header(self, request: Request) -> str:
        return "Token"


class TokenCRequired(BasePermission):
    """Module endpoints: token C of a registered partner."""

    def has_permission(self, request: Request, view: Any) -> bool:
        auth = request.auth
        if not isinstance(auth, OcpiAuth):
            raise exceptions.NotAuthenticated("Authorization header with a credentials token required")
        if auth.kind != TOKEN_C:
            raise exceptions.NotAuthenticated("Token A may only be used on versions and credentials")
        return True


class TokenAOrCRequired(BasePermission):
    """Versions and credentials: token A (before the handshake) or token C."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, OcpiAuth):
            raise exceptions.NotAuthenticated("Authorization header with a credentials token required")
        return True
