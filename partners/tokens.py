"""Writes of the tokens partners send us (mod_tokens, Receiver interface); reads: partners.selectors.

A token is identified by its owner (country_code, party_id), uid and type, and belongs to the
partner that sent it: no other partner may overwrite it. The OCPI module
(``ocpi_api/modules/tokens.py``) checks the request and calls these functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from cpo_portal.db import insert_or_lock_winner
from partners.models import Partner, Token

# The fields a PUT replaces and a PATCH may change; the identity (owner, uid, type) never changes.
TOKEN_MUTABLE_FIELDS = (
    "contract_id",
    "visual_number",
    "issuer",
    "group_id",
    "valid",
    "whitelist",
    "language",
    "default_profile_type",
    "energy_contract",
)


class TokenOfAnotherPartner(ValueError):
    """The token exists and belongs to another partner."""


@dataclass(frozen=True)
class TokenKey:
    """What identifies a token (mod_tokens, GET/PUT/PATCH URL: country_code, party_id, uid, type)."""

    country_code: str
    party_id: str
    uid: str
    type: str

    def lookup(self) -> dict[str, str]:
        return {
            "country_code": self.country_code,
            "party_id": self.party_id,
            "uid": self.uid,
            "type": self.type,
        }


def _set_fields(token: Token, values: Mapping[str, Any], names: tuple[str, ...]) -> None:
    for field in names:
        value = values.get(field)
        # Optional strings are stored blank when absent; energy_contract is a JSON object or null.
        setattr(token, field, value if value is not None or field == "energy_contract" else "")


@transaction.atomic
def token_replace(
    *, partner: Partner, key: TokenKey, values: Mapping[str, Any], last_updated: datetime
) -> bool:
    """Store the whole token (PUT); True when it was created, False when replaced.

    Raises ``TokenOfAnotherPartner`` (nothing written) when another partner holds this token.
    """
    same_token = Token.objects.filter(**key.lookup())
    # Locked: two PUTs of the same token replace it one after the other, not field by field.
    token = same_token.select_for_update().first()
    created = token is None
    if token is None:
        token = Token(partner=partner, **key.lookup())
        _set_fields(token, values, TOKEN_MUTABLE_FIELDS)
        new_token = token
        winner = insert_or_lock_winner(insert=lambda: new_token.save(touch=False), existing=same_token)
        if winner is not None:
            # A concurrent first PUT of the same token won: this one is an update of it.
            token, created = winner, False
    if not created:
        if token.partner_id != partner.pk:
            raise TokenOfAnotherPartner("This token belongs to another partner.")
        _set_fields(token, values, TOKEN_MUTABLE_FIELDS)
        token.save(touch=False)
    # The partner's last_updated, not the time we stored it (mod_tokens, Token object).
    Token.objects.filter(pk=token.pk).update(last_updated=last_updated)
    return created


@transaction.atomic
def token_update(
    *, partner: Partner, key: TokenKey, values: Mapping[str, Any], last_updated: datetime
) -> Token | None:
    """Change the given fields of the partner's token (PATCH); None when it has no such token."""
    # Locked: a PATCH and a PUT of the same token do not interleave their fields.
    token = Token.objects.select_for_update().filter(partner=partner, **key.lookup()).first()
    if token is None:
        return None
    _set_fields(token, values, tuple(field for field in TOKEN_MUTABLE_FIELDS if field in values))
    token.save(touch=False)
    Token.objects.filter(pk=token.pk).update(last_updated=last_updated)
    return token
