"""PTP simulator: a standalone OCPI peer that plays Payter (the Payment Terminal Provider).

It serves OCPI 2.2.1 and 2.3.0 as a PTP on loopback, stores what a CPO pushes to it, drives the
CPO's endpoints as a client (credentials, crawling, commands, payments) and exposes a JSON control
API under ``/_sim/`` so tests talk to a real HTTP process instead of patching functions.
No Django imports here: the portal's tests start it with :class:`ptp_simulator.process.SimulatorProcess`.
"""

from __future__ import annotations

__all__ = ["SUPPORTED_VERSIONS"]

# Highest first: the order in which a mutual version is chosen (credentials.asciidoc, "Registration").
SUPPORTED_VERSIONS: tuple[str, ...] = ("2.3.0", "2.2.1")
