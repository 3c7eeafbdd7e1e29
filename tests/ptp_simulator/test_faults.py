"""Fault injection: down, http_500, http_401, slow, accept_then_fail; by path prefix or globally."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from ptp_simulator.ocpi import encode_token
from ptp_simulator.process import SimulatorProcess
from tests.ptp_simulator.conftest import STATIC_TOKEN

SESSION = {
    "id": "S1",
    "country_code": "NL",
    "party_id": "CPO",
    "status": "ACTIVE",
    "last_updated": "2024-01-01T00:00:00Z",
}
SESSION_URL = "/ocpi/2.2.1/sessions/NL/CPO/S1"


def test_down_closes_the_connection_without_an_answer(ocpi: httpx.Client, sim: SimulatorProcess) -> None:
    sim.control.fault("/ocpi/2.2.1/sessions", "down", count=1)

    with pytest.raises(httpx.RemoteProtocolError):
        ocpi.put(SESSION_URL, json=SESSION)

    assert ocpi.put(SESSION_URL, json=SESSION).status_code == 201


def test_http_500_answers_500_until_cleared(ocpi: httpx.Client, sim: SimulatorProcess) -> None:
    sim.control.fault("/ocpi/2.2.1/sessions", "http_500")

    first = ocpi.put(SESSION_URL, json=SESSION)
    second = ocpi.put(SESSION_URL, json=SESSION)
    sim.control.clear_faults()
    third = ocpi.put(SESSION_URL, json=SESSION)

    assert (first.status_code, second.status_code, third.status_code) == (500, 500, 201)
    assert first.json()["status_code"] == 3000
    assert sim.control.received("sessions", "NL/CPO/S1")["history"][0]["method"] == "PUT"
    assert len(sim.control.received("sessions", "NL/CPO/S1")["history"]) == 1


def test_http_401_applies_only_under_its_prefix(ocpi: httpx.Client, sim: SimulatorProcess) -> None:
    sim.control.fault("/ocpi/2.2.1/sessions", "http_401", count=2)

    assert ocpi.put(SESSION_URL, json=SESSION).status_code == 401
    assert ocpi.get("/ocpi/versions").status_code == 200
    assert ocpi.put(SESSION_URL, json=SESSION).status_code == 401
    assert ocpi.put(SESSION_URL, json=SESSION).status_code == 201


def test_a_global_fault_hits_every_ocpi_path_but_not_the_control_api(
    ocpi: httpx.Client, sim: SimulatorProcess
) -> None:
    sim.control.fault("", "http_500")

    assert ocpi.get("/ocpi/versions").status_code == 500
    assert ocpi.get("/ocpi/2.3.0").status_code == 500
    assert sim.control.health()["ok"] is True


def test_slow_delays_the_answer(ocpi: httpx.Client, sim: SimulatorProcess) -> None:
    sim.control.fault("/ocpi/versions", "slow", seconds=0.6, count=1)

    started = time.monotonic()
    response = ocpi.get("/ocpi/versions")

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.55


def test_slow_makes_a_short_client_timeout_fire(ocpi: httpx.Client, sim: SimulatorProcess) -> None:
    sim.control.fault("/ocpi/versions", "slow", seconds=1.0, count=1)

    with pytest.raises(httpx.ReadTimeout):
        ocpi.get("/ocpi/versions", timeout=0.2)


def test_accept_then_fail_answers_n_requests_then_fails(ocpi: httpx.Client, sim: SimulatorProcess) -> None:
    sim.control.fault("/ocpi/2.2.1/sessions", "accept_then_fail", ok_count=2, fail_mode="http_500")

    statuses = [ocpi.put(SESSION_URL, json=SESSION).status_code for _ in range(4)]

    assert statuses == [201, 200, 500, 500]


def test_the_longest_prefix_wins(ocpi: httpx.Client, sim: SimulatorProcess) -> None:
    sim.control.fault("/ocpi", "http_500")
    sim.control.fault("/ocpi/2.2.1/sessions", "http_401")

    assert ocpi.put(SESSION_URL, json=SESSION).status_code == 401
    assert ocpi.get("/ocpi/versions").status_code == 500


def test_faults_are_listed_and_an_unknown_mode_is_refused(sim: SimulatorProcess) -> None:
    sim.control.fault("/ocpi/2.3.0/cdrs", "http_500", count=3)

    faults = sim.control.call("GET", "/faults")
    refused = sim.control.call("POST", "/faults", json={"mode": "explode"}, check=False)

    assert [(f["prefix"], f["mode"], f["remaining"]) for f in faults] == [("/ocpi/2.3.0/cdrs", "http_500", 3)]
    assert "unknown fault mode" in refused["error"]


def test_faulted_requests_are_logged_so_retries_can_be_counted(
    ocpi: httpx.Client, sim: SimulatorProcess
) -> None:
    sim.control.fault("/ocpi/2.2.1/sessions", "http_500", count=2)

    for _ in range(3):
        ocpi.put(SESSION_URL, json=SESSION)

    logged = [(r["status"], r["fault"]) for r in sim.control.requests() if r["path"] == SESSION_URL]
    assert logged == [(500, "http_500"), (500, "http_500"), (201, None)]


def test_a_slow_path_does_not_hold_up_other_requests(sim: SimulatorProcess) -> None:
    sim.control.fault("/ocpi/2.2.1/sessions", "slow", seconds=2, count=1)
    headers = {"Authorization": encode_token(STATIC_TOKEN)}

    def slow_put() -> int:
        return httpx.put(sim.base_url + SESSION_URL, json=SESSION, headers=headers, timeout=10).status_code

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(slow_put)
        time.sleep(0.2)
        started = time.monotonic()
        quick = httpx.get(sim.versions_url, headers=headers, timeout=5)
        elapsed = time.monotonic() - started
        assert pending.result(timeout=10) == 201

    assert quick.status_code == 200
    assert elapsed < 1.0
