"""Versions, version details, envelope, headers and authorisation, over HTTP to the real process."""

from __future__ import annotations

import base64

import httpx
import pytest

from ptp_simulator.ocpi import encode_token
from ptp_simulator.process import SimulatorProcess
from tests.ptp_simulator.conftest import STATIC_TOKEN, TOKEN_A


def test_versions_lists_both_versions_in_the_envelope(ocpi: httpx.Client, sim: SimulatorProcess) -> None:
    response = ocpi.get("/ocpi/versions")

    assert response.status_code == 200
    body = response.json()
    assert body["status_code"] == 1000
    assert body["timestamp"].endswith("Z")
    assert body["data"] == [
        {"version": "2.3.0", "url": f"{sim.base_url}/ocpi/2.3.0"},
        {"version": "2.2.1", "url": f"{sim.base_url}/ocpi/2.2.1"},
    ]


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_version_details_list_the_ptp_endpoints_with_roles(ocpi: httpx.Client, version: str) -> None:
    data = ocpi.get(f"/ocpi/{version}").json()["data"]

    assert data["version"] == version
    roles = {(e["identifier"], e["role"]) for e in data["endpoints"]}
    assert roles == {
        ("credentials", "SENDER"),
        ("locations", "RECEIVER"),
        ("tariffs", "RECEIVER"),
        ("sessions", "RECEIVER"),
        ("cdrs", "RECEIVER"),
        ("commands", "SENDER"),
        ("payments", "SENDER"),
    }
    assert all(e["url"].split("/ocpi/")[1].startswith(version) for e in data["endpoints"])


def test_it_echoes_request_and_correlation_ids(ocpi: httpx.Client) -> None:
    response = ocpi.get("/ocpi/versions", headers={"X-Request-ID": "req-1", "X-Correlation-ID": "cor-1"})

    assert response.headers["X-Request-ID"] == "req-1"
    assert response.headers["X-Correlation-ID"] == "cor-1"


def test_it_makes_up_ids_when_the_request_has_none(ocpi: httpx.Client) -> None:
    response = ocpi.get("/ocpi/versions")

    assert response.headers["X-Request-ID"]
    assert response.headers["X-Correlation-ID"]


def test_an_unknown_version_is_refused(ocpi: httpx.Client) -> None:
    response = ocpi.get("/ocpi/2.1.1")

    assert response.status_code == 404
    assert response.json()["status_code"] == 3002


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": encode_token("wrong-token")},
        {"Authorization": "Bearer " + STATIC_TOKEN},
    ],
    ids=["missing", "wrong", "other-scheme"],
)
def test_it_rejects_a_missing_or_wrong_token_with_401_in_the_envelope(
    sim: SimulatorProcess, headers: dict[str, str]
) -> None:
    response = httpx.get(sim.versions_url, headers=headers, timeout=5)

    assert response.status_code == 401
    body = response.json()
    assert body["status_code"] == 2000
    assert "data" not in body
    assert body["timestamp"]


def test_it_accepts_a_raw_unencoded_token(sim: SimulatorProcess) -> None:
    response = httpx.get(sim.versions_url, headers={"Authorization": "Token " + STATIC_TOKEN}, timeout=5)

    assert response.status_code == 200


def test_it_accepts_a_base64_token_with_the_specs_trailing_newline(sim: SimulatorProcess) -> None:
    encoded = base64.b64encode((STATIC_TOKEN + "\n").encode()).decode()

    response = httpx.get(sim.versions_url, headers={"Authorization": "Token " + encoded}, timeout=5)

    assert response.status_code == 200


def test_token_a_opens_versions_and_credentials_only(sim: SimulatorProcess) -> None:
    headers = {"Authorization": encode_token(TOKEN_A)}

    assert httpx.get(sim.versions_url, headers=headers, timeout=5).status_code == 200
    assert httpx.get(f"{sim.base_url}/ocpi/2.2.1/credentials", headers=headers, timeout=5).status_code == 200
    denied = httpx.get(f"{sim.base_url}/ocpi/2.2.1/payments/terminals", headers=headers, timeout=5)
    assert denied.status_code == 401
    assert denied.json()["status_code"] == 2000


def test_an_unknown_module_is_404_in_the_envelope(ocpi: httpx.Client) -> None:
    response = ocpi.get("/ocpi/2.2.1/hubclientinfo")

    assert response.status_code == 404
    assert response.json()["status_code"] == 2000


def test_invalid_json_is_400(ocpi: httpx.Client) -> None:
    response = ocpi.put(
        "/ocpi/2.2.1/tariffs/NL/CPO/T1", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["status_code"] == 2001
