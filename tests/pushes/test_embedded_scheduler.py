"""Without Redis and beat (`make run`), the embedded scheduler runs the declared periodic jobs:
a push that failed once is retried, and the admin says when no scheduler has run for a while."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cpo_portal.heartbeat import heartbeat_record, scheduler_status
from cpo_portal.models import SchedulerHeartbeat
from cpo_portal.scheduler import EmbeddedScheduler, embedded_scheduler_wanted
from partners.models import Partner
from ptp_simulator.process import SimulatorProcess
from pushes.models import OutboxMessage
from tests.factories import LocationFactory


def _declared(*names: str) -> dict[str, Any]:
    return {name: settings.CELERY_BEAT_SCHEDULE[name] for name in names}


def test_a_push_that_failed_once_is_retried_by_the_embedded_scheduler(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    sim.control.fault("/ocpi/2.2.1/locations", "http_500", count=1)
    with committed():
        LocationFactory()
    message = OutboxMessage.objects.get()
    assert (message.state, message.attempts) == (OutboxMessage.State.PENDING, 1)
    scheduler = EmbeddedScheduler(
        schedule=_declared("pushes-requeue-due", "scheduler-heartbeat"),
        started_at=timezone.now() - timedelta(minutes=5),
    )

    with committed():
        ran = scheduler.run_pending(now=timezone.now())

    message.refresh_from_db()
    assert sorted(ran) == ["pushes-requeue-due", "scheduler-heartbeat"]
    assert (message.state, message.attempts) == (OutboxMessage.State.DELIVERED, 2)
    assert not scheduler_status().stale


@pytest.mark.django_db
def test_a_job_runs_once_per_interval_counted_from_the_start() -> None:
    started = timezone.now()
    scheduler = EmbeddedScheduler(schedule=_declared("scheduler-heartbeat"), started_at=started)
    every = timedelta(seconds=settings.SCHEDULER_HEARTBEAT_SECONDS)

    assert scheduler.run_pending(now=started + every - timedelta(seconds=1)) == []
    assert scheduler.run_pending(now=started + every) == ["scheduler-heartbeat"]
    assert scheduler.run_pending(now=started + every + timedelta(seconds=1)) == []
    assert scheduler.seconds_until_next(now=started + every) <= every.total_seconds()


@pytest.mark.django_db
def test_a_failing_job_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    schedule = {"broken": {"task": "cpo_portal.tasks.no_such_task", "schedule": 10}} | _declared(
        "scheduler-heartbeat"
    )
    scheduler = EmbeddedScheduler(schedule=schedule, started_at=timezone.now() - timedelta(hours=1))

    ran = scheduler.run_pending(now=timezone.now())

    assert ran == ["broken", "scheduler-heartbeat"]
    assert SchedulerHeartbeat.objects.count() == 1
    assert "Periodic job broken (cpo_portal.tasks.no_such_task) failed" in caplog.text


def test_every_declared_job_is_a_registered_task() -> None:
    scheduler = EmbeddedScheduler(schedule=settings.CELERY_BEAT_SCHEDULE, started_at=timezone.now())
    from cpo_portal.celery import app

    assert {entry.task for entry in scheduler.entries} <= set(app.tasks)
    assert "cpo_portal.tasks.scheduler_heartbeat" in {entry.task for entry in scheduler.entries}


@pytest.mark.parametrize(
    ("argv", "environ", "wanted"),
    [
        (["manage.py", "runserver", "127.0.0.1:8200"], {"RUN_MAIN": "true"}, True),
        (["manage.py", "runserver", "--noreload"], {}, True),
        (["manage.py", "runserver"], {}, False),  # the autoreloader's watching parent
        (["manage.py", "migrate"], {"RUN_MAIN": "true"}, False),
        (["gunicorn", "cpo_portal.wsgi"], {}, False),
    ],
)
def test_only_the_serving_runserver_process_starts_the_scheduler(
    argv: list[str], environ: dict[str, str], wanted: bool
) -> None:
    assert embedded_scheduler_wanted(argv=argv, environ=environ) is wanted


def test_with_a_broker_the_runserver_process_leaves_the_jobs_to_celery_beat(settings: Any) -> None:
    settings.EMBEDDED_SCHEDULER = False

    assert not embedded_scheduler_wanted(argv=["manage.py", "runserver", "--noreload"], environ={})


@pytest.mark.parametrize("page", ["admin:index", "admin:pushes_partnerpushhealth_changelist"])
def test_the_admin_says_when_no_scheduler_ran_for_a_while(staff_client: Client, page: str) -> None:
    never = staff_client.get(reverse(page)).content.decode()
    heartbeat_record(at=timezone.now() - timedelta(seconds=settings.SCHEDULER_STALE_SECONDS + 60))
    stale = staff_client.get(reverse(page)).content.decode()
    heartbeat_record()
    fresh = staff_client.get(reverse(page)).content.decode()

    assert "The periodic jobs have never run: due push retries are not sent." in never
    assert "The periodic jobs last ran at" in stale
    assert 'id="scheduler-notice"' not in fresh
