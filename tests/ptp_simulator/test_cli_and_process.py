"""The command line and the SimulatorProcess helper, as separate processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest

from ptp_simulator.ocpi import encode_token
from ptp_simulator.process import PACKAGE_PARENT, SimulatorError, SimulatorProcess
from tests.ptp_simulator.fake_cpo import FakeCpo


def _run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our interpreter and module)
        [sys.executable, "-m", "ptp_simulator", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PACKAGE_PARENT,
        check=False,
    )


def test_crawl_prints_a_summary_per_module(fake_cpo: FakeCpo) -> None:
    result = _run("crawl", "--versions-url", fake_cpo.versions_url, "--token", fake_cpo.token_c)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("OCPI 2.3.0 at ")
    assert "  locations: 10 objects in 3 pages (X-Total-Count 10)" in lines
    assert "  sessions: 5 objects in 2 pages (X-Total-Count 5)" in lines
    assert "  cdrs: 0 objects in 1 pages (X-Total-Count 0)" in lines


def test_crawl_can_print_json_and_fails_on_a_miscount(fake_cpo: FakeCpo) -> None:
    fake_cpo.total_count_bump = 2

    result = _run(
        "crawl",
        "--versions-url",
        fake_cpo.versions_url,
        "--token",
        fake_cpo.token_c,
        "--version",
        "2.2.1",
        "--module",
        "locations",
        "--json",
    )

    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert summary["version"] == "2.2.1"
    assert summary["modules"]["locations"]["warnings"] == ["received 10 objects but X-Total-Count is 12"]


def test_crawl_with_a_wrong_token_fails_cleanly(fake_cpo: FakeCpo) -> None:
    result = _run("crawl", "--versions-url", fake_cpo.versions_url, "--token", "nope")

    assert result.returncode == 1
    assert "cannot connect" in result.stderr
    assert "HTTP 401" in result.stderr


def test_serve_refuses_a_non_loopback_address() -> None:
    result = _run("serve", "--host", "0.0.0.0", "--port", "0", timeout=10)  # noqa: S104 (the address refused)

    assert result.returncode == 2
    assert "loopback only" in result.stderr


def test_serve_on_port_0_prints_its_base_url_first_and_stops_on_terminate() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ptp_simulator",
            "serve",
            "--port",
            "0",
            "--token",
            "t",
            "--seed-terminals",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=PACKAGE_PARENT,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        response = httpx.get(
            f"{base_url}/ocpi/2.3.0/payments/terminals", headers={"Authorization": encode_token("t")}
        )
        assert response.headers["X-Total-Count"] == "3"
        references = [t["reference"] for t in response.json()["data"]]
        assert references == ["SIM-00000", "SIM-00001", "SIM-00002"]
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        if process.stdout is not None:
            process.stdout.close()


def test_serve_can_register_with_a_cpo_on_start(fake_cpo: FakeCpo) -> None:
    with SimulatorProcess(
        extra_args=[
            "--register-with",
            fake_cpo.versions_url,
            "--register-token",
            fake_cpo.token_a,
            "--version",
            "2.2.1",
        ]
    ) as sim:
        peer = None
        for _ in range(100):  # bounded: 100 times 50 ms
            peer = sim.control.state()["credentials"]["peer"]
            if peer is not None:
                break
            time.sleep(0.05)
    assert peer is not None
    assert (peer["registered_by"], peer["version"]) == ("us", "2.2.1")


def test_the_process_helper_exposes_urls_and_its_log() -> None:
    with SimulatorProcess(extra_args=["--verbose"], tokens=["t"]) as sim:
        assert sim.versions_url == sim.base_url + "/ocpi/versions"
        httpx.get(sim.versions_url, headers={"Authorization": encode_token("t")}, timeout=5)
        log = sim.log_text()
        health = sim.control.health()
    assert health["versions_url"] == sim.versions_url
    assert "GET /ocpi/versions" in log


def test_tokens_that_begin_with_a_dash_reach_the_simulator() -> None:
    # Tokens are URL-safe base64, so about one in 64 begins with "-", which a command line
    # would read as an option.
    with SimulatorProcess(token_a="-token-a", tokens=["-token-c"]) as sim:
        response = httpx.get(sim.versions_url, headers={"Authorization": encode_token("-token-c")}, timeout=5)
    assert response.json()["status_code"] == 1000


def test_the_process_helper_reports_a_failed_start() -> None:
    with (
        pytest.raises(SimulatorError, match="loopback only"),
        SimulatorProcess(extra_args=["--host", "0.0.0.0"]),  # noqa: S104 (the address refused)
    ):
        pass


def test_without_token_a_the_simulator_makes_one_up_and_a_cpo_can_register_with_it(fake_cpo: FakeCpo) -> None:
    with SimulatorProcess() as sim:
        assert sim.token_a
        body = {"token": fake_cpo.token_c, "url": fake_cpo.versions_url, "roles": []}

        response = httpx.post(
            f"{sim.base_url}/ocpi/2.2.1/credentials",
            json=body,
            headers={"Authorization": encode_token(sim.token_a)},
            timeout=10,
        )

    assert response.json()["status_code"] == 1000


def test_the_action_command_drives_a_running_simulator(fake_cpo: FakeCpo) -> None:
    with SimulatorProcess() as sim:
        registered = _run(
            "action",
            "register",
            "--sim",
            sim.base_url,
            f"versions_url={fake_cpo.versions_url}",
            f"token={fake_cpo.token_a}",
            "version=2.2.1",
        )
        command = _run(
            "action",
            "command",
            "--sim",
            sim.base_url,
            "command=UNLOCK_CONNECTOR",
            "location_id=LOC1",
            "evse_uid=E1",
            "connector_id=1",
            "wait:=5",
        )
        state = _run("state", "--sim", sim.base_url)

    assert registered.returncode == 0, registered.stderr
    assert json.loads(registered.stdout)["peer"]["version"] == "2.2.1"
    record = json.loads(command.stdout)
    assert record["request"]["connector_id"] == "1"
    assert record["result"] == {"result": "ACCEPTED"}
    assert json.loads(state.stdout)["credentials"]["peer"]["registered_by"] == "us"


def test_the_action_command_reports_an_error() -> None:
    with SimulatorProcess() as sim:
        result = _run("action", "crawl", "--sim", sim.base_url, "module=locations")

    assert result.returncode == 1
    assert "not connected" in result.stderr
