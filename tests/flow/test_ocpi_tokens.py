"""The Tokens receiver over HTTP (mod_tokens): PUT, PATCH and GET by owner, uid and type."""

from __future__ import annotations

from typing import Any

import pytest

from partners.models import Partner, PartnerRole, Token
from tests.factories import PartnerFactory, PartnerRoleFactory
from tests.flow.conftest import ocpi_client, send_json

pytestmark = pytest.mark.django_db

URL = "/ocpi/{version}/tokens/NL/PTR/{uid}"


@pytest.fixture
def partner(db: None) -> Partner:
    partner = PartnerFactory(name="Payter")
    PartnerRoleFactory(partner=partner, role=PartnerRole.Role.PTP, country_code="NL", party_id="PTR")
    return partner


def token_body(uid: str = "RFID0001", **changes: Any) -> dict[str, Any]:
    body = {
        "country_code": "NL",
        "party_id": "PTR",
        "uid": uid,
        "type": "RFID",
        "contract_id": "NL-PTR-C00001-1",
        "issuer": "Payter",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2026-03-01T10:00:00Z",
    }
    body.update(changes)
    return body


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_a_token_put_can_be_read_back(partner: Partner, version: str) -> None:
    client = ocpi_client(partner)

    put = send_json(client, "put", URL.format(version=version, uid="RFID0001"), token_body())
    got = client.get(URL.format(version=version, uid="RFID0001"))

    assert put.status_code == 201
    assert put.json()["status_code"] == 1000
    data = got.json()["data"]
    assert data["uid"] == "RFID0001"
    assert data["whitelist"] == "ALLOWED"
    assert data["last_updated"] == "2026-03-01T10:00:00Z"


def test_the_type_parameter_tells_tokens_with_the_same_uid_apart(partner: Partner) -> None:
    client = ocpi_client(partner)
    send_json(client, "put", URL.format(version="2.2.1", uid="U1"), token_body("U1"))
    send_json(
        client,
        "put",
        URL.format(version="2.2.1", uid="U1") + "?type=APP_USER",
        token_body("U1", type="APP_USER", whitelist="NEVER"),
    )

    assert Token.objects.count() == 2
    app = client.get(URL.format(version="2.2.1", uid="U1") + "?type=APP_USER").json()["data"]
    assert app["whitelist"] == "NEVER"


def test_a_patch_changes_only_the_given_fields(partner: Partner) -> None:
    client = ocpi_client(partner)
    send_json(client, "put", URL.format(version="2.2.1", uid="RFID0001"), token_body())

    response = send_json(
        client,
        "patch",
        URL.format(version="2.2.1", uid="RFID0001"),
        {"valid": False, "last_updated": "2026-03-02T10:00:00Z"},
    )

    assert response.json()["status_code"] == 1000
    token = Token.objects.get()
    assert token.valid is False
    assert token.whitelist == "ALLOWED"


def test_a_patch_without_last_updated_gets_2001_and_changes_nothing(partner: Partner) -> None:
    client = ocpi_client(partner)
    send_json(client, "put", URL.format(version="2.2.1", uid="RFID0001"), token_body())

    response = send_json(client, "patch", URL.format(version="2.2.1", uid="RFID0001"), {"valid": False})

    assert response.status_code == 200
    assert response.json()["status_code"] == 2001
    assert Token.objects.get().valid is True


def test_a_patch_of_an_unknown_token_is_404(partner: Partner) -> None:
    response = send_json(
        ocpi_client(partner),
        "patch",
        URL.format(version="2.2.1", uid="NOPE"),
        {"valid": False, "last_updated": "2026-03-02T10:00:00Z"},
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"valid": "yes please"}, "valid"),
        ({"whitelist": "SOMETIMES"}, "whitelist"),
        ({"issuer": None}, "issuer"),
        ({"uid": "OTHER"}, "uid"),
    ],
)
def test_a_bad_put_gets_2001_and_stores_nothing(partner: Partner, change: dict[str, Any], field: str) -> None:
    body = token_body(**change)

    response = send_json(ocpi_client(partner), "put", URL.format(version="2.2.1", uid="RFID0001"), body)

    assert response.status_code == 200
    assert response.json()["status_code"] == 2001
    assert field in response.json()["status_message"]
    assert not Token.objects.exists()


def test_a_partner_cannot_write_or_read_tokens_of_another_party(partner: Partner) -> None:
    other = PartnerFactory(name="Other eMSP")
    PartnerRoleFactory(partner=other, role=PartnerRole.Role.EMSP, country_code="DE", party_id="EMS")
    send_json(ocpi_client(partner), "put", URL.format(version="2.2.1", uid="RFID0001"), token_body())

    put = send_json(ocpi_client(other), "put", URL.format(version="2.2.1", uid="RFID0001"), token_body())
    get = ocpi_client(other).get(URL.format(version="2.2.1", uid="RFID0001"))

    assert put.status_code == 404
    assert get.status_code == 404
    assert Token.objects.get().partner == partner


def test_an_unknown_token_type_gets_2001(partner: Partner) -> None:
    response = ocpi_client(partner).get(URL.format(version="2.2.1", uid="RFID0001") + "?type=WAND")

    assert response.json()["status_code"] == 2001


def test_tokens_need_a_valid_credentials_token(partner: Partner) -> None:
    response = send_json(ocpi_client(), "put", URL.format(version="2.2.1", uid="RFID0001"), token_body())

    assert response.status_code == 401
    assert not Token.objects.exists()
