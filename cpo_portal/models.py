"""Project-wide records: the periodic jobs' heartbeat."""

from __future__ import annotations

from django.db import models


class SchedulerHeartbeat(models.Model):
    """When the scheduler of the periodic jobs last had its heartbeat job run (one row per name).

    Celery beat (with a worker) and the embedded scheduler of ``make run`` both run the job, so
    the row says whether due retries and the other periodic jobs are being run at all.
    """

    name = models.CharField(max_length=40, unique=True)
    beat_at = models.DateTimeField()

    class Meta:
        verbose_name = "scheduler heartbeat"

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
