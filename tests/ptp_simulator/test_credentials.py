"""The credentials handshake in both directions (credentials.asciidoc, 2.2.1 and 2.3.0)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ptp_simulator.ocpi import encode_token
from ptp_simulator.process import SimulatorError, SimulatorProcess
from tests.ptp_simulator.conftest import TOKEN_A
from tests.ptp_simulator.fake_cpo import FakeCpo

CPO_ROLES = [
    {"role": "CPO", "country_code": "NL", "party_id": "CPO", "business_details": {"name": "Fake CPO"}}
]


def _get(url: str, token: str) -> httpx.Response:
    return httpx.get(url, headers={"Authorization": encode_token(token)}, timeout=5)


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_it_registers_with_a_cpo_as_credentials_sender(
    sim: SimulatorProcess, fake_cpo: FakeCpo, version: str
) -> None:
    result = sim.control.action(
        "register", versions_url=fake_cpo.versions_url, token=fake_cpo.token_a, version=version
    )

    peer = result["peer"]
    assert peer["version"] == version
    assert peer["token"] == "cpo-token-c"
    assert peer["registered_by"] == "us"
    assert peer["roles"] == CPO_ROLES
    # The CPO called us back with token B during the POST, and B now opens every module.
    assert fake_cpo.fetched_ptp_versions["status_code"] == 1000
    assert fake_cpo.ptp_token == peer["our_token"]
    assert _get(f"{sim.base_url}/ocpi/{version}/payments/terminals", fake_cpo.ptp_token).status_code == 200
    posted = next(r for r in fake_cpo.received if r["method"] == "POST")
    assert posted["body"]["url"] == sim.versions_url
    assert posted["body"]["roles"] == [
        {
            "role": "PTP",
            "party_id": "PTR",
            "country_code": "NL",
            "business_details": {"name": "PTP Simulator"},
        }
    ]


def test_it_picks_the_highest_mutual_version_when_none_is_asked(
    sim: SimulatorProcess, fake_cpo: FakeCpo
) -> None:
    peer = sim.control.action("register", versions_url=fake_cpo.versions_url, token=fake_cpo.token_a)["peer"]

    assert peer["version"] == "2.3.0"


def test_a_failed_registration_is_reported(sim: SimulatorProcess, fake_cpo: FakeCpo) -> None:
    with pytest.raises(SimulatorError, match="HTTP 502"):
        sim.control.action("register", versions_url=fake_cpo.versions_url, token="not-the-token-a")

    assert sim.control.state()["credentials"]["peer"] is None


def test_update_rotates_tokens_and_unregister_forgets_the_cpo(
    sim: SimulatorProcess, fake_cpo: FakeCpo
) -> None:
    first = sim.control.action("register", versions_url=fake_cpo.versions_url, token=fake_cpo.token_a)["peer"]

    second = sim.control.action("update-credentials")["peer"]

    assert second["token"] == "cpo-token-c-rotated"
    assert second["our_token"] != first["our_token"]
    assert _get(sim.versions_url, first["our_token"]).status_code == 401
    assert _get(sim.versions_url, second["our_token"]).status_code == 200
    assert [r["method"] for r in fake_cpo.received if r["path"].endswith("/credentials")] == ["POST", "PUT"]

    sim.control.action("unregister")

    assert sim.control.state()["credentials"]["peer"] is None
    assert _get(sim.versions_url, second["our_token"]).status_code == 401
    assert fake_cpo.received[-1]["method"] == "DELETE"


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_it_accepts_a_registration_from_a_cpo(sim: SimulatorProcess, fake_cpo: FakeCpo, version: str) -> None:
    credentials_url = f"{sim.base_url}/ocpi/{version}/credentials"
    body = {"token": fake_cpo.token_c, "url": fake_cpo.versions_url, "roles": CPO_ROLES}

    response = httpx.post(
        credentials_url, json=body, headers={"Authorization": encode_token(TOKEN_A)}, timeout=10
    )

    data = response.json()["data"]
    assert response.json()["status_code"] == 1000
    assert data["url"] == sim.versions_url
    assert data["roles"][0]["role"] == "PTP"
    assert data["token"] not in (TOKEN_A, fake_cpo.token_c)
    # We fetched the CPO's versions and details with the token it gave us.
    fetched = [r["path"] for r in fake_cpo.received]
    assert fetched == ["/cpo/versions", f"/cpo/{version}"]
    peer = sim.control.state()["credentials"]["peer"]
    assert (peer["registered_by"], peer["version"], peer["token"]) == ("them", version, fake_cpo.token_c)
    assert _get(f"{sim.base_url}/ocpi/{version}/payments/terminals", data["token"]).status_code == 200


def test_a_second_post_is_405_and_put_rotates_our_token(sim: SimulatorProcess, fake_cpo: FakeCpo) -> None:
    url = f"{sim.base_url}/ocpi/2.2.1/credentials"
    body = {"token": fake_cpo.token_c, "url": fake_cpo.versions_url, "roles": CPO_ROLES}
    token_c = httpx.post(url, json=body, headers={"Authorization": encode_token(TOKEN_A)}, timeout=10).json()[
        "data"
    ]["token"]

    again = httpx.post(url, json=body, headers={"Authorization": encode_token(TOKEN_A)}, timeout=10)
    put = httpx.put(url, json=body, headers={"Authorization": encode_token(token_c)}, timeout=10)

    assert again.status_code == 405
    new_token = put.json()["data"]["token"]
    assert new_token != token_c
    assert _get(sim.versions_url, token_c).status_code == 401
    assert _get(url, new_token).json()["data"]["token"] == new_token

    deleted = httpx.delete(url, headers={"Authorization": encode_token(new_token)}, timeout=10)

    assert deleted.json()["status_code"] == 1000
    assert _get(sim.versions_url, new_token).status_code == 401


def test_put_before_registration_is_405(sim: SimulatorProcess, fake_cpo: FakeCpo) -> None:
    body = {"token": fake_cpo.token_c, "url": fake_cpo.versions_url, "roles": CPO_ROLES}

    response = httpx.put(
        f"{sim.base_url}/ocpi/2.2.1/credentials",
        json=body,
        headers={"Authorization": encode_token(TOKEN_A)},
        timeout=10,
    )

    assert response.status_code == 405


def test_a_registration_whose_versions_cannot_be_fetched_is_3001(
    sim: SimulatorProcess, fake_cpo: FakeCpo
) -> None:
    body = {"token": "a-token-the-cpo-refuses", "url": fake_cpo.versions_url, "roles": CPO_ROLES}

    response = httpx.post(
        f"{sim.base_url}/ocpi/2.3.0/credentials",
        json=body,
        headers={"Authorization": encode_token(TOKEN_A)},
        timeout=10,
    )

    assert response.json()["status_code"] == 3001
    assert sim.control.state()["credentials"]["peer"] is None


@pytest.fixture
def other_sim() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(token_a="other-token-a") as sim:
        yield sim


def test_two_simulators_complete_a_handshake(sim: SimulatorProcess, other_sim: SimulatorProcess) -> None:
    ours = sim.control.action("register", versions_url=other_sim.versions_url, token="other-token-a")["peer"]

    theirs = other_sim.control.state()["credentials"]["peer"]
    assert theirs["registered_by"] == "them"
    assert theirs["token"] == ours["our_token"]
    assert ours["token"] == theirs["our_token"]
    assert ours["roles"][0]["role"] == "PTP"
    assert _get(f"{other_sim.base_url}/ocpi/2.3.0/payments/terminals", ours["token"]).status_code == 200


def test_a_registration_on_a_version_the_cpo_lacks_is_3002(sim: SimulatorProcess) -> None:
    with FakeCpo() as cpo:
        cpo_versions_only_221 = cpo.versions_url
        body = {"token": cpo.token_c, "url": cpo_versions_only_221, "roles": CPO_ROLES}
        cpo.offered_versions = ("2.2.1",)

        response = httpx.post(
            f"{sim.base_url}/ocpi/2.3.0/credentials",
            json=body,
            headers={"Authorization": encode_token(TOKEN_A)},
            timeout=10,
        )

    assert response.json()["status_code"] == 3002


def test_a_cpo_without_required_endpoints_is_refused_both_ways(
    sim: SimulatorProcess, fake_cpo: FakeCpo
) -> None:
    sim.control.config(required_cpo_endpoints=["commands:RECEIVER", "tokens:SENDER"])
    body = {"token": fake_cpo.token_c, "url": fake_cpo.versions_url, "roles": CPO_ROLES}

    accepted = httpx.post(
        f"{sim.base_url}/ocpi/2.3.0/credentials",
        json=body,
        headers={"Authorization": encode_token(TOKEN_A)},
        timeout=10,
    )
    refused = sim.control.call(
        "POST",
        "/actions/register",
        json={"versions_url": fake_cpo.versions_url, "token": fake_cpo.token_a},
        check=False,
    )

    assert accepted.json()["status_code"] == 3003
    assert "tokens:SENDER" in accepted.json()["status_message"]
    assert "tokens:SENDER" in refused["error"]
    # credentials.asciidoc: the Sender does not POST when the endpoints it expects are missing.
    assert not any(r["method"] == "POST" for r in fake_cpo.received)
