"""Celery tasks of the session lifecycle: deliver CommandResults, expire stuck PENDING sessions.

Tasks are thin: they load by id, return early when the work is done, and call services or the
OCPI client. Delivery may run twice (acks_late); the partner's Sender interface receives the same
CommandResult again, which the spec allows (the response_url identifies the request).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from sessions.models import ReceivedCommand
from sessions.services import sessions_expire_pending

logger = logging.getLogger(__name__)


def _retry_countdown(attempt: int) -> int:
    """Exponential back-off: base, 2 x base, 4 x base, ... seconds, capped at one hour."""
    return min(int(settings.COMMAND_RESULT_RETRY_BACKOFF) * 2 ** max(attempt - 1, 0), 3600)


@shared_task(acks_late=True)
def command_result_deliver(command_pk: int) -> str:
    """POST the CommandResult to the partner's response_url (mod_commands, Sender POST).

    Each attempt is counted on the command and logged as an outbound request by the client; after
    COMMAND_RESULT_MAX_ATTEMPTS failed attempts the command keeps its last error for staff.
    """
    from ocpi_api.client import OcpiClient, OcpiClientError

    command = ReceivedCommand.objects.select_related("partner").filter(pk=command_pk).first()
    if command is None or not command.result or command.delivered_at is not None:
        return "nothing to deliver"
    attempts = command.delivery_attempts + 1
    try:
        OcpiClient.for_partner(command.partner).post(command.response_url, json_body=command.command_result)
    except OcpiClientError as error:
        ReceivedCommand.objects.filter(pk=command.pk).update(
            delivery_attempts=attempts, last_delivery_error=str(error)[:500]
        )
        if attempts >= int(settings.COMMAND_RESULT_MAX_ATTEMPTS):
            logger.warning(
                "CommandResult %s not delivered after %s attempts: %s", command.pk, attempts, error
            )
            return "gave up"
        # A new message rather than self.retry(): the attempt count lives on the row, and in the
        # embedded set-up (eager tasks) the next attempt simply runs at once.
        command_result_deliver.apply_async((command.pk,), countdown=_retry_countdown(attempts))
        return "retry scheduled"
    ReceivedCommand.objects.filter(pk=command.pk).update(
        delivery_attempts=attempts, delivered_at=timezone.now(), last_delivery_error=""
    )
    return "delivered"


@shared_task(acks_late=True)
def pending_sessions_expire() -> int:
    """Beat task: PENDING sessions past CHARGING_PENDING_SESSION_TIMEOUT become INVALID."""
    return sessions_expire_pending()
