"""Fixtures: one simulator process per session, reset before each test; an OCPI client for it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ptp_simulator.ocpi import encode_token
from ptp_simulator.process import SimulatorProcess
from ptp_simulator.pytest_plugin import ptp_simulator, ptp_simulator_process  # noqa: F401 (fixtures)
from tests.ptp_simulator.fake_cpo import FakeCpo

TOKEN_A = "sim-token-a"
STATIC_TOKEN = "sim-static-token"


@pytest.fixture(scope="session")
def sim_process() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(token_a=TOKEN_A, tokens=[STATIC_TOKEN]) as sim:
        yield sim


@pytest.fixture
def sim(sim_process: SimulatorProcess) -> SimulatorProcess:
    sim_process.control.reset()
    # Settings a test may have changed go back to the defaults too.
    sim_process.control.config(
        page_limit=10,
        max_page_limit=50,
        push_activated_terminals=True,
        preferred_version=None,
        required_cpo_endpoints=[],
        http_timeout=10.0,
        poll_interval=0.0,
    )
    return sim_process


@pytest.fixture
def ocpi(sim: SimulatorProcess) -> Iterator[httpx.Client]:
    """An httpx client that talks OCPI to the simulator with a full-access token."""
    with httpx.Client(
        base_url=sim.base_url,
        headers={"Authorization": encode_token(STATIC_TOKEN)},
        timeout=10,
        follow_redirects=False,
    ) as client:
        yield client


@pytest.fixture
def fake_cpo() -> Iterator[FakeCpo]:
    with FakeCpo() as cpo:
        yield cpo
