"""Celery tasks that talk to chargers: thin, by id, after commit."""

from __future__ import annotations

from celery import shared_task

from chargers.services import charger_command_send, charger_stops_resend
from chargers.services import charger_commands_send_unsent as charger_commands_send_unsent_service
from chargers.services import charger_session_stop as charger_session_stop_service
from chargers.simulated import simulated_chargers_tick
from sessions.models import ChargingSession, ReceivedCommand


@shared_task(acks_late=True)
def charger_command_dispatch(command_pk: int) -> str:
    """Send an accepted OCPI command to its charger."""
    command = ReceivedCommand.objects.select_related("session").filter(pk=command_pk).first()
    if command is None or command.result:
        return "nothing to send"
    answer = charger_command_send(command=command)
    return answer.answer if answer is not None else "obsolete"


@shared_task(acks_late=True)
def charger_session_stop(session_pk: int) -> str:
    """Stop a session on its charger (our own decision, such as the pre-authorisation limit)."""
    session = ChargingSession.objects.filter(pk=session_pk).first()
    if session is None:
        return "unknown session"
    answer = charger_session_stop_service(session=session)
    return answer.answer if answer is not None else "obsolete"


@shared_task(acks_late=True)
def simulated_chargers_report() -> int:
    """Beat task: simulated chargers report a meter value for their active sessions."""
    return simulated_chargers_tick()


@shared_task(acks_late=True)
def charger_commands_send_unsent() -> int:
    """Beat task: send accepted commands whose own task never ran (Redis was down at the time)."""
    return charger_commands_send_unsent_service()


@shared_task(acks_late=True)
def charger_stops_retry() -> int:
    """Beat task: ask chargers again to stop sessions whose stop went unanswered."""
    return charger_stops_resend()
