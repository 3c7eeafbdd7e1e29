"""The Commands receiver over HTTP: CommandResponses, OCPI errors, and nothing changed on bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sessions.models import ChargingSession, ReceivedCommand
from tests.factories import PartnerFactory
from tests.flow.conftest import ResultReceiver, Site, ocpi_client, post_json, start_body

pytestmark = pytest.mark.django_db

URL = "/ocpi/{version}/commands/{command}"


def nothing_changed() -> bool:
    return not ChargingSession.objects.exists() and not ReceivedCommand.objects.exists()


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_start_session_is_answered_with_an_accepted_command_response(
    site: Site, result_receiver: ResultReceiver, version: str
) -> None:
    response = post_json(
        ocpi_client(site.partner),
        URL.format(version=version, command="START_SESSION"),
        start_body(site, result_receiver.url("START_SESSION", "h1")),
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status_code"] == 1000
    assert body["data"] == {"result": "ACCEPTED", "timeout": 180}
    session = ChargingSession.objects.get()
    assert session.authorization_reference == "PAYTER-AUTH-0001"


def test_a_replayed_start_session_gets_the_same_answer_and_no_second_session(
    site: Site, result_receiver: ResultReceiver
) -> None:
    client = ocpi_client(site.partner)
    body = start_body(site, result_receiver.url("START_SESSION", "h1"))
    url = URL.format(version="2.2.1", command="START_SESSION")

    first = post_json(client, url, body).json()["data"]
    again = post_json(client, url, body).json()["data"]

    assert first == again
    assert ChargingSession.objects.count() == 1


def test_an_unknown_location_gets_2003_and_changes_nothing(
    site: Site, result_receiver: ResultReceiver
) -> None:
    response = post_json(
        ocpi_client(site.partner),
        URL.format(version="2.3.0", command="START_SESSION"),
        start_body(site, result_receiver.url("START_SESSION", "h1"), location_id="UNKNOWN"),
    )

    assert response.status_code == 200
    assert response.json()["status_code"] == 2003
    assert "UNKNOWN" in response.json()["status_message"]
    assert nothing_changed()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"token": None}, "token"),
        ({"location_id": 42}, "location_id"),
        ({"response_url": "not a url"}, "response_url"),
        ({"token": {"uid": "X"}}, "token.country_code"),
        ({"evse_uid": "E" * 40}, "evse_uid"),
    ],
)
def test_missing_or_wrong_fields_get_2001_naming_the_field(
    site: Site, result_receiver: ResultReceiver, change: dict[str, Any], field: str
) -> None:
    body = start_body(site, result_receiver.url("START_SESSION", "h1"))
    body.update(change)
    body = {key: value for key, value in body.items() if value is not None}

    response = post_json(
        ocpi_client(site.partner), URL.format(version="2.2.1", command="START_SESSION"), body
    )

    assert response.status_code == 200
    assert response.json()["status_code"] == 2001
    assert field in response.json()["status_message"]
    assert nothing_changed()


def test_a_body_that_is_not_json_gets_2001(site: Site) -> None:
    response = ocpi_client(site.partner).post(
        URL.format(version="2.2.1", command="START_SESSION"), data="{nope", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["status_code"] == 2001
    assert nothing_changed()


def test_connector_id_without_evse_uid_gets_2001(site: Site, result_receiver: ResultReceiver) -> None:
    body = start_body(site, result_receiver.url("START_SESSION", "h1"))
    del body["evse_uid"]

    response = post_json(
        ocpi_client(site.partner), URL.format(version="2.2.1", command="START_SESSION"), body
    )

    assert response.json()["status_code"] == 2001
    assert nothing_changed()


def test_a_token_of_another_party_is_rejected(site: Site, result_receiver: ResultReceiver) -> None:
    body = start_body(site, result_receiver.url("START_SESSION", "h1"))
    body["token"]["party_id"] = "XYZ"

    response = post_json(
        ocpi_client(site.partner), URL.format(version="2.2.1", command="START_SESSION"), body
    )

    assert response.json()["data"]["result"] == "REJECTED"
    assert not ChargingSession.objects.exists()


def test_a_missing_or_unknown_token_gets_401(site: Site, result_receiver: ResultReceiver) -> None:
    body = start_body(site, result_receiver.url("START_SESSION", "h1"))
    url = URL.format(version="2.2.1", command="START_SESSION")

    assert post_json(ocpi_client(), url, body).status_code == 401
    assert post_json(ocpi_client(token="not-a-token"), url, body).status_code == 401
    assert nothing_changed()


def test_stop_session_of_another_partners_session_is_unknown(
    site: Site, result_receiver: ResultReceiver
) -> None:
    post_json(
        ocpi_client(site.partner),
        URL.format(version="2.2.1", command="START_SESSION"),
        start_body(site, result_receiver.url("START_SESSION", "h1")),
    )
    session = ChargingSession.objects.get()
    stranger = PartnerFactory(name="Stranger")

    response = post_json(
        ocpi_client(stranger),
        URL.format(version="2.2.1", command="STOP_SESSION"),
        {"response_url": result_receiver.url("STOP_SESSION", "s1"), "session_id": session.session_id},
    )

    assert response.json()["data"]["result"] == "UNKNOWN_SESSION"
    session.refresh_from_db()
    assert session.stop_requested_at is None


@pytest.mark.parametrize("command", ["RESERVE_NOW", "CANCEL_RESERVATION", "SOMETHING_NEW"])
def test_reservations_and_unknown_commands_are_not_supported(
    site: Site, result_receiver: ResultReceiver, command: str
) -> None:
    body: dict[str, Any] = {"response_url": result_receiver.url(command, "r1"), "reservation_id": "R1"}
    if command == "RESERVE_NOW":
        body |= {
            "token": start_body(site, "http://x")["token"],
            "expiry_date": "2030-01-01T00:00:00Z",
            "location_id": site.location_id,
        }

    response = post_json(ocpi_client(site.partner), URL.format(version="2.3.0", command=command), body)

    assert response.status_code == 200
    assert response.json()["data"]["result"] == "NOT_SUPPORTED"
    assert not ChargingSession.objects.exists()


def test_get_on_a_command_is_not_allowed(site: Site) -> None:
    response = ocpi_client(site.partner).get(URL.format(version="2.2.1", command="START_SESSION"))

    assert response.status_code == 405
    assert json.loads(response.content)["status_code"] == 2000


def test_the_commands_endpoint_is_listed_in_version_details(site: Site) -> None:
    response = ocpi_client(site.partner).get("/ocpi/2.2.1/details")

    endpoints = {(e["identifier"], e["role"]): e["url"] for e in response.json()["data"]["endpoints"]}
    assert endpoints[("commands", "RECEIVER")].endswith("/ocpi/2.2.1/commands/")
    assert ("tokens", "RECEIVER") in endpoints
    assert ("payments", "RECEIVER") in endpoints


def test_unlock_connector_at_an_unknown_location_gets_2003(
    site: Site, result_receiver: ResultReceiver
) -> None:
    response = post_json(
        ocpi_client(site.partner),
        URL.format(version="2.3.0", command="UNLOCK_CONNECTOR"),
        {
            "response_url": result_receiver.url("UNLOCK_CONNECTOR", "u1"),
            "location_id": "NOWHERE",
            "evse_uid": site.evse.uid,
            "connector_id": "1",
        },
    )

    assert response.status_code == 200
    assert response.json()["status_code"] == 2003
    assert not ReceivedCommand.objects.exists()


def test_stop_session_without_a_session_id_gets_2001(site: Site, result_receiver: ResultReceiver) -> None:
    response = post_json(
        ocpi_client(site.partner),
        URL.format(version="2.2.1", command="STOP_SESSION"),
        {"response_url": result_receiver.url("STOP_SESSION", "s1")},
    )

    assert response.status_code == 200
    assert response.json()["status_code"] == 2001
    assert "session_id" in response.json()["status_message"]
    assert not ReceivedCommand.objects.exists()
