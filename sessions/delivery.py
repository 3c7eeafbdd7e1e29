"""Who receives a CDR, asked of the layer that delivers it (the push outbox registers itself here).

The charging flow knows no protocol (see the direction of dependencies in DEVELOPERS.md): the
admin's "Credit and correct" asks these functions, before it runs, whether anyone will receive
the new CDRs and, afterwards, what was queued for whom. With nothing registered, nobody receives.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sessions.models import Cdr


class CdrDelivery(Protocol):
    def recipients(self, cdr: Cdr) -> list[str]:
        """The names of the partners a new CDR like this one would be sent to now."""

    def queued(self, cdrs: Iterable[Cdr]) -> list[str]:
        """One line per CDR sent or waiting to be sent: which CDR, to whom, in what state."""


_delivery: list[CdrDelivery] = []


def register(delivery: CdrDelivery) -> None:
    _delivery[:] = [delivery]


def cdr_recipients(cdr: Cdr) -> list[str]:
    return _delivery[0].recipients(cdr) if _delivery else []


def cdrs_queued(cdrs: Iterable[Cdr]) -> list[str]:
    return _delivery[0].queued(cdrs) if _delivery else []


__all__: list[str] = ["CdrDelivery", "cdr_recipients", "cdrs_queued", "register"]
