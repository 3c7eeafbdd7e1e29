"""The periodic jobs' heartbeat: recorded by a scheduled job, read by the admin and /readyz."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from cpo_portal.models import SchedulerHeartbeat

SCHEDULER = "periodic jobs"


@dataclass(frozen=True)
class SchedulerStatus:
    last_beat_at: datetime | None
    stale: bool

    @property
    def summary(self) -> str:
        if self.last_beat_at is None:
            return "The periodic jobs have never run: due push retries are not sent."
        return (
            f"The periodic jobs last ran at {self.last_beat_at:%Y-%m-%d %H:%M:%S} UTC: "
            "due push retries are not sent while no scheduler runs."
        )


def heartbeat_record(*, at: datetime | None = None) -> None:
    """Note that the scheduler ran its heartbeat job now (or ``at``)."""
    SchedulerHeartbeat.objects.update_or_create(name=SCHEDULER, defaults={"beat_at": at or timezone.now()})


def scheduler_status(*, now: datetime | None = None) -> SchedulerStatus:
    """The last heartbeat and whether it is older than SCHEDULER_STALE_SECONDS."""
    last = SchedulerHeartbeat.objects.filter(name=SCHEDULER).values_list("beat_at", flat=True).first()
    limit = (now or timezone.now()) - timedelta(seconds=settings.SCHEDULER_STALE_SECONDS)
    return SchedulerStatus(last_beat_at=last, stale=last is None or last < limit)
