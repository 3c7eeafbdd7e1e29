"""Project-wide periodic jobs."""

from __future__ import annotations

from celery import shared_task

from cpo_portal import heartbeat


@shared_task(ignore_result=True)
def scheduler_heartbeat() -> None:
    """Beat: note that the periodic jobs run (read by the admin and /readyz)."""
    heartbeat.heartbeat_record()
