"""The embedded scheduler: the beat schedule declared in settings, run inside ``runserver``.

Without Redis (``make run``) there is no Celery beat, and a push that failed once would wait
for a retry that nobody enqueues. This thread runs the same schedule (``CELERY_BEAT_SCHEDULE``)
in the development server's serving process; tasks run in-process as every task does there.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery.schedules import schedule as celery_schedule
from django.apps import apps
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from cpo_portal import heartbeat
from cpo_portal.celery import app as celery_app

logger = logging.getLogger(__name__)

# The scheduler looks again at least this often (seconds), whatever the intervals.
_LONGEST_NAP = 5.0


@dataclass
class ScheduleEntry:
    name: str
    task: str
    every: timedelta | None
    schedule: Any
    last_run_at: datetime
    args: Sequence[Any] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def seconds_until_due(self, *, now: datetime) -> float:
        if self.every is not None:
            return (self.last_run_at + self.every - now).total_seconds()
        # Any other Celery schedule (a crontab): ask it, as Celery beat does.
        is_due, next_in = self.schedule.is_due(self.last_run_at)
        return 0.0 if is_due else float(next_in)


def _entry(name: str, spec: Mapping[str, Any], *, started_at: datetime) -> ScheduleEntry:
    value = spec["schedule"]
    every: timedelta | None
    if isinstance(value, int | float):
        every = timedelta(seconds=value)
    elif isinstance(value, timedelta):
        every = value
    elif isinstance(value, celery_schedule) and type(value) is celery_schedule:
        every = value.run_every
    else:
        every = None
    return ScheduleEntry(
        name=name,
        task=spec["task"],
        every=every,
        schedule=value,
        last_run_at=started_at,
        args=spec.get("args", ()),
        kwargs=spec.get("kwargs", {}),
    )


class EmbeddedScheduler:
    """Runs each entry of a beat schedule once its interval has passed since its last run."""

    def __init__(self, *, schedule: Mapping[str, Mapping[str, Any]], started_at: datetime) -> None:
        # Like Celery beat, a job first runs one interval after the start, so that a restart of
        # the development server (at every code change) does not rerun the long jobs.
        self.entries = [_entry(name, spec, started_at=started_at) for name, spec in schedule.items()]
        # Register every app's tasks now, as a worker does when it starts (the lazy autodiscovery
        # of cpo_portal/celery.py waits for a worker's start-up signal).
        celery_app.autodiscover_tasks(force=True)

    def run_pending(self, *, now: datetime) -> list[str]:
        """Run the entries that are due at ``now``; the names of those run."""
        ran = []
        for entry in self.entries:
            if entry.seconds_until_due(now=now) > 0:
                continue
            entry.last_run_at = now
            ran.append(entry.name)
            try:
                celery_app.tasks[entry.task].apply(args=entry.args, kwargs=entry.kwargs, throw=True)
            except Exception:
                logger.exception("Periodic job %s (%s) failed", entry.name, entry.task)
        return ran

    def seconds_until_next(self, *, now: datetime) -> float:
        waits = [entry.seconds_until_due(now=now) for entry in self.entries]
        return max(0.0, min([_LONGEST_NAP, *waits]))

    def run_forever(self, *, stop: threading.Event) -> None:
        while not stop.is_set():
            self.run_pending(now=timezone.now())
            # As after a request: drop a connection that broke or outlived CONN_MAX_AGE.
            close_old_connections()
            stop.wait(self.seconds_until_next(now=timezone.now()))


def embedded_scheduler_wanted(*, argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """True in the serving process of ``manage.py runserver`` when no Celery beat is expected."""
    if not settings.EMBEDDED_SCHEDULER or len(argv) < 2 or argv[1] != "runserver":
        return False
    # With the autoreloader the first process only watches files; its child (RUN_MAIN) serves.
    return environ.get("RUN_MAIN") == "true" or "--noreload" in argv


def embedded_scheduler_start() -> threading.Event:
    """Start the scheduler in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()

    def run() -> None:
        # The thread starts from AppConfig.ready(): touch the database only once every app is loaded.
        while not apps.ready and not stop.wait(0.1):
            pass
        try:
            heartbeat.heartbeat_record()
        finally:
            close_old_connections()
        logger.info("Embedded scheduler running %d periodic jobs", len(settings.CELERY_BEAT_SCHEDULE))
        EmbeddedScheduler(schedule=settings.CELERY_BEAT_SCHEDULE, started_at=timezone.now()).run_forever(
            stop=stop
        )

    threading.Thread(target=run, name="embedded-scheduler", daemon=True).start()
    return stop
