"""The fixtures offered to the portal's suite work as documented."""

from __future__ import annotations

import httpx

from ptp_simulator.ocpi import encode_token
from ptp_simulator.process import SimulatorProcess
from ptp_simulator.pytest_plugin import PTP_SIMULATOR_TOKEN

# The portal's root conftest.py opts in with `pytest_plugins = ["ptp_simulator.pytest_plugin"]`;
# pytest only honours that in a root conftest, so this package's conftest imports the fixtures.


def test_the_fixture_gives_a_reset_simulator_that_accepts_the_shared_token(
    ptp_simulator: SimulatorProcess,
) -> None:
    response = httpx.put(
        f"{ptp_simulator.base_url}/ocpi/2.2.1/tariffs/NL/CPO/T1",
        json={"id": "T1", "country_code": "NL", "party_id": "CPO", "last_updated": "2024-01-01T00:00:00Z"},
        headers={"Authorization": encode_token(PTP_SIMULATOR_TOKEN)},
        timeout=5,
    )

    assert response.status_code == 201
    assert "NL/CPO/T1" in ptp_simulator.control.received("tariffs")


def test_the_next_test_starts_from_nothing(ptp_simulator: SimulatorProcess) -> None:
    assert ptp_simulator.control.received() == {}
