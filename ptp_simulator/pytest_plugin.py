"""Pytest fixtures for suites that push to the PTP simulator (opt in from a conftest.py).

    pytest_plugins = ["ptp_simulator.pytest_plugin"]

    def test_it_pushes_the_evse_status(ptp_simulator): ...

One simulator process serves the whole session; ``ptp_simulator`` resets it before each test so
tests do not see each other's data, faults or credentials. Needs no database.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ptp_simulator.process import SimulatorProcess

# A pre-shared token with full access, for tests that push without a credentials handshake.
PTP_SIMULATOR_TOKEN = "ptp-simulator-test-token"  # noqa: S105 (a test token on loopback)
PTP_SIMULATOR_TOKEN_A = "ptp-simulator-token-a"  # noqa: S105 (a test token on loopback)


@pytest.fixture(scope="session")
def ptp_simulator_process() -> Iterator[SimulatorProcess]:
    """The simulator process, started once per session on a free loopback port."""
    with SimulatorProcess(token_a=PTP_SIMULATOR_TOKEN_A, tokens=[PTP_SIMULATOR_TOKEN]) as sim:
        yield sim


@pytest.fixture
def ptp_simulator(ptp_simulator_process: SimulatorProcess) -> SimulatorProcess:
    """The simulator, reset: no received data, commands, faults or credentials."""
    ptp_simulator_process.control.reset()
    return ptp_simulator_process
