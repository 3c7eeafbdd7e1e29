"""The charger gateway acts on the charging flow's events (``sessions.events``), after commit."""

from __future__ import annotations

from typing import Any

from chargers.tasks import charger_command_dispatch, charger_session_stop
from cpo_portal.enqueue import enqueue_on_commit
from sessions import events
from sessions.models import ChargingSession, ReceivedCommand


def _command_accepted(sender: type, command: ReceivedCommand, **kwargs: Any) -> None:
    # Redis down: the command stays unsent and chargers.tasks.charger_commands_send_unsent sends it.
    command_pk = command.pk
    enqueue_on_commit("charger command", lambda: charger_command_dispatch.delay(command_pk))


def _session_stop_requested(sender: type, session: ChargingSession, **kwargs: Any) -> None:
    # Redis down: chargers.tasks.charger_stops_retry asks again (stop_requested_at is set).
    session_pk = session.pk
    enqueue_on_commit("charger stop", lambda: charger_session_stop.delay(session_pk))


def connect() -> None:
    events.command_accepted.connect(_command_accepted, dispatch_uid="chargers_command_accepted")
    events.session_stop_requested.connect(_session_stop_requested, dispatch_uid="chargers_stop_requested")
