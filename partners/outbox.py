"""The outbox as the domain sees it: what changed, which event, on whose behalf.

Partners hear about our changes through the push outbox (``pushes``), a layer above every domain
app. The domain declares here what it tells the outbox, and ``pushes`` registers the
implementation in its ``AppConfig.ready()``; with none registered (an app set without pushes),
nothing is queued and nobody receives.

- *What changed*: model saves and deletes of pushed objects are caught by ``pushes.receivers``
  in the saving transaction; a write that sends no model signal (``bulk_update``, ``update()``)
  of something partners must hear about calls ``changed``.
- *Which event*: events that are no model save, such as a CommandResult for the ``response_url``
  a partner gave (``command_result``); questions about CDR delivery for staff (``cdr_recipients``,
  ``cdrs_queued``).
- *On whose behalf*: data a partner itself sent us (a pulled payment terminal) is saved inside
  ``received_from(partner)`` and is not pushed back to that partner.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from partners.models import Partner


class Outbox(Protocol):
    def changed(self, obj: Any, fields: Iterable[str] | None = None) -> None:
        """``obj`` (a pushed model instance) was created (``fields`` None) or these fields changed."""

    def command_result(
        self, *, partner: Partner, command_id: str, response_url: str, result: dict[str, Any]
    ) -> None:
        """Queue a CommandResult for the ``response_url`` the partner gave with its command, in the
        caller's transaction."""

    def cdr_recipients(self, cdr: Any) -> list[str]:
        """The names of the partners a new CDR like this one would be sent to now."""

    def cdrs_queued(self, cdrs: Iterable[Any]) -> list[str]:
        """One line per CDR sent or waiting to be sent: which CDR, to whom, in what state."""


_outbox: list[Outbox] = []
_received_from: contextvars.ContextVar[int | None] = contextvars.ContextVar("received_from", default=None)


def register(outbox: Outbox) -> None:
    _outbox[:] = [outbox]


def changed(obj: Any, fields: Iterable[str] | None = None) -> None:
    if _outbox:
        _outbox[0].changed(obj, fields)


def command_result(*, partner: Partner, command_id: str, response_url: str, result: dict[str, Any]) -> None:
    if _outbox:
        _outbox[0].command_result(
            partner=partner, command_id=command_id, response_url=response_url, result=result
        )


def cdr_recipients(cdr: Any) -> list[str]:
    return _outbox[0].cdr_recipients(cdr) if _outbox else []


def cdrs_queued(cdrs: Iterable[Any]) -> list[str]:
    return _outbox[0].cdrs_queued(cdrs) if _outbox else []


@contextmanager
def received_from(partner: Partner) -> Iterator[None]:
    """Changes saved inside are ``partner``'s own data: they are not pushed back to it."""
    token = _received_from.set(partner.pk)
    try:
        yield
    finally:
        _received_from.reset(token)


def sender_of_changes() -> int | None:
    """The id of the partner whose own data is being saved now (``received_from``), else None."""
    return _received_from.get()


__all__ = [
    "Outbox",
    "cdr_recipients",
    "cdrs_queued",
    "changed",
    "command_result",
    "received_from",
    "register",
    "sender_of_changes",
]
