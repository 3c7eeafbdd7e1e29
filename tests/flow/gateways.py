"""A charger gateway for the tests that also counts what the portal asks the chargers to do."""

from __future__ import annotations

import threading
from collections import Counter

from chargers.gateway import GatewayResult
from chargers.simulated import SimulatedChargerGateway
from sessions.models import ChargingSession


class CountingChargerGateway(SimulatedChargerGateway):
    """The simulated chargers, with a count of remote starts per session (the live server's request
    threads share it)."""

    starts: Counter[str] = Counter()
    lock = threading.Lock()

    def start(self, session: ChargingSession) -> GatewayResult:
        with self.lock:
            self.starts[session.session_id] += 1
        return super().start(session)
