"""Celery tasks of finance's exports. Thin: load by id, call a service; each may run twice safely."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from finance import jobs


@shared_task(
    acks_late=True,
    ignore_result=True,
    # An export of 200,000 rows outlasts the default limits, which suit short tasks.
    soft_time_limit=settings.FINANCE_EXPORT_TIME_LIMIT,
    time_limit=settings.FINANCE_EXPORT_TIME_LIMIT + 60,
)
def export_job_run(job_id: int) -> str:
    """Write one export job's file (returns early when it is done or another run holds it)."""
    return jobs.export_job_run(job_id=job_id)


@shared_task(acks_late=True, ignore_result=True)
def scheduled_exports_start(schedule: str) -> int:
    """Beat: the daily (yesterday) or monthly (last month) exports, once per period."""
    return len(jobs.scheduled_exports_start(schedule=schedule))


@shared_task(acks_late=True, ignore_result=True)
def export_jobs_maintain() -> dict[str, int]:
    """Beat: purge expired export files, enqueue again jobs no worker took."""
    return jobs.export_jobs_maintain()
