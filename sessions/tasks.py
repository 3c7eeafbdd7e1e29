"""Celery tasks of the session lifecycle: expire stuck PENDING sessions.

CommandResults are delivered by the push outbox (``pushes``), with its retries and records.
"""

from __future__ import annotations

from celery import shared_task

from sessions.lifecycle import sessions_expire_pending


@shared_task(acks_late=True)
def pending_sessions_expire() -> int:
    """Beat task: PENDING sessions past CHARGING_PENDING_SESSION_TIMEOUT become INVALID."""
    return sessions_expire_pending()
