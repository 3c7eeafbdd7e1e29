"""Fixtures for push tests: the PTP simulator as a real process and a partner wired to it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from typing import Any as SettingsWrapper  # pytest-django's settings fixture has no public type

import pytest

from partners.models import Partner, PartnerEndpoint
from ptp_simulator.process import SimulatorProcess
from tests.factories import PartnerFactory

SIM_TOKEN = "push-tests-static-token"
SIM_TOKEN_OTHER = "push-tests-other-token"

# The endpoints the simulator announces (ptp_simulator.routing.ENDPOINTS) as the handshake stores them.
SIM_ENDPOINTS = (
    ("locations", PartnerEndpoint.InterfaceRole.RECEIVER),
    ("tariffs", PartnerEndpoint.InterfaceRole.RECEIVER),
    ("sessions", PartnerEndpoint.InterfaceRole.RECEIVER),
    ("cdrs", PartnerEndpoint.InterfaceRole.RECEIVER),
    ("payments", PartnerEndpoint.InterfaceRole.SENDER),
)


@pytest.fixture(scope="session")
def sim_process() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(tokens=[SIM_TOKEN]) as sim:
        yield sim


@pytest.fixture(scope="session")
def other_sim_process() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(tokens=[SIM_TOKEN_OTHER]) as sim:
        yield sim


@pytest.fixture
def sim(sim_process: SimulatorProcess) -> SimulatorProcess:
    sim_process.control.reset(keep_credentials=True)
    return sim_process


@pytest.fixture
def other_sim(other_sim_process: SimulatorProcess) -> SimulatorProcess:
    other_sim_process.control.reset(keep_credentials=True)
    return other_sim_process


def wire_partner(sim: SimulatorProcess, token: str, version: str = "2.2.1", **fields: Any) -> Partner:
    """A registered partner whose endpoints are the simulator's, as after a handshake."""
    partner = PartnerFactory(token_b=token, version=version, versions_url=sim.versions_url, **fields)
    for module, role in SIM_ENDPOINTS:
        PartnerEndpoint.objects.create(
            partner=partner, module=module, interface_role=role, url=f"{sim.base_url}/ocpi/{version}/{module}"
        )
    return partner


@pytest.fixture
def push_settings(settings: SettingsWrapper) -> SettingsWrapper:
    """Short retries and timeouts so failure paths finish within a test."""
    settings.PUSH_RETRY_BASE_SECONDS = 0.0
    settings.PUSH_RETRY_FACTOR = 2.0
    settings.PUSH_RETRY_CAP_SECONDS = 0.0
    settings.PUSH_RETRY_MAX_AGE_DAYS = 5.0
    settings.PUSH_HTTP_TIMEOUT = 1.0
    settings.PUSH_FRESH_MESSAGE_GRACE_SECONDS = 0.0
    settings.PUSH_UNKNOWN_OUTCOME_SETTLE_SECONDS = 0.0
    return settings


@pytest.fixture
def payter(db: None, sim: SimulatorProcess, push_settings: SettingsWrapper) -> Partner:
    return wire_partner(sim, SIM_TOKEN, name="Payter")


@pytest.fixture
def other_partner(db: None, other_sim: SimulatorProcess, push_settings: SettingsWrapper) -> Partner:
    return wire_partner(other_sim, SIM_TOKEN_OTHER, name="Other eMSP")


def deliver_due_until(done: Callable[[], bool], committed: Callable[..., Any], timeout: float = 10.0) -> None:
    """Run the beat task's work (in-process) until ``done()`` holds; bounded by ``timeout``."""
    from pushes import retries

    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "not delivered in time"
        with committed():
            retries.messages_requeue_due()
        time.sleep(0.05)


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run a block as if committed: its on_commit callbacks (the delivery tasks) run at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
