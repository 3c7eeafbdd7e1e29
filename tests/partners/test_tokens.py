"""Token writes (partners/tokens.py): the Tokens module's PUT and PATCH go through them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from partners.models import Token
from partners.selectors import token_of_partner
from partners.tokens import TokenKey, TokenOfAnotherPartner, token_replace, token_update
from tests.factories import PartnerFactory, TokenFactory

pytestmark = pytest.mark.django_db

KEY = TokenKey(country_code="NL", party_id="PTR", uid="CARD-1", type="RFID")
THEIRS = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VALUES = {
    "contract_id": "NL-PTR-C1",
    "issuer": "Payter",
    "valid": True,
    "whitelist": "ALLOWED",
    "visual_number": None,
    "energy_contract": None,
}


def test_a_replace_creates_then_replaces_and_keeps_the_partners_last_updated() -> None:
    partner = PartnerFactory()
    assert token_replace(partner=partner, key=KEY, values=VALUES, last_updated=THEIRS) is True
    assert (
        token_replace(
            partner=partner,
            key=KEY,
            values={**VALUES, "valid": False, "visual_number": "1234"},
            last_updated=THEIRS,
        )
        is False
    )
    token = Token.objects.get()
    assert (token.partner, token.valid, token.visual_number, token.group_id) == (partner, False, "1234", "")
    assert token.last_updated == THEIRS


def test_a_token_of_another_partner_is_refused_and_left_as_it_was() -> None:
    owner, intruder = PartnerFactory(), PartnerFactory()
    TokenFactory(partner=owner, uid=KEY.uid, type=KEY.type, contract_id="ORIGINAL")
    with pytest.raises(TokenOfAnotherPartner):
        token_replace(partner=intruder, key=KEY, values=VALUES, last_updated=THEIRS)
    token = Token.objects.get()
    assert (token.partner, token.contract_id) == (owner, "ORIGINAL")


def test_an_update_changes_only_the_given_fields_of_the_partners_own_token() -> None:
    owner, other = PartnerFactory(), PartnerFactory()
    TokenFactory(partner=owner, uid=KEY.uid, type=KEY.type, contract_id="KEEP", valid=True)
    assert token_update(partner=other, key=KEY, values={"valid": False}, last_updated=THEIRS) is None
    updated = token_update(partner=owner, key=KEY, values={"valid": False}, last_updated=THEIRS)
    assert updated is not None
    token = token_of_partner(
        partner=owner, country_code="NL", party_id="PTR", uid=KEY.uid, token_type=KEY.type
    )
    assert token is not None
    assert (token.valid, token.contract_id, token.last_updated) == (False, "KEEP", THEIRS)
    assert (
        token_of_partner(partner=other, country_code="NL", party_id="PTR", uid=KEY.uid, token_type=KEY.type)
        is None
    )
