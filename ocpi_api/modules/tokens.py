"""Tokens module, Receiver interface (mod_tokens, both versions).

``GET/PUT/PATCH {tokens_endpoint_url}/{country_code}/{party_id}/{token_uid}[?type={type}]``:
the token is identified by owner, uid and type (RFID when ``type`` is absent). A partner may only
read and write tokens of the parties it plays (its credentials roles).
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from ocpi_api.transport.envelope import ocpi_response
from ocpi_api.transport.exceptions import InvalidParameters, UnknownObject
from ocpi_api.transport.fields import CiStringField, OcpiDateTimeField
from ocpi_api.transport.views import OcpiView
from partners.models import Token
from partners.selectors import token_of_partner
from partners.tokens import TokenKey, TokenOfAnotherPartner, token_replace, token_update


class EnergyContractSerializer(serializers.Serializer):
    supplier_name = CiStringField(max_length=64)
    contract_id = CiStringField(max_length=64, required=False)


class TokenSerializer(serializers.Serializer):
    """The Token object (mod_tokens, Token object); PATCH makes every field optional."""

    country_code = serializers.RegexField(r"^[A-Z]{2}$")
    party_id = serializers.RegexField(r"^[A-Z0-9]{3}$")
    uid = CiStringField(max_length=36, min_length=1)
    type = serializers.ChoiceField(choices=Token.TokenType.values)
    contract_id = CiStringField(max_length=36, min_length=1)
    visual_number = CiStringField(max_length=64, required=False, allow_blank=True)
    issuer = CiStringField(max_length=64)
    group_id = CiStringField(max_length=36, required=False, allow_blank=True)
    valid = serializers.BooleanField()
    whitelist = serializers.ChoiceField(choices=Token.Whitelist.values)
    language = serializers.RegexField(r"^[a-z]{2}$", required=False, allow_blank=True)
    default_profile_type = serializers.ChoiceField(
        choices=Token.ProfileType.values, required=False, allow_blank=True
    )
    energy_contract = EnergyContractSerializer(required=False, allow_null=True)
    last_updated = OcpiDateTimeField()


def serialize_token(token: Token) -> dict[str, Any]:
    data: dict[str, Any] = {
        "country_code": token.country_code,
        "party_id": token.party_id,
        "uid": token.uid,
        "type": token.type,
        "contract_id": token.contract_id,
    }
    if token.visual_number:
        data["visual_number"] = token.visual_number
    data["issuer"] = token.issuer
    if token.group_id:
        data["group_id"] = token.group_id
    data["valid"] = token.valid
    data["whitelist"] = token.whitelist
    for field in ("language", "default_profile_type"):
        if getattr(token, field):
            data[field] = getattr(token, field)
    if token.energy_contract:
        data["energy_contract"] = token.energy_contract
    data["last_updated"] = token.last_updated
    return data


class TokenView(OcpiView):
    def _identity(self, request: Request, country_code: str, party_id: str) -> str:
        owned = {(role.country_code, role.party_id) for role in self.partner.roles.all()}
        if (country_code, party_id) not in owned:
            # Tokens are Client Owned Objects: a country_code/party_id that is not one of the
            # partner's roles may be answered 404 (transport_and_format, "Client Owned Object Push").
            raise UnknownObject(f"No token of {country_code}*{party_id} is known for this partner.")
        token_type = request.query_params.get("type", Token.TokenType.RFID)
        if token_type not in Token.TokenType.values:
            raise InvalidParameters(f"type: {token_type!r} is not a TokenType.")
        return token_type

    def get(self, request: Request, version: str, country_code: str, party_id: str, uid: str) -> Response:
        token_type = self._identity(request, country_code, party_id)
        token = token_of_partner(
            partner=self.partner, country_code=country_code, party_id=party_id, uid=uid, token_type=token_type
        )
        if token is None:
            raise UnknownObject(f"Unknown token {uid!r} of type {token_type}.")
        return ocpi_response(serialize_token(token))

    def put(self, request: Request, version: str, country_code: str, party_id: str, uid: str) -> Response:
        token_type = self._identity(request, country_code, party_id)
        serializer = TokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        mismatched = [
            name
            for name, expected in (
                ("country_code", country_code),
                ("party_id", party_id),
                ("uid", uid),
                ("type", token_type),
            )
            if data[name] != expected
        ]
        if mismatched:
            raise InvalidParameters(f"The body disagrees with the URL on: {', '.join(mismatched)}.")
        key = TokenKey(country_code=country_code, party_id=party_id, uid=uid, type=token_type)
        try:
            created = token_replace(
                partner=self.partner, key=key, values=data, last_updated=data["last_updated"]
            )
        except TokenOfAnotherPartner as error:
            raise InvalidParameters(str(error)) from error
        # status_codes: 201 when the object was created, 200 when it was updated.
        return ocpi_response(http_status=201 if created else 200)

    def patch(self, request: Request, version: str, country_code: str, party_id: str, uid: str) -> Response:
        token_type = self._identity(request, country_code, party_id)
        serializer = TokenSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "last_updated" not in data:
            # transport_and_format, "PATCH": every PATCH carries last_updated (status_codes 2001 example).
            raise InvalidParameters("last_updated: a PATCH must contain last_updated.")
        for name, expected in (("country_code", country_code), ("party_id", party_id), ("uid", uid)):
            if name in data and data[name] != expected:
                raise InvalidParameters(f"{name}: cannot be changed by PATCH.")
        if "type" in data and data["type"] != token_type:
            raise InvalidParameters("type: cannot be changed by PATCH.")
        key = TokenKey(country_code=country_code, party_id=party_id, uid=uid, type=token_type)
        updated = token_update(partner=self.partner, key=key, values=data, last_updated=data["last_updated"])
        if updated is None:
            raise UnknownObject(f"Unknown token {uid!r} of type {token_type}.")
        return ocpi_response()


class TokensBaseView(OcpiView):
    """The module URL listed in version details."""


urlpatterns = [
    path("tokens", TokensBaseView.as_view(), name="tokens"),
    path("tokens/<str:country_code>/<str:party_id>/<str:uid>", TokenView.as_view(), name="token"),
]
