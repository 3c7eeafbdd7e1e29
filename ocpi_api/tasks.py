"""Periodic OCPI housekeeping."""

from __future__ import annotations

from celery import shared_task

from ocpi_api.services import request_logs_purge


@shared_task(name="ocpi_api.tasks.request_logs_purge")
def request_logs_purge_task() -> int:
    """Delete request logs older than the retention setting; returns how many rows went."""
    return request_logs_purge()
