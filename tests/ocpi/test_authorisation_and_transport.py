"""Who may call what, and the transport rules every endpoint shares (transport_and_format)."""

from __future__ import annotations

from typing import Any

import pytest

from partners.models import Partner
from partners.services import partner_issue_token_a
from tests.factories import (
    ChargingSessionFactory,
    ConnectorFactory,
    EvseFactory,
    LocationFactory,
    PartnerFactory,
)
from tests.ocpi.conftest import assert_valid_221

pytestmark = pytest.mark.django_db

MODULE_ENDPOINTS = [
    "/ocpi/{v}/locations",
    "/ocpi/{v}/locations/LOC-1",
    "/ocpi/{v}/locations/LOC-1/EVSE-1",
    "/ocpi/{v}/locations/LOC-1/EVSE-1/1",
    "/ocpi/{v}/tariffs",
    "/ocpi/{v}/sessions?date_from=2000-01-01T00:00:00Z",
    "/ocpi/{v}/cdrs",
]
REGISTRATION_ENDPOINTS = ["/ocpi/versions", "/ocpi/{v}/details", "/ocpi/{v}/credentials"]
VERSIONS = ["2.2.1", "2.3.0"]


@pytest.fixture
def location(party: Any) -> None:
    evse = EvseFactory(location=LocationFactory(party=party, location_id="LOC-1"), uid="EVSE-1")
    ConnectorFactory(evse=evse, connector_id="1")


@pytest.fixture
def token_a(partner: Partner) -> str:
    return partner_issue_token_a(partner=partner)


def _assert_401(response: Any) -> None:
    assert response.status_code == 401
    body = response.json()
    assert_valid_221(body, "error")
    assert body["status_code"] == 2000
    assert body["status_message"]
    assert body["timestamp"].endswith("Z")
    assert "data" not in body


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("endpoint", MODULE_ENDPOINTS + REGISTRATION_ENDPOINTS)
def test_it_rejects_a_request_without_a_token(ocpi_client_for, location, endpoint, version):
    _assert_401(ocpi_client_for(token=None).get(endpoint.format(v=version)))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("endpoint", MODULE_ENDPOINTS + REGISTRATION_ENDPOINTS)
def test_it_rejects_an_unknown_token(ocpi_client_for, partner, location, endpoint, version):
    _assert_401(ocpi_client_for(token="not-a-token-we-issued").get(endpoint.format(v=version)))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("endpoint", MODULE_ENDPOINTS)
def test_it_rejects_token_a_outside_versions_and_credentials(
    ocpi_client_for, token_a, location, endpoint, version
):
    _assert_401(ocpi_client_for(token=token_a).get(endpoint.format(v=version)))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("endpoint", REGISTRATION_ENDPOINTS)
def test_it_accepts_token_a_on_versions_and_credentials(ocpi_client_for, token_a, endpoint, version):
    response = ocpi_client_for(token=token_a).get(endpoint.format(v=version))
    assert response.status_code == 200
    assert response.json()["status_code"] == 1000


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("endpoint", MODULE_ENDPOINTS + REGISTRATION_ENDPOINTS)
def test_a_token_of_another_partner_never_shows_this_partners_sessions(
    ocpi_client_for, partner, other_partner, location, endpoint, version
):
    ChargingSessionFactory(partner=partner, session_id="MINE-ONLY")
    response = ocpi_client_for(other_partner).get(endpoint.format(v=version))
    assert response.status_code == 200
    assert b"MINE-ONLY" not in response.content
    if "sessions" in endpoint:
        assert response.json()["data"] == []


def test_an_unregistered_partners_token_is_rejected(ocpi_client_for, partner):
    partner.status = Partner.Status.UNREGISTERED
    partner.save()
    _assert_401(ocpi_client_for(partner).get("/ocpi/2.2.1/tariffs"))


def test_a_raw_token_is_accepted_only_from_a_partner_marked_to_send_raw_tokens(ocpi_client_for):
    marked = PartnerFactory(send_raw_token=True)
    unmarked = PartnerFactory()
    assert ocpi_client_for(marked, raw=True).get("/ocpi/2.2.1/tariffs").status_code == 200
    assert ocpi_client_for(marked).get("/ocpi/2.2.1/tariffs").status_code == 200
    _assert_401(ocpi_client_for(unmarked, raw=True).get("/ocpi/2.2.1/tariffs"))


def test_versions_and_details_validate_and_list_every_module_with_its_role(ocpi_client_for, partner):
    client = ocpi_client_for(partner)
    versions = client.get("/ocpi/versions/").json()  # a trailing slash is the same endpoint
    # The 2.2.1 schema's VersionNumber enum cannot know 2.3.0; the rest of the answer must validate.
    assert_valid_221(
        {**versions, "data": [v for v in versions["data"] if v["version"] != "2.3.0"]}, "versions.response"
    )
    assert [v["version"] for v in versions["data"]] == VERSIONS
    for entry in versions["data"]:
        details = client.get(entry["url"]).json()
        listed = {(e["identifier"], e["role"]) for e in details["data"]["endpoints"]}
        assert {
            ("credentials", "SENDER"),
            ("locations", "SENDER"),
            ("tariffs", "SENDER"),
            ("sessions", "SENDER"),
            ("cdrs", "SENDER"),
        } <= listed
        if entry["version"] == "2.2.1":
            assert_valid_221(
                {
                    **details,
                    "data": {
                        **details["data"],
                        "endpoints": [
                            e for e in details["data"]["endpoints"] if e["identifier"] != "payments"
                        ],
                    },
                },
                "version_details.response",
            )


def test_unknown_paths_and_versions_are_404_in_the_envelope(ocpi_client_for, partner):
    for path in ("/ocpi/2.2.1/nothing", "/ocpi/9.9/locations", "/ocpi/"):
        response = ocpi_client_for(partner).get(path)
        assert response.status_code == 404
        assert response.json()["status_code"] == 2000


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_a_method_a_sender_does_not_offer_is_a_405_in_the_envelope(ocpi_client_for, partner, method):
    response = getattr(ocpi_client_for(partner), method)("/ocpi/2.2.1/locations")
    assert response.status_code == 405
    assert response.json()["status_code"] == 2000
    assert_valid_221(response.json(), "error")


def test_invalid_json_is_a_400_with_2001_that_says_so(ocpi_client_for, token_a):
    response = ocpi_client_for(token=token_a).post(
        "/ocpi/2.2.1/credentials", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert_valid_221(body, "error")
    assert body["status_code"] == 2001
    assert "JSON" in body["status_message"]


def test_a_json_body_is_read_whatever_its_content_type(ocpi_client_for, token_a):
    response = ocpi_client_for(token=token_a).post(
        "/ocpi/2.2.1/credentials", '{"url": "https://x.example/versions"}', content_type="text/plain"
    )
    assert response.status_code == 200
    assert "token must be" in response.json()["status_message"]


@pytest.mark.parametrize(
    ("credentials", "named"),
    [
        ({"url": "https://x.example/versions", "roles": []}, "token"),
        ({"token": "t", "url": "ftp://x", "roles": []}, "url"),
        ({"token": "t", "url": "https://x.example/versions", "roles": []}, "roles"),
        (
            {
                "token": "t",
                "url": "https://x.example/versions",
                "roles": [
                    {
                        "role": "DRIVER",
                        "country_code": "NL",
                        "party_id": "ABC",
                        "business_details": {"name": "X"},
                    }
                ],
            },
            "roles[0].role",
        ),
        (
            {
                "token": "t",
                "url": "https://x.example/versions",
                "roles": [{"role": "PTP", "country_code": "NL", "party_id": "ABC", "business_details": {}}],
            },
            "business_details",
        ),
    ],
)
def test_malformed_credentials_get_http_200_with_2001_naming_the_field(
    ocpi_client_for, partner, token_a, credentials, named
):
    response = ocpi_client_for(token=token_a).post(
        "/ocpi/2.3.0/credentials", credentials, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["status_code"] == 2001
    assert named in response.json()["status_message"]
    partner.refresh_from_db()
    assert partner.status == Partner.Status.REGISTERED  # nothing half-written
    assert partner.token_a_hash  # token A still usable


def test_registration_answers_3001_when_the_partners_api_cannot_be_used(ocpi_client_for, partner, token_a):
    credentials = {
        "token": "their-token-b",
        # A closed port on loopback: the call back to the partner fails at once.
        "url": "http://127.0.0.1:9/ocpi/versions",
        "roles": [
            {"role": "PTP", "country_code": "NL", "party_id": "PTR", "business_details": {"name": "Payter"}}
        ],
    }
    response = ocpi_client_for(token=token_a).post(
        "/ocpi/2.2.1/credentials", credentials, content_type="application/json"
    )
    body = response.json()
    assert body["status_code"] == 3001
    assert "127.0.0.1:9" in body["status_message"]
    partner.refresh_from_db()
    assert partner.token_b != "their-token-b"


def test_post_credentials_is_405_once_registered_and_put_and_delete_are_405_before(
    ocpi_client_for, partner, token_a
):
    body = {"token": "x", "url": "https://x.example/versions", "roles": []}
    registered = ocpi_client_for(partner)
    assert (
        registered.post("/ocpi/2.2.1/credentials", body, content_type="application/json").status_code == 405
    )
    not_yet = ocpi_client_for(token=token_a)
    assert not_yet.put("/ocpi/2.2.1/credentials", body, content_type="application/json").status_code == 405
    assert not_yet.delete("/ocpi/2.2.1/credentials").status_code == 405


def test_delete_credentials_unregisters_the_partner(ocpi_client_for, partner):
    client = ocpi_client_for(partner)
    response = client.delete("/ocpi/2.3.0/credentials")
    assert response.status_code == 200
    assert response.json()["status_code"] == 1000
    partner.refresh_from_db()
    assert partner.status == Partner.Status.UNREGISTERED
    _assert_401(client.get("/ocpi/2.3.0/credentials"))


def test_get_credentials_validates_and_returns_the_presented_token(ocpi_client_for, partner, party):
    body = ocpi_client_for(partner).get("/ocpi/2.2.1/credentials").json()
    assert_valid_221(body, "credentials.response")
    assert body["data"]["token"] == partner.plain_token_c
    assert body["data"]["roles"] == [
        {"role": "CPO", "business_details": {"name": "Example CPO"}, "party_id": "CPO", "country_code": "NL"}
    ]


def test_230_versions_details_and_credentials_match_the_230_definitions(ocpi_client_for, partner, party):
    from tests.ocpi.spec_230 import assert_valid_230

    client = ocpi_client_for(partner)
    for entry in client.get("/ocpi/versions").json()["data"]:
        assert_valid_230(entry, "version_information_endpoint", "version_information_endpoint_version_class")
    details = client.get("/ocpi/2.3.0/details").json()["data"]
    assert_valid_230(details, "version_information_endpoint", "version_information_get_details_endpoint_data")
    credentials = client.get("/ocpi/2.3.0/credentials").json()["data"]
    assert_valid_230(credentials, "credentials", "credentials_credentials_object")
